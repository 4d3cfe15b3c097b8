"""IoT Hub's device-facing behaviour beyond telemetry: device twins, direct
methods and cloud-to-device messages.

A paho-mqtt client on the broker's service socket. Devices never reach it
directly: the gateway maps a device's ``$iothub/...`` topics to
``hubint/{device}/...`` (and back), so the service answers each device on its
own internal topics and no device ever sees another device's twin or method
traffic.

=============================================  ==========================================
device publishes (as the device sees it)        the hub answers
=============================================  ==========================================
``$iothub/twin/GET/?$rid={rid}``               ``$iothub/twin/res/200/?$rid={rid}`` with
                                               ``{"desired": {…, "$version": n},
                                               "reported": {…, "$version": m}}``
``$iothub/twin/PATCH/properties/reported/       ``$iothub/twin/res/204/?$rid={rid}&$version={m}``
?$rid={rid}`` with a JSON patch                (400 for a body that is not a JSON object)
``$iothub/methods/res/{status}/?$rid={rid}``   (the answer to a direct method call)
=============================================  ==========================================

The service side (Python: :class:`HubService`, CLI: :mod:`.commands`, Robot:
``harness.robot.hubfidelity``) sends

- desired-property patches: ``$iothub/twin/PATCH/properties/desired/?$version={n}``,
- direct-method calls: ``$iothub/methods/POST/{method}/?$rid={rid}`` (the device
  answers on ``$iothub/methods/res/{status}/?$rid={rid}``; the answer is returned and
  recorded as hub event ``method_response``),
- cloud-to-device messages: ``devices/{id}/messages/devicebound/{property bag}``
  (system properties ``$.mid`` and ``$.to`` first, as IoT Hub sends them). A device that
  is not connected and subscribed gets them later: they wait in its queue (c2dqueue.py:
  at most 50, each for its time to live), fed by the gateway's ``connect``,
  ``subscribed`` and ``disconnect`` events.

Each of these is a hub event (topic ``lab/hub/events``): ``twin_updated`` (with
``side``: ``reported`` or ``desired``), ``method_invoked``, ``method_response``,
``c2d_queued``, ``c2d_sent`` (``queued_s``: how long it waited), ``c2d_expired``.
Twins live in memory for the hub's lifetime; tags come from the registry.

Other processes (the ``harness`` CLI) make requests over MQTT: JSON on
``lab/hub/service/request`` (``{"id": …, "op": "c2d" | "method" | "desired" | "twin", …}``),
the answer on ``lab/hub/service/response/{id}``.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, quote

import paho.mqtt.client as mqtt

from ..errors import DeviceFailure, InfrastructureError, InputError
from .c2dqueue import DEFAULT_TTL, C2DMessage, C2DQueue
from .topics import HUB_EVENTS_TOPIC

INTERNAL = "hubint"
REQUEST_TOPIC = "lab/hub/service/request"
RESPONSE_PREFIX = "lab/hub/service/response/"
C2D_MAX = 64 * 1024       # IoT Hub's cloud-to-device message size limit
METHOD_MAX = 128 * 1024   # IoT Hub's direct-method payload limit


def _query(tail: str) -> dict[str, str]:
    return dict(parse_qsl(tail.lstrip("?"), keep_blank_values=True))


def _merge(target: dict, patch: dict) -> None:
    """JSON merge patch as twins use it: null deletes, objects merge, anything else replaces."""
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class Twin:
    def __init__(self, device_id: str, tags: dict | None = None):
        self.device_id = device_id
        self.tags = dict(tags or {})
        self.desired: dict = {}
        self.reported: dict = {}
        self.desired_version = 1
        self.reported_version = 1

    def device_view(self) -> dict:
        """What a device gets for twin GET (IoT Hub shows devices their properties, not tags)."""
        return {"desired": {**copy.deepcopy(self.desired), "$version": self.desired_version},
                "reported": {**copy.deepcopy(self.reported), "$version": self.reported_version}}

    def to_dict(self) -> dict:
        """The service view, like IoT Hub's twin document."""
        return {"deviceId": self.device_id, "tags": copy.deepcopy(self.tags),
                "properties": self.device_view(), "version": self.desired_version + self.reported_version}


class HubService:
    def __init__(self, broker_socket: Path | str, registry=None, events_log: Path | None = None, log=None):
        self.broker_socket = str(broker_socket)
        self.registry = registry
        self.events_log = Path(events_log) if events_log else None
        self._log = log or (lambda msg: None)
        self.twins: dict[str, Twin] = {}
        self.method_responses: list[dict] = []
        self.c2d = C2DQueue()
        self._lock = threading.Condition()
        self._pending: dict[tuple[str, str], dict | None] = {}
        self._rid = 0
        self._connected = threading.Event()
        self._stopping = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hub-service-{id(self) & 0xFFFFFF:x}",
                                  transport="unix", clean_session=True)
        self.client.reconnect_delay_set(0.1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *a: self._connected.set()
        self.client.on_message = self._on_message

    # -- lifecycle ----------------------------------------------------------
    def start(self, timeout: float = 10.0) -> "HubService":
        try:
            self.client.connect(self.broker_socket)
        except OSError as exc:
            raise InfrastructureError(f"hub service cannot connect to the broker at {self.broker_socket}: {exc}") from exc
        self.client.loop_start()
        if not self._connected.wait(timeout):
            raise InfrastructureError("hub service: broker did not accept the subscription")
        return self

    def stop(self) -> None:
        self._stopping = True
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if not reason_code.is_failure:
            self.c2d.broker_restarted()  # (re)connected: no device session survived a broker restart
            client.subscribe([(f"{INTERNAL}/+/twin/GET/#", 1), (f"{INTERNAL}/+/twin/PATCH/properties/reported/#", 1),
                              (f"{INTERNAL}/+/methods/res/#", 1), (REQUEST_TOPIC, 1), (HUB_EVENTS_TOPIC, 1)])

    # -- events ---------------------------------------------------------------
    def emit(self, **event) -> None:
        event.setdefault("t", time.time())
        line = json.dumps(event, sort_keys=True)
        self.client.publish(HUB_EVENTS_TOPIC, line, qos=1)
        if self.events_log is not None:
            with open(self.events_log, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    # -- twins ----------------------------------------------------------------
    def twin(self, device_id: str) -> Twin:
        with self._lock:
            tw = self.twins.get(device_id)
            if tw is None:
                identity = self.registry.get(device_id) if self.registry is not None else None
                tw = self.twins[device_id] = Twin(device_id, identity.tags if identity else None)
            return tw

    def get_twin(self, device_id: str) -> dict:
        return self.twin(device_id).to_dict()

    def update_desired(self, device_id: str, patch: dict) -> int:
        """Patch the desired properties and push the patch to the device; returns the new $version."""
        if not isinstance(patch, dict):
            raise InputError(f"desired-property patch must be a JSON object, not {type(patch).__name__}")
        tw = self.twin(device_id)
        with self._lock:
            _merge(tw.desired, patch)
            tw.desired_version += 1
            version = tw.desired_version
        body = {**patch, "$version": version}
        self._publish(f"{INTERNAL}/{device_id}/twin/PATCH/properties/desired/?$version={version}",
                      json.dumps(body).encode())
        self.emit(event="twin_updated", device_id=device_id, side="desired", version=version,
                  keys=sorted(k for k in patch if not k.startswith("$")))
        return version

    # -- cloud-to-device --------------------------------------------------------
    def send_c2d(self, device_id: str, payload: bytes | str, properties: dict | None = None,
                 ttl: float = DEFAULT_TTL) -> str:
        """A cloud-to-device message; returns its message id. Delivered now when the device is
        connected and subscribed, else queued for up to ``ttl`` seconds (InputError when the
        device's queue is full, as IoT Hub refuses it)."""
        data = payload.encode() if isinstance(payload, str) else bytes(payload)
        if len(data) > C2D_MAX:
            raise InputError(f"cloud-to-device message of {len(data)} bytes: IoT Hub's limit is {C2D_MAX}")
        if not ttl or float(ttl) <= 0:
            raise InputError(f"cloud-to-device time to live {ttl!r}: must be a positive number of seconds")
        mid = str(uuid.uuid4())
        props = {"$.mid": mid, "$.to": f"/devices/{device_id}/messages/deviceBound", **(properties or {})}
        bag = "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in props.items())
        now = time.time()
        msg = C2DMessage(device_id, mid, f"devices/{device_id}/messages/devicebound/{bag}", data, now,
                         now + float(ttl), {k: str(v) for k, v in (properties or {}).items()})
        if self.c2d.offer(msg):
            self._deliver_c2d(msg)
        else:
            self.emit(event="c2d_queued", device_id=device_id, message_id=mid, payload_len=len(data),
                      depth=self.c2d.depth(device_id))
        self._report_expired()
        return mid

    def _deliver_c2d(self, msg: C2DMessage) -> None:
        self._publish(msg.topic, msg.payload)
        self.emit(event="c2d_sent", device_id=msg.device_id, message_id=msg.message_id,
                  payload_len=len(msg.payload), properties=msg.properties,
                  queued_s=round(time.time() - msg.enqueued, 3))

    def _report_expired(self) -> None:
        for msg in self.c2d.take_expired():
            self.emit(event="c2d_expired", device_id=msg.device_id, message_id=msg.message_id,
                      queued_s=round(time.time() - msg.enqueued, 3))

    def _hub_event(self, raw: bytes) -> None:
        """The gateway's view of device sessions drives the C2D queues."""
        ev = json.loads(raw)
        name, device_id = ev.get("event"), ev.get("device_id")
        if not device_id:
            return
        if name == "connect":
            due = self.c2d.connected(device_id, bool(ev.get("clean_session", True)))
        elif name == "subscribed":
            due = self.c2d.subscribed(device_id, list(ev.get("topics") or []))
        elif name == "disconnect":
            self.c2d.disconnected(device_id)
            due = []
        else:
            return
        for msg in due:
            self._deliver_c2d(msg)
        self._report_expired()

    # -- direct methods ---------------------------------------------------------
    def invoke_method(self, device_id: str, method: str, payload=None, timeout: float = 30.0) -> dict:
        """Call a direct method and wait for the device's answer: ``{"status": int, "payload": …}``
        (payload parsed as JSON when it is JSON). A device that does not answer in time gives
        status 504 (IoT Hub's gateway timeout)."""
        if not method or "/" in method or "#" in method or "+" in method:
            raise InputError(f"method name {method!r}: must be non-empty without / # +")
        body = json.dumps(payload).encode() if payload is not None else b"null"
        if len(body) > METHOD_MAX:
            raise InputError(f"method payload of {len(body)} bytes: IoT Hub's limit is {METHOD_MAX}")
        with self._lock:
            self._rid += 1
            rid = f"{self._rid:x}"
            key = (device_id, rid)
            self._pending[key] = None
        self.emit(event="method_invoked", device_id=device_id, method=method, rid=rid, payload_len=len(body))
        self._publish(f"{INTERNAL}/{device_id}/methods/POST/{method}/?$rid={rid}", body)
        deadline = time.monotonic() + float(timeout)
        with self._lock:
            while self._pending.get(key) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._pending.pop(key, None)
                    result = {"device_id": device_id, "method": method, "rid": rid, "status": 504, "payload": None,
                              "timed_out": True}
                    break
                self._lock.wait(min(remaining, 0.25))
            else:
                result = self._pending.pop(key)
        if result.get("timed_out"):
            self.emit(event="method_response", device_id=device_id, method=method, rid=rid, status=504,
                      timed_out=True)
        return result

    # -- MQTT -------------------------------------------------------------------
    def _publish(self, topic: str, payload: bytes, qos: int = 1) -> None:
        if not self.client.is_connected():
            raise InfrastructureError("hub service: not connected to the broker (is the broker stopped?)")
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise InfrastructureError(f"hub service: publish to {topic} failed ({mqtt.error_string(info.rc)})")

    def _respond(self, device_id: str, status: int, rid: str, body: bytes = b"", extra: str = "") -> None:
        self.client.publish(f"{INTERNAL}/{device_id}/twin/res/{status}/?$rid={rid}{extra}", body, qos=1)

    def _on_message(self, client, userdata, msg) -> None:
        try:
            if msg.topic == REQUEST_TOPIC:
                threading.Thread(target=self._serve_request, args=(msg.payload,), daemon=True).start()
                return
            if msg.topic == HUB_EVENTS_TOPIC:
                self._hub_event(msg.payload)
                return
            parts = msg.topic.split("/")
            if len(parts) < 4 or parts[0] != INTERNAL:
                return
            device_id = parts[1]
            if parts[2:4] == ["twin", "GET"]:
                rid = _query(parts[-1]).get("$rid", "")
                body = json.dumps(self.twin(device_id).device_view()).encode()
                self._respond(device_id, 200, rid, body)
            elif parts[2:6] == ["twin", "PATCH", "properties", "reported"]:
                self._reported_patch(device_id, _query(parts[-1]).get("$rid", ""), msg.payload)
            elif parts[2:4] == ["methods", "res"] and len(parts) >= 6:
                self._method_answer(device_id, parts[4], _query(parts[-1]).get("$rid", ""), msg.payload)
        except Exception as exc:  # never let one message kill the service's loop
            self._log(f"hub service: {msg.topic}: {exc.__class__.__name__}: {exc}")

    def _reported_patch(self, device_id: str, rid: str, payload: bytes) -> None:
        try:
            patch = json.loads(payload or b"null")
        except (ValueError, UnicodeDecodeError):
            patch = None
        if not isinstance(patch, dict):
            self._respond(device_id, 400, rid, b'{"message":"reported properties must be a JSON object"}')
            return
        tw = self.twin(device_id)
        with self._lock:
            _merge(tw.reported, patch)
            tw.reported_version += 1
            version = tw.reported_version
        self._respond(device_id, 204, rid, b"", f"&$version={version}")
        self.emit(event="twin_updated", device_id=device_id, side="reported", version=version,
                  keys=sorted(k for k in patch if not k.startswith("$")))

    def _method_answer(self, device_id: str, status_text: str, rid: str, payload: bytes) -> None:
        try:
            status = int(status_text)
        except ValueError:
            status = 0
        try:
            body = json.loads(payload) if payload else None
        except (ValueError, UnicodeDecodeError):
            body = payload.decode("utf-8", errors="replace")
        key = (device_id, rid)
        with self._lock:
            known = key in self._pending
        self.emit(event="method_response", device_id=device_id, rid=rid, status=status, payload_len=len(payload),
                  late=not known)
        with self._lock:
            record = {"device_id": device_id, "rid": rid, "status": status, "payload": body, "timed_out": False}
            self.method_responses.append(record)
            if key in self._pending:
                self._pending[key] = record
                self._lock.notify_all()

    def _serve_request(self, raw: bytes) -> None:
        """A request from another process (the CLI)."""
        try:
            req = json.loads(raw)
            req_id = str(req["id"])
        except (ValueError, KeyError, TypeError):
            self._log(f"hub service: bad request {raw[:200]!r}")
            return
        try:
            op, device = req.get("op"), req.get("device_id")
            if not device:
                raise InputError("request needs a device_id")
            if op == "c2d":
                result = {"message_id": self.send_c2d(device, req.get("payload", ""), req.get("properties"),
                                                      float(req.get("ttl") or DEFAULT_TTL))}
            elif op == "method":
                result = self.invoke_method(device, req.get("method", ""), req.get("payload"),
                                            float(req.get("timeout", 30)))
            elif op == "desired":
                result = {"version": self.update_desired(device, req.get("patch"))}
            elif op == "twin":
                result = self.get_twin(device)
            else:
                raise InputError(f"unknown op {op!r} (c2d, method, desired, twin)")
            answer = {"ok": True, "result": result}
        except (InputError, DeviceFailure, InfrastructureError) as exc:
            answer = {"ok": False, "error": str(exc)}
        self.client.publish(RESPONSE_PREFIX + req_id, json.dumps(answer), qos=1)


def request(broker_socket: str | Path, op: str, timeout: float = 40.0, **fields) -> dict:
    """Ask a running hub's service (from another process) to do ``op``; returns its result."""
    req_id = uuid.uuid4().hex
    done = threading.Event()
    answer: dict = {}
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hub-cli-{req_id[:8]}", transport="unix")

    def on_connect(c, u, f, rc, p):
        c.subscribe(RESPONSE_PREFIX + req_id, qos=1)

    def on_subscribe(c, u, mid, rcs, p):
        c.publish(REQUEST_TOPIC, json.dumps({"id": req_id, "op": op, **fields}), qos=1)

    def on_message(c, u, msg):
        answer.update(json.loads(msg.payload))
        done.set()

    client.on_connect, client.on_subscribe, client.on_message = on_connect, on_subscribe, on_message
    try:
        client.connect(str(broker_socket))
    except OSError as exc:
        raise InfrastructureError(f"cannot reach the hub at {broker_socket}: {exc}") from exc
    client.loop_start()
    try:
        if not done.wait(timeout):
            raise InfrastructureError(f"the hub service did not answer within {timeout:.0f} s")
    finally:
        client.disconnect()
        client.loop_stop()
    if not answer.get("ok"):
        raise InputError(f"hub: {answer.get('error', 'request failed')}")
    return answer["result"]
