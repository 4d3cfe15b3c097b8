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
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from .robot.library import INFRA_TAG

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
    rc = subprocess.call(cmd)
    elapsed = time.monotonic() - t0
    output_xml = out / "output.xml"
    if not output_xml.exists():
        print(f"no {output_xml}: the runner itself failed (exit {rc})", file=sys.stderr)
        return EXIT_INFRA
    failed, infra = mark_infrastructure_errors(output_xml, out / "xunit.xml")
    print(f"suites finished in {elapsed:.1f} s: {failed} test failure(s), {infra} infrastructure error(s); "
          f"log {out / 'log.html'}, junit {out / 'xunit.xml'}")
    if infra:
        return EXIT_INFRA
    if failed or rc not in (0,):
        return EXIT_FAIL if rc != 252 else EXIT_USAGE
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
