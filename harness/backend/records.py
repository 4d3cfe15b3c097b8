"""Reading hub recordings (JSON lines): replay a saved file or follow a live one.

The back end accepts a record as a dict, a JSON string, or any object with
``to_dict()`` (e.g. ``harness.hub.recording.HubRecord``), so it works with the
hub package's reader and with this module's own, which exists so that the back
end can run from a bare file:

* :func:`read_jsonl` — replay: every line, the last one even without a final
  newline. A line that is not a JSON object is yielded as :class:`BadLine`
  (the service records it as a finding and goes on).
* :func:`follow_jsonl` — tail with polling. It waits for the file to appear,
  yields complete lines only (a partial last line is kept until its newline
  arrives), notices truncation and replacement (new inode: the old file is
  drained first), and yields :data:`IDLE` whenever it found nothing new, so the
  caller can do time-driven work. When ``stop`` is set it drains what is
  already complete and returns; a trailing partial line is parsed if it is
  valid JSON and otherwise dropped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from dataclasses import dataclass
from typing import Iterator


@dataclass
class BadLine:
    lineno: int
    text: str
    error: str


IDLE = object()


def as_record(obj) -> dict:
    """A hub record as a plain dict."""
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, (str, bytes, bytearray)):
        rec = json.loads(obj)
        if not isinstance(rec, dict):
            raise ValueError("a hub record must be a JSON object")
        return rec
    to_dict = getattr(obj, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if dataclasses.is_dataclass(obj):
        return dataclasses.asdict(obj)
    raise TypeError(f"cannot use {type(obj).__name__} as a hub record")


def _parse_line(lineno: int, line: str):
    try:
        rec = json.loads(line)
    except ValueError as e:
        return BadLine(lineno, line[:500], f"invalid JSON: {e}")
    if not isinstance(rec, dict):
        return BadLine(lineno, line[:500], "not a JSON object")
    return rec


def read_jsonl(path) -> Iterator:
    """Yield each record (dict) or BadLine of a saved recording."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            yield _parse_line(lineno, line)


def follow_jsonl(path, stop: threading.Event, poll: float = 0.2,
                 from_start: bool = True) -> Iterator:
    """Tail ``path`` until ``stop`` is set (see module docstring)."""
    path = os.fspath(path)
    f = None
    ino = None
    buf = b""
    lineno = 0
    pos = 0
    try:
        while True:
            stopping = stop.is_set()
            if f is None:
                try:
                    f = open(path, "rb")
                except FileNotFoundError:
                    if stopping:
                        return
                    yield IDLE
                    stop.wait(poll)
                    continue
                st = os.fstat(f.fileno())
                ino = st.st_ino
                if not from_start:
                    f.seek(0, os.SEEK_END)
                    from_start = True        # a replacement file is read from its start
                pos = f.tell()
            chunk = f.read(1 << 20)
            if chunk:
                pos += len(chunk)
                buf += chunk
                *lines, buf = buf.split(b"\n")
                for raw in lines:
                    lineno += 1
                    if raw.strip():
                        yield _parse_line(lineno, raw.decode("utf-8", errors="replace"))
                continue
            # Nothing new in this file.
            try:
                st = os.stat(path)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_ino != ino:       # replaced: reopen (old one drained)
                f.close()
                f, buf, lineno = None, b"", 0
                continue
            if st is not None and st.st_size < pos:       # truncated: start over
                f.seek(0)
                pos, buf, lineno = 0, b"", 0
                continue
            if stopping:
                if buf.strip():
                    rec = _parse_line(lineno + 1, buf.decode("utf-8", errors="replace"))
                    if not isinstance(rec, BadLine):
                        yield rec
                return
            yield IDLE
            stop.wait(poll)
    finally:
        if f is not None:
            f.close()
