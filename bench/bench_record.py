"""Cost of recording a device for replay (QEMU -icount rr=record).

Workload
--------
``boot_workload``: boot the reference firmware (fast profile, mps2-an385) to the
prompt, run a fixed list of shell commands (version, uptime, help, config, net,
secmod, time, uptime), stop. Timed with recording off and on (``repeats`` runs
each, alternating); the recorded runs are then replayed (timed too) and must be
byte-identical. Reported: wall seconds min/median/max for each, the overhead of
recording (median on / median off), and the replay time.

``idle``: one recorded device left idle for ``--idle`` seconds, without network
and (when the privileged lab is available, unless ``--no-lab``) in a lab with
the hub, DHCP/SNTP and the security module publishing. Reported: replay log
bytes per minute, and the guest clock rate (guest uptime seconds per host
second; 1.0 means the guest clock follows the host's, which networked runs need).

``--shifts 1,3,5`` repeats the boot workload (recorded) for other icount shifts
(guest clock rate and wall time), which is how the default shift was chosen.

Output: ``{"name": "record", "results": {...}}`` on stdout.
Usage: ``python bench/bench_record.py [--repeats 3] [--idle 20] [--no-lab] [--shifts 1,3,5]``
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from harness.device import RECORD_SHIFT, Device, qemu_version

COMMANDS = ("version", "uptime", "help", "config", "net", "secmod", "time", "uptime")


def _uptime(dev) -> float:
    out = " ".join(dev.run_command("uptime"))
    m = re.search(r"uptime: ([0-9.]+) s", out)
    return float(m.group(1)) if m else float("nan")


def boot_workload(tmp: Path, record: bool, shift: int = RECORD_SHIFT, tag: str = "") -> tuple[float, Path | None]:
    out = tmp / f"bundle{tag}" if record else None
    dev = Device("mps2-an385", name="bench", profile="fast", artifacts_dir=tmp / f"art{tag}", keep="never",
                 record=out if record else False, icount_shift=shift)
    t0 = time.perf_counter()
    dev.start()
    try:
        dev.wait_for_prompt(20)
        for command in COMMANDS:
            dev.run_command(command)
    finally:
        dev.stop()
    return time.perf_counter() - t0, out


def _stats(values: list[float]) -> dict:
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3),
            "max": round(max(values), 3)}


def bench_boot(tmp: Path, repeats: int) -> dict:
    from harness.replay.replay import replay_bundle

    off, on, replay, identical = [], [], [], True
    for i in range(repeats):
        off.append(boot_workload(tmp, False, tag=f"off{i}")[0])
        wall, bundle = boot_workload(tmp, True, tag=f"on{i}")
        on.append(wall)
        t0 = time.perf_counter()
        result = replay_bundle(bundle, tmp / f"replay{i}")
        replay.append(time.perf_counter() - t0)
        identical &= result.identical
    return {"commands": list(COMMANDS), "repeats": repeats, "wall_s_record_off": _stats(off),
            "wall_s_record_on": _stats(on), "wall_s_replay": _stats(replay),
            "record_overhead": round(statistics.median(on) / statistics.median(off), 2),
            "replays_identical": identical}


def bench_idle(tmp: Path, seconds: float, lab: bool) -> dict:
    from harness.device import recording_default

    bundle = tmp / ("idle-lab" if lab else "idle")
    the_lab = None
    if lab:
        from harness.lab import Lab
        the_lab = Lab("benchrec", artifacts_dir=tmp / "lab")
        the_lab.start()
        with recording_default(bundle):
            dev = the_lab.start_device("bench-l", artifacts_dir=tmp / "idle-lab-art")
    else:
        dev = Device("mps2-an385", name="bench-i", artifacts_dir=tmp / "idle-art", keep="never", record=bundle)
        dev.start()
    try:
        dev.wait_for_prompt(20)
        u0, t0 = _uptime(dev), time.monotonic()
        time.sleep(seconds)
        u1, t1 = _uptime(dev), time.monotonic()
        if lab:
            the_lab.stop_device(dev.name)
        else:
            dev.stop()
    finally:
        dev.stop()
        if the_lab is not None:
            the_lab.stop()
    manifest = json.loads((bundle / "manifest.json").read_text())
    size, duration = manifest["record"]["replay_log_bytes"], manifest["record"]["duration_s"]
    out = {"seconds": round(duration, 1), "replay_log_bytes": size,
           "replay_log_kb_per_min": round(size / 1024 / duration * 60, 1),
           "guest_clock_rate": round((u1 - u0) / (t1 - t0), 3)}
    if lab:
        out["security_messages_recorded"] = sum(
            1 for line in (bundle / "hub.jsonl").read_text().splitlines() if "SecurityAgent" in line) \
            if (bundle / "hub.jsonl").exists() else 0
    return out


def bench_shifts(tmp: Path, shifts: list[int]) -> dict:
    out = {}
    for shift in shifts:
        dev = Device("mps2-an385", name="shift", artifacts_dir=tmp / f"shift{shift}", keep="never", record=True,
                     icount_shift=shift)
        t0 = time.perf_counter()
        dev.start()
        try:
            dev.wait_for_prompt(20)
            for command in COMMANDS:
                dev.run_command(command)
            boot_wall = time.perf_counter() - t0
            u0, h0 = _uptime(dev), time.monotonic()
            time.sleep(3)
            for _ in range(5):
                dev.run_command("help")  # a little busy output in between
            u1, h1 = _uptime(dev), time.monotonic()
        finally:
            dev.stop()
        out[str(shift)] = {"wall_s_boot_workload": round(boot_wall, 3),
                           "guest_clock_rate": round((u1 - u0) / (h1 - h0), 3)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of idle recording")
    parser.add_argument("--no-lab", action="store_true", help="skip the networked idle recording")
    parser.add_argument("--shifts", default="", help="comma-separated icount shifts to compare")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench-record-"))
    try:
        results = {"icount_shift": RECORD_SHIFT, "boot_workload": bench_boot(tmp, args.repeats),
                   "idle": bench_idle(tmp, args.idle, lab=False)}
        if not args.no_lab:
            from harness.lab.netns import privileged_lab_available
            ok, why = privileged_lab_available()
            results["idle_in_lab"] = bench_idle(tmp, args.idle, lab=True) if ok else {"skipped": why}
        if args.shifts:
            results["shifts"] = bench_shifts(tmp, [int(s) for s in args.shifts.split(",") if s])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    json.dump({"name": "record", "results": results, "qemu": qemu_version(),
               "python": platform.python_version()}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
