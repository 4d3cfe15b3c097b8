"""The TLS plaintext tap of a replay: what a device wrote into its TLS library, read from the
replayed device itself through QEMU's gdb stub (tlstap_gdb.py runs inside gdb-multiarch).

A recording over MQTT/TLS holds only ciphertext in its pcap; the replay re-executes the same
instructions, so breaking at the TLS write function yields the exact plaintext MQTT stream
the firmware sent, which is parsed like a reassembled TCP stream (pcap.stream_publishes).
Works for any image with the write function's symbol (``mbedtls_ssl_write`` by default).
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import reaper
from ..errors import InfrastructureError, InputError
from ..procs import spawn, stop_process
from .pcap import Published, stream_publishes

DEFAULT_SYMBOL = "mbedtls_ssl_write"
SCRIPT = Path(__file__).with_name("tlstap_gdb.py")


def has_symbol(elf, name: str) -> bool:
    """Whether the ELF's symbol table defines function ``name``."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    with open(elf, "rb") as f:
        for section in ELFFile(f).iter_sections():
            if isinstance(section, SymbolTableSection) and section.get_symbol_by_name(name):
                return True
    return False


@dataclass
class Write:
    """One call of the TLS write function: the plaintext it accepted (``ret`` bytes)."""

    ctx: int
    length: int
    ret: int | None  # None: the replay ended inside the call
    icount: int | None
    data: bytes


def read_writes(path) -> tuple[list[Write], list[str]]:
    """The tap's JSON lines; a line that does not parse is a note, not a crash."""
    writes, notes = [], []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        try:
            d = json.loads(line)
            if "tap" in d:
                continue
            if d.get("error"):
                notes.append(f"{path}:{n}: {d['error']}")
                continue
            writes.append(Write(int(d["ctx"]), int(d["len"]), d["ret"], d.get("icount"), bytes.fromhex(d["data"])))
        except (ValueError, KeyError, TypeError) as exc:
            notes.append(f"{path}:{n}: unreadable tap record ({exc})")
    return writes, notes


def is_connect(data: bytes) -> bool:
    """An MQTT CONNECT packet starts here (type 1, then protocol name "MQTT" or "MQIsdp")."""
    if not data or data[0] != 0x10:
        return False
    i = 1
    while i < min(len(data), 5) and data[i] & 0x80:
        i += 1
    rest = data[i + 1:i + 9]
    return rest.startswith(b"\x00\x04MQTT") or rest.startswith(b"\x00\x06MQIsdp")


def connections(writes: list[Write]) -> list[list[Write]]:
    """Split the calls into connections: a new TLS context, or a write that starts with CONNECT
    (the MQTT client reuses its TLS state's memory after a reconnect)."""
    out: list[list[Write]] = []
    for w in writes:
        if not out or w.ctx != out[-1][-1].ctx or is_connect(w.data):
            out.append([])
        out[-1].append(w)
    return [c for c in out if any(w.data for w in c)]


def tap_publishes(path, icount_shift: int | None = None) -> tuple[list[Published], list[str]]:
    """The PUBLISH packets the device wrote into TLS, classified and decoded, plus notes.
    With ``icount_shift``, each packet's time is the guest's virtual time of its write."""
    writes, notes = read_writes(path)
    out: list[Published] = []
    conns = connections(writes)
    for n, conn in enumerate(conns):
        stream, starts = b"", []
        for w in conn:
            if w.data:
                starts.append((len(stream), w.icount))
                stream += w.data

        def time_at(offset, starts=starts):
            at = next((ic for start, ic in reversed(starts) if start <= offset), None)
            return at * (1 << icount_shift) / 1e9 if at is not None and icount_shift is not None else None

        pubs, why = stream_publishes(stream, n, time_at)
        if why and not (why.startswith("stream ends") and n == len(conns) - 1):
            notes.append(f"TLS connection {n}: {why}")
        out += pubs
    return out, notes


class TlsTap:
    """gdb-multiarch on a started (paused-at-reset) device's stub, running tlstap_gdb.py."""

    def __init__(self, device, workdir, symbol: str = DEFAULT_SYMBOL):
        if not has_symbol(device.image_path, symbol):
            raise InputError(f"{device.image_path}: no symbol {symbol!r} to tap the TLS plaintext at")
        self.device = device
        self.symbol = symbol
        self.out = Path(workdir) / "tls-plaintext.jsonl"
        self.log = Path(workdir) / "tlstap.gdb.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        from ..device import gdb_command

        self.out.write_text("")
        argv = gdb_command(self.device.image_path, self.device.gdb_endpoint, extra=["source " + str(SCRIPT)])
        argv[1:1] = ["-batch", "-nx"]
        env = dict(os.environ, TLSTAP_OUT=str(self.out), TLSTAP_SYMBOL=self.symbol, TLSTAP_ICOUNT="1")
        with open(self.log, "wb") as log:
            try:
                self.proc = spawn(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
            except OSError as exc:
                raise InfrastructureError(f"cannot start {argv[0]} for the TLS plaintext tap: {exc} "
                                          "(run `make setup`)") from exc
        self._token = reaper.register(f"TLS tap gdb (pid {self.proc.pid})", self._kill)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _kill(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, term_timeout=1.0)
            self.proc = None

    def stop(self, timeout: float = 10.0) -> None:
        """Wait for gdb to see the replay end (QEMU gone), else stop it."""
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        self._kill()
        reaper.unregister(self._token)

    def problems(self) -> list[str]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if line.startswith("tlstap: not") or "Traceback" in line
                or line.startswith("tlstap: cannot")]
