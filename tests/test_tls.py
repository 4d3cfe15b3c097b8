"""The hub's TLS (harness/hub/tls.py): NetX Duo's only suite and group, TLS 1.3 for others,
optional client certificates whose validity dates are left to the gateway — locally, and
with `openssl s_client` against a running lab hub inside its namespace."""

import socket
import ssl
import subprocess
import threading

import pytest

from harness.hub.pki import LabPKI
from harness.hub.tls import NETX_CIPHER, client_context, server_context

from .conftest import require_lab


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return LabPKI(tmp_path_factory.mktemp("pki")).ensure()


@pytest.fixture(scope="module")
def server(pki):
    """A TLS server on 127.0.0.1 with the hub's context; records each handshake."""
    cert, key = pki.server_cert("hub.lab", ["127.0.0.1"])
    ctx = server_context({"cert": str(cert), "key": str(key), "ca": str(pki.ca_pem), "client_cert": "optional"})
    lsock = socket.create_server(("127.0.0.1", 0))
    results = []
    stop = threading.Event()

    def serve():
        lsock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = lsock.accept()
            except OSError:
                continue
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.settimeout(5)
                    results.append({"version": tls.version(), "cipher": tls.cipher()[0],
                                    "peer": tls.getpeercert(binary_form=True)})
                    tls.sendall(b"ok")
                    tls.recv(1)
            except (ssl.SSLError, OSError) as exc:
                results.append({"error": str(exc)})
                conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    yield lsock.getsockname()[1], results
    stop.set()
    th.join(2)
    lsock.close()


def _connect(port, ctx):
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="hub.lab") as tls:
            data = tls.recv(2)
            return tls.version(), tls.cipher()[0], data


def test_netx_duo_suite_only_client(server, pki):
    port, results = server
    version, cipher, data = _connect(port, client_context(pki.ca_pem, netx=True))
    assert (version, cipher, data) == ("TLSv1.2", NETX_CIPHER, b"ok")


def test_default_client_gets_tls13(server, pki):
    port, _ = server
    version, _, _ = _connect(port, client_context(pki.ca_pem))
    assert version == "TLSv1.3"


def test_openssl_with_exactly_netx_suite_and_secp384r1(server, pki):
    port, _ = server
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "hub.lab",
                          "-CAfile", str(pki.ca_pem), "-verify_hostname", "hub.lab", "-verify_return_error",
                          "-cipher", NETX_CIPHER, "-curves", "secp384r1", "-tls1_2", "-brief"],
                         input=b"", capture_output=True, timeout=20)
    text = (out.stdout + out.stderr).decode()
    assert "Protocol version: TLSv1.2" in text, text
    assert f"Ciphersuite: {NETX_CIPHER}" in text, text
    assert "secp384r1" in text and "Verification: OK" in text, text


def test_client_certificates_are_optional_and_dates_unchecked(server, pki):
    port, results = server
    for cert in (pki.device_cert("dev-x"), pki.device_cert("dev-x", expired=True)):
        n = len(results)
        _connect(port, client_context(pki.ca_pem, cert=cert.cert_pem, key=cert.key_pem, netx=True))
        assert results[n]["peer"], "the client certificate must reach the gateway"
    n = len(results)
    _connect(port, client_context(pki.ca_pem, netx=True))
    assert results[n]["peer"] is None


def test_certificate_from_another_ca_fails_the_handshake(server, pki, tmp_path):
    port, results = server
    stranger = LabPKI(tmp_path / "other").ensure().device_cert("dev-x")
    with pytest.raises((ssl.SSLError, OSError)):
        _connect(port, client_context(pki.ca_pem, cert=stranger.cert_pem, key=stranger.key_pem))


def test_wrong_host_name_is_rejected_by_clients(server, pki):
    port, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            client_context(pki.ca_pem).wrap_socket(raw, server_hostname="not-the-hub.lab")


def test_lab_hub_in_the_namespace(tmp_path):
    """openssl s_client inside the lab namespace, NetX Duo's suite and group, IPv4 and IPv6, the
    hub's host name from the lab DNS and the certificate verified for it."""
    require_lab()
    from harness.lab.lab import Lab

    with Lab("tls", artifacts_dir=tmp_path / "art", pki_dir=tmp_path / "pki") as lab:
        ca = lab.pki.ca_pem
        assert lab.resolve("hub.lab") == "192.0.2.1" and lab.resolve("hub.lab", ipv6=True) == "2001:db8:1::1"
        for addr in ("192.0.2.1:8883", "[2001:db8:1::1]:8883"):
            out = lab.run(["openssl", "s_client", "-connect", addr, "-servername", "hub.lab", "-CAfile", str(ca),
                           "-verify_hostname", "hub.lab", "-verify_return_error", "-cipher", NETX_CIPHER,
                           "-curves", "secp384r1", "-tls1_2", "-brief"], check=False, timeout=20)
            text = (out.stdout + out.stderr).decode()
            assert f"Ciphersuite: {NETX_CIPHER}" in text and "secp384r1" in text, text
            assert "Verification: OK" in text, text
        # plain MQTT stays on 1883 (a test option): the port answers without TLS
        sock = lab.connect_tcp("192.0.2.1", 1883)
        sock.close()
