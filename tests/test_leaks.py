"""Nothing leaked, ever: a suite run interrupted with SIGINT and then SIGTERM mid-run leaves no
QEMU, mosquitto, dnsmasq, gateway, back end or traffic process, no lab namespace (with its taps
and bridge) and no runtime directory."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import reaper
from harness.cleanup import list_namespaces

from .conftest import REPO, require_image, require_lab

pytestmark = [pytest.mark.qemu, pytest.mark.lab, pytest.mark.slow]

SUITE = """*** Settings ***
Library    harness.robot.Testbed
Library    OperatingSystem

*** Test Cases ***
Lab With Devices And A Back End
    Start Lab
    Start Back End    indicators=203.0.113.0/24
    Start Device In Lab    leak-1    profile=fast
    Start Device In Lab    leak-2    profile=nosecmod
    Wait For Line On Uart    hub: connected    timeout=30    device=leak-1
    Create File    ${READY}    ready
    Sleep    120s

Second Test
    Start Lab    other
    Sleep    120s
"""

WATCHED = ("qemu-system-arm", "mosquitto", "dnsmasq", "harness.hub.gateway", "harness.lab.sntp",
           "harness.traffic", "harness.backend")


def harness_processes(exclude: set[int]) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in exclude:
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if reaper.PREFIX in cmd and any(w in cmd for w in WATCHED):
            found.append(f"{proc.name}: {cmd[:160]}")
    return found


def test_interrupted_suite_run_leaves_nothing(tmp_path):
    require_lab()
    require_image()
    require_image(profile="nosecmod")
    from harness.cleanup import clean_stale
    clean_stale()  # leftovers of earlier crashed runs are not this test's business
    suite = tmp_path / "leak.robot"
    suite.write_text(SUITE)
    before_ns = set(list_namespaces())
    before_procs = set(harness_processes(set()))
    ready = tmp_path / "ready"
    log_path = tmp_path / "runner.log"
    runner = subprocess.Popen([sys.executable, "-m", "harness.suites", "--jobs", "2", "--outputdir",
                               str(tmp_path / "out"), "-v", f"READY:{ready}", str(suite)], cwd=REPO,
                              stdout=open(log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    output = []
    try:
        deadline = time.monotonic() + 90
        while not ready.exists() and time.monotonic() < deadline:
            assert runner.poll() is None, "runner ended early:\n" + log_path.read_text()[-3000:]
            time.sleep(0.2)
        if not ready.exists():
            pytest.fail("suite never got its lab ready:\n" + log_path.read_text()[-3000:])
        assert set(list_namespaces()) - before_ns, "no lab namespace while the suite runs"
        runner.send_signal(signal.SIGINT)
        time.sleep(1.0)
        runner.send_signal(signal.SIGTERM)
        runner.wait(timeout=90)
        output.append(log_path.read_text())
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGKILL)
            runner.wait()
    time.sleep(0.5)
    leaked_ns = set(list_namespaces()) - before_ns
    leaked_procs = set(harness_processes({runner.pid})) - before_procs
    leaked_dirs = [p for p in reaper.RUNTIME_ROOT.glob(f"{reaper.PREFIX}*")
                   if not any(str(p) in x for x in before_procs)]
    log = "".join(output)[-3000:]
    assert not leaked_ns, f"lab namespaces left behind: {leaked_ns}\n{log}"
    assert not leaked_procs, f"processes left running: {leaked_procs}\n{log}"
    assert not [d for d in leaked_dirs if d.stat().st_mtime > time.time() - 300], f"runtime dirs left: {leaked_dirs}"
