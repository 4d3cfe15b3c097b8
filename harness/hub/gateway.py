"""The hub's front door: speaks IoT Hub's MQTT dialect to devices and relays
to mosquitto (the real broker) behind it.

Per connection it checks what IoT Hub checks — client id is a registered,
enabled device; username ``{hub host}/{device id}/?api-version=…`` (a trailing
NUL, as NetX Duo's default build sends, is accepted and noted as
``nul_username``); a SAS token (harness/hub/sas.py), an X.509 client
certificate by thumbprint (TLS listeners, harness/hub/tls.py), or the plain
lab's no-auth mode — then opens the device's own session on
mosquitto (username = device id, so mosquitto's ACL patterns apply too) and
relays packets both ways, enforcing that a device publishes and subscribes
only under its own identity (IoT Hub closes the connection otherwise).
Device-facing ``$iothub/…`` topics are mapped to per-device internal topics
``hubint/{device}/…`` so twin and method traffic never crosses devices.

Every connect, refusal, disconnect and denial is a hub event: published as
JSON on ``lab/hub/events`` (the recorder keeps it) and appended to the
gateway's log. Runs in the lab namespace:

    python -m harness.hub.gateway CONFIG.json
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import queue
import signal
import ssl
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import mqtt_packets as M
from .registry import Registry, load_registry
from .sas import check_token
from .topics import HUB_EVENTS_TOPIC

INTERNAL_PREFIX = "hubint/"
CONNECT_TIMEOUT = 10.0

REFUSAL_CODES = {
    "bad_protocol": M.CONNACK_BAD_PROTOCOL,
    "device_unknown": M.CONNACK_NOT_AUTHORIZED,
    "device_disabled": M.CONNACK_NOT_AUTHORIZED,
    "bad_username": M.CONNACK_BAD_CREDENTIALS,
    "client_id_mismatch": M.CONNACK_IDENTIFIER_REJECTED,
    "sas_missing": M.CONNACK_NOT_AUTHORIZED,
    "sas_malformed": M.CONNACK_NOT_AUTHORIZED,
    "sas_wrong_resource": M.CONNACK_NOT_AUTHORIZED,
    "sas_invalid_signature": M.CONNACK_NOT_AUTHORIZED,
    "sas_expired": M.CONNACK_NOT_AUTHORIZED,
    "x509_missing": M.CONNACK_NOT_AUTHORIZED,
    "x509_thumbprint_mismatch": M.CONNACK_NOT_AUTHORIZED,
    "x509_expired": M.CONNACK_NOT_AUTHORIZED,
    "broker_unavailable": M.CONNACK_SERVER_UNAVAILABLE,
}


@dataclass
class Decision:
    device_id: str | None
    reason: str = ""          # empty: accepted
    auth: str = "none"
    credential_id: str = ""
    api_version: str = ""
    nul_username: bool = False


def authenticate(conn: M.Connect, registry: Registry, hub_host: str, tls_info: dict | None = None,
                 now: float | None = None) -> Decision:
    """IoT Hub's CONNECT checks, in its order. Pure function: tested without sockets."""
    if conn.protocol != "MQTT" or conn.level != 4:
        return Decision(None, "bad_protocol")
    device = registry.get(conn.client_id)
    raw_user = conn.username or b""
    nul = raw_user.endswith(b"\x00")
    username = raw_user.rstrip(b"\x00").decode("utf-8", errors="replace")
    if device is None:
        return Decision(conn.client_id, "device_unknown", nul_username=nul)
    if device.status != "enabled":
        return Decision(device.id, "device_disabled", nul_username=nul)
    host, _, rest = username.partition("/")
    user_device, _, query = rest.partition("/")
    api = ""
    for part in query.lstrip("?").split("&"):
        if part.startswith("api-version="):
            api = part.split("=", 1)[1]
    if host.lower() != hub_host.lower() or not rest:
        return Decision(device.id, "bad_username", nul_username=nul)
    if user_device != conn.client_id:
        return Decision(device.id, "client_id_mismatch", nul_username=nul)
    decision = Decision(device.id, auth=device.auth, api_version=api, nul_username=nul)
    if device.auth == "sas":
        if not conn.password:
            decision.reason = "sas_missing"
            return decision
        token = conn.password.decode("utf-8", errors="replace").rstrip("\x00")
        result = check_token(token, hub_host, device.id, device.key, now=now)
        decision.reason = result.reason
        decision.credential_id = hashlib.sha256(device.key.encode()).hexdigest()[:16]
    elif device.auth == "x509":
        info = tls_info or {}
        # the registry holds a SHA-1 (40 hex) or SHA-256 (64 hex) thumbprint, as IoT Hub does
        cert = info.get("peer_thumbprint_sha256" if len(device.thumbprint or "") == 64 else "peer_thumbprint")
        if not cert:
            decision.reason = "x509_missing"
        elif cert.lower() != device.thumbprint.lower():
            decision.reason = "x509_thumbprint_mismatch"
        elif info.get("peer_expired"):
            decision.reason = "x509_expired"
        decision.credential_id = (cert or "")[:16].lower()
    else:
        decision.credential_id = hashlib.sha256(conn.password or b"").hexdigest()[:16] if conn.password else ""
    return decision


def publish_allowed(device_id: str, topic: str) -> bool:
    own = f"devices/{device_id}/"
    if topic.startswith(own + "messages/events/") or topic == own + "messages/events":
        return True
    if topic.startswith(own + "modules/"):
        parts = topic[len(own):].split("/")
        return len(parts) >= 4 and parts[2:4] == ["messages", "events"]
    # a device asks for its twin, patches its reported properties, answers method calls — nothing else
    return (topic.startswith("$iothub/twin/GET/") or topic.startswith("$iothub/twin/PATCH/properties/reported/")
            or topic.startswith("$iothub/methods/res/"))


def subscribe_allowed(device_id: str, topic_filter: str) -> bool:
    own = f"devices/{device_id}/"
    if topic_filter.startswith(own + "messages/devicebound/") or topic_filter.startswith(own + "modules/"):
        return True
    return topic_filter in ("$iothub/twin/res/#", "$iothub/methods/POST/#", "$iothub/twin/PATCH/properties/desired/#")


def to_internal(device_id: str, topic: str) -> str:
    return f"{INTERNAL_PREFIX}{device_id}/{topic[len('$iothub/'):]}" if topic.startswith("$iothub/") else topic


def to_device(device_id: str, topic: str) -> str:
    prefix = f"{INTERNAL_PREFIX}{device_id}/"
    return "$iothub/" + topic[len(prefix):] if topic.startswith(prefix) else topic


class EventSink:
    """Hub events: appended to a JSONL log and published on lab/hub/events (queued while the broker is down)."""

    def __init__(self, broker_socket: str | None, log_path: Path):
        self.log = open(log_path, "a", buffering=1)
        self.queue: queue.Queue = queue.Queue()
        self.client = None
        if broker_socket:
            import paho.mqtt.client as mqtt

            self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"hub-gateway-{id(self)}",
                                      transport="unix")
            self.client.reconnect_delay_set(0.2, 2)
            self.client.connect_async(broker_socket)
            self.client.loop_start()
            threading.Thread(target=self._sender, daemon=True).start()

    def emit(self, **event) -> None:
        event.setdefault("t", time.time())
        line = json.dumps(event, sort_keys=True)
        self.log.write(line + "\n")
        if self.client is not None:
            self.queue.put(line)

    def _sender(self) -> None:
        while True:
            line = self.queue.get()
            while True:
                if self.client.is_connected():
                    info = self.client.publish(HUB_EVENTS_TOPIC, line, qos=1)
                    try:
                        info.wait_for_publish(2.0)
                        if info.is_published():
                            break
                    except (RuntimeError, ValueError):
                        pass
                time.sleep(0.1)


class Gateway:
    def __init__(self, registry: Registry, hub_host: str, upstream: str, events: EventSink, log):
        self.registry = registry
        self._registry_mtime = registry.path.stat().st_mtime_ns if registry.path else 0
        self.hub_host = hub_host
        self.upstream = upstream
        self.events = events
        self.log = log
        self.active: set[asyncio.Task] = set()

    def _reload_registry(self) -> None:
        """The harness adds devices while the hub runs: reread the registry when its file changed."""
        path = self.registry.path
        if path is None:
            return
        try:
            mtime = path.stat().st_mtime_ns
            if mtime != self._registry_mtime:
                self.registry = load_registry(path)
                self._registry_mtime = mtime
        except Exception as exc:  # keep the last good registry
            self.log(f"registry reload failed, keeping the previous one: {exc}")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str) -> None:
        peername = writer.get_extra_info("peername") or ("?", 0)
        peer = f"[{peername[0]}]:{peername[1]}" if ":" in str(peername[0]) else f"{peername[0]}:{peername[1]}"
        tls_info = self._tls_info(writer) if transport == "mqtts" else None
        device_id = None
        try:
            pkt = await asyncio.wait_for(M.read_packet(reader), CONNECT_TIMEOUT)
            if pkt is None:
                return
            conn = M.parse_connect(pkt)
            self._reload_registry()
            decision = authenticate(conn, self.registry, self.hub_host, tls_info)
            device_id = decision.device_id
            base = dict(device_id=device_id, peer=peer, transport=transport, auth=decision.auth,
                        username=(conn.username or b"").rstrip(b"\x00").decode("utf-8", errors="replace"),
                        credential_id=decision.credential_id, api_version=decision.api_version,
                        nul_username=decision.nul_username, keepalive=conn.keepalive,
                        clean_session=conn.clean_session)
            if tls_info:
                base["tls"] = {k: v for k, v in tls_info.items() if k in ("tls_version", "tls_cipher")}
            if decision.reason:
                await self._refuse(writer, decision.reason, base)
                return
            try:
                up_reader, up_writer = await asyncio.wait_for(asyncio.open_unix_connection(self.upstream), 5.0)
            except (OSError, asyncio.TimeoutError):
                await self._refuse(writer, "broker_unavailable", base)
                return
            try:
                up_writer.write(M.build_connect(device_id, device_id, conn.keepalive, conn.clean_session).encode())
                await up_writer.drain()
                ack = await asyncio.wait_for(M.read_packet(up_reader), 5.0)
                rc = M.parse_connack(ack) if ack else M.CONNACK_SERVER_UNAVAILABLE
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, M.MQTTProtocolError):
                rc = M.CONNACK_SERVER_UNAVAILABLE
            if rc != M.CONNACK_ACCEPTED:
                up_writer.close()
                await self._refuse(writer, "broker_unavailable" if rc == 3 else f"broker_refused_{rc}", base)
                return
            writer.write(ack.encode())
            await writer.drain()
            self.events.emit(event="connect", **base)
            reason = await self._relay(device_id, reader, writer, up_reader, up_writer, base)
            self.events.emit(event="disconnect", reason=reason, **base)
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, M.MQTTProtocolError, ConnectionError,
                OSError) as exc:
            self.log(f"{peer} ({device_id or 'no device'}): dropped: {exc.__class__.__name__}: {exc}")
        finally:
            writer.close()

    @staticmethod
    def _tls_info(writer) -> dict:
        """TLS facts of a connection: version, cipher, group-free; the client certificate's
        thumbprints (SHA-1 and SHA-256 of the DER) and validity, when one was sent."""
        obj = writer.get_extra_info("ssl_object")
        if obj is None:
            return {}
        info = {"tls_version": obj.version(), "tls_cipher": (obj.cipher() or ("",))[0]}
        der = obj.getpeercert(binary_form=True)
        if not der:
            return info
        info["peer_thumbprint"] = hashlib.sha1(der).hexdigest()
        info["peer_thumbprint_sha256"] = hashlib.sha256(der).hexdigest()
        try:
            from cryptography import x509

            cert = x509.load_der_x509_certificate(der)
            now = time.time()
            info["peer_expired"] = cert.not_valid_after_utc.timestamp() < now
            info["peer_not_yet_valid"] = cert.not_valid_before_utc.timestamp() > now
            info["peer_subject"] = cert.subject.rfc4514_string()
        except (ImportError, ValueError):
            not_after = (obj.getpeercert() or {}).get("notAfter")
            if not_after:
                info["peer_expired"] = ssl.cert_time_to_seconds(not_after) < time.time()
        return info

    async def _refuse(self, writer, reason: str, base: dict) -> None:
        code = REFUSAL_CODES.get(reason, M.CONNACK_SERVER_UNAVAILABLE)
        try:
            writer.write(M.build_connack(code).encode())
            await writer.drain()
        except (OSError, ConnectionError):
            pass
        self.events.emit(event="connect_refused", reason=reason, connack=code, **base)
        self.log(f"refused {base.get('device_id')} from {base.get('peer')}: {reason} (CONNACK {code})")

    async def _relay(self, device_id, reader, writer, up_reader, up_writer, base) -> str:
        result = {"reason": "closed"}
        subscribing: dict[int, list[str]] = {}  # SUBSCRIBE packet id -> the device's filters, until SUBACK

        async def device_to_broker():
            while True:
                pkt = await M.read_packet(reader)
                if pkt is None:
                    result["reason"] = "device_closed"
                    return
                if pkt.type == M.PUBLISH:
                    pub = M.parse_publish(pkt)
                    if not publish_allowed(device_id, pub.topic):
                        result["reason"] = "publish_denied"
                        self.events.emit(event="publish_denied", topic=pub.topic, **base)
                        return
                    pub.topic = to_internal(device_id, pub.topic)
                    pkt = M.build_publish(pub)
                elif pkt.type == M.SUBSCRIBE:
                    packet_id, filters = M.parse_subscribe(pkt)
                    bad = [f for f, _ in filters if not subscribe_allowed(device_id, f)]
                    if bad:
                        result["reason"] = "subscribe_denied"
                        self.events.emit(event="subscribe_denied", topic=bad[0], **base)
                        return
                    subscribing[packet_id] = [f for f, _ in filters]
                    pkt = M.build_subscribe(packet_id, [(to_internal(device_id, f), q) for f, q in filters])
                elif pkt.type == M.UNSUBSCRIBE:
                    packet_id, topics = M.parse_unsubscribe(pkt)
                    pkt = M.build_unsubscribe(packet_id, [to_internal(device_id, t) for t in topics])
                elif pkt.type == M.DISCONNECT:
                    result["reason"] = "device_disconnect"
                    up_writer.write(pkt.encode())
                    await up_writer.drain()
                    return
                elif pkt.type == M.CONNECT:
                    raise M.MQTTProtocolError("second CONNECT")
                up_writer.write(pkt.encode())
                await up_writer.drain()

        async def broker_to_device():
            while True:
                pkt = await M.read_packet(up_reader)
                if pkt is None:
                    result["reason"] = "broker_closed"
                    return
                if pkt.type == M.PUBLISH:
                    pub = M.parse_publish(pkt)
                    pub.topic = to_device(device_id, pub.topic)
                    pkt = M.build_publish(pub)
                elif pkt.type == M.SUBACK and len(pkt.body) >= 2:
                    # the broker holds the subscription now: the hub may deliver (queued C2D)
                    filters = subscribing.pop(int.from_bytes(pkt.body[:2], "big"), [])
                    granted = [f for f, code in zip(filters, pkt.body[2:]) if code < 0x80]
                    if granted:
                        self.events.emit(event="subscribed", topics=granted, **base)
                writer.write(pkt.encode())
                await writer.drain()

        tasks = [asyncio.create_task(device_to_broker()), asyncio.create_task(broker_to_device())]
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                exc = t.exception()
                if exc is not None:
                    result["reason"] = f"error: {exc.__class__.__name__}: {exc}"
        finally:
            for t in tasks:
                t.cancel()
            up_writer.close()
        return result["reason"]


async def serve(config: dict) -> None:
    log_file = open(config["log"], "a", buffering=1) if config.get("log") else sys.stderr

    def log(msg: str) -> None:
        log_file.write(f"{time.time():.3f} {msg}\n")

    registry = load_registry(config["registry"])
    events = EventSink(config.get("events_socket"), Path(config["events_log"]))
    gw = Gateway(registry, config.get("hub_host") or registry.hub_host, config["upstream"], events, log)
    servers = []
    loop = asyncio.get_running_loop()

    def on_loop_error(loop, context) -> None:
        # failed TLS handshakes (unknown CA, no shared cipher, client gave up) land here: log them
        exc = context.get("exception")
        transport = context.get("transport")
        peer = transport.get_extra_info("peername") if transport is not None else None
        log(f"{peer or '?'}: {context.get('message', 'error')}: {exc.__class__.__name__ + ': ' + str(exc) if exc else ''}")

    loop.set_exception_handler(on_loop_error)
    for lst in config["listeners"]:
        ssl_ctx = None
        if lst.get("tls"):
            from .tls import server_context

            ssl_ctx = server_context(lst["tls"])
        transport = "mqtts" if ssl_ctx else "mqtt"
        server = await asyncio.start_server(lambda r, w, t=transport: gw.handle(r, w, t), lst["host"], lst["port"],
                                            ssl=ssl_ctx, reuse_address=True,
                                            ssl_handshake_timeout=30.0 if ssl_ctx else None,
                                            # closing: send close_notify, then close TCP within a second
                                            # (lwIP's mbedTLS port never answers close_notify; IoT Hub
                                            # does not wait for it either)
                                            ssl_shutdown_timeout=1.0 if ssl_ctx else None)
        servers.append(server)
        log(f"listening on {lst['host']}:{lst['port']} ({transport})")
    ready = config.get("ready_file")
    if ready:
        Path(ready).write_text("ready\n")
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    for server in servers:
        server.close()
    log("stopped")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    config = json.loads(Path(argv[0]).read_text())
    asyncio.run(serve(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
