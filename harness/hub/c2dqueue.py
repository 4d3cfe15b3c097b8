"""IoT Hub's per-device cloud-to-device queue.

IoT Hub does not drop a cloud-to-device message because the device is offline: it holds it
in the device's queue (at most 50 messages; more is refused with 403004
DeviceMaximumQueueDepthExceeded) until the device is connected and subscribed to
``devices/{id}/messages/devicebound/#``, or until the message's time to live ends (one hour
by default). This class is that queue and the device's "can receive now" state; the hub
service feeds it the gateway's connect, subscribe and disconnect events and publishes what
it hands out. Pure logic, no I/O.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

from paho.mqtt.client import topic_matches_sub

from ..errors import InputError

MAX_DEPTH = 50           # IoT Hub's per-device queue limit
DEFAULT_TTL = 3600.0     # IoT Hub's default message time to live, seconds


@dataclass
class C2DMessage:
    device_id: str
    message_id: str
    topic: str
    payload: bytes
    enqueued: float
    expires: float
    properties: dict = field(default_factory=dict)


class C2DQueue:
    def __init__(self, max_depth: int = MAX_DEPTH, clock=time.time):
        self.max_depth = max_depth
        self.clock = clock
        self._lock = threading.Lock()
        self._queues: dict[str, deque[C2DMessage]] = {}
        self._receiving: set[str] = set()    # connected and subscribed to devicebound now
        self._subscribed: set[str] = set()   # devicebound subscription held by a persistent session
        self._expired: list[C2DMessage] = []  # dropped for their time to live, not yet reported

    @staticmethod
    def covers_c2d(device_id: str, topic_filter: str) -> bool:
        return topic_matches_sub(topic_filter, f"devices/{device_id}/messages/devicebound/x")

    # -- device state (from the gateway's events) ------------------------------
    def connected(self, device_id: str, clean_session: bool) -> list[C2DMessage]:
        """A device connected. A persistent session that held the subscription receives at once."""
        with self._lock:
            if clean_session:
                self._subscribed.discard(device_id)
                return []
            if device_id not in self._subscribed:
                return []
            self._receiving.add(device_id)
            return self._drain(device_id)

    def subscribed(self, device_id: str, topic_filters: list[str]) -> list[C2DMessage]:
        """The broker granted a subscription; returns what is now due to the device, in order."""
        if not any(self.covers_c2d(device_id, f) for f in topic_filters):
            return []
        with self._lock:
            self._receiving.add(device_id)
            self._subscribed.add(device_id)
            return self._drain(device_id)

    def disconnected(self, device_id: str) -> None:
        with self._lock:
            self._receiving.discard(device_id)

    def broker_restarted(self) -> None:
        """Every device session is gone with the broker."""
        with self._lock:
            self._receiving.clear()
            self._subscribed.clear()

    # -- messages ----------------------------------------------------------------
    def offer(self, msg: C2DMessage) -> bool:
        """True: deliver ``msg`` now. False: it was queued. InputError when the queue is full."""
        with self._lock:
            self._expire(msg.device_id)
            q = self._queues.setdefault(msg.device_id, deque())
            if msg.device_id in self._receiving and not q:
                return True
            if len(q) >= self.max_depth:
                raise InputError(f"{msg.device_id}: cloud-to-device queue is full ({self.max_depth} messages; "
                                 "IoT Hub answers 403004 DeviceMaximumQueueDepthExceeded)")
            q.append(msg)
            return False

    def depth(self, device_id: str) -> int:
        with self._lock:
            return len(self._queues.get(device_id, ()))

    def take_expired(self) -> list[C2DMessage]:
        """Messages whose time to live ended (removed from their queues) since the last call."""
        with self._lock:
            for device_id in list(self._queues):
                self._expire(device_id)
            out, self._expired = self._expired, []
            return out

    def _expire(self, device_id: str) -> None:
        q = self._queues.get(device_id)
        if not q:
            return
        now = self.clock()
        if any(m.expires <= now for m in q):
            self._expired += [m for m in q if m.expires <= now]
            self._queues[device_id] = deque(m for m in q if m.expires > now)

    def _drain(self, device_id: str) -> list[C2DMessage]:
        self._expire(device_id)
        return list(self._queues.pop(device_id, ()))
