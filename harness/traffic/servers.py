"""Lab host services so connections from the device complete (a C2 host that
answers, a benign peer that echoes): TCP and UDP listeners bound to lab host
addresses, answering every connection/datagram with a fixed banner or an echo.

    python -m harness.traffic.servers --tcp ADDR:PORT[:echo|:banner] --udp ADDR:PORT ... [--log FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time


def _split(spec: str) -> tuple[str, int, str]:
    mode = "echo"
    if spec.endswith((":echo", ":banner")):
        spec, mode = spec.rsplit(":", 1)
    host, port = spec.rsplit(":", 1)
    return host.strip("[]"), int(port), mode


async def main_async(args) -> None:
    log = open(args.log, "a", buffering=1) if args.log else sys.stderr

    def note(msg: str) -> None:
        log.write(f"{time.time():.3f} {msg}\n")

    async def tcp_handler(reader, writer, mode):
        peer = writer.get_extra_info("peername")
        note(f"tcp connection from {peer}")
        if mode == "banner":
            writer.write(b"220 lab-c2 ready\r\n")
        try:
            while True:
                data = await asyncio.wait_for(reader.read(4096), 30)
                if not data:
                    break
                writer.write(data if mode == "echo" else b"ack\r\n")
                await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        writer.close()

    class Udp(asyncio.DatagramProtocol):
        def connection_made(self, transport):
            self.transport = transport

        def datagram_received(self, data, addr):
            note(f"udp datagram from {addr} ({len(data)} bytes)")
            self.transport.sendto(data, addr)

    loop = asyncio.get_running_loop()
    for spec in args.tcp:
        host, port, mode = _split(spec)
        await asyncio.start_server(lambda r, w, m=mode: tcp_handler(r, w, m), host, port, reuse_address=True)
        note(f"tcp {host}:{port} ({mode})")
    for spec in args.udp:
        host, port, _ = _split(spec)
        await loop.create_datagram_endpoint(Udp, local_addr=(host, port))
        note(f"udp {host}:{port} (echo)")
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--tcp", action="append", default=[])
    p.add_argument("--udp", action="append", default=[])
    p.add_argument("--log")
    p.add_argument("--ready-file")
    args = p.parse_args(argv)

    async def run():
        task = asyncio.create_task(main_async(args))
        await asyncio.sleep(0.05)
        if args.ready_file:
            open(args.ready_file, "w").write("ready\n")
        await task

    asyncio.run(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
