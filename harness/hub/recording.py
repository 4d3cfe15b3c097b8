"""Hub recordings: one JSON object per message, one per line (docs/design.md).
The same reader serves live following and offline replay."""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterator

from ..errors import InputError


@dataclass
class HubRecord:
    seq: int
    t: float
    topic: str
    kind: str
    device_id: str | None = None
    module_id: str | None = None
    properties: dict = field(default_factory=dict)
    error: str | None = None
    qos: int = 0
    retain: bool = False
    payload_len: int = 0
    payload_b64: str = ""
    event: dict | None = None  # parsed JSON of hub_event / alert records

    @property
    def payload(self) -> bytes:
        return base64.b64decode(self.payload_b64)

    def to_json(self) -> str:
        d = asdict(self)
        if d["event"] is None:
            del d["event"]
        return json.dumps(d, sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict) -> "HubRecord":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def parse_line(line: str, where: str) -> HubRecord:
    try:
        return HubRecord.from_dict(json.loads(line))
    except (json.JSONDecodeError, TypeError) as exc:
        raise InputError(f"{where}: not a hub record: {exc}") from None


def read_recording(path) -> Iterator[HubRecord]:
    path = Path(path)
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"recording {path}: cannot read: {exc}") from None
    with fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                yield parse_line(line, f"{path}:{n}")


def follow(path, stop: threading.Event, poll: float = 0.05) -> Iterator[HubRecord]:
    """Tail a recording being written: tolerates a missing file and a partial last line."""
    path = Path(path)
    pos, buf, n = 0, "", 0
    while not stop.is_set():
        try:
            with open(path, encoding="utf-8") as fh:
                fh.seek(pos)
                chunk = fh.read()
                pos = fh.tell()
        except FileNotFoundError:
            chunk = ""
        if chunk:
            buf += chunk
            *lines, buf = buf.split("\n")
            for line in lines:
                n += 1
                if line.strip():
                    yield parse_line(line, f"{path}:{n}")
        else:
            time.sleep(poll)
