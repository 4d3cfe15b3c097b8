"""The suite runner's reporting: infrastructure errors apart from test failures in JUnit,
and provenance recorded as JUnit properties."""

import json
import xml.etree.ElementTree as ET

from harness.robot.library import INFRA_TAG
from harness.suites import add_provenance, mark_infrastructure_errors

OUTPUT = f"""<robot><suite name="S"><test name="Broken Lab"><tag>{INFRA_TAG}</tag>
<status status="FAIL">INFRASTRUCTURE ERROR: dnsmasq exited</status></test>
<test name="Bad Device"><status status="FAIL">device misbehaved</status></test>
<test name="Good"><status status="PASS"/></test></suite></robot>"""

XUNIT = """<?xml version='1.0' encoding='UTF-8'?>
<testsuite name="S" tests="3" errors="0" failures="2" skipped="0">
<testcase classname="S" name="Broken Lab"><failure message="INFRASTRUCTURE ERROR: dnsmasq exited" type="AssertionError"/></testcase>
<testcase classname="S" name="Bad Device"><failure message="device misbehaved" type="AssertionError"/></testcase>
<testcase classname="S" name="Good"/>
</testsuite>"""


def test_infrastructure_errors_become_junit_errors(tmp_path):
    (tmp_path / "output.xml").write_text(OUTPUT)
    (tmp_path / "xunit.xml").write_text(XUNIT)
    failed, infra = mark_infrastructure_errors(tmp_path / "output.xml", tmp_path / "xunit.xml")
    assert (failed, infra) == (1, 1)
    suite = ET.parse(tmp_path / "xunit.xml").getroot()
    assert suite.get("errors") == "1" and suite.get("failures") == "1"
    broken = [c for c in suite.iter("testcase") if c.get("name") == "Broken Lab"][0]
    assert broken.find("error") is not None and broken.find("failure") is None


def test_provenance_properties(tmp_path):
    (tmp_path / "xunit.xml").write_text(XUNIT)
    dev = tmp_path / "artifacts" / "S" / "Bad_Device" / "dev-1"
    dev.mkdir(parents=True)
    (dev / "provenance.json").write_text(json.dumps({
        "name": "dev-1", "board": "mps2-an385", "qemu_argv": ["qemu-system-arm", "-M", "mps2-an385"],
        "image": {"path": "/x/fw.elf", "size": 1234, "sha256": "ab" * 32}}))
    add_provenance(tmp_path / "xunit.xml", tmp_path / "artifacts")
    root = ET.parse(tmp_path / "xunit.xml").getroot()
    suite_props = {p.get("name"): p.get("value") for p in root.find("properties")}
    assert "version.qemu" in suite_props and "version.arm-none-eabi-gcc" in suite_props
    case = [c for c in root.iter("testcase") if c.get("name") == "Bad Device"][0]
    props = {p.get("name"): p.get("value") for p in case.find("properties")}
    assert props["dev-1.image.sha256"] == "ab" * 32 and props["dev-1.board"] == "mps2-an385"
    assert props["artifacts"].endswith("Bad_Device")
