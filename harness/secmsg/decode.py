"""decode(payload) -> SecurityMessage, for the body of a security message.

Order of work: reject non-bytes/empty/oversized input, recognise JSON (legacy
preview or other), run the structural verifier (verify.py), and only then read the
buffer with the flatc-generated accessors (which do no bounds checking themselves).
Hostile input therefore always ends in DecodeError.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from .errors import DecodeError
from .legacy import check_json
from .model import (ConnectionRecord, Event, Heartbeat, NetworkActivity, OpaquePayload,
                    PayloadType, Protocol, SecurityMessage, SystemInformation,
                    version_tuple)
from .verify import MAX_BYTES, verify

# A DecodeError starting with this means a bug in this package, not bad input:
# the tests assert it never appears.
INTERNAL_ERROR_PREFIX = "internal decoder error"

_LE32 = struct.Struct("<I").pack
_LE32x4 = struct.Struct("<4I").pack


def _as_bytes(payload) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, (bytearray, memoryview)):
        return bytes(payload)
    raise DecodeError(f"payload must be bytes, not {type(payload).__name__}")


def decode(payload: bytes) -> SecurityMessage:
    """Decode a security-message body. Raises DecodeError (LegacyJsonPreview for the
    pre-6.1 JSON preview); never another exception for any input bytes."""
    buf = _as_bytes(payload)
    if not buf:
        raise DecodeError("payload is empty")
    if len(buf) > MAX_BYTES:
        raise DecodeError(f"payload is {len(buf)} bytes; the decoder accepts at most "
                          f"{MAX_BYTES} (IoT Hub's own limit is 262144)")
    # Outside the try: a missing flatc is an InfrastructureError, not bad input.
    from .generate import load  # lazy: keeps `python -m harness.secmsg.generate` clean
    fb = load()
    try:
        check_json(buf)
        verify(buf)
        return _read(fb, buf)
    except DecodeError:
        raise
    except Exception as exc:  # noqa: BLE001 - the contract is "only DecodeError"
        raise DecodeError(f"{INTERNAL_ERROR_PREFIX} ({type(exc).__name__}: {exc}); "
                          "the payload could not be decoded") from exc


# -- reading a verified buffer with the generated accessors ----------------------------

def _read(fb, buf: bytes) -> SecurityMessage:
    msg = fb.Message.Message.GetRootAs(buf, 0)
    raw = msg.SecurityModuleVersion()
    events = [_event(fb, msg.Events(i)) for i in range(msg.EventsLength())]
    return SecurityMessage(
        security_module_id=msg.SecurityModuleId().decode("utf-8"),
        version=version_tuple(raw),
        version_raw=raw,
        timezone=msg.Timezone(),
        events=events,
    )


def _event(fb, ev) -> Event:
    ptype = PayloadType(ev.PayloadType())
    table = ev.Payload()
    if ptype == PayloadType.NETWORK_ACTIVITY:
        payload = _network_activity(fb, table)
    elif ptype == PayloadType.SYSTEM_INFORMATION:
        payload = _system_information(fb, table)
    elif ptype == PayloadType.HEARTBEAT:
        payload = Heartbeat()
    else:
        payload = OpaquePayload(kind=ptype, fields_present=_fields_present(table))
    return Event(
        id=bytes(ev.Id().Value()),
        time=ev.Time(),
        collection_interval=ev.CollectionInterval(),
        payload_type=ptype,
        payload=payload,
    )


def _fields_present(table) -> int:
    vtable = table.Pos - struct.unpack_from("<i", table.Bytes, table.Pos)[0]
    vsize = struct.unpack_from("<H", table.Bytes, vtable)[0]
    return sum(1 for voff in range(4, vsize, 2) if table.Offset(voff))


def _common(rec_common, local, remote) -> ConnectionRecord:
    return ConnectionRecord(
        local_address=local,
        remote_address=remote,
        local_port=rec_common.LocalPort(),
        remote_port=rec_common.RemotePort(),
        bytes_in=rec_common.BytesIn(),
        bytes_out=rec_common.BytesOut(),
        protocol=Protocol(rec_common.Protocol()),
    )


def _network_activity(fb, table) -> NetworkActivity:
    na = fb.NetworkActivity.NetworkActivity()
    na.Init(table.Bytes, table.Pos)
    ipv4, ipv6 = [], []
    for i in range(na.Ipv4ActivityLength()):
        rec = na.Ipv4Activity(i)
        addrs = rec.Addresses()
        # Raw network-order bytes stored as a little-endian uint32 (spec §2.3).
        ipv4.append(_common(rec.Common(),
                            IPv4Address(_LE32(addrs.LocalAddress())),
                            IPv4Address(_LE32(addrs.RemoteAddress()))))
    for i in range(na.Ipv6ActivityLength()):
        rec = na.Ipv6Activity(i)
        addrs = rec.Addresses()
        ipv6.append(_common(rec.Common(),
                            IPv6Address(_LE32x4(*addrs.LocalAddress())),
                            IPv6Address(_LE32x4(*addrs.RemoteAddress()))))
    return NetworkActivity(ipv4=ipv4, ipv6=ipv6)


def _opt_str(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8")


def _system_information(fb, table) -> SystemInformation:
    si = fb.SystemInformation.SystemInformation()
    si.Init(table.Bytes, table.Pos)
    return SystemInformation(os_info=_opt_str(si.OsInfo()),
                             kernel_info=_opt_str(si.KernelInfo()),
                             hw_info=_opt_str(si.HwInfo()))
