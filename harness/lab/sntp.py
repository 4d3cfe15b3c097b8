"""A small SNTP server (RFC 4330, server mode) for the lab: answers with the
host's clock so devices get unix time without anything leaving the machine.

    python -m harness.lab.sntp --bind 192.0.2.1 --bind 2001:db8:1::1 [--port 123] [--log FILE]
"""

from __future__ import annotations

import argparse
import selectors
import signal
import socket
import struct
import sys
import time

NTP_EPOCH_OFFSET = 2208988800  # 1900-01-01 to 1970-01-01
_PACKET = struct.Struct("!BBbb11I")


def to_ntp(t: float) -> tuple[int, int]:
    sec = int(t) + NTP_EPOCH_OFFSET
    frac = int((t - int(t)) * (1 << 32)) & 0xFFFFFFFF
    return sec & 0xFFFFFFFF, frac


def answer(request: bytes, now: float) -> bytes | None:
    """The server reply to a client request, or None for anything that is not one."""
    if len(request) < 48:
        return None
    first = request[0]
    version, mode = (first >> 3) & 7, first & 7
    if mode != 3 or version not in (1, 2, 3, 4):
        return None
    recv_sec, recv_frac = to_ntp(now)
    orig_sec, orig_frac = struct.unpack("!II", request[40:48])  # client's transmit timestamp
    li_vn_mode = (0 << 6) | (version << 3) | 4
    return _PACKET.pack(li_vn_mode, 2, 6, -20, 0, 0, 0x4C414221,  # stratum 2, ref id "LAB!"
                        recv_sec, recv_frac, orig_sec, orig_frac, recv_sec, recv_frac, *to_ntp(time.time()))


def serve(binds: list[str], port: int, log) -> None:
    sel = selectors.DefaultSelector()
    for addr in binds:
        family = socket.AF_INET6 if ":" in addr else socket.AF_INET
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        sel.register(s, selectors.EVENT_READ)
    log(f"sntp: serving on {', '.join(binds)} port {port}")
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while running:
        for key, _ in sel.select(timeout=0.5):
            try:
                data, peer = key.fileobj.recvfrom(512)
            except OSError:
                continue
            reply = answer(data, time.time())
            if reply is not None:
                key.fileobj.sendto(reply, peer)
                log(f"sntp: answered {peer[0]}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--bind", action="append", required=True)
    p.add_argument("--port", type=int, default=123)
    p.add_argument("--log")
    args = p.parse_args(argv)
    out = open(args.log, "a", buffering=1) if args.log else sys.stderr

    def log(msg: str) -> None:
        out.write(f"{time.time():.3f} {msg}\n")

    serve(args.bind, args.port, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
