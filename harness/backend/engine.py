"""The detections: one hub record in, alerts / recommendations / findings out.

:class:`Engine` keeps the per-device state (windows, last message, module
version, credentials) and writes to a :class:`~.store.Store`. It knows nothing
about files, threads or MQTT; :mod:`.service` feeds it.

Record time (the hub record's ``t``) drives everything: alert times, windows
(:mod:`.windows`), de-duplication, device silence.

What each record kind does
--------------------------
``d2c`` / ``d2c_module``
    Counts one D2C message (MqttD2CMessagesNotInAllowedRange), marks the device
    as having spoken (silence). If ``properties["$.ifid"]`` is the security
    interface id, the payload is decoded with ``harness.secmsg.decode``; a decode
    error becomes a ``malformed_security_message`` finding and processing goes
    on. For a decoded message: module version check, then for every
    NetworkActivity connection record: threat intelligence on the remote
    address (either direction), direction inference (:mod:`.direction`),
    allowlist/denylist rules, the active-connection count, and the inbound
    recommendation.
``hub_event``
    ``connect`` (transport, credential_id), ``connect_refused`` (auth alerts by
    ``reason``; counts as an unauthorized operation), ``publish_denied`` and
    ``subscribe_denied`` (unauthorized operations), ``c2d_sent``,
    ``c2d_rejected``, ``method_invoked``, ``twin_updated``, ``queue_purged``
    (their counters). ``disconnect`` only marks the device as seen.
``alert`` (our own alerts, echoed by the recorder), ``other``, ``malformed``
    Ignored, except that their ``t`` advances the clock.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass

from .alerts import AUTH_REASONS, TI_ALERT, Alert, Finding, Recommendation
from .direction import DEFAULT_SERVICE_PORTS, Direction, connection_key, record_direction, _proto_name
from .groups import DEFAULT_GROUP, DeviceRegistry, SecurityGroups
from .records import BadLine, as_record
from .store import DEFAULT_DEDUP_WINDOW, Store
from .windows import ClosedWindow, WindowTracker

log = logging.getLogger(__name__)

SECURITY_IFID = "urn:azureiot:Security:SecurityAgent:1"
ACTIVE = "ActiveConnectionsNotInAllowedRange"
D2C = "MqttD2CMessagesNotInAllowedRange"
UNAUTHORIZED = "UnauthorizedOperationsNotInAllowedRange"
HUB_EVENT_METRICS = {
    "c2d_sent": "MqttC2DMessagesNotInAllowedRange",
    "c2d_rejected": "MqttC2DRejectedMessagesNotInAllowedRange",
    "method_invoked": "DirectMethodInvokesNotInAllowedRange",
    "twin_updated": "TwinUpdatesNotInAllowedRange",
    "queue_purged": "QueuePurgesNotInAllowedRange",
    "publish_denied": UNAUTHORIZED,
    "subscribe_denied": UNAUTHORIZED,
    "connect_refused": UNAUTHORIZED,
}


@dataclass
class EngineConfig:
    dedup_window: float = DEFAULT_DEDUP_WINDOW     # seconds of record time
    silent_after: float = 600.0                    # device silent after this long without D2C
    service_ports: frozenset = DEFAULT_SERVICE_PORTS
    min_module_version: tuple = (3, 5, 4)
    large_range_v4: int = 24                       # an Accept rule shorter than /24 is large
    large_range_v6: int = 48                       # … or shorter than /48 for IPv6


@dataclass
class _Device:
    id: str
    first_seen: float
    speaks: bool = False                 # connected or sent D2C: silence is tracked
    spoke_at: float | None = None        # when it first connected or sent D2C
    last_message: float | None = None
    version: tuple | None = None
    silent_flagged: bool = False


def _peer_ip(peer) -> str | None:
    """'192.0.2.1:4321' / '[2001:db8::1]:4321' / bare address -> the address."""
    if not peer or not isinstance(peer, str):
        return None
    p = peer.strip()
    if p.startswith("["):
        return p[1:p.index("]")] if "]" in p else p
    if p.count(":") == 1:
        return p.split(":")[0]
    return p


def _conn_dict(conn) -> dict:
    to_dict = getattr(conn, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    return {"local_address": str(conn.local_address), "remote_address": str(conn.remote_address),
            "local_port": conn.local_port, "remote_port": conn.remote_port,
            "bytes_in": conn.bytes_in, "bytes_out": conn.bytes_out,
            "protocol": _proto_name(conn.protocol)}


def _payload_name(ev) -> str:
    pt = getattr(ev, "payload_type", None)
    return getattr(pt, "name", str(pt))


def _default_decode(payload: bytes):
    from harness.secmsg import decode   # imported late: the decoder is a sibling package
    return decode(payload)


class Engine:
    def __init__(self, store: Store, threatintel=None, groups: SecurityGroups | None = None,
                 registry: DeviceRegistry | None = None, config: EngineConfig | None = None,
                 decode=None, on_alert=None):
        self.store = store
        self.ti = threatintel
        self.groups = groups or SecurityGroups()
        self.registry = registry or DeviceRegistry()
        self.config = config or EngineConfig()
        self._decode = decode or _default_decode
        self.on_alert = on_alert
        self.devices: dict[str, _Device] = {}
        self.windows = WindowTracker(self._windows_for)
        self._cumulative: dict[tuple[str, str], object] = {}
        self._credentials: dict[str, set[str]] = {}
        self._hub_checked = False
        self._silent_deadline: float | None = None
        self.stats = {"records": 0, "security_messages": 0, "connection_records": 0,
                      "alerts": 0, "recommendations": 0, "findings": 0}

    # ---- groups -------------------------------------------------------------
    def group_name(self, device_id: str | None) -> str:
        return self.registry.group_of(device_id) if device_id else DEFAULT_GROUP

    def _windows_for(self, device_id):
        g = self.groups.get(self.group_name(device_id))
        seen = set()
        for r in g.time_window_rules:
            if r.enabled and (r.rule_type, r.window) not in seen:
                seen.add((r.rule_type, r.window))
                yield r.rule_type, r.window, r.rule_type == ACTIVE

    # ---- output ---------------------------------------------------------------
    def _alert(self, out: list, **kw) -> None:
        kw.setdefault("group", self.group_name(kw.get("device_id")))
        alert = Alert(**kw)
        stored = self.store.add_alert(alert, self.config.dedup_window)
        if stored is not None:
            self.stats["alerts"] += 1
            out.append(stored)
            if self.on_alert is not None:
                try:
                    self.on_alert(stored)
                except Exception:   # publishing must never stop detection
                    log.exception("alert callback failed")

    def _recommend(self, type_: str, device_id, t: float, evidence: dict) -> None:
        if self.store.add_recommendation(Recommendation(type_, device_id, t, evidence)) is not None:
            self.stats["recommendations"] += 1

    def _finding(self, kind, device_id, t, seq, detail) -> None:
        self.store.add_finding(Finding(kind, device_id, t, seq, detail))
        self.stats["findings"] += 1

    # ---- entry points -------------------------------------------------------------
    def process(self, record) -> list[Alert]:
        """Evaluate one hub record; return the alerts it newly created."""
        out: list[Alert] = []
        self.stats["records"] += 1
        if isinstance(record, BadLine):
            self._finding("malformed_record", None, self.windows.clock, None,
                          {"line": record.lineno, "error": record.error, "text": record.text})
            return out
        try:
            rec = as_record(record)
            t = float(rec["t"])
        except (ValueError, TypeError, KeyError) as e:
            self._finding("malformed_record", None, self.windows.clock, None,
                          {"error": f"unusable hub record: {e}", "record": str(record)[:500]})
            return out
        if not self._hub_checked:
            self._hub_checked = True
            self._check_hub(t)
        self._advance(t, out)
        kind = rec.get("kind")
        if kind in ("d2c", "d2c_module"):
            self._on_d2c(rec, t, out)
        elif kind == "hub_event":
            self._on_hub_event(rec, t, out)
        return out

    def tick(self, now: float) -> list[Alert]:
        """Advance record time without a record (live mode idle)."""
        out: list[Alert] = []
        self._advance(now, out)
        return out

    def flush(self, now: float | None = None) -> list[Alert]:
        """Close every open window and evaluate end-of-run conditions."""
        out: list[Alert] = []
        if now is not None:
            self._advance(now, out)
        for w in self.windows.flush():
            self._eval_window(w, out)
        clock = self.windows.clock
        if clock is not None:
            for dev in self.devices:
                for r in self.groups.get(self.group_name(dev)).threshold_rules:
                    if r.enabled:
                        val = self._cumulative.get((dev, r.rule_type), 0)
                        self._eval_threshold(dev, r.rule_type, val, clock, out, at_end=True,
                                             only=r)
            self._check_silence(clock)
            for d in self.devices.values():
                self.store.set_state(f"device:{d.id}", {
                    "first_seen": d.first_seen, "last_message": d.last_message,
                    "version": list(d.version) if d.version else None,
                    "group": self.group_name(d.id)})
        return out

    # ---- time -------------------------------------------------------------------
    def _advance(self, t: float, out: list) -> None:
        for w in self.windows.advance(t):
            self._eval_window(w, out)
        if self._silent_deadline is not None and self.windows.clock >= self._silent_deadline:
            self._check_silence(self.windows.clock)

    def _check_silence(self, now: float) -> None:
        deadline = None
        for d in self.devices.values():
            if not d.speaks or d.silent_flagged:
                continue
            since = d.last_message if d.last_message is not None else d.spoke_at
            due = since + self.config.silent_after
            if now >= due:
                d.silent_flagged = True
                self._recommend("IoT_DeviceSilent", d.id, due, {
                    "last_message": d.last_message, "silent_after": self.config.silent_after,
                    "silent_since": since})
            else:
                deadline = due if deadline is None else min(deadline, due)
        self._silent_deadline = deadline

    def _device(self, device_id: str, t: float, speaks: bool = False) -> _Device:
        d = self.devices.get(device_id)
        if d is None:
            d = self.devices[device_id] = _Device(device_id, t)
            self.windows.device_seen(device_id, t)
        if speaks and not d.speaks:
            d.speaks, d.spoke_at = True, t
            due = t + self.config.silent_after
            self._silent_deadline = due if self._silent_deadline is None else min(self._silent_deadline, due)
        return d

    # ---- counting -------------------------------------------------------------------
    def _count(self, device_id: str, metric: str, t: float, out: list, key=None) -> None:
        self.windows.add(device_id, metric, t, key)
        g = self.groups.get(self.group_name(device_id))
        rules = [r for r in g.threshold_rules if r.enabled and r.rule_type == metric]
        if not rules:
            return
        k = (device_id, metric)
        if metric == ACTIVE:
            s = self._cumulative.setdefault(k, set())
            before = len(s)
            s.add(key)
            if len(s) == before:
                return
        else:
            self._cumulative[k] = self._cumulative.get(k, 0) + 1
        self._eval_threshold(device_id, metric, self._cumulative[k], t, out, at_end=False)

    def _eval_threshold(self, device_id, metric, val, t, out, at_end: bool, only=None) -> None:
        count = len(val) if isinstance(val, set) else val
        for r in self.groups.get(self.group_name(device_id)).threshold_rules:
            if not r.enabled or r.rule_type != metric or (only is not None and r is not only):
                continue
            if (not at_end and count == r.max + 1) or (at_end and count < r.min):
                self._alert(out, type=f"IoT_CA_{metric}", device_id=device_id, time=t,
                            evidence={"rule": "thresholdRules", "count": count,
                                      "minThreshold": r.min, "maxThreshold": r.max,
                                      "scope": "whole run"})

    def _eval_window(self, w: ClosedWindow, out: list) -> None:
        for r in self.groups.get(self.group_name(w.device_id)).time_window_rules:
            if not r.enabled or r.rule_type != w.metric or r.window != w.size:
                continue
            if w.count > r.max or (w.complete and w.count < r.min):
                t = w.end if w.end <= (self.windows.clock or w.end) else self.windows.clock
                self._alert(out, type=f"IoT_CA_{w.metric}", device_id=w.device_id, time=t,
                            evidence={"rule": "timeWindowRules", "count": w.count,
                                      "minThreshold": r.min, "maxThreshold": r.max,
                                      "timeWindowSize": r.window_text, "window_start": w.start,
                                      "window_end": w.end, "window_complete": w.complete})

    # ---- hub-level --------------------------------------------------------------------
    def _check_hub(self, t: float) -> None:
        ipf = self.registry.ip_filter
        if ipf is None or ipf.default_action == "Accept":
            self._recommend("IoT_IPFilterDefaultDeny", None, t, {
                "defaultAction": ipf.default_action if ipf else None,
                "note": "no ipFilter configured: the hub accepts every address" if ipf is None
                else "defaultAction is Accept"})
        if ipf is not None:
            large = [{"name": r.name, "ipMask": r.ip_mask, "prefixlen": r.prefixlen}
                     for r in ipf.rules if r.action == "Accept" and r.prefixlen <
                     (self.config.large_range_v4 if r.version == 4 else self.config.large_range_v6)]
            if large:
                self._recommend("IoT_IPFilterLargeRange", None, t, {
                    "rules": large, "v4_prefix_below": self.config.large_range_v4,
                    "v6_prefix_below": self.config.large_range_v6})

    # ---- d2c ---------------------------------------------------------------------------
    def _on_d2c(self, rec: dict, t: float, out: list) -> None:
        device_id = rec.get("device_id")
        if not device_id:
            return
        d = self._device(device_id, t, speaks=True)
        d.last_message = t
        if d.silent_flagged:
            d.silent_flagged = False
            self.store.resolve_recommendation("IoT_DeviceSilent", device_id, t)
            due = t + self.config.silent_after
            self._silent_deadline = due if self._silent_deadline is None else min(self._silent_deadline, due)
        self._count(device_id, D2C, t, out)
        props = rec.get("properties") or {}
        if props.get("$.ifid") != SECURITY_IFID:
            return
        seq = rec.get("seq")
        b64 = rec.get("payload_b64")
        try:
            if b64 is None:
                raise ValueError("record has no payload_b64")
            payload = base64.b64decode(b64, validate=True)
        except ValueError as e:
            self._finding("malformed_security_message", device_id, t, seq,
                          {"error": f"payload: {e}", "mti": props.get("mti")})
            return
        try:
            msg = self._decode(payload)
        except Exception as e:   # DecodeError, LegacyJsonPreview, or a decoder bug
            self._finding("malformed_security_message", device_id, t, seq,
                          {"error": str(e), "error_type": type(e).__name__,
                           "payload_len": len(payload), "mti": props.get("mti"),
                           "payload_b64": b64 if len(b64) <= 4096 else b64[:4096] + "…"})
            return
        self.stats["security_messages"] += 1
        self._on_security_message(device_id, d, msg, rec, t, out)

    def _on_security_message(self, device_id, d: _Device, msg, rec, t, out) -> None:
        version = tuple(msg.version)
        d.version = version
        if version < tuple(self.config.min_module_version):
            self._recommend("IoT_OutdatedSecurityModule", device_id, t, {
                "version": ".".join(map(str, version)),
                "minimum": ".".join(map(str, self.config.min_module_version)),
                "security_module_id": msg.security_module_id, "record_seq": rec.get("seq")})
        else:
            self.store.resolve_recommendation("IoT_OutdatedSecurityModule", device_id, t)
        # One index snapshot per message: a feed swap never splits a message.
        index = None if self.ti is None else getattr(self.ti, "index", self.ti)
        for ev in msg.events:
            if _payload_name(ev) != "NETWORK_ACTIVITY" or ev.payload is None:
                continue
            event_id = ev.id.hex() if isinstance(ev.id, (bytes, bytearray)) else str(ev.id)
            for conn in list(ev.payload.ipv4) + list(ev.payload.ipv6):
                self.stats["connection_records"] += 1
                self._on_connection(device_id, conn, event_id, rec, t, out, index)

    def _on_connection(self, device_id, conn, event_id, rec, t, out, index) -> None:
        group = self.groups.get(self.group_name(device_id))
        remote = conn.remote_address
        peer = str(remote)
        direction = record_direction(conn, self.config.service_ports)
        cdict = _conn_dict(conn)
        evidence = {"record_seq": rec.get("seq"), "event_id": event_id, "record": cdict,
                    "direction": direction.value}
        if index is not None:
            m = index.lookup(remote)
            if m is not None:
                self._alert(out, type=TI_ALERT, device_id=device_id, time=t, peer=peer,
                            evidence=evidence, indicator=m.indicator, source=m.source,
                            confidence=m.confidence)
        for rule_type, applies in (("ConnectionToIpNotAllowed", direction.is_outbound),
                                   ("ConnectionFromIpNotAllowed", direction.is_inbound)):
            if not applies:
                continue
            allow = group.allowlists(rule_type)
            if allow and not any(peer in r.cidrs for r in allow):
                self._alert(out, type=f"IoT_CA_{rule_type}", device_id=device_id, time=t, peer=peer,
                            evidence={**evidence, "rule": "allowlistRules",
                                      "allowlistValues": sorted({v for r in allow for v in r.cidrs.values})})
            for r in group.denylists(rule_type):
                hit = r.cidrs.match(peer)
                if hit is not None:
                    self._alert(out, type=f"IoT_CA_{rule_type}", device_id=device_id, time=t,
                                peer=peer, evidence={**evidence, "rule": "denylistRules",
                                                     "denylistMatch": hit})
                    break
        self._count(device_id, ACTIVE, t, out, key=connection_key(conn))
        if direction is Direction.INBOUND and _proto_name(conn.protocol) in ("TCP", "UDP"):
            from_rules = group.allowlists("ConnectionFromIpNotAllowed")
            basis = "ConnectionFromIpNotAllowed"
            if not from_rules:
                from_rules = [r for r in group.allowlist_rules if r.enabled]
                basis = "any allowlist of the group" if from_rules else "no allowlist in the group"
            if not any(peer in r.cidrs for r in from_rules):
                self._recommend("IoT_InboundFromOutsideAllowlist", device_id, t, {
                    "peer": peer, "local_port": conn.local_port, "protocol": cdict.get("protocol"),
                    "basis": basis, "group": group.name, "record_seq": rec.get("seq")})

    # ---- hub events ------------------------------------------------------------------------
    def _on_hub_event(self, rec: dict, t: float, out: list) -> None:
        ev = rec.get("event")
        if not isinstance(ev, dict):
            self._finding("malformed_record", rec.get("device_id"), t, rec.get("seq"),
                          {"error": "hub_event without an 'event' object"})
            return
        name = ev.get("event")
        device_id = ev.get("device_id") or rec.get("device_id") or None
        if device_id:
            self._device(device_id, t, speaks=(name == "connect"))
        evidence = {"record_seq": rec.get("seq"), "event_id": None, "record": ev}
        if name == "connect" and device_id:
            transport = ev.get("transport")
            if transport == "mqtt":
                self._recommend("IoT_PlaintextMqtt", device_id, t, {
                    "transport": transport, "peer": ev.get("peer"), "record_seq": rec.get("seq")})
            elif transport == "mqtts":
                self.store.resolve_recommendation("IoT_PlaintextMqtt", device_id, t)
            cred = ev.get("credential_id")
            if cred:
                devs = self._credentials.setdefault(str(cred), set())
                devs.add(device_id)
                if len(devs) > 1:
                    for dev in sorted(devs):
                        self._recommend("IoT_SharedCredentials", dev, t, {
                            "credential_id": cred, "devices": sorted(devs), "auth": ev.get("auth")})
        elif name == "connect_refused":
            atype = AUTH_REASONS.get(ev.get("reason"))
            if atype is not None:
                self._alert(out, type=atype, device_id=device_id, time=t,
                            peer=_peer_ip(ev.get("peer")), evidence=evidence)
        metric = HUB_EVENT_METRICS.get(name)
        if metric is not None and device_id:
            self._count(device_id, metric, t, out)
