"""A small synchronous QMP client over the instance's unix socket."""

from __future__ import annotations

import json
import socket
import threading

from .errors import InfrastructureError
from .procs import connect_unix


class QMPError(InfrastructureError):
    pass


class QMP:
    def __init__(self, path):
        self.path = str(path)
        self.sock: socket.socket | None = None
        self._buf = b""
        self._lock = threading.Lock()
        self.events: list[dict] = []

    def connect(self, timeout: float = 5.0) -> None:
        try:
            self.sock = connect_unix(self.path, timeout)
        except OSError as exc:
            raise QMPError(f"cannot connect to QMP socket {self.path}: {exc}") from None
        self.sock.settimeout(timeout)
        greeting = self._read_message()
        if "QMP" not in greeting:
            raise QMPError(f"unexpected QMP greeting: {greeting}")
        self.execute("qmp_capabilities")

    def _read_message(self) -> dict:
        while b"\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise QMPError("QMP connection closed by QEMU")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command: str, timeout: float = 10.0, **arguments):
        if self.sock is None:
            raise QMPError("QMP is not connected")
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        with self._lock:
            self.sock.settimeout(timeout)
            try:
                self.sock.sendall(json.dumps(msg).encode() + b"\n")
                while True:
                    reply = self._read_message()
                    if "event" in reply:
                        self.events.append(reply)
                        continue
                    if "error" in reply:
                        err = reply["error"]
                        raise QMPError(f"QMP {command} failed: {err.get('class')}: {err.get('desc')}")
                    return reply.get("return")
            except (OSError, socket.timeout, json.JSONDecodeError) as exc:
                raise QMPError(f"QMP {command} failed: {exc}") from exc

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None
