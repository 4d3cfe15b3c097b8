"""Human-readable views of a decoded SecurityMessage: plain text and HTML (Robot logs).

One section per event (payload type, event time in UTC and unix seconds, collection
interval, id); NetworkActivity events get a table with one row per record:
IP version, protocol, local address:port, remote address:port, bytes in, bytes out.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from ipaddress import IPv6Address

from .model import (PAYLOAD_SCHEMA_NAMES, ConnectionRecord, Event, NetworkActivity,
                    OpaquePayload, PayloadType, SecurityMessage, SystemInformation)

COLUMNS = ("ip", "proto", "local", "remote", "bytes in", "bytes out")
_RIGHT = {"bytes in", "bytes out"}


def endpoint(address, port: int) -> str:
    """``10.0.0.1:8883`` or ``[2001:db8::1]:8883``."""
    return f"[{address}]:{port}" if isinstance(address, IPv6Address) else f"{address}:{port}"


def utc(t: int) -> str:
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _type_name(event: Event) -> str:
    return PAYLOAD_SCHEMA_NAMES.get(event.payload_type, str(int(event.payload_type)))


def _row(rec: ConnectionRecord) -> tuple[str, ...]:
    return (f"v{rec.ip_version}", rec.protocol.name,
            endpoint(rec.local_address, rec.local_port),
            endpoint(rec.remote_address, rec.remote_port),
            str(rec.bytes_in), str(rec.bytes_out))


def _rows(payload: NetworkActivity) -> list[tuple[str, ...]]:
    return [_row(r) for r in payload.ipv4] + [_row(r) for r in payload.ipv6]


def _summary(msg: SecurityMessage) -> str:
    major, minor, patch = msg.version
    return (f"security message from {msg.security_module_id} {major}.{minor}.{patch} "
            f"(version_raw {msg.version_raw:#010x}), timezone {msg.timezone}, "
            f"{len(msg.events)} event(s)")


def _event_heading(i: int, event: Event) -> str:
    return (f"event {i}: {_type_name(event)}  time {utc(event.time)} ({event.time})  "
            f"interval {event.collection_interval} s  id {event.id.hex()}")


def _details(event: Event) -> list[str]:
    """Non-tabular lines of an event."""
    p = event.payload
    if isinstance(p, SystemInformation):
        return [f"{k}: {v}" for k, v in (("os_info", p.os_info), ("kernel_info", p.kernel_info),
                                          ("hw_info", p.hw_info)) if v is not None] or ["(no fields)"]
    if isinstance(p, OpaquePayload):
        return [f"{PayloadType(p.kind).name} payload with {p.fields_present} field(s); "
                "not emitted by the RTOS module, contents not decoded"]
    if isinstance(p, NetworkActivity) and not (p.ipv4 or p.ipv6):
        return ["(no records)"]
    return []


def render_text(msg: SecurityMessage) -> str:
    """A plain-text report: a summary line, then one section per event."""
    out = [_summary(msg)]
    for i, event in enumerate(msg.events):
        out.append("")
        out.append(_event_heading(i, event))
        out.extend("  " + line for line in _details(event))
        if isinstance(event.payload, NetworkActivity) and (event.payload.ipv4 or event.payload.ipv6):
            rows = [COLUMNS] + _rows(event.payload)
            widths = [max(len(r[c]) for r in rows) for c in range(len(COLUMNS))]
            for r in rows:
                cells = [r[c].rjust(widths[c]) if COLUMNS[c] in _RIGHT else r[c].ljust(widths[c])
                         for c in range(len(COLUMNS))]
                out.append("  " + "  ".join(cells).rstrip())
    return "\n".join(out) + "\n"


def render_html(msg: SecurityMessage) -> str:
    """The same content as HTML (a <div> fragment with one table per event)."""
    e = html.escape
    parts = ['<div class="secmsg">', f"<p>{e(_summary(msg))}</p>"]
    for i, event in enumerate(msg.events):
        parts.append('<table class="secmsg-event" border="1" style="border-collapse:collapse">')
        parts.append(f"<caption>{e(_event_heading(i, event))}</caption>")
        for line in _details(event):
            parts.append(f'<tr><td colspan="{len(COLUMNS)}">{e(line)}</td></tr>')
        if isinstance(event.payload, NetworkActivity) and (event.payload.ipv4 or event.payload.ipv6):
            parts.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in COLUMNS) + "</tr>")
            for row in _rows(event.payload):
                cells = "".join(
                    f'<td style="text-align:right">{e(v)}</td>' if COLUMNS[c] in _RIGHT
                    else f"<td>{e(v)}</td>" for c, v in enumerate(row))
                parts.append(f"<tr>{cells}</tr>")
        parts.append("</table>")
    parts.append("</div>")
    return "\n".join(parts) + "\n"
