"""Run the Robot suites the way CI needs them: in parallel with pabot, every
worker isolated (its index reaches the suites as ${PABOTQUEUEINDEX}), outputs
merged into one log/report and a JUnit (xunit) file, infrastructure errors
reported apart from test failures.

Exit codes: 0 all passed, 1 test failures, 3 infrastructure errors (also when
there were test failures too: the run cannot be trusted), 2 usage errors.

    python -m harness.suites [--jobs N] [--shard i/n] [--outputdir DIR] [SUITE ...] [-- robot options]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from . import cleanup
from .robot.context import safe_name
from .robot.library import INFRA_TAG

GRACE = 30.0  # seconds the suites get to run their teardowns after Ctrl-C / SIGTERM

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INFRA = 0, 1, 2, 3


def mark_infrastructure_errors(output_xml: Path, xunit: Path) -> tuple[int, int]:
    """Turn failures of tests tagged infrastructure-error into <error> in the xunit file.

    Returns (test failures, infrastructure errors) counted from output.xml.
    """
    tree = ET.parse(output_xml)
    infra, failed = set(), 0
    for test in tree.iter("test"):
        status = test.find("status")
        if status is None or status.get("status") != "FAIL":
            continue
        tags = {t.text for t in test.iter("tag")}
        if INFRA_TAG in tags:
            infra.add(test.get("name"))
        else:
            failed += 1
    if xunit.exists() and infra:
        xt = ET.parse(xunit)
        for case in xt.iter("testcase"):
            failure = case.find("failure")
            if failure is not None and case.get("name") in infra:
                case.remove(failure)
                err = ET.SubElement(case, "error", failure.attrib)
                err.text = failure.text
        for suite in xt.iter("testsuite"):
            n_err = sum(1 for c in suite.iter("testcase") if c.find("error") is not None)
            n_fail = sum(1 for c in suite.iter("testcase") if c.find("failure") is not None)
            suite.set("errors", str(n_err))
            suite.set("failures", str(n_fail))
        xt.write(xunit, encoding="utf-8", xml_declaration=True)
    return failed, len(infra)


def _version(argv: list[str], pattern: str = r"(\d+\.\d+[.\w+~-]*)") -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


def tool_versions() -> dict[str, str]:
    import robot
    return {"qemu": _version(["qemu-system-arm", "--version"], r"version (\S+)"),
            "arm-none-eabi-gcc": _version(["arm-none-eabi-gcc", "--version"], r"\) (\S+)"),
            "mosquitto": _version(["mosquitto", "-h"], r"version (\S+)"),
            "dnsmasq": _version(["dnsmasq", "--version"], r"version (\S+)"),
            "python": platform.python_version(), "robotframework": robot.__version__}


def add_provenance(xunit: Path, artifacts: Path) -> None:
    """JUnit properties: tool versions on each suite, and per test case every device's image
    (path, size, SHA-256), board and QEMU command line from its provenance.json, plus the
    artifacts directory (kept for failed tests)."""
    if not xunit.exists():
        return
    tree = ET.parse(xunit)
    versions = tool_versions()
    for suite in tree.iter("testsuite"):
        props = suite.find("properties")
        if props is None:
            props = ET.Element("properties")
            suite.insert(0, props)
        for name, value in versions.items():
            ET.SubElement(props, "property", name=f"version.{name}", value=value)
        for case in suite.findall("testcase"):
            suite_name = case.get("classname", "")
            test_dir = artifacts / safe_name(suite_name) / safe_name(case.get("name", ""))
            if not test_dir.is_dir():
                continue
            cprops = ET.Element("properties")
            ET.SubElement(cprops, "property", name="artifacts", value=str(test_dir))
            for prov in sorted(test_dir.glob("*/provenance.json")):
                try:
                    info = json.loads(prov.read_text())
                except (OSError, json.JSONDecodeError):
                    continue
                dev = info.get("name", prov.parent.name)
                image = info.get("image") or {}
                for key in ("path", "size", "sha256"):
                    ET.SubElement(cprops, "property", name=f"{dev}.image.{key}", value=str(image.get(key)))
                ET.SubElement(cprops, "property", name=f"{dev}.board", value=str(info.get("board")))
                ET.SubElement(cprops, "property", name=f"{dev}.qemu_cmdline",
                              value=" ".join(info.get("qemu_argv") or []))
            case.insert(0, cprops)
    tree.write(xunit, encoding="utf-8", xml_declaration=True)


def run_forwarding_signals(cmd: list[str], env: dict) -> int:
    """Run the runner in its own session; Ctrl-C / SIGTERM are forwarded to all of it (so every
    robot worker stops gracefully and runs its teardowns), then escalated after a grace period."""
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)
    received: list[float] = []  # times of the signals received

    def forward(signum, frame):
        received.append(time.monotonic())
        try:
            os.killpg(proc.pid, signal.SIGINT if len(received) == 1 else signal.SIGTERM)
        except ProcessLookupError:
            pass

    old = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            try:
                return proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            if received and time.monotonic() - received[0] > GRACE:
                os.killpg(proc.pid, signal.SIGKILL)
                return proc.wait()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(prog="python -m harness.suites", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=2, help="parallel pabot processes (1 = plain robot)")
    p.add_argument("--shard", help="i/n: run only this shard of the tests (split across CI machines)")
    p.add_argument("--outputdir", default="results/robot")
    p.add_argument("--include", action="append", default=[], help="only tests with this tag")
    p.add_argument("--exclude", action="append", default=[], help="skip tests with this tag")
    p.add_argument("--variable", "-v", action="append", default=[], help="NAME:VALUE passed to the suites")
    p.add_argument("suites", nargs="*", default=["robot_suites"])
    args = p.parse_args(argv)

    out = Path(args.outputdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    common = ["--outputdir", str(out), "--xunit", "xunit.xml",
              "--variable", f"ARTIFACTS_ROOT:{out / 'artifacts'}", "--variable", f"LOG_ROOT:{out}",
              "--exclude", "manual", "--exclude", "real-profile"]
    for tag in args.include:
        common += ["--include", tag]
    for tag in args.exclude:
        common += ["--exclude", tag]
    for var in args.variable:
        common += ["--variable", var]
    if args.jobs > 1 or args.shard:
        cmd = [sys.executable, "-m", "pabot.pabot", "--processes", str(max(args.jobs, 1)), "--testlevelsplit",
               "--no-pabotlib", "--command", sys.executable, "-m", "robot", "--end-command"]
        if args.shard:
            cmd += ["--shard", args.shard]
    else:
        cmd = [sys.executable, "-m", "robot"]
    cmd += common + extra + args.suites
    print("running:", " ".join(cmd), flush=True)
    t0 = time.monotonic()
    env = dict(os.environ, HARNESS_ARTIFACTS=str(out / "artifacts"))
    try:
        rc = run_forwarding_signals(cmd, env)
    finally:
        # workers that died without their teardowns (SIGKILL, crash) leave namespaces and dirs
        # behind; their processes died with them (PDEATHSIG). Remove what belongs to dead owners.
        for item in cleanup.clean_stale():
            print(f"cleaned up after a dead worker: {item}", flush=True)
    elapsed = time.monotonic() - t0
    output_xml = out / "output.xml"
    if not output_xml.exists():
        print(f"no {output_xml}: the runner itself failed (exit {rc})", file=sys.stderr)
        return EXIT_INFRA
    failed, infra = mark_infrastructure_errors(output_xml, out / "xunit.xml")
    add_provenance(out / "xunit.xml", out / "artifacts")
    print(f"suites finished in {elapsed:.1f} s: {failed} test failure(s), {infra} infrastructure error(s); "
          f"log {out / 'log.html'}, junit {out / 'xunit.xml'}")
    if infra:
        return EXIT_INFRA
    if failed or rc not in (0,):
        return EXIT_FAIL if rc != 252 else EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
