"""Test vectors: an independent builder of security messages, and canonical vectors.

A *spec* is a JSON-able dict in the same shape as ``SecurityMessage.to_dict()``;
anything left out takes the schema default (or the module's constant)::

    {"security_module_id": "defender-iot-micro-agent",   # default MODULE_ID
     "version": [3, 5, 4],                               # or "version_raw"; default 3.5.4
     "timezone": 0,                                      # default 0 (never written)
     "events": [
       {"id": "<32 hex digits>", "time": 1767225600, "collection_interval": 10,
        "payload_type": "NETWORK_ACTIVITY",              # PayloadType name or number
        "payload": {"ipv4": [{"local_address": "10.0.0.2", "remote_address": "10.0.0.1",
                              "local_port": 49152, "remote_port": 8883,
                              "bytes_in": 0, "bytes_out": 0, "protocol": "TCP"}],
                    "ipv6": []}},
       {..., "payload_type": "SYSTEM_INFORMATION", "payload": {"os_info": "Azure RTOS 6.2"}},
       {..., "payload_type": "HEARTBEAT"}]}

:func:`build` lays a spec out like the real module does: no file identifier,
scalars equal to their default are not written (a TCP record has no protocol
field, a zero counter no counter field), empty record vectors are omitted,
addresses are the raw network-order bytes. It uses the Python FlatBuffers Builder
and the flatc-generated builder functions, not the decoder's code.

:func:`to_text` / :func:`parse_text` convert a spec to and from the line format the
C encoder helper reads (one item per line, ``key=value`` separated by one space,
keys in exactly this order, strings in double quotes without embedded quotes or
backslashes, every line ending in ``\\n``, no blank or comment lines)::

    message id="defender-iot-micro-agent" version=3.5.4
    event uuid=<32 lowercase hex> time=<uint32> interval=<uint32> type=network
    v4 local=<dotted quad> remote=<dotted quad> lport=<u16> rport=<u16> in=<u32> out=<u32> proto=tcp|udp|icmp
    v6 local=<ipv6> remote=<ipv6> lport=<u16> rport=<u16> in=<u32> out=<u32> proto=tcp|udp|icmp
    event uuid=<32 hex> time=<uint32> interval=<uint32> type=sysinfo os="Azure RTOS 6.2"
    event uuid=<32 hex> time=<uint32> interval=<uint32> type=heartbeat

``v4``/``v6`` lines belong to the preceding ``type=network`` event, all v4 lines
before all v6 lines (the wire order). IPv6 addresses are in Python's compressed
form (RFC 5952, e.g. ``2001:db8::1``; inet_pton accepts it). ``os=`` is left out
when os_info is absent. Things the module never emits (a timezone, kernel_info,
hw_info, ListeningPorts/Baseline/Process/Log payloads) cannot be written as text.

``python -m harness.secmsg.vectors --out DIR`` writes ``NAME.txt`` and ``NAME.bin``
for every canonical vector.
"""

from __future__ import annotations

import argparse
import copy
import re
import struct
import sys
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path

from .errors import SpecError
from .model import (MODULE_ID, MODULE_VERSION, ConnectionRecord, Event, Heartbeat,
                    NetworkActivity, OpaquePayload, PayloadType, Protocol, SecurityMessage,
                    SystemInformation, version_raw, version_tuple)

U8, U16, U32 = 0xFF, 0xFFFF, 0xFFFFFFFF


# -- spec -> SecurityMessage (validation + defaults) -----------------------------------

def _uint(value, limit: int, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
        raise SpecError(f"{path}: {value!r} is not an integer in 0..{limit}")
    return value


def _enum(enum_cls, value, path: str):
    try:
        if isinstance(value, str):
            return enum_cls[value.upper()]
        if isinstance(value, int) and not isinstance(value, bool):
            return enum_cls(value)
    except (KeyError, ValueError):
        pass
    raise SpecError(f"{path}: {value!r} is not a {enum_cls.__name__} "
                    f"({', '.join(m.name for m in enum_cls)})")


def _opt_text(value, path: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise SpecError(f"{path}: {value!r} is not a string")
    return value


def _check_keys(obj, allowed: set, path: str) -> dict:
    if not isinstance(obj, dict):
        raise SpecError(f"{path}: expected an object, got {type(obj).__name__}")
    unknown = set(obj) - allowed
    if unknown:
        raise SpecError(f"{path}: unknown key(s) {', '.join(sorted(map(str, unknown)))}")
    return obj


def _address(value, version: int, path: str):
    try:
        addr = value if isinstance(value, (IPv4Address, IPv6Address)) else ip_address(value)
    except ValueError:
        addr = None
    if addr is None or addr.version != version:
        raise SpecError(f"{path}: {value!r} is not an IPv{version} address")
    return addr


_RECORD_KEYS = {"local_address", "remote_address", "local_port", "remote_port",
                "bytes_in", "bytes_out", "protocol"}


def _record(obj, version: int, path: str) -> ConnectionRecord:
    _check_keys(obj, _RECORD_KEYS, path)
    for key in ("local_address", "remote_address"):
        if key not in obj:
            raise SpecError(f"{path}: {key} is required")
    return ConnectionRecord(
        local_address=_address(obj["local_address"], version, f"{path}.local_address"),
        remote_address=_address(obj["remote_address"], version, f"{path}.remote_address"),
        local_port=_uint(obj.get("local_port", 0), U16, f"{path}.local_port"),
        remote_port=_uint(obj.get("remote_port", 0), U16, f"{path}.remote_port"),
        bytes_in=_uint(obj.get("bytes_in", 0), U32, f"{path}.bytes_in"),
        bytes_out=_uint(obj.get("bytes_out", 0), U32, f"{path}.bytes_out"),
        protocol=_enum(Protocol, obj.get("protocol", "TCP"), f"{path}.protocol"),
    )


def _payload(ptype: PayloadType, obj, path: str):
    obj = {} if obj is None else obj
    if ptype == PayloadType.NETWORK_ACTIVITY:
        _check_keys(obj, {"ipv4", "ipv6"}, path)
        lists = {}
        for key, version in (("ipv4", 4), ("ipv6", 6)):
            items = obj.get(key, [])
            if not isinstance(items, list):
                raise SpecError(f"{path}.{key}: expected a list")
            lists[key] = [_record(r, version, f"{path}.{key}[{i}]") for i, r in enumerate(items)]
        return NetworkActivity(**lists)
    if ptype == PayloadType.SYSTEM_INFORMATION:
        _check_keys(obj, {"os_info", "kernel_info", "hw_info"}, path)
        return SystemInformation(**{k: _opt_text(obj.get(k), f"{path}.{k}")
                                    for k in ("os_info", "kernel_info", "hw_info")})
    if ptype == PayloadType.HEARTBEAT:
        _check_keys(obj, set(), path)
        return Heartbeat()
    if ptype == PayloadType.NONE:
        raise SpecError(f"{path}: payload_type NONE cannot be built (payload is required)")
    _check_keys(obj, {"kind", "fields_present"}, path)
    if obj.get("fields_present", 0):
        raise SpecError(f"{path}: {ptype.name} payloads can only be built empty")
    return OpaquePayload(kind=ptype)


def _event(obj, path: str) -> Event:
    _check_keys(obj, {"id", "time", "collection_interval", "payload_type", "payload"}, path)
    ident = obj.get("id")
    if isinstance(ident, str) and re.fullmatch(r"[0-9a-fA-F]{32}", ident):
        ident = bytes.fromhex(ident)
    if not isinstance(ident, (bytes, bytearray)) or len(ident) != 16:
        raise SpecError(f"{path}.id: {ident!r} is not 16 bytes / 32 hex digits")
    if "payload_type" not in obj:
        raise SpecError(f"{path}: payload_type is required")
    ptype = _enum(PayloadType, obj["payload_type"], f"{path}.payload_type")
    return Event(
        id=bytes(ident),
        time=_uint(obj.get("time", 0), U32, f"{path}.time"),
        collection_interval=_uint(obj.get("collection_interval", 0), U32,
                                  f"{path}.collection_interval"),
        payload_type=ptype,
        payload=_payload(ptype, obj.get("payload"), f"{path}.payload"),
    )


def to_message(spec) -> SecurityMessage:
    """Validate a spec and apply defaults; a SecurityMessage is returned unchanged."""
    if isinstance(spec, SecurityMessage):
        return spec
    _check_keys(spec, {"security_module_id", "version", "version_raw", "timezone", "events"},
                "spec")
    if "version_raw" in spec:
        raw = _uint(spec["version_raw"], U32, "spec.version_raw")
        if "version" in spec and tuple(spec["version"]) != version_tuple(raw):
            raise SpecError(f"spec: version {spec['version']!r} disagrees with version_raw {raw:#x}")
    else:
        version = spec.get("version", MODULE_VERSION)
        if not isinstance(version, (list, tuple)) or len(version) != 3:
            raise SpecError(f"spec.version: {version!r} is not [major, minor, patch]")
        major, minor, patch = (_uint(v, lim, f"spec.version[{i}]")
                               for i, (v, lim) in enumerate(zip(version, (U8, U8, U16))))
        raw = version_raw((major, minor, patch))
    timezone = spec.get("timezone", 0)
    if isinstance(timezone, bool) or not isinstance(timezone, int) or not -128 <= timezone <= 127:
        raise SpecError(f"spec.timezone: {timezone!r} is not an int8")
    sid = spec.get("security_module_id", MODULE_ID)
    if not isinstance(sid, str):
        raise SpecError(f"spec.security_module_id: {sid!r} is not a string")
    events = spec.get("events", [])
    if not isinstance(events, list):
        raise SpecError("spec.events: expected a list")
    return SecurityMessage(
        security_module_id=sid,
        version=version_tuple(raw),
        version_raw=raw,
        timezone=timezone,
        events=[_event(e, f"spec.events[{i}]") for i, e in enumerate(events)],
    )


# -- building the FlatBuffer -------------------------------------------------------------

def _v4_word(addr: IPv4Address) -> int:
    return int.from_bytes(addr.packed, "little")


def _v6_words(addr: IPv6Address) -> list[int]:
    return list(struct.unpack("<4I", addr.packed))


def _build_common(fb, b, rec: ConnectionRecord) -> int:
    m = fb.NetworkActivityCommon
    m.NetworkActivityCommonStart(b)
    m.NetworkActivityCommonAddLocalPort(b, rec.local_port)
    m.NetworkActivityCommonAddRemotePort(b, rec.remote_port)
    m.NetworkActivityCommonAddBytesIn(b, rec.bytes_in)
    m.NetworkActivityCommonAddBytesOut(b, rec.bytes_out)
    m.NetworkActivityCommonAddProtocol(b, int(rec.protocol))
    return m.NetworkActivityCommonEnd(b)


def _build_records(fb, b, records, version: int) -> int | None:
    if not records:
        return None  # the module leaves an empty vector out
    if version == 4:
        m, create = fb.NetworkActivityV4, fb.IPv4Addresses.CreateIPv4Addresses
        start, add_addr, add_common, end = (m.NetworkActivityV4Start, m.NetworkActivityV4AddAddresses,
                                            m.NetworkActivityV4AddCommon, m.NetworkActivityV4End)
        words = _v4_word
    else:
        m, create = fb.NetworkActivityV6, fb.IPv6Addresses.CreateIPv6Addresses
        start, add_addr, add_common, end = (m.NetworkActivityV6Start, m.NetworkActivityV6AddAddresses,
                                            m.NetworkActivityV6AddCommon, m.NetworkActivityV6End)
        words = _v6_words
    offsets = []
    for rec in records:
        common = _build_common(fb, b, rec)
        start(b)
        add_addr(b, create(b, words(rec.local_address), words(rec.remote_address)))
        add_common(b, common)
        offsets.append(end(b))
    na = fb.NetworkActivity
    (na.NetworkActivityStartIpv4ActivityVector if version == 4
     else na.NetworkActivityStartIpv6ActivityVector)(b, len(offsets))
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _build_payload(fb, b, payload) -> int:
    if isinstance(payload, NetworkActivity):
        v4 = _build_records(fb, b, payload.ipv4, 4)
        v6 = _build_records(fb, b, payload.ipv6, 6)
        m = fb.NetworkActivity
        m.NetworkActivityStart(b)
        if v4 is not None:
            m.NetworkActivityAddIpv4Activity(b, v4)
        if v6 is not None:
            m.NetworkActivityAddIpv6Activity(b, v6)
        return m.NetworkActivityEnd(b)
    if isinstance(payload, SystemInformation):
        # Strings go in as UTF-8 bytes: flatbuffers 2.0.7's CreateString miscounts
        # the length of a non-ASCII str.
        strs = {k: (None if v is None else b.CreateString(v.encode("utf-8")))
                for k, v in (("os", payload.os_info), ("kernel", payload.kernel_info),
                             ("hw", payload.hw_info))}
        m = fb.SystemInformation
        m.SystemInformationStart(b)
        if strs["os"] is not None:
            m.SystemInformationAddOsInfo(b, strs["os"])
        if strs["kernel"] is not None:
            m.SystemInformationAddKernelInfo(b, strs["kernel"])
        if strs["hw"] is not None:
            m.SystemInformationAddHwInfo(b, strs["hw"])
        return m.SystemInformationEnd(b)
    # Heartbeat and the kinds whose fields are not public: an empty table.
    b.StartObject(0)
    return b.EndObject()


class _SizeCheckedVtables(dict):
    """Vtable cache for the Builder that only shares a vtable between equal-sized tables.

    flatbuffers 2.0.7's Builder keys its vtable cache by the field offsets alone, so
    a NetworkActivityV6 record (inline size 40) reuses a V4 record's vtable (inline
    size 16) and the buffer claims a 32-byte struct inside a 16-byte table, which
    flatcc's verifier (and ours) rejects. flatcc dedups vtables by their full
    content; this cache does the same by refusing a hit whose size differs.
    """

    def __init__(self, builder):
        super().__init__()
        self._builder = builder

    def get(self, key, default=None):
        off = super().get(key)
        if off is None:
            return default
        b = self._builder
        cached_size = struct.unpack_from("<H", b.Bytes, len(b.Bytes) - off + 2)[0]
        # Called from WriteVtable after the soffset is in place: Offset() is the table start.
        return off if cached_size == b.Offset() - b.objectEnd else default


def build(spec) -> bytes:
    """Serialize a spec dict (or a SecurityMessage) the way the module lays it out."""
    import flatbuffers

    from .generate import load
    from .verify import verify
    fb = load()
    msg = to_message(spec)
    b = flatbuffers.Builder(1024)
    b.vtables = _SizeCheckedVtables(b)
    b.ForceDefaults(False)  # default scalars are not written, like flatcc
    sid = b.CreateString(msg.security_module_id.encode("utf-8"))
    event_offsets = []
    for ev in msg.events:
        payload = _build_payload(fb, b, ev.payload)
        m = fb.Event
        m.EventStart(b)
        m.EventAddId(b, fb.UUID.CreateUUID(b, list(ev.id)))  # struct: must be inline, right here
        m.EventAddTime(b, ev.time)
        m.EventAddCollectionInterval(b, ev.collection_interval)
        m.EventAddPayloadType(b, int(ev.payload_type))
        m.EventAddPayload(b, payload)
        event_offsets.append(m.EventEnd(b))
    fb.Message.MessageStartEventsVector(b, len(event_offsets))
    for off in reversed(event_offsets):
        b.PrependUOffsetTRelative(off)
    events = b.EndVector()
    m = fb.Message
    m.MessageStart(b)
    m.MessageAddSecurityModuleId(b, sid)
    m.MessageAddSecurityModuleVersion(b, msg.version_raw)
    m.MessageAddTimezone(b, msg.timezone)
    m.MessageAddEvents(b, events)
    b.Finish(m.MessageEnd(b))  # no file identifier
    out = bytes(b.Output())
    verify(out)  # a builder bug must not pass for a decoder bug
    return out


# -- text form for the C encoder helper -----------------------------------------------------

_TEXT_TYPES = {PayloadType.NETWORK_ACTIVITY: "network", PayloadType.SYSTEM_INFORMATION: "sysinfo",
               PayloadType.HEARTBEAT: "heartbeat"}
_TEXT_TYPES_REV = {v: k for k, v in _TEXT_TYPES.items()}
_EVENT_KEYS = ("uuid", "time", "interval", "type")
_RECORD_TEXT_KEYS = ("local", "remote", "lport", "rport", "in", "out", "proto")
_TOKEN = re.compile(r'([a-z]+)=("[^"\\\x00-\x1f\x7f]*"|[^\s"]+)')


def _quote(value: str, path: str) -> str:
    if re.search(r'["\\\x00-\x1f\x7f]', value):
        raise SpecError(f"{path}: {value!r} contains a quote, backslash or control "
                        "character, which the text format cannot carry")
    return f'"{value}"'


def to_text(spec) -> str:
    """The line-based description of a spec (see the module docstring)."""
    msg = to_message(spec)
    if msg.timezone:
        raise SpecError("spec.timezone: the text format has no timezone (the module never writes one)")
    major, minor, patch = msg.version
    lines = [f"message id={_quote(msg.security_module_id, 'spec.security_module_id')} "
             f"version={major}.{minor}.{patch}"]
    for i, ev in enumerate(msg.events):
        path = f"spec.events[{i}]"
        kind = _TEXT_TYPES.get(ev.payload_type)
        if kind is None:
            raise SpecError(f"{path}: payload type {ev.payload_type.name} has no text form")
        line = (f"event uuid={ev.id.hex()} time={ev.time} interval={ev.collection_interval} "
                f"type={kind}")
        if kind == "sysinfo":
            if ev.payload.kernel_info is not None or ev.payload.hw_info is not None:
                raise SpecError(f"{path}: kernel_info/hw_info have no text form")
            if ev.payload.os_info is not None:
                line += f" os={_quote(ev.payload.os_info, path + '.payload.os_info')}"
        lines.append(line)
        if kind == "network":
            for tag, records in (("v4", ev.payload.ipv4), ("v6", ev.payload.ipv6)):
                for r in records:
                    lines.append(f"{tag} local={r.local_address} remote={r.remote_address} "
                                 f"lport={r.local_port} rport={r.remote_port} in={r.bytes_in} "
                                 f"out={r.bytes_out} proto={r.protocol.name.lower()}")
    return "".join(line + "\n" for line in lines)


def _fields(line: str, allowed: tuple[tuple, ...], where: str) -> dict:
    """key=value pairs of a line after its tag; the key sequence must be one of ``allowed``."""
    head, _, rest = line.partition(" ")
    tokens = _TOKEN.findall(rest)
    keys = tuple(k for k, _ in tokens)
    if " ".join(f"{k}={v}" for k, v in tokens) != rest or keys not in allowed:
        expected = " | ".join(" ".join(k + "=…" for k in seq) for seq in allowed)
        raise SpecError(f"{where}: cannot parse {line!r}; expected: {head} {expected} "
                        "(keys in this order, one space apart)")
    return dict(tokens)


def _num(text: str, limit: int, where: str) -> int:
    if not re.fullmatch(r"0|[1-9][0-9]*", text) or int(text) > limit:
        raise SpecError(f"{where}: {text!r} is not an integer in 0..{limit}")
    return int(text)


def _unquote(text: str, where: str) -> str:
    if len(text) < 2 or text[0] != '"' or text[-1] != '"':
        raise SpecError(f"{where}: {text!r} is not a double-quoted string")
    return text[1:-1]


def parse_text(text: str) -> dict:
    """Parse the line-based form back into a spec dict (strict; SpecError names the line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise SpecError("text vector: empty")
    where = "line 1"
    head = (_fields(lines[0], (("id", "version"),), where)
            if lines[0].startswith("message ") else None)
    if head is None:
        raise SpecError(f"{where}: expected 'message id=\"…\" version=M.m.p', got {lines[0]!r}")
    version = head["version"].split(".")
    if len(version) != 3:
        raise SpecError(f"{where}: version {head['version']!r} is not M.m.p")
    spec = {"security_module_id": _unquote(head["id"], where),
            "version": [_num(v, lim, where) for v, lim in zip(version, (U8, U8, U16))],
            "events": []}
    current = None
    for n, line in enumerate(lines[1:], start=2):
        where = f"line {n}"
        tag = line.split(" ", 1)[0]
        if tag == "event":
            f = _fields(line, (_EVENT_KEYS, _EVENT_KEYS + ("os",)), where)
            if "os" in f and f["type"] != "sysinfo":
                raise SpecError(f"{where}: os= is only allowed on type=sysinfo events")
            if not re.fullmatch(r"[0-9a-f]{32}", f["uuid"]):
                raise SpecError(f"{where}: uuid {f['uuid']!r} is not 32 lowercase hex digits")
            if f["type"] not in _TEXT_TYPES_REV:
                raise SpecError(f"{where}: type {f['type']!r} is not one of "
                                f"{', '.join(_TEXT_TYPES_REV)}")
            ptype = _TEXT_TYPES_REV[f["type"]]
            payload = {}
            if ptype == PayloadType.NETWORK_ACTIVITY:
                payload = {"ipv4": [], "ipv6": []}
            elif ptype == PayloadType.SYSTEM_INFORMATION and "os" in f:
                payload = {"os_info": _unquote(f["os"], where)}
            current = {"id": f["uuid"], "time": _num(f["time"], U32, where),
                       "collection_interval": _num(f["interval"], U32, where),
                       "payload_type": ptype.name, "payload": payload}
            spec["events"].append(current)
        elif tag in ("v4", "v6"):
            if current is None or current["payload_type"] != PayloadType.NETWORK_ACTIVITY.name:
                raise SpecError(f"{where}: {tag} record outside a type=network event")
            if tag == "v4" and current["payload"]["ipv6"]:
                raise SpecError(f"{where}: v4 record after v6 records (v4 lines come first)")
            f = _fields(line, (_RECORD_TEXT_KEYS,), where)
            if f["proto"] not in ("tcp", "udp", "icmp"):
                raise SpecError(f"{where}: proto {f['proto']!r} is not tcp, udp or icmp")
            version = 4 if tag == "v4" else 6
            current["payload"]["ipv4" if version == 4 else "ipv6"].append({
                "local_address": str(_address(f["local"], version, where)),
                "remote_address": str(_address(f["remote"], version, where)),
                "local_port": _num(f["lport"], U16, where),
                "remote_port": _num(f["rport"], U16, where),
                "bytes_in": _num(f["in"], U32, where),
                "bytes_out": _num(f["out"], U32, where),
                "protocol": f["proto"].upper(),
            })
        else:
            raise SpecError(f"{where}: expected an event, v4 or v6 line, got {line!r}")
    return spec


# -- canonical vectors --------------------------------------------------------------------

T0 = 1767225600  # 2026-01-01T00:00:00Z


def _uuid(n: int) -> str:
    """Event ids like the module's: two 64-bit counters, each +1 per event (spec §2.3)."""
    return f"{0x1f2e3d4c5b6a7980 + n:016x}{0x0a1b2c3d4e5f6071 + n:016x}"


def _message(*events) -> dict:
    return {"security_module_id": MODULE_ID, "version": list(MODULE_VERSION),
            "events": list(events)}


def _heartbeat(n: int, t: int = T0) -> dict:
    return {"id": _uuid(n), "time": t, "collection_interval": 60, "payload_type": "HEARTBEAT",
            "payload": {}}


def _sysinfo(n: int, t: int = T0) -> dict:
    return {"id": _uuid(n), "time": t, "collection_interval": 60,
            "payload_type": "SYSTEM_INFORMATION", "payload": {"os_info": "Azure RTOS 6.2"}}


def _network(n: int, ipv4=(), ipv6=(), t: int = T0) -> dict:
    return {"id": _uuid(n), "time": t, "collection_interval": 10,
            "payload_type": "NETWORK_ACTIVITY", "payload": {"ipv4": list(ipv4), "ipv6": list(ipv6)}}


# Records leave out fields equal to the schema default, like the wire does.
_V4_RECORDS = [
    {"local_address": "10.0.0.2", "remote_address": "10.0.0.1", "local_port": 49152,
     "remote_port": 8883, "bytes_in": 4210, "bytes_out": 1893},                      # TCP (default)
    {"local_address": "10.0.0.2", "remote_address": "10.0.0.53", "local_port": 50123,
     "remote_port": 53, "bytes_in": 96, "bytes_out": 41, "protocol": "UDP"},
    {"local_address": "10.0.0.2", "remote_address": "10.0.0.1",
     "bytes_in": 64, "bytes_out": 64, "protocol": "ICMP"},                           # ports 0
]
_V6_RECORDS = [
    {"local_address": "2001:db8::2", "remote_address": "2001:db8::1", "local_port": 49153,
     "remote_port": 8883, "bytes_in": 3020, "bytes_out": 1210, "protocol": "TCP"},
    {"local_address": "2001:db8::2", "remote_address": "2001:db8:0:1::35", "local_port": 50200,
     "remote_port": 53, "bytes_in": 120, "bytes_out": 52, "protocol": "UDP"},
    # Outbound Neighbor Solicitation: inbound ICMPv6 is never counted (spec §1.3).
    {"local_address": "fe80::2", "remote_address": "ff02::1:ff00:1", "bytes_out": 32,
     "protocol": "ICMP"},
]
_PROTOS = ("TCP", "UDP", "ICMP")


def _capacity_records(version: int) -> list[dict]:
    records = []
    for i in range(64):
        proto = _PROTOS[i % 3]
        local = "10.0.0.2" if version == 4 else "2001:db8::2"
        remote = f"198.51.100.{i + 1}" if version == 4 else f"2001:db8:1::{i + 1:x}"
        ports = {} if proto == "ICMP" else {"local_port": 49152 + i, "remote_port": 1024 + 7 * i}
        records.append({"local_address": local, "remote_address": remote, **ports,
                        "bytes_in": 100 * i, "bytes_out": 37 * i + 1, "protocol": proto})
    return records


CANONICAL: dict[str, dict] = {
    "heartbeat_only": _message(_heartbeat(0)),
    "sysinfo_heartbeat": _message(_sysinfo(0), _heartbeat(1)),
    "network_v4": _message(_network(0, ipv4=_V4_RECORDS)),
    "network_v6": _message(_network(0, ipv6=_V6_RECORDS)),
    "full_cycle": _message(_network(0, ipv4=_V4_RECORDS, ipv6=_V6_RECORDS, t=T0 + 60),
                           _sysinfo(1, t=T0 + 60), _heartbeat(2, t=T0 + 60)),
    "capacity_64_64": _message(_network(0, ipv4=_capacity_records(4),
                                        ipv6=_capacity_records(6))),
    "zero_bytes_in": _message(_network(0, ipv4=[
        # SYNs to a host that never answers: only bytes_out, bytes_in absent on the wire.
        {"local_address": "10.0.0.2", "remote_address": "203.0.113.66", "local_port": 49200,
         "remote_port": 8883, "bytes_out": 120}])),
}


def canonical(name: str) -> dict:
    """A deep copy of a canonical spec (KeyError lists the names)."""
    try:
        return copy.deepcopy(CANONICAL[name])
    except KeyError:
        raise KeyError(f"no canonical vector {name!r}; known: {', '.join(CANONICAL)}") from None


def write_vectors(out_dir, names=None) -> list[Path]:
    """Write NAME.txt and NAME.bin for the given (default: all) canonical vectors."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names or CANONICAL:
        spec = canonical(name)
        for suffix, data in ((".txt", to_text(spec).encode("utf-8")), (".bin", build(spec))):
            path = out / f"{name}{suffix}"
            path.write_bytes(data)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.secmsg.vectors",
                                     description="Write the canonical security-message test vectors.")
    parser.add_argument("--out", help="directory for NAME.txt and NAME.bin")
    parser.add_argument("--name", action="append", choices=sorted(CANONICAL),
                        help="only this vector (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the vector names and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(CANONICAL))
        return 0
    if not args.out:
        parser.error("--out DIR is required")
    for path in write_vectors(args.out, args.name):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
