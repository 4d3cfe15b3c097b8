"""The lab PKI (harness/hub/pki.py): CA, server and device certificates, exports, caching."""

import datetime as dt
import hashlib
import struct
import subprocess
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from harness.errors import InputError
from harness.hub.pki import CA_BLOCK_MAGIC, LabPKI, ca_block, thumbprints


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return LabPKI(tmp_path_factory.mktemp("pki")).ensure()


def test_ca_exports_agree(pki):
    ca = x509.load_pem_x509_certificate(pki.ca_pem.read_bytes())
    der = pki.ca_der.read_bytes()
    assert ca.public_bytes(serialization.Encoding.DER) == der
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc - dt.datetime.now(dt.timezone.utc) > dt.timedelta(days=3000)
    # the C array holds exactly the DER bytes
    text = pki.ca_c.read_text()
    body = text[text.index("{") + 1:text.index("}")]
    assert bytes(int(b, 16) for b in body.replace("\n", "").split(",") if b.strip()) == der
    assert f"lab_ca_der_len = {len(der)};" in text
    assert "lab_ca_der" in pki.ca_h.read_text()
    assert (pki.dir / "ca.key").stat().st_mode & 0o077 == 0


def test_c_array_compiles(pki, tmp_path):
    gcc = "arm-none-eabi-gcc"
    src = tmp_path / "use.c"
    src.write_text(f'#include "{pki.ca_h}"\nunsigned f(void) {{ return lab_ca_der_len + lab_ca_der[0]; }}\n')
    try:
        subprocess.run([gcc, "-mcpu=cortex-m3", "-mthumb", "-Wall", "-Werror", "-c", str(pki.ca_c), "-o",
                        str(tmp_path / "ca.o")], check=True, capture_output=True)
        subprocess.run([gcc, "-mcpu=cortex-m3", "-mthumb", "-Wall", "-Werror", "-c", str(src), "-o",
                        str(tmp_path / "use.o")], check=True, capture_output=True)
    except FileNotFoundError:
        pytest.skip("arm-none-eabi-gcc is not installed")


def test_ca_is_cached_and_stable(pki):
    again = LabPKI(pki.dir).ensure()
    assert again.ca_fingerprint() == pki.ca_fingerprint()
    assert again.device_key("dev-1") == pki.device_key("dev-1")
    assert pki.device_key("dev-1") != pki.device_key("dev-2")


def test_server_certificate_names_the_hub(pki):
    cert_path, key_path = pki.server_cert("hub.lab", ["192.0.2.1", "2001:db8:1::1"])
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["hub.lab"]
    assert {str(a) for a in san.get_values_for_type(x509.IPAddress)} == {"192.0.2.1", "2001:db8:1::1"}
    assert cert.issuer == pki.ca_cert.subject
    assert cert.public_key().key_size == 2048  # RSA: what NetX Duo's ECDHE-RSA suite needs
    # verified by OpenSSL against the lab CA, for the host name
    out = subprocess.run(["openssl", "verify", "-CAfile", str(pki.ca_pem), "-verify_hostname", "hub.lab",
                          str(cert_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    # cached: the same file again, a new one for another name
    assert pki.server_cert("hub.lab", ["2001:db8:1::1", "192.0.2.1"])[0].read_bytes() == cert_path.read_bytes()
    other, _ = pki.server_cert("contoso-lab.azure-devices.net", ["192.0.2.1"])
    assert other != cert_path
    with pytest.raises(InputError, match="not a valid DNS name"):
        pki.server_cert("bad host!", [])


def test_device_certificates(pki):
    good = pki.device_cert("dev-x")
    expired = pki.device_cert("dev-x", expired=True)
    wrong = pki.device_cert("dev-x", variant="wrong")
    assert len({good.thumbprint, expired.thumbprint, wrong.thumbprint}) == 3
    der = x509.load_pem_x509_certificate(good.cert_pem.read_bytes()).public_bytes(serialization.Encoding.DER)
    assert good.thumbprint == hashlib.sha1(der).hexdigest().upper()
    assert thumbprints(good.cert_pem.read_bytes()) == (good.thumbprint, good.thumbprint_sha256)
    assert expired.not_after < dt.datetime.now(dt.timezone.utc) < good.not_after
    assert pki.device_cert("dev-x").thumbprint == good.thumbprint  # cached
    with pytest.raises(InputError):
        pki.device_cert("dev-x", variant="../x")


def test_ca_block_format(pki):
    block = pki.block(0x2000)
    assert block.startswith(CA_BLOCK_MAGIC)
    kind, length = struct.unpack_from("<II", block, 8)
    assert kind == 1 and block[16:16 + length] == pki.ca_der.read_bytes()
    end = 16 + length + (-length % 4)
    assert struct.unpack_from("<II", block, end) == (0, 0) and len(block) == end + 8
    with_client = pki.block(0x2000, client=pki.device_cert("dev-x"))
    kinds = []
    off = 8
    while True:
        kind, length = struct.unpack_from("<II", with_client, off)
        if kind == 0:
            break
        kinds.append(kind)
        off += 8 + length + (-length % 4)
    assert kinds == [1, 2, 3]
    with pytest.raises(InputError, match="holds 100"):
        ca_block([b"x" * 200], 100)


def test_concurrent_first_use_makes_one_ca(tmp_path):
    fingerprints = []

    def make():
        fingerprints.append(LabPKI(tmp_path / "shared").ensure().ca_fingerprint())

    threads = [threading.Thread(target=make) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(fingerprints)) == 1
