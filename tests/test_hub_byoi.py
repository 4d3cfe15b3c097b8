"""docs/bring-your-own-image.md works: the reference firmware, copied elsewhere and given as
an external IMAGE on the example target file, configured only through the documented values
(device id; key, hub host and CA from the lab), passes a conformance test over TLS with SAS."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from harness.hub.commands import lab_info, print_lab_info

from .conftest import REPO, require_image, require_lab

EXAMPLES = REPO / "docs" / "examples"


def test_lab_info_values(tmp_path, capsys):
    from harness.lab.lab import Lab

    lab = Lab("byoi", hub_host="contoso-lab.azure-devices.net", pki_dir=tmp_path / "pki", privileged=False)
    info = lab_info(lab, "my-device", "mps2-an385")
    assert info["hub_host"] == "contoso-lab.azure-devices.net"
    assert info["broker"] == {"ipv4": "192.0.2.1", "ipv6": "2001:db8:1::1"}
    assert info["ports"] == {"mqtts": 8883, "mqtt": 1883}
    assert info["device"]["key"] == lab.pki.device_key("my-device")
    assert info["device"]["connection_string"].startswith("HostName=contoso-lab.azure-devices.net;DeviceId=my-device;")
    for k in ("pem", "der", "c_array", "c_header"):
        assert Path(info["ca"][k]).exists()
    assert info["board"]["nic_base"] == "0x40200000" and info["board"]["nic_irq"] == 13
    assert info["board"]["ca_block"] == "0x203FD000+0x2000"
    # the same key in a later lab run on this PKI
    assert lab_info(Lab("again", pki_dir=tmp_path / "pki", privileged=False), "my-device")["device"]["key"] \
        == info["device"]["key"]
    print_lab_info(info)
    out = capsys.readouterr().out
    assert "contoso-lab.azure-devices.net" in out and info["device"]["key"] in out and "lab_ca.c" in out


def test_cli_commands_parse():
    import argparse

    from harness.hub.commands import add_subcommands

    p = argparse.ArgumentParser()
    add_subcommands(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(["lab-info", "--device-id", "d", "--json"])
    assert args.func.__name__ == "cmd_lab_info" and args.device_id == "d" and args.json
    args = p.parse_args(["hub", "method", "d", "reboot", "--payload", "{}", "--lab", "x"])
    assert (args.hub_command, args.method, args.lab) == ("method", "reboot", "x")
    args = p.parse_args(["hub", "c2d", "d", "hello", "--property", "a=b"])
    assert args.property == ["a=b"] and args.ttl == 3600.0
    assert p.parse_args(["hub", "c2d", "d", "hello", "--ttl", "5"]).ttl == 5.0


def test_lab_info_command_prints_json(tmp_path):
    """What `harness lab-info --json` runs (wired into the CLI by add_subcommands)."""
    code = subprocess.run([sys.executable, "-c",
                           "import sys, argparse; from harness.hub.commands import add_subcommands;"
                           "p = argparse.ArgumentParser(); add_subcommands(p.add_subparsers(dest='c', required=True));"
                           "a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))",
                           "lab-info", "--device-id", "cli-dev", "--pki-dir", str(tmp_path / "pki"), "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert code.returncode == 0, code.stderr
    info = json.loads(code.stdout)
    assert info["device"]["id"] == "cli-dev" and info["hub_host"] == "hub.lab"


def test_reference_image_as_external_image_passes_conformance_over_tls(tmp_path):
    require_lab()
    image = require_image(profile="fast")
    external = tmp_path / "vendor" / "firmware.elf"
    external.parent.mkdir()
    shutil.copy(image, external)
    device_id = "byoi-dev"
    # the values the guide tells the user to build in (here: what the lab hands out at run time)
    from harness.lab.lab import Lab

    info = lab_info(Lab("lab", privileged=False), device_id, "mps2-an385")
    variables = yaml.safe_load((EXAMPLES / "byoi-lab.yaml").read_text())
    variables.update(IMAGE=str(external), BOARD=str(EXAMPLES / "my-board.toml"), DEVICE_ID=device_id, PROFILE="fast")
    varfile = tmp_path / "byoi-lab.yaml"
    varfile.write_text(yaml.safe_dump(variables))
    out = tmp_path / "results"
    env = dict(os.environ, HARNESS_KEEP_ARTIFACTS="always")
    run = subprocess.run([sys.executable, "-m", "harness.suites", "--jobs", "1", "--outputdir", str(out),
                          "--exclude", "refdev", "robot_suites/conformance", "--", "--variablefile", str(varfile),
                          "-t", "Security Messages Use The Hub Topic And Properties"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "1 passed" in run.stdout or "1 test, 1 passed" in run.stdout, run.stdout[-2000:]
    recordings = list((out / "artifacts").rglob("hub.jsonl"))
    assert recordings, "no hub recording kept"
    connects = [json.loads(line)["event"] for rec in recordings for line in rec.read_text().splitlines()
                if '"connect"' in line and json.loads(line).get("kind") == "hub_event"]
    connects = [e for e in connects if e.get("event") == "connect" and e.get("device_id") == device_id]
    assert connects, "the external image never connected"
    ev = connects[0]
    assert (ev["transport"], ev["auth"], ev["tls"]["tls_cipher"]) == ("mqtts", "sas", "ECDHE-RSA-AES128-SHA256")
    assert ev["credential_id"] == hashlib.sha256(info["device"]["key"].encode()).hexdigest()[:16]
    provenance = next((out / "artifacts").rglob("provenance.json"))
    assert json.loads(provenance.read_text())["image"]["path"] == str(external)


def test_custom_hub_host_name_lives_in_the_lab_only(tmp_path):
    """An azure-devices.net-style hub name: the lab DNS answers it, the hub's certificate carries it,
    an unmodified sample verifies it; names outside the lab resolve to nothing."""
    require_lab()
    from harness.hub.sample import SampleDevice
    from harness.lab.lab import Lab, dns_query, in_namespace

    name = "contoso-lab.azure-devices.net"
    with Lab("byoi-dns", hub_host=name, artifacts_dir=tmp_path / "art", pki_dir=tmp_path / "pki") as lab:
        assert lab.resolve(name) == "192.0.2.1"
        assert in_namespace(lab.ns.name, dns_query, "192.0.2.1", "example.com", "A") == []
        assert in_namespace(lab.ns.name, dns_query, "192.0.2.1", "other.azure-devices.net", "A") == []
        lab.register_device("dns-1", auth="sas")
        sample = SampleDevice(lab, "dns-1")
        assert sample.username.startswith(f"{name}/dns-1/?api-version=")
        assert sample.connect() == 0
        sample.close()
