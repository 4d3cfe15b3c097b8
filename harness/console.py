"""The device console: a reader on QEMU's UART chardev socket, line waits,
death strings, and a timestamped log kept as an artifact.

Waits follow Renode's terminal tester: every wait starts where the previous
successful wait stopped, so a test reads the console once, in order.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import DeviceFailure, InfrastructureError, WaitTimeout
from .procs import connect_unix

FAULT_BANNER = r"\*\*\* HARDFAULT \*\*\*"
FAULT_END = "*** END HARDFAULT ***"


@dataclass
class Line:
    t: float  # seconds since the console was attached
    text: str


@dataclass
class Match:
    line: str
    groups: tuple
    index: int
    t: float


class Console:
    """Reader of one device's UART. ``describe_exit`` tells why the stream ended."""

    def __init__(self, sock_path: Path, log_path: Path, name: str = "device",
                 describe_exit: Callable[[], str] | None = None,
                 starvation: Callable[[], float] | None = None,
                 log: Callable[[str], None] | None = None):
        self.sock_path = Path(sock_path)
        self.log_path = Path(log_path)
        self.name = name
        self.lines: list[Line] = []
        self.partial = ""
        self.cursor = 0            # index of the first line not yet consumed by a wait
        self.partial_consumed = 0  # chars of the partial line consumed by a prompt wait
        self.eof = False
        self._sock: socket.socket | None = None
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._t0 = time.monotonic()
        self.wall_t0 = time.time()
        self._log_file = None
        self._pending_cr = False
        self._failing: list[tuple[re.Pattern, str]] = []
        self.failure: list[str] | None = None  # lines of a matched death string (e.g. fault banner)
        self._failure_complete = threading.Event()
        self._describe_exit = describe_exit or (lambda: "console closed")
        self._starvation = starvation
        self._note = log or (lambda msg: None)
        self.annotate: Callable[[list[str]], str] | None = None  # e.g. resolve a fault PC to a source line
        self.register_failing(FAULT_BANNER, regex=True)

    # -- connection -------------------------------------------------------
    def attach(self, timeout: float = 5.0) -> None:
        try:
            self._sock = connect_unix(self.sock_path, timeout)
        except OSError as exc:
            raise InfrastructureError(f"{self.name}: cannot attach to console socket {self.sock_path}: {exc}") from None
        self._t0 = time.monotonic()
        self.wall_t0 = time.time()  # host unix time of console line t=0
        self._log_file = open(self.log_path, "a", encoding="utf-8", buffering=1)
        self._thread = threading.Thread(target=self._reader, name=f"console-{self.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        if self._thread is not None:
            self._thread.join(2.0)
        with self._cond:
            if self.partial:
                self._log(self.partial)
                self.partial = ""
            self.eof = True
            self._cond.notify_all()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def _reader(self) -> None:
        while True:
            try:
                data = self._sock.recv(4096)
            except OSError:
                data = b""
            if not data:
                with self._cond:
                    self.eof = True
                    self._cond.notify_all()
                self._failure_complete.set()
                return
            self._feed(data.decode("utf-8", errors="replace"))

    def _feed(self, text: str) -> None:
        with self._cond:
            for ch in text:
                if ch == "\r":
                    self._pending_cr = True
                    continue
                if ch == "\n":
                    self._pending_cr = False
                    self._complete_line()
                    continue
                if self._pending_cr:
                    # a lone CR (no LF follows): treat as a line break too
                    self._pending_cr = False
                    self._complete_line()
                self.partial += ch
            self._cond.notify_all()

    def _complete_line(self) -> None:
        text = self.partial
        self.partial = ""
        self.partial_consumed = 0
        self.lines.append(Line(time.monotonic() - self._t0, text))
        self._log(text)
        if self.failure is not None:
            if len(self.failure) < 40:
                self.failure.append(text)
            if FAULT_END in text:
                self._failure_complete.set()
            return
        for pattern, desc in self._failing:
            if pattern.search(text):
                self.failure = [text]
                self._note(f"{self.name}: failing string {desc!r} seen on the console")
                return

    def _log(self, text: str) -> None:
        if self._log_file is not None:
            self._log_file.write(f"[{time.monotonic() - self._t0:10.3f}] {text}\n")

    # -- death strings ----------------------------------------------------
    def register_failing(self, pattern: str, regex: bool = False) -> None:
        compiled = re.compile(pattern if regex else re.escape(pattern))
        with self._cond:
            self._failing.append((compiled, pattern))

    def unregister_failing(self, pattern: str) -> None:
        with self._cond:
            self._failing = [(c, d) for c, d in self._failing if d != pattern]

    def _raise_if_failed(self) -> None:
        if self.failure is not None:
            self._failure_complete.wait(1.0)  # let the rest of a fault banner arrive
            lines = list(self.failure)
            note = self.annotate(lines) if self.annotate else ""
            raise DeviceFailure(f"{self.name}: failing string on the console"
                                + (f" ({note})" if note else "") + ":\n" + "\n".join(lines))

    # -- waits ------------------------------------------------------------
    def _deadline_wait(self, timeout: float, what: str, check: Callable[[], object]):
        """Wait until check() returns something truthy; extends once when QEMU was starved of CPU."""
        start = time.monotonic()
        deadline = start + timeout
        starved0 = self._starvation() if self._starvation else 0.0
        extended = False
        with self._cond:
            while True:
                self._raise_if_failed_locked()
                result = check()
                if result:
                    return result
                if self.eof:
                    raise DeviceFailure(f"{self.name}: {self._describe_exit()} while waiting for {what}\n"
                                        + self._tail_text())
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    if not extended and self._starvation:
                        starved = self._starvation() - starved0
                        # QEMU waited for a CPU for a real share of the wait: give that time back once
                        if starved > 0.2 * timeout:
                            extension = min(starved, timeout)
                            deadline = time.monotonic() + extension
                            extended = True
                            self._note(f"{self.name}: QEMU was starved of CPU for {starved:.2f} s during a "
                                       f"{timeout:.1f} s wait for {what}; extending the wait by {extension:.2f} s")
                            continue
                    raise WaitTimeout(f"{self.name}: timed out after {time.monotonic() - start:.1f} s waiting "
                                      f"for {what}\n" + self._tail_text())
                self._cond.wait(min(remaining, 0.25))

    def _raise_if_failed_locked(self) -> None:
        if self.failure is not None:
            self._cond.release()
            try:
                self._raise_if_failed()
            finally:
                self._cond.acquire()

    def _tail_text(self, n: int = 15) -> str:
        tail = [line.text for line in self.lines[-n:]]
        if self.partial:
            tail.append(self.partial)
        body = "\n".join(f"  | {t}" for t in tail) if tail else "  | (nothing)"
        return f"last console lines of {self.name}:\n{body}"

    def wait_for_line(self, pattern: str, timeout: float, regex: bool = False) -> Match:
        """Wait for a complete line containing pattern (substring, or regex search)."""
        compiled = re.compile(pattern if regex else re.escape(pattern))
        what = f"line {'matching /' + pattern + '/' if regex else repr(pattern)}"

        def check():
            while self.cursor < len(self.lines):
                line = self.lines[self.cursor]
                self.cursor += 1
                m = compiled.search(line.text)
                if m:
                    return Match(line.text, m.groups(), self.cursor - 1, line.t)
            return None

        return self._deadline_wait(timeout, what, check)

    def wait_for_all(self, patterns: list[str], timeout: float, since: int | None = None) -> list[Match]:
        """Wait until each regex matched some line (in any order) at or after line ``since``
        (default: the cursor); consumes up to the last of them."""
        compiled = [re.compile(p) for p in patterns]
        found: list[Match | None] = [None] * len(patterns)
        start_cursor = self.cursor if since is None else since

        def check():
            for idx in range(start_cursor, len(self.lines)):
                line = self.lines[idx]
                for i, c in enumerate(compiled):
                    m = c.search(line.text) if found[i] is None else None
                    if m:
                        found[i] = Match(line.text, m.groups(), idx, line.t)
            if all(found):
                self.cursor = max(self.cursor, max(f.index for f in found) + 1)
                return list(found)
            return None

        return self._deadline_wait(timeout, "lines matching " + " and ".join(f"/{p}/" for p in patterns), check)

    def wait_for_prompt(self, prompt: str, timeout: float) -> Match:
        """Wait for the prompt at the start of the current (unterminated) line, or any later line."""

        def check():
            while self.cursor < len(self.lines):
                line = self.lines[self.cursor]
                self.cursor += 1
                if line.text.startswith(prompt) and line.text.strip() == prompt.strip():
                    return Match(line.text, (), self.cursor - 1, line.t)
            if self.partial.startswith(prompt) and self.partial_consumed < len(prompt):
                self.partial_consumed = len(prompt)
                return Match(self.partial, (), len(self.lines), time.monotonic() - self._t0)
            return None

        return self._deadline_wait(timeout, f"prompt {prompt!r}", check)

    def should_not_appear(self, pattern: str, timeout: float, regex: bool = False) -> None:
        """Fail if pattern shows up within timeout (on lines after the cursor)."""
        try:
            m = self.wait_for_line(pattern, timeout, regex=regex)
        except WaitTimeout:
            return
        raise DeviceFailure(f"{self.name}: {pattern!r} appeared on the console: {m.line!r}")

    # -- writing ----------------------------------------------------------
    def write(self, text: str) -> None:
        if self._sock is None or self.eof:
            raise DeviceFailure(f"{self.name}: cannot write to the console: {self._describe_exit()}")
        try:
            self._sock.sendall(text.encode())
        except OSError as exc:
            raise DeviceFailure(f"{self.name}: console write failed: {exc}") from exc

    def write_line(self, text: str, wait_for_echo: bool = True, timeout: float = 5.0) -> None:
        self.write(text + "\r")
        if wait_for_echo:
            compiled = re.compile(re.escape(text) + r"$")

            def check():
                while self.cursor < len(self.lines):
                    line = self.lines[self.cursor]
                    self.cursor += 1
                    if compiled.search(line.text):
                        return Match(line.text, (), self.cursor - 1, line.t)
                return None

            self._deadline_wait(timeout, f"echo of {text!r}", check)

    def last_line_index(self, pattern: str) -> int | None:
        """Index of the last line containing pattern (e.g. the latest boot banner)."""
        with self._cond:
            for i in range(len(self.lines) - 1, -1, -1):
                if pattern in self.lines[i].text:
                    return i
        return None

    def mark(self) -> int:
        """Index of the next line to arrive (for output_since)."""
        with self._cond:
            return len(self.lines)

    def output_since(self, mark: int) -> list[str]:
        with self._cond:
            return [line.text for line in self.lines[mark:]]

    def skip_to_end(self) -> None:
        """Consume everything received so far (waits then only see new output)."""
        with self._cond:
            self.cursor = len(self.lines)
            self.partial_consumed = len(self.partial)
