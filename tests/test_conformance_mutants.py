"""The conformance suite must fail on a firmware that does not behave like the real module.

Deliberately wrong builds of the reference firmware (qemu_images Makefile, target ``mutants``)
run the conformance test that should catch each of them; the test must fail, for the
right reason."""

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from harness.device import IMAGES_DIR

from .conftest import REPO, require_image, require_lab

pytestmark = [pytest.mark.qemu, pytest.mark.lab, pytest.mark.slow]

MUTANTS = {
    # mutant: (the test that must catch it, words its failure message must contain)
    "count-ip-header": ("UDP Over IPv4 Is Counted Exactly And Both Directions Merge", "disagree with the wire"),
    "old-version": ("Envelope Identifies The Module", "3, 5, 3"),
    "no-cap": ("More Than 64 IPv4 Flows In A Window Give Exactly 64 Records", "carries exactly 64 records"),
}


def test_conformance_suite_catches_wrong_modules(tmp_path):
    require_lab()
    require_image()
    runs = {}
    for mutant, (test, _) in MUTANTS.items():
        image = IMAGES_DIR / "mps2-an385" / "mutants" / f"refdev-{mutant}.elf"
        if not image.exists():
            pytest.skip(f"{image} not built (make images)")
        out = tmp_path / mutant
        runs[mutant] = (out, subprocess.Popen(
            [sys.executable, "-m", "harness.suites", "--jobs", "1", "--outputdir", str(out), "-v", f"IMAGE:{image}",
             "-v", "BOARD:mps2-an385", "robot_suites/conformance", "--", "--test", test],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
    for mutant, (out, proc) in runs.items():
        assert proc.wait(timeout=300) == 1, f"mutant {mutant}: the runner did not report a test failure"
        test_name, reason = MUTANTS[mutant]
        tests = {t.get("name"): t.find("status") for t in ET.parse(out / "output.xml").iter("test")}
        status = tests[test_name]
        assert status.get("status") == "FAIL", f"{test_name} passed on the {mutant} mutant"
        assert reason in (status.text or ""), f"{mutant}: failed for another reason: {status.text}"
