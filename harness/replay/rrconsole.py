"""The console of a recorded or replayed device: a FIFO pair instead of a socket,
and input one byte at a time.

Why a FIFO pair (``-chardev pipe``) under record/replay — measured with QEMU 7.2:

* QEMU's replay log holds the result of every console write the UART made. On
  a socket chardev the UART writes one byte per call, and each byte costs a
  whole socket buffer (~1 KB of the sender's budget): a burst of a few hundred
  bytes (``help``) fills it before the harness drains it, the write fails with
  EAGAIN, and the UART retries from a host-time watch callback. That retry is
  not in the log, so the replay stops with "Missing character write event in
  the replay log" (and the chardev logfile gets the byte twice). A pipe packs
  bytes into pages; the harness enlarges it to 1 MB, far above any burst.
* Input: under ``rr=record`` a byte read from the chardev reaches the UART only
  at the next replay checkpoint, while the chardev keeps reading (the UART
  still shows room for one byte); a line typed at once arrives as a burst and
  all but its first byte are dropped by the one-byte UART receive register.
  So a recorded device's console sends one byte, waits for the firmware's echo
  (the UART is empty again), then sends the next; ``ECHO_TIMEOUT`` bounds the
  wait for firmware that does not echo. The recording stays exact either way:
  QEMU logs what it delivered and a replay delivers the same bytes at the same
  instruction.

QEMU opens both FIFOs read-write at start, so it never blocks on them, and the
paused start is unchanged: QEMU starts with -S, the harness attaches here, then
sends ``cont``. The chardev's ``logfile=`` works as on the socket.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import threading
import time
from pathlib import Path

from ..console import Console
from ..errors import DeviceFailure, InfrastructureError

ECHO_TIMEOUT = 1.0  # seconds to wait for the echo of one byte
PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031


def make_fifos(base: Path) -> None:
    """<base>.in (to the guest) and <base>.out (from the guest) for ``-chardev pipe,path=<base>``."""
    for suffix in (".in", ".out"):
        os.mkfifo(f"{base}{suffix}", 0o600)


class _FifoChannel:
    """The socket calls Console uses, over the two FIFOs; shutdown() wakes a blocked recv()."""

    def __init__(self, rfd: int, wfd: int):
        self.rfd, self.wfd = rfd, wfd
        self._wake_r, self._wake_w = os.pipe()
        self._closed = False
        self._lock = threading.Lock()

    def recv(self, n: int) -> bytes:
        while True:
            ready, _, _ = select.select([self.rfd, self._wake_r], [], [])
            if self._wake_r in ready:
                return b""
            try:
                return os.read(self.rfd, n)
            except BlockingIOError:
                continue
            except OSError:
                return b""

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.wfd, view)
            except BlockingIOError:
                select.select([], [self.wfd], [], 0.1)
                continue
            view = view[n:]

    def shutdown(self, how=None) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for fd in (self.rfd, self.wfd, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass


class RRConsole(Console):
    """Console over ``-chardev pipe,path=<base>``; ``paced``: one input byte per echo (record)."""

    def __init__(self, base: Path, log_path: Path, paced: bool = True, prompt: str | None = None, **kwargs):
        super().__init__(Path(f"{base}.out"), log_path, **kwargs)
        self.base = Path(base)
        self.paced = paced
        self.prompt = prompt
        self._rx_text = ""

    def attach(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                rfd = os.open(f"{self.base}.out", os.O_RDONLY | os.O_NONBLOCK)
                wfd = os.open(f"{self.base}.in", os.O_WRONLY | os.O_NONBLOCK)  # ENXIO until QEMU opened it
                break
            except OSError as exc:
                if "rfd" in locals():
                    os.close(rfd)
                    del rfd
                if exc.errno not in (errno.ENXIO, errno.ENOENT) or time.monotonic() > deadline:
                    raise InfrastructureError(f"{self.name}: cannot attach to console FIFOs {self.base}.in/.out: "
                                              f"{exc}") from None
                time.sleep(0.02)
        try:
            fcntl.fcntl(rfd, _F_SETPIPE_SZ, PIPE_SIZE)  # see the module docstring
        except OSError:
            pass
        self._sock = _FifoChannel(rfd, wfd)
        self._t0 = time.monotonic()
        self.wall_t0 = time.time()
        self._log_file = open(self.log_path, "a", encoding="utf-8", buffering=1)
        self._thread = threading.Thread(target=self._reader, name=f"console-{self.name}", daemon=True)
        self._thread.start()

    def _feed(self, text: str) -> None:
        with self._cond:
            self._rx_text = (self._rx_text + text)[-256:]
        super()._feed(text)

    def write(self, text: str) -> None:
        if self._sock is None or self.eof:
            raise DeviceFailure(f"{self.name}: cannot write to the console: {self._describe_exit()}")
        if not self.paced:
            self._sock.sendall(text.encode())
            return
        for ch in text:
            with self._cond:
                self._rx_text = ""
            self._sock.sendall(ch.encode())
            deadline = time.monotonic() + ECHO_TIMEOUT
            with self._cond:
                while not self.eof:
                    if self._echoed(ch):
                        break
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(min(remaining, 0.05))

    def _echoed(self, ch: str) -> bool:
        """Has the firmware echoed ``ch`` (so it read it)? Output the firmware prints on its own
        (log lines, the prompt printed again after them: "refdev> " holds r, e, f, d, v) must not
        count: with a known prompt, a printable byte counts only as the end of the line being typed
        after the prompt."""
        if not self._rx_text:
            return False
        if ch in "\r\n":
            return "\n" in self._rx_text
        if not ch.isprintable():
            return True
        if self.prompt:
            line = self.partial
            return line.startswith(self.prompt) and len(line) > len(self.prompt) and line.endswith(ch)
        return ch in self._rx_text

    def close(self) -> None:
        super().close()
        if self._sock is not None:
            self._sock.close()
