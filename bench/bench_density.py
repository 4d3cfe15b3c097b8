"""Density: how many idle devices run at once before console waits start to slip.

Workload
--------
N devices of the reference firmware (``refdev-fast.elf`` on mps2-an385) without a network
(``harness.device.Device``: ``-nic none``), all idle at the shell prompt — the firmware sleeps
in ``wfi`` between timer ticks. N steps through ``--steps`` (default 1, 2, 4, 8, 16, 32, 64,
96, 128); the devices of a step stay up and the next step adds more. At each step, after
a 1 s settle:

* **host CPU per idle device**: utime + stime of each QEMU process from /proc/<pid>/stat
  over a ``--window`` (default 3 s), as % of one CPU (the figure reported is the sum over the
  N processes / N: one process alone moves in clock ticks of 10 ms); the whole host's busy % from
  /proc/stat over the same window; QEMU's run-queue wait (time its threads were runnable but
  not running, /proc/<pid>/task/*/schedstat — what the harness's console waits use to
  detect starvation), in ms per s; RSS per QEMU.
* **serial response time**: ``uptime`` typed on each device in turn (Device.run_command:
  write, wait for the echo, wait for the prompt), ``--rounds`` rounds (default 3) but at least
  15 and at most 96 commands per step (round robin over the devices), the others idle.
* **burst response time**: ``uptime`` on every device at once (one thread per device).

A step *slips* when the serial median exceeds ``--slip-factor`` (default 3) × the 1-device
median + 5 ms, or its 95th percentile exceeds ``--slip-p95-ms`` (default 100 ms; the
harness's command timeout is 5 s). The **knee** is the largest N that did not slip. The
run stops at the first slip (or when the ``--budget`` seconds are spent), then stops
every device.

Rerun: ``.venv/bin/python bench/bench_density.py [--steps 1,2,4,8,16,32,64,96,128] [--window 3]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import _benchlib as B

from harness.device import Device  # noqa: E402
from harness.procs import runqueue_wait_seconds  # noqa: E402

COMMAND = "uptime"
MIN_SAMPLES, MAX_SAMPLES = 15, 96  # serial commands per step


def timed_command(dev: Device) -> float:
    t0 = time.perf_counter()
    out = dev.run_command(COMMAND)
    dt = time.perf_counter() - t0
    if not any("uptime" in line for line in out):
        raise RuntimeError(f"{dev.name}: unexpected answer to {COMMAND!r}: {out}")
    return dt


def burst(devs: list[Device]) -> list[float]:
    barrier = threading.Barrier(len(devs))
    results: list = [None] * len(devs)

    def one(i: int) -> None:
        barrier.wait()
        try:
            results[i] = timed_command(devs[i])
        except Exception as exc:  # reported as a missing sample
            results[i] = exc

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(devs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    errors = [r for r in results if isinstance(r, Exception)]
    if errors:
        raise RuntimeError(f"burst: {len(errors)} command(s) failed: {errors[0]}")
    return results


def measure_step(devs: list[Device], window: float, rounds: int) -> dict:
    time.sleep(1.0)
    pids = [d.proc.pid for d in devs]
    c0 = [B.proc_cpu_seconds(p) for p in pids]
    q0 = [runqueue_wait_seconds(p) for p in pids]
    h0 = B.host_cpu_times()
    t0 = time.monotonic()
    time.sleep(window)
    dt = time.monotonic() - t0
    c1 = [B.proc_cpu_seconds(p) for p in pids]
    q1 = [runqueue_wait_seconds(p) for p in pids]
    h1 = B.host_cpu_times()
    cpu_pct = [(b - a) / dt * 100 for a, b in zip(c0, c1) if a is not None and b is not None]
    rq_ms = [(b - a) / dt * 1e3 for a, b in zip(q0, q1)]
    host_busy = (h1[0] - h0[0]) / max(1, h1[1] - h0[1]) * 100
    # small N: enough samples for a stable baseline; large N: bounded (a saturated host answers slowly)
    total = min(max(MIN_SAMPLES, rounds * len(devs)), MAX_SAMPLES)
    serial = [timed_command(devs[i % len(devs)]) for i in range(total)]
    bursts = burst(devs) + burst(devs)
    return {
        "n": len(devs),
        "cpu_pct_per_device": B.summary(cpu_pct, 3),
        "cpu_pct_total": round(sum(cpu_pct), 2),
        "cpu_pct_mean_per_device": round(sum(cpu_pct) / max(1, len(cpu_pct)), 3),
        "host_busy_pct": round(host_busy, 1),
        "runqueue_wait_ms_per_s": B.summary(rq_ms, 3),
        "rss_mib_per_device": B.summary([B.proc_rss_mib(p) for p in pids], 1),
        "serial_ms": {**B.summary([s * 1e3 for s in serial], 3), "p95": round(B.percentile(serial, 95) * 1e3, 3)},
        "burst_ms": {**B.summary([s * 1e3 for s in bursts], 3), "p95": round(B.percentile(bursts, 95) * 1e3, 3)},
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", default="1,2,4,8,16,32,64,96,128")
    ap.add_argument("--board", default="mps2-an385")
    ap.add_argument("--window", type=float, default=3.0, help="CPU measurement window, s")
    ap.add_argument("--rounds", type=int, default=3, help="serial uptime rounds per step")
    ap.add_argument("--slip-factor", type=float, default=3.0)
    ap.add_argument("--slip-p95-ms", type=float, default=100.0)
    ap.add_argument("--budget", type=float, default=240.0, help="stop adding steps after this many seconds")
    args = ap.parse_args(argv)
    B.install_signal_handlers()

    steps = [int(s) for s in args.steps.split(",") if s.strip()]
    devs: list[Device] = []
    results: list[dict] = []
    knee, slipped_at, stop_reason = None, None, "all steps done"
    t_begin = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-dens-") as tmp:
        try:
            for n in steps:
                if time.monotonic() - t_begin > args.budget:
                    stop_reason = f"time budget of {args.budget:.0f} s spent"
                    break
                boot = []
                while len(devs) < n:
                    i = len(devs)
                    dev = Device(args.board, name=f"dens-{i}", profile="fast", keep="never",
                                 artifacts_dir=Path(tmp) / f"d{i}")
                    devs.append(dev)
                    t0 = time.perf_counter()
                    dev.start()
                    dev.wait_for_prompt()
                    boot.append(time.perf_counter() - t0)
                step = measure_step(devs, args.window, args.rounds)
                step["boot_ms_new_devices"] = B.summary([b * 1e3 for b in boot], 1)
                results.append(step)
                base = results[0]["serial_ms"]["median"]
                limit = args.slip_factor * base + 5.0
                step["slipped"] = bool(step["serial_ms"]["median"] > limit
                                       or step["serial_ms"]["p95"] > args.slip_p95_ms)
                B.log(f"N={n}: CPU/device {step['cpu_pct_mean_per_device']:.2f} % (host busy "
                      f"{step['host_busy_pct']} %), uptime serial median {step['serial_ms']['median']:.1f} ms "
                      f"p95 {step['serial_ms']['p95']:.1f} ms, burst median {step['burst_ms']['median']:.1f} ms"
                      + (" — SLIPPED" if step["slipped"] else ""))
                if step["slipped"]:
                    slipped_at = n
                    stop_reason = f"serial latency slipped at N={n}"
                    break
                knee = n
        finally:
            for d in reversed(devs):
                d.stop()

    base = results[0]["serial_ms"]["median"] if results else None
    res = {"board": args.board, "steps": results, "knee": knee, "slipped_at": slipped_at, "stop_reason": stop_reason,
           "threshold": {"serial_median_ms_above": round(args.slip_factor * base + 5.0, 3) if base else None,
                         "serial_p95_ms_above": args.slip_p95_ms}}
    # total / N: finer than one process's figure (clock ticks of 10 ms over the window)
    idle = [s["cpu_pct_mean_per_device"] for s in results if s["n"] >= 4] or \
        [s["cpu_pct_mean_per_device"] for s in results]
    res["cpu_pct_per_idle_device"] = B.summary(idle, 3)
    rows = []
    for s in results:
        rows.append({"metric": f"N={s['n']}: uptime, serial", "unit": "ms",
                     "min": s["serial_ms"]["min"], "median": s["serial_ms"]["median"], "max": s["serial_ms"]["max"],
                     "n": s["serial_ms"]["n"],
                     "note": (f"p95 {s['serial_ms']['p95']:.1f} ms; burst median {s['burst_ms']['median']:.1f} "
                              f"p95 {s['burst_ms']['p95']:.1f} ms; CPU/device {s['cpu_pct_mean_per_device']:.2f} %, "
                              f"host busy {s['host_busy_pct']:.0f} %, run-queue wait "
                              f"{s['runqueue_wait_ms_per_s']['median']:.1f} ms/s, RSS "
                              f"{s['rss_mib_per_device']['median']:.0f} MiB; new devices booted in "
                              f"{s['boot_ms_new_devices']['median']:.0f} ms (median)"
                              + (" — SLIPPED" if s["slipped"] else ""))})
    rows.append(B.row("host CPU per idle device (Σ QEMU CPU / N, steps N ≥ 4)", res["cpu_pct_per_idle_device"],
                      "% of a CPU", digits=2, note="host busy % covers the whole machine, other users included"))
    rows.append(B.row("knee: most devices before console waits slip", value=knee if knee is not None else "-",
                      unit="devices", note=(f"slipped at N={slipped_at}" if slipped_at
                                            else f"no slip up to N={results[-1]['n'] if results else 0} "
                                                 f"({stop_reason})")))
    cpu = res["cpu_pct_per_idle_device"]["median"]
    headline = ((f"knee at {knee} devices (slipped at {slipped_at})" if slipped_at else
                 f"no slip up to {results[-1]['n'] if results else 0} devices (knee ≥ {knee})")
                + (f"; {cpu:.2f} % of a CPU per idle device" if cpu is not None else ""))
    B.emit("density", "Density: idle devices before console waits slip",
           workload=(f"N idle devices (refdev-fast, {args.board}, no network), N in {steps[:len(results) + 1]}; "
                     f"per step: CPU over {args.window:.0f} s, {args.rounds} serial rounds (15-96 commands) "
                     "and 2 bursts of "
                     f"'{COMMAND}' on every device; slip = serial median > {args.slip_factor:g}× the 1-device "
                     f"median + 5 ms or p95 > {args.slip_p95_ms:g} ms"),
           rerun=f".venv/bin/python bench/bench_density.py --steps {args.steps} --window {args.window:g}",
           rows=rows, results=res, headline=headline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
