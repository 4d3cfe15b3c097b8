"""Test run: the Robot suites serial vs in parallel (pabot) on this machine.

Workload
--------
``python -m harness.suites --jobs N --outputdir <tmp> SUITES`` — exactly what ``make test``
and ``make suites`` run — for each N in ``--jobs`` (default 1,2,3; N = 1 is plain ``robot``,
N > 1 is pabot with ``--testlevelsplit``), ``--repeats`` times each (default 1), the order of
the N values rotated between repeats. Default SUITES: a representative subset,
``robot_suites/boot.robot`` and ``robot_suites/network.robot`` (14 tests: boots on all three
boards, shell, reset, fault, semihosting exit; lab network, DHCP/SLAAC, DNS, SNTP, hub) —
about a minute serially. The full set (``robot_suites``: conformance and detection wait for
the module's 10 s and 60 s cycles) takes far longer serially than ``make bench`` may take;
run it with ``--suites robot_suites``.

Per run: wall time of the command, tests passed/failed (output.xml), and the sum of the
tests' own durations. Speed-up = serial wall time / parallel wall time (medians); the
"parallelism" column, sum of test durations / wall time, says how busy the workers were.

Rerun: ``.venv/bin/python bench/bench_suites.py [--jobs 1,2,3] [--repeats 1]
[--suites robot_suites/boot.robot,robot_suites/network.robot]``
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import _benchlib as B

from harness import procs, reaper  # noqa: E402

DEFAULT_SUITES = "robot_suites/boot.robot,robot_suites/network.robot"


def run_suites(jobs: int, suites: list[str], outdir: Path, timeout: float) -> dict:
    argv = [B.PY, "-m", "harness.suites", "--jobs", str(jobs), "--outputdir", str(outdir), *suites]
    log = open(outdir.parent / f"{outdir.name}.log", "wb")
    t0 = time.perf_counter()
    # own session and PDEATHSIG: a timeout or a signal to this script stops robot/pabot and its QEMUs
    proc = procs.spawn(argv, stdout=log, stderr=subprocess.STDOUT, cwd=str(B.REPO))
    token = reaper.register(f"suites --jobs {jobs}", lambda: procs.stop_process(proc))
    try:
        rc = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        procs.stop_process(proc)
        rc = None
    finally:
        reaper.unregister(token)
        log.close()
    wall = time.perf_counter() - t0
    out = {"jobs": jobs, "wall_s": wall, "exit": rc}
    xml = outdir / "output.xml"
    if xml.exists():
        tests = [t for t in ET.parse(xml).iter("test")]
        status = [t.find("status") for t in tests]
        out["tests"] = len(tests)
        out["passed"] = sum(1 for s in status if s is not None and s.get("status") == "PASS")
        out["failed"] = sum(1 for s in status if s is not None and s.get("status") == "FAIL")
        out["test_time_sum_s"] = sum(float(s.get("elapsed", 0)) for s in status if s is not None)
        out["parallelism"] = out["test_time_sum_s"] / wall if wall else None
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--jobs", default="1,2,3")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--suites", default=DEFAULT_SUITES, help="comma-separated suite files or directories")
    ap.add_argument("--timeout", type=float, default=900.0, help="per run")
    args = ap.parse_args(argv)
    B.install_signal_handlers()

    jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    suites = [s.strip() for s in args.suites.split(",") if s.strip()]
    runs: dict[int, list[dict]] = {j: [] for j in jobs}
    with tempfile.TemporaryDirectory(prefix="bench-suites-") as tmp:
        for rep in range(args.repeats):
            order = jobs[rep % len(jobs):] + jobs[:rep % len(jobs)]
            for j in order:
                r = run_suites(j, suites, Path(tmp) / f"r{rep}-j{j}", args.timeout)
                runs[j].append(r)
                B.log(f"--jobs {j}: {r['wall_s']:.1f} s, {r.get('passed')}/{r.get('tests')} passed, exit {r['exit']}")

    res = {"suites": suites, "repeats": args.repeats, "cpus": B.machine()["cpus"],
           "runs": {str(j): [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()} for r in rs]
                    for j, rs in runs.items()}}
    base = jobs[0]
    med = {j: statistics.median(r["wall_s"] for r in runs[j]) for j in jobs}
    rows = []
    for j in jobs:
        walls = [r["wall_s"] for r in runs[j]]
        tests = runs[j][-1].get("tests")
        passed = sum(r.get("passed") or 0 for r in runs[j])
        total = sum(r.get("tests") or 0 for r in runs[j])
        what = "robot (serial)" if j == 1 else f"pabot --processes {j}"
        rows.append(B.row(f"--jobs {j}: {what}, wall time", walls, "s", digits=1,
                          note=f"{tests} tests; {passed}/{total} passed over the repeats"))
    for j in jobs:
        if j != base:
            res[f"speedup_jobs{j}"] = B.ratio(med[base], med[j])
            rows.append(B.row(f"speed-up --jobs {j} vs --jobs {base}", value=res[f"speedup_jobs{j}"], unit="×",
                              note="ratio of median wall times"))
    for j in jobs:
        rows.append(B.row(f"--jobs {j}: parallelism (Σ test time / wall)",
                          [r.get("parallelism") for r in runs[j]], "×", digits=2))
    failures = [r for rs in runs.values() for r in rs if r["exit"] != 0]
    best = max((j for j in jobs if j != base), key=lambda j: res[f"speedup_jobs{j}"], default=base)
    subset = "subset " + " + ".join(Path(s).name for s in suites) if suites != ["robot_suites"] else "all suites"
    B.emit("suites", "Test run: serial vs pabot",
           workload=(f"python -m harness.suites --jobs N on {subset} ({runs[base][-1].get('tests')} tests), "
                     f"N in {jobs}, {args.repeats} run(s) each, on {res['cpus']} CPUs"),
           rerun=(f".venv/bin/python bench/bench_suites.py --jobs {args.jobs} --repeats {args.repeats} "
                  f"--suites {','.join(suites)}"),
           rows=rows, results=res,
           headline=(f"{subset}: serial {med[base]:.0f} s; "
                     + ", ".join(f"--jobs {j} {med[j]:.0f} s ({res[f'speedup_jobs{j}']}×)" for j in jobs if j != base)
                     + (f"; best --jobs {best}" if best != base else "")
                     + (f"; {len(failures)} run(s) with failures" if failures else "")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
