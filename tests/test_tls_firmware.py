"""The reference firmware over TLS: mbedTLS (Debian's source package) through lwIP's altcp port,
NetX Duo's suite and group, the hub's certificate verified (lab CA from the CA block, host
name, validity from SNTP time), a SAS token computed on the device — and what TLS costs
(boot to first message with and without it)."""

import re
import time

from harness.hub.pki import LabPKI

from .conftest import require_image, require_lab


def boot_times(lab, name, transport):
    t0 = time.time()
    dev = lab.start_device(name, profile="fast", transport=transport, auth="sas")
    line = dev.console.wait_for_line("hub: connected", 30).line
    rec = lab.hub.recorder
    connect = rec.wait_for(20, kind="hub_event", device_id=name, event="connect")[0]
    first = rec.wait_for(20, kind="d2c", device_id=name)[0]
    sec = rec.wait_for(20, kind="d2c", device_id=name, security=True)[0]
    return dev, connect.event, {"device_connect_ms": int(re.search(r"(\d+) ms\)", line).group(1)),
                                "connect_s": connect.t - t0, "first_message_s": first.t - t0,
                                "first_security_message_s": sec.t - t0}


def test_tls_and_sas_cost(tmp_path):
    require_lab()
    require_image(profile="fast")
    from harness.lab.lab import Lab

    with Lab("tlsfw", artifacts_dir=tmp_path / "art", pki_dir=tmp_path / "pki") as lab:
        _, plain_ev, plain = boot_times(lab, "fw-plain", "mqtt")
        dev, tls_ev, tls = boot_times(lab, "fw-tls", "mqtts")
        print(f"\nboot to first message: mqtt {plain}\n                       mqtts {tls}")
        assert (plain_ev["transport"], tls_ev["transport"]) == ("mqtt", "mqtts")
        assert tls_ev["auth"] == "sas" and tls_ev["tls"] == {"tls_version": "TLSv1.2",
                                                             "tls_cipher": "ECDHE-RSA-AES128-SHA256"}
        # the handshake (ECDHE on secp384r1, RSA 2048 verify) costs well under a few seconds
        assert tls["device_connect_ms"] < 3000
        assert tls["first_message_s"] - plain["first_message_s"] < 3.0
        out = "\n".join(dev.run_command("hub"))
        assert "transport mqtts sas" in out


def test_firmware_verifies_the_hub(tmp_path):
    """A CA the hub's certificate does not chain to, or a host name it does not carry: no connection."""
    require_lab()
    require_image(profile="nosecmod")
    from harness.lab.lab import Lab

    with Lab("tlsver", artifacts_dir=tmp_path / "art", pki_dir=tmp_path / "pki") as lab:
        good_pki = lab.pki
        lab.pki = LabPKI(tmp_path / "stranger")  # the devices' CA block now holds another CA
        dev = lab.start_device("v-ca", profile="nosecmod", transport="mqtts", auth="none")
        line = dev.console.wait_for_line("tls: certificate", 30).line
        assert "not correctly signed by the trusted CA" in line, line
        dev.console.wait_for_line("hub: connection failed", 10)
        lab.stop_device("v-ca")
        lab.pki = good_pki
        # the right CA, but the device expects another host name (it reaches the hub by address)
        dev = lab.start_device("v-name", profile="nosecmod", transport="mqtts", auth="none",
                               hub_host="impostor.lab", hub_addr="192.0.2.1")
        line = dev.console.wait_for_line("tls: certificate", 30).line
        assert "Common Name (CN) does not match" in line and "not correctly signed" not in line, line
        dev.console.wait_for_line("hub: connection failed", 10)
        assert not lab.hub.recorder.find(kind="hub_event", event="connect")
