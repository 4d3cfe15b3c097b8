"""A deliberately failing networked test leaves a complete artifact set that points at the
cause, recorded in JUnit; and a run split into shards covers every test exactly once."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from .conftest import REPO, require_image, require_lab

pytestmark = [pytest.mark.qemu, pytest.mark.lab]

FAILING = """*** Settings ***
Library    harness.robot.Testbed

*** Test Cases ***
Deliberately Failing
    Start Lab
    Start Back End    indicators=203.0.113.0/24
    Start Device In Lab    art-1    profile=fast
    Wait For Security Message    art-1    timeout=60
    Send Traffic    ping    attacker1    art-1    count=2
    Wait For Alert    IoT_SuspiciousIPCommunication    device=art-1    timeout=30
    Wait For Line On Uart    this line is never printed    timeout=3
"""


def test_failing_test_keeps_a_complete_artifact_set(tmp_path):
    require_lab()
    require_image()
    suite = tmp_path / "failing.robot"
    suite.write_text(FAILING)
    out = tmp_path / "out"
    rc = subprocess.run([sys.executable, "-m", "harness.suites", "--jobs", "1", "--outputdir", str(out), str(suite)],
                        cwd=REPO, capture_output=True, text=True, timeout=240).returncode
    assert rc == 1, "a test failure (not an infrastructure error) is exit code 1"
    test_dir = out / "artifacts" / "Failing" / "Deliberately_Failing"
    dev = test_dir / "art-1"
    for name in ("console.log", "console.raw.log", "device.pcap", "hub.jsonl", "qemu.cmdline", "provenance.json",
                 "config.bin", "security-messages.json", "alerts.json"):
        assert (dev / name).is_file() and (dev / name).stat().st_size > 0, f"{name} missing from {dev}"
    lab = test_dir / "lab-lab"
    for name in ("hub.jsonl", "mosquitto.log", "gateway.log", "dnsmasq.log", "traffic.jsonl", "backend/backend.db"):
        assert (lab / name).exists(), f"lab artifact {name} missing"
    assert "203.0.113.66" in (dev / "alerts.json").read_text(), "the alert the traffic raised is in the artifacts"
    xunit = ET.parse(out / "xunit.xml").getroot()
    case = next(c for c in xunit.iter("testcase") if c.get("name") == "Deliberately Failing")
    failure = case.find("failure")
    assert failure is not None and "this line is never printed" in failure.get("message", "")
    props = {p.get("name"): p.get("value") for p in case.find("properties")}
    assert props["artifacts"] == str(test_dir) and len(props["art-1.image.sha256"]) == 64


def test_shards_cover_every_test_once(tmp_path):
    require_image()
    seen = []
    for shard in ("1/2", "2/2"):
        out = tmp_path / shard.replace("/", "of")
        subprocess.run([sys.executable, "-m", "harness.suites", "--jobs", "2", "--shard", shard, "--outputdir", str(out),
                        "robot_suites/boot.robot"], cwd=REPO, capture_output=True, timeout=300)
        seen += [t.get("name") for t in ET.parse(out / "output.xml").iter("test")]
    assert len(seen) == len(set(seen)) == 6, f"shards ran {seen}"
