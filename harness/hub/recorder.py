"""The hub recorder: a paho-mqtt client on the broker's service socket that
records every message (receive time, topic, decoded properties, raw payload)
to a JSON-lines artifact and keeps them queryable for waits."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path
from typing import Callable

import paho.mqtt.client as mqtt

from ..errors import InfrastructureError, WaitTimeout
from .recording import HubRecord
from .topics import TopicError, parse_topic

SUBSCRIPTIONS = [("#", 1), ("$iothub/#", 1)]


def make_record(seq: int, t: float, topic: str, payload: bytes, qos: int, retain: bool) -> HubRecord:
    """Classify and decode one message; a malformed topic is recorded as such, never dropped."""
    rec = HubRecord(seq=seq, t=t, topic=topic, kind="other", qos=qos, retain=retain, payload_len=len(payload),
                    payload_b64=base64.b64encode(payload).decode())
    try:
        parsed = parse_topic(topic)
    except TopicError as exc:
        rec.kind, rec.error = "malformed", str(exc)
        parts = topic.split("/")
        rec.device_id = parts[1] if len(parts) > 1 and parts[0] == "devices" else None
        return rec
    rec.kind, rec.device_id, rec.module_id, rec.properties = (parsed.kind, parsed.device_id, parsed.module_id,
                                                               parsed.properties)
    if parsed.kind in ("hub_event", "alert"):
        try:
            rec.event = json.loads(payload)
            if parsed.kind == "hub_event":
                rec.device_id = rec.event.get("device_id")
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
            rec.error = f"event payload is not JSON: {exc}"
    return rec


class Recorder:
    def __init__(self, broker_socket: Path, out_path: Path, name: str = "recorder", log=None):
        self.broker_socket = str(broker_socket)
        self.out_path = Path(out_path)
        self.records: list[HubRecord] = []
        self._cond = threading.Condition()
        self._out = None
        self._log = log or (lambda msg: None)
        self._connected = threading.Event()
        self._stopping = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"lab-{name}-{id(self) & 0xFFFF:x}",
                                  transport="unix", clean_session=True)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def start(self, timeout: float = 10.0) -> None:
        self._out = open(self.out_path, "a", encoding="utf-8", buffering=1)
        try:
            self.client.connect(self.broker_socket)
        except OSError as exc:
            raise InfrastructureError(f"recorder cannot connect to the broker at {self.broker_socket}: {exc}") from exc
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise InfrastructureError("recorder: broker did not accept the connection")

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()
        if self._out is not None:
            self._out.close()
            self._out = None

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            client.subscribe(SUBSCRIPTIONS)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        # ready only once subscribed: nothing published after start() returns is missed
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self._stopping:
            self._log(f"recorder: disconnected from the broker ({reason_code}); reconnecting")

    def _on_message(self, client, userdata, msg):
        t = time.time()
        with self._cond:
            rec = make_record(len(self.records) + 1, t, msg.topic, msg.payload, msg.qos, bool(msg.retain))
            self.records.append(rec)
            if self._out is not None:
                self._out.write(rec.to_json() + "\n")
            self._cond.notify_all()

    # -- queries ----------------------------------------------------------
    def mark(self) -> int:
        with self._cond:
            return len(self.records)

    @staticmethod
    def matcher(kind=None, device_id=None, topic=None, properties=None, security=None,
                event=None) -> Callable[[HubRecord], bool]:
        topic_re = re.compile(topic) if topic else None

        def match(r: HubRecord) -> bool:
            if kind is not None and r.kind != kind:
                return False
            if device_id is not None and r.device_id != device_id:
                return False
            if topic_re is not None and not topic_re.search(r.topic):
                return False
            if properties and any(r.properties.get(k) != v for k, v in properties.items()):
                return False
            if security is not None:
                from ..secmsg import is_security_message
                if is_security_message(r.properties) != security:
                    return False
            if event is not None and (r.event or {}).get("event") != event:
                return False
            return True

        return match

    def find(self, since: int = 0, **criteria) -> list[HubRecord]:
        match = self.matcher(**criteria)
        with self._cond:
            return [r for r in self.records[since:] if match(r)]

    def wait_for(self, timeout: float, since: int = 0, count: int = 1, describe: str = "", **criteria) -> list[HubRecord]:
        """Wait until ``count`` records matching the criteria arrived after index ``since``."""
        match = self.matcher(**criteria)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [r for r in self.records[since:] if match(r)]
                if len(found) >= count:
                    return found[:count] if count > 0 else found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    what = describe or ", ".join(f"{k}={v!r}" for k, v in criteria.items() if v is not None)
                    recent = "\n".join(f"  | #{r.seq} {r.kind} {r.topic}" for r in self.records[-8:]) or "  | (none)"
                    raise WaitTimeout(f"no hub message ({what}) within {timeout:.1f} s "
                                      f"({len(found)} of {count} seen); last messages:\n{recent}")
                self._cond.wait(min(remaining, 0.25))
