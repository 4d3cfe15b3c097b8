"""A device link with impairments: packet loss, delay (with jitter), duplication and a
cut, applied to every frame between the device and the lab bridge.

The kernel's netem is the usual tool; where it is missing (as on these CI
machines: "Specified qdisc kind is unknown") this userspace link does the same
job. QEMU's NIC is connected with ``-netdev dgram`` to this relay, which moves
frames to and from the device's tap on the lab bridge and applies the current
impairment, read from a JSON control file that the harness rewrites at will:

    {"loss": 0.1, "delay_ms": 50, "jitter_ms": 10, "duplicate": 0.05, "down": false, "seed": 1}

    python -m harness.lab.linkem --tap TAP --listen PORT --qemu PORT --control FILE [--log FILE]
"""

from __future__ import annotations

import argparse
import fcntl
import heapq
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time
from pathlib import Path

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
DEFAULT = {"loss": 0.0, "delay_ms": 0.0, "jitter_ms": 0.0, "duplicate": 0.0, "down": False, "seed": 1}


def validate(params: dict) -> dict:
    """Checked impairment settings (raises ValueError naming the bad field)."""
    out = dict(DEFAULT)
    for key, value in params.items():
        if key not in DEFAULT:
            raise ValueError(f"unknown link impairment {key!r} (known: {', '.join(DEFAULT)})")
        out[key] = value
    for key in ("loss", "duplicate"):
        if not 0.0 <= float(out[key]) <= 1.0:
            raise ValueError(f"{key} must be a probability between 0 and 1, not {out[key]!r}")
    for key in ("delay_ms", "jitter_ms"):
        if not 0.0 <= float(out[key]) <= 10_000:
            raise ValueError(f"{key} must be 0..10000 ms, not {out[key]!r}")
    return out


class Impairment:
    def __init__(self, control: Path):
        self.control = control
        self.params = dict(DEFAULT)
        self.mtime = None
        self.rng = random.Random(1)
        self.stats = {"forwarded": 0, "dropped": 0, "duplicated": 0, "delayed": 0}

    def refresh(self) -> None:
        try:
            mtime = self.control.stat().st_mtime_ns
        except OSError:
            return
        if mtime == self.mtime:
            return
        self.mtime = mtime
        try:
            self.params = validate(json.loads(self.control.read_text() or "{}"))
            self.rng = random.Random(self.params["seed"])
        except (ValueError, json.JSONDecodeError):
            pass  # keep the previous settings; the harness validates before writing

    def plan(self, now: float) -> list[float]:
        """Send times for one frame: [] (lost), one, or two (duplicated)."""
        p = self.params
        if p["down"] or self.rng.random() < p["loss"]:
            self.stats["dropped"] += 1
            return []
        delay = max(0.0, p["delay_ms"] + self.rng.uniform(-p["jitter_ms"], p["jitter_ms"])) / 1000.0
        if delay:
            self.stats["delayed"] += 1
        times = [now + delay]
        if self.rng.random() < p["duplicate"]:
            self.stats["duplicated"] += 1
            times.append(now + delay + 0.001)
        self.stats["forwarded"] += 1
        return times


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def serve(args) -> None:
    imp = Impairment(Path(args.control))
    tap = open_tap(args.tap)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", args.listen))
    udp.setblocking(False)
    qemu = ("127.0.0.1", args.qemu)
    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ, "from-device")
    sel.register(tap, selectors.EVENT_READ, "from-lab")
    queue: list[tuple[float, int, str, bytes]] = []  # (due, seq, direction, frame)
    seq = 0
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.ready_file:
        Path(args.ready_file).write_text("ready\n")
    last_refresh = 0.0
    while running:
        now = time.monotonic()
        if now - last_refresh > 0.1:
            imp.refresh()
            last_refresh = now
        timeout = max(0.0, min(0.1, queue[0][0] - now)) if queue else 0.1
        for key, _ in sel.select(timeout):
            try:
                frame = udp.recv(65536) if key.data == "from-device" else os.read(tap, 65536)
            except (BlockingIOError, OSError):
                continue
            for due in imp.plan(time.monotonic()):
                seq += 1
                heapq.heappush(queue, (due, seq, key.data, frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, direction, frame = heapq.heappop(queue)
            try:
                if direction == "from-device":
                    os.write(tap, frame)
                else:
                    udp.sendto(frame, qemu)
            except OSError:
                pass
    if args.log:
        Path(args.log).write_text(json.dumps(imp.stats) + "\n")


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--tap", required=True)
    p.add_argument("--listen", type=int, required=True, help="UDP port QEMU sends the device's frames to")
    p.add_argument("--qemu", type=int, required=True, help="UDP port QEMU receives frames on")
    p.add_argument("--control", required=True)
    p.add_argument("--log")
    p.add_argument("--ready-file")
    serve(p.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())


class ImpairableLink:
    """A device attachment through the impairment relay (implements the NetworkAttachment protocol).

    The relay runs in the lab namespace; QEMU (also there) talks to it over loopback UDP."""

    def __init__(self, lab, tap: str, mac: str, index: int):
        from .. import procs

        self.lab, self.tap, self.mac = lab, tap, mac
        self.netns = lab.ns.name
        self.relay_port, self.qemu_port = 21000 + 2 * index, 21001 + 2 * index
        self.control = lab.runtime / f"linkem-{tap}.json"
        self.stats_log = lab.artifacts_dir / f"linkem-{tap}.json"
        self.set()
        ready = lab.runtime / f"linkem-{tap}.ready"
        self.proc = procs.spawn([sys.executable, "-m", "harness.lab.linkem", "--tap", tap, "--listen",
                                 str(self.relay_port), "--qemu", str(self.qemu_port), "--control", str(self.control),
                                 "--log", str(self.stats_log), "--ready-file", str(ready)], netns=self.netns)
        if not procs.wait_for_path(ready, 10.0, self.proc):
            from ..errors import InfrastructureError
            raise InfrastructureError(f"link emulator for {tap} did not start (exit {self.proc.poll()})")

    def set(self, **params) -> dict:
        """Apply impairments (loss, delay_ms, jitter_ms, duplicate, down, seed); unset ones reset."""
        checked = validate(params)
        tmp = self.control.with_suffix(".tmp")
        tmp.write_text(json.dumps(checked))
        os.replace(tmp, self.control)
        return checked

    def netdev_args(self, netdev_id: str) -> list[str]:
        return [f"dgram,id={netdev_id}", "local.type=inet", "local.host=127.0.0.1", f"local.port={self.qemu_port}",
                "remote.type=inet", "remote.host=127.0.0.1", f"remote.port={self.relay_port}"]

    def detach(self) -> None:
        from .. import procs

        procs.stop_process(self.proc)
        if self.lab.ns.created:
            try:
                self.lab.ns.ip("link", "del", self.tap)
            except Exception:
                pass
