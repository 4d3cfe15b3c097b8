"""Boot: bare QEMU start to first UART line vs the harness's start-to-prompt.

Workload
--------
The reference firmware (``refdev-fast.elf``) of one board (default mps2-an385), no network.

* **bare**: ``qemu-system-arm`` started by this script with the harness's machine, CPU,
  image and config block (same ``-device loader``), but the console on stdio (a pipe), no
  QMP, not paused (no ``-S``), ``-nic none``. Timed from just before the process is spawned
  to the first byte on the UART, the first non-empty line (the boot banner) and the shell
  prompt ``refdev> ``; then the process is killed (SIGKILL, timed as "stop").
* **harness**: ``harness.device.Device(board).start()`` then ``wait_for_prompt()`` — check
  the ELF, create the runtime and artifacts dirs, spawn QEMU paused, wait for the QMP socket,
  connect QMP, attach the console reader, ``cont``, and the 50 ms early-exit check. Timed
  from before ``start()`` to: ``start()`` returning, the banner line and the prompt as the
  console reader received them (console timestamps), ``wait_for_prompt`` returning; then
  ``stop()`` (QMP quit, reap, remove dirs).

Bare and harness runs alternate, ``--repeats`` of each (default 10); min/median/max.
The overhead ratio is harness start-to-prompt (median) / bare start-to-first-line (median),
and, like for like, harness / bare start-to-prompt.

Rerun: ``.venv/bin/python bench/bench_boot.py [--board mps2-an385] [--repeats 10]``
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _benchlib as B

from harness import reaper  # noqa: E402
from harness.devconfig import DeviceConfig  # noqa: E402
from harness.device import PROMPT, QEMU, Device, reference_image  # noqa: E402
from harness.targets import load_target  # noqa: E402


def bare_boot(target, image: Path, config_bin: Path, timeout: float = 10.0) -> dict:
    argv = [QEMU, "-machine", target.machine, "-cpu", target.qemu_cpu, "-nodefaults", "-no-user-config",
            "-display", "none", "-serial", "stdio", "-semihosting-config", "enable=on,target=native",
            "-kernel", str(image),
            "-device", f"loader,file={config_bin},addr=0x{target.config_block:08x},force-raw=on",
            "-nic", "none"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    token = reaper.register("bare qemu", lambda: _kill(proc))
    out = {"first_byte": None, "first_line": None, "prompt": None}
    buf = b""
    try:
        deadline = t0 + timeout
        while time.perf_counter() < deadline and out["prompt"] is None:
            r, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.perf_counter()))
            if not r:
                break
            data = os.read(proc.stdout.fileno(), 4096)
            now = time.perf_counter() - t0
            if not data:
                break
            if out["first_byte"] is None:
                out["first_byte"] = now
            buf += data
            if out["first_line"] is None and any(line.strip() for line in buf.split(b"\n")[:-1]):
                out["first_line"] = now
            if out["prompt"] is None and PROMPT.encode() in buf:
                out["prompt"] = now
        if out["prompt"] is None:
            raise RuntimeError(f"bare QEMU: no prompt within {timeout} s; output: {buf[-300:]!r}")
        t1 = time.perf_counter()
        _kill(proc)
        out["stop"] = time.perf_counter() - t1
    finally:
        _kill(proc)
        reaper.unregister(token)
    return out


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(5)
    if proc.stdout:
        proc.stdout.close()


def harness_boot(board: str, image: Path, artifacts: Path, n: int) -> dict:
    t0 = time.perf_counter()
    w0 = time.time()
    dev = Device(board, image, name=f"bench-boot-{n}", keep="never", artifacts_dir=artifacts / f"b{n}")
    try:
        dev.start()
        started = time.perf_counter() - t0
        m = dev.wait_for_prompt()
        prompt = time.perf_counter() - t0
        prompt_console = dev.console.wall_t0 + m.t - w0
        lines = list(dev.console.lines)
        first_line = next((dev.console.wall_t0 + ln.t - w0 for ln in lines if ln.text.strip()), None)
        first_byte = dev.console.wall_t0 + lines[0].t - w0 if lines else None
        t1 = time.perf_counter()
        dev.stop()
        stop = time.perf_counter() - t1
    finally:
        dev.stop(failed=True)
    return {"start_returned": started, "first_byte": first_byte, "first_line": first_line,
            "prompt_on_console": prompt_console, "prompt": prompt, "stop": stop}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--board", default="mps2-an385")
    ap.add_argument("--profile", default="fast")
    ap.add_argument("--repeats", type=int, default=10)
    args = ap.parse_args(argv)
    B.install_signal_handlers()

    target = load_target(args.board)
    image = reference_image(args.board, args.profile)
    bare, harn = [], []
    with tempfile.TemporaryDirectory(prefix="bench-boot-") as tmp:
        tmp = Path(tmp)
        config_bin = tmp / "config.bin"
        config_bin.write_bytes(DeviceConfig(device_id="bench-bare").to_block(target.config_block_size))
        # one untimed warm-up of each (page cache, QEMU binary)
        bare_boot(target, image, config_bin)
        harness_boot(args.board, image, tmp, 0)
        for i in range(args.repeats):
            bare.append(bare_boot(target, image, config_bin))
            harn.append(harness_boot(args.board, image, tmp, i + 1))
            B.log(f"boot {i + 1}/{args.repeats}: bare first line {bare[-1]['first_line'] * 1e3:.1f} ms, "
                  f"prompt {bare[-1]['prompt'] * 1e3:.1f} ms; harness prompt {harn[-1]['prompt'] * 1e3:.1f} ms")

    def col(runs, key):
        return [r[key] for r in runs if r.get(key) is not None]

    res = {"board": args.board, "image": str(image), "repeats": args.repeats,
           "bare": {k: B.summary(col(bare, k), 6) for k in ("first_byte", "first_line", "prompt", "stop")},
           "harness": {k: B.summary(col(harn, k), 6)
                       for k in ("start_returned", "first_byte", "first_line", "prompt_on_console", "prompt", "stop")}}
    bm, hm = res["bare"], res["harness"]
    res["overhead_ratio"] = B.ratio(hm["prompt"]["median"], bm["first_line"]["median"])
    res["overhead_ratio_prompt_to_prompt"] = B.ratio(hm["prompt"]["median"], bm["prompt"]["median"])
    res["overhead_ms"] = round((hm["prompt"]["median"] - bm["prompt"]["median"]) * 1e3, 1)
    rows = [
        B.row("bare QEMU: start → first UART line (banner)", col(bare, "first_line"), "ms", scale=1e3, digits=1),
        B.row("bare QEMU: start → prompt", col(bare, "prompt"), "ms", scale=1e3, digits=1),
        B.row("harness Device: start() returns", col(harn, "start_returned"), "ms", scale=1e3, digits=1,
              note="ELF check, dirs, spawn -S, QMP, console attach, cont, 50 ms exit check"),
        B.row("harness Device: start → first UART line", col(harn, "first_line"), "ms", scale=1e3, digits=1),
        B.row("harness Device: start → prompt reaches the console reader", col(harn, "prompt_on_console"), "ms",
              scale=1e3, digits=1, note="console timestamp"),
        B.row("harness Device: start → prompt (wait_for_prompt returns)", col(harn, "prompt"), "ms", scale=1e3,
              digits=1, note="what a test waits"),
        B.row("harness Device: stop()", col(harn, "stop"), "ms", scale=1e3, digits=1,
              note="QMP quit, reap, remove dirs"),
        B.row("overhead ratio: harness start→prompt / bare start→first line", value=res["overhead_ratio"],
              unit="×", note="ratio of medians"),
        B.row("overhead ratio: harness / bare start→prompt", value=res["overhead_ratio_prompt_to_prompt"],
              unit="×", note=f"ratio of medians; +{res['overhead_ms']} ms"),
    ]
    B.emit("boot", "Boot: bare QEMU vs harness", workload=(
        f"{image.name} on {args.board}, no network; {args.repeats} bare and {args.repeats} harness boots, "
        "alternating, after one warm-up each"),
        rerun=f".venv/bin/python bench/bench_boot.py --board {args.board} --repeats {args.repeats}",
        rows=rows, results=res,
        headline=(f"harness start→prompt {hm['prompt']['median'] * 1e3:.0f} ms vs bare start→first line "
                  f"{bm['first_line']['median'] * 1e3:.0f} ms: {res['overhead_ratio']}× "
                  f"({res['overhead_ratio_prompt_to_prompt']}× prompt to prompt)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
