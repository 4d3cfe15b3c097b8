"""A device that behaves like an unmodified Azure IoT device sample, in Python
(paho-mqtt) — to test the hub's device-facing behaviour without firmware.

What it does, as the Azure IoT C/Python SDK samples do: resolves the hub's host
name in the lab DNS, opens TLS to 8883 verifying the hub's certificate against
the lab CA for that host name (SNI = host name), MQTT 3.1.1 with client id =
device id, username ``{host}/{device}/?api-version=…&DeviceClientType=…``, a SAS
token as password (or an X.509 client certificate), keep-alive 240 s; then
subscribes to ``devices/{id}/messages/devicebound/#``, ``$iothub/methods/POST/#``,
``$iothub/twin/res/#`` and ``$iothub/twin/PATCH/properties/desired/#``.

The client's socket is created on the lab network (harness.lab.lab.in_namespace),
so it runs in the harness process.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from urllib.parse import parse_qsl

import paho.mqtt.client as mqtt

from ..errors import DeviceFailure, InfrastructureError, WaitTimeout
from .sas import make_token
from .tls import client_context

DEFAULT_CLIENT_TYPE = "azsdk-c%2F1.5.0"   # what the Azure SDK for C puts there (URL-encoded)
CONNACK_NAMES = {"Success": 0, "Unsupported protocol version": 1, "Client identifier not valid": 2,
                 "Server unavailable": 3, "Bad user name or password": 4, "Not authorized": 5}


class _LabClient(mqtt.Client):
    """paho's client with its TCP socket opened on the lab network, to a resolved address,
    while TLS still uses the hub's host name (SNI and certificate check)."""

    def __init__(self, *args, connect_tcp=None, address=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._lab_connect_tcp = connect_tcp
        self._lab_address = address

    def _create_socket_connection(self):
        return self._lab_connect_tcp(self._lab_address, self._port, self._connect_timeout)


class SampleDevice:
    def __init__(self, lab, device_id: str, *, transport: str = "mqtts", key: str | None = None,
                 cert=None, token: str | None = None, sas_expiry: int | None = None, sas_hub_host: str | None = None,
                 sas_device_id: str | None = None, nul_username: bool = False, api_version: str = "2021-04-12",
                 client_type: str = DEFAULT_CLIENT_TYPE, keepalive: int = 240, ipv6: bool = False,
                 auto_subscribe: bool = True, clean_session: bool = True):
        self.lab, self.device_id, self.transport = lab, device_id, transport
        self.hub_host = lab.registry.hub_host
        identity = lab.registry.get(device_id)
        self.key = key if key is not None else (identity.key if identity else None)
        self.cert = cert
        self.keepalive = keepalive
        self.auto_subscribe = auto_subscribe
        self.username = f"{self.hub_host}/{device_id}/?api-version={api_version}&DeviceClientType={client_type}"
        if token is None and self.key and cert is None:
            token = make_token(sas_hub_host or self.hub_host, sas_device_id or device_id, self.key, expiry=sas_expiry)
        self.password = token
        self.port = lab.hub_port(transport)
        self.address = lab.resolve(self.hub_host, ipv6=ipv6)
        self.connack: int | None = None
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._disconnected = threading.Event()
        self.messages: "queue.Queue[mqtt.MQTTMessage]" = queue.Queue()
        self._inbox: list = []
        self._cond = threading.Condition()
        self._rid = 0
        self.client = _LabClient(mqtt.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=mqtt.MQTTv311,
                                 clean_session=clean_session, connect_tcp=lab.connect_tcp, address=self.address)
        user = self.username + ("\0" if nul_username else "")
        self.client.username_pw_set(user, self.password)
        if transport == "mqtts":
            self.client.tls_set_context(client_context(lab.pki.ca_pem, cert=cert.cert_pem if cert else None,
                                                       key=cert.key_pem if cert else None))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self._closed = False
        if hasattr(lab, "on_stop"):
            lab.on_stop(self.close)

    # -- connection -----------------------------------------------------------
    def connect(self, timeout: float = 15.0, expect_success: bool = True) -> int:
        """Connect; returns the CONNACK code (0 accepted, 5 not authorized, ...)."""
        try:
            self.client.connect(self.hub_host, self.port, keepalive=self.keepalive)
        except OSError as exc:
            raise InfrastructureError(f"{self.device_id}: cannot reach the hub at {self.address}:{self.port}: {exc}") \
                from exc
        self.client.loop_start()
        deadline = time.monotonic() + timeout
        while self.connack is None and time.monotonic() < deadline:
            if self._disconnected.is_set() and self.connack is None:
                break
            time.sleep(0.02)
        if self.connack is None:
            self.close()
            raise WaitTimeout(f"{self.device_id}: no CONNACK within {timeout:.0f} s")
        if self.connack != 0:
            self.close()
            if expect_success:
                raise DeviceFailure(f"{self.device_id}: connection refused, CONNACK {self.connack}")
            return self.connack
        if self.auto_subscribe:
            self.client.subscribe([(f"devices/{self.device_id}/messages/devicebound/#", 1),
                                   ("$iothub/methods/POST/#", 0), ("$iothub/twin/res/#", 0),
                                   ("$iothub/twin/PATCH/properties/desired/#", 0)])
            if not self._subscribed.wait(max(0.1, deadline - time.monotonic())):
                raise WaitTimeout(f"{self.device_id}: no SUBACK")
        return 0

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self.client.is_connected() and not self._disconnected.is_set()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.connack = CONNACK_NAMES.get(str(reason_code), 5 if reason_code.is_failure else 0)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._disconnected.set()

    def _on_message(self, client, userdata, msg):
        with self._cond:
            self._inbox.append(msg)
            self._cond.notify_all()

    # -- inbox ----------------------------------------------------------------
    def wait_message(self, topic_prefix: str, timeout: float = 10.0, consume: bool = True) -> mqtt.MQTTMessage:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, msg in enumerate(self._inbox):
                    if msg.topic.startswith(topic_prefix):
                        if consume:
                            del self._inbox[i]
                        return msg
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = ", ".join(m.topic for m in self._inbox) or "nothing"
                    raise WaitTimeout(f"{self.device_id}: no message on {topic_prefix}... within {timeout:.0f} s "
                                      f"(inbox: {seen})")
                self._cond.wait(min(remaining, 0.25))

    def topics_seen(self) -> list[str]:
        with self._cond:
            return [m.topic for m in self._inbox]

    # -- device operations ----------------------------------------------------
    def publish(self, topic: str, payload: bytes | str, qos: int = 1, timeout: float = 10.0) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        if qos:
            info.wait_for_publish(timeout)

    def send_telemetry(self, body, properties: str = "$.ct=application%2Fjson&$.ce=utf-8") -> None:
        data = json.dumps(body) if not isinstance(body, (bytes, str)) else body
        self.publish(f"devices/{self.device_id}/messages/events/{properties}", data)

    def _next_rid(self) -> str:
        self._rid += 1
        return str(self._rid)

    def twin_get(self, timeout: float = 10.0) -> tuple[int, dict]:
        """Twin GET; returns (status, document)."""
        rid = self._next_rid()
        self.publish(f"$iothub/twin/GET/?$rid={rid}", b"", qos=0)
        msg = self._wait_rid("$iothub/twin/res/", rid, timeout)
        return int(msg.topic.split("/")[3]), json.loads(msg.payload or b"null")

    def report(self, patch: dict | bytes, timeout: float = 10.0) -> tuple[int, int | None]:
        """Reported-property PATCH; returns (status, $version)."""
        rid = self._next_rid()
        body = patch if isinstance(patch, bytes) else json.dumps(patch).encode()
        self.publish(f"$iothub/twin/PATCH/properties/reported/?$rid={rid}", body, qos=0)
        msg = self._wait_rid("$iothub/twin/res/", rid, timeout)
        q = dict(parse_qsl(msg.topic.split("/", 4)[4].lstrip("?")))
        return int(msg.topic.split("/")[3]), int(q["$version"]) if "$version" in q else None

    def _wait_rid(self, prefix: str, rid: str, timeout: float) -> mqtt.MQTTMessage:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, msg in enumerate(self._inbox):
                    if msg.topic.startswith(prefix) and dict(parse_qsl(msg.topic.rsplit("/", 1)[-1].lstrip("?"))
                                                             ).get("$rid") == rid:
                        del self._inbox[i]
                        return msg
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeout(f"{self.device_id}: no answer to request {rid} on {prefix} within {timeout:.0f} s")
                self._cond.wait(min(remaining, 0.25))

    def wait_method(self, timeout: float = 10.0) -> tuple[str, str, object]:
        """The next direct-method call: (method name, rid, payload)."""
        msg = self.wait_message("$iothub/methods/POST/", timeout)
        parts = msg.topic.split("/")
        rid = dict(parse_qsl(parts[-1].lstrip("?"))).get("$rid", "")
        return parts[3], rid, json.loads(msg.payload) if msg.payload else None

    def answer_method(self, rid: str, status: int = 200, payload=None) -> None:
        self.publish(f"$iothub/methods/res/{int(status)}/?$rid={rid}", json.dumps(payload), qos=0)

    def serve_methods(self, handler) -> threading.Thread:
        """Answer method calls in the background with ``handler(name, payload) -> (status, payload)``."""
        def loop():
            while self.client.is_connected():
                try:
                    name, rid, payload = self.wait_method(0.5)
                except WaitTimeout:
                    continue
                status, answer = handler(name, payload)
                self.answer_method(rid, status, answer)

        th = threading.Thread(target=loop, daemon=True)
        th.start()
        return th
