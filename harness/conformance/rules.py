"""Structural rules every security message of a 3.5.4 module follows (spec §1, §2)."""

from __future__ import annotations

from ..secmsg import MODULE_ID, MODULE_VERSION
from ..secmsg.model import PayloadType, Protocol

INTERVALS = {PayloadType.NETWORK_ACTIVITY: 10, PayloadType.SYSTEM_INFORMATION: 60, PayloadType.HEARTBEAT: 60}
ORDER = [PayloadType.NETWORK_ACTIVITY, PayloadType.SYSTEM_INFORMATION, PayloadType.HEARTBEAT]
MAX_RECORDS = 64


def check_message(msg, intervals: dict | None = None) -> list[str]:
    """Violations of the envelope, event and record rules in one decoded message."""
    intervals = intervals or INTERVALS
    problems = []
    if msg.security_module_id != MODULE_ID:
        problems.append(f"security_module_id is {msg.security_module_id!r}, not {MODULE_ID!r} (§2.3)")
    if msg.version != MODULE_VERSION:
        problems.append(f"security_module_version is {msg.version}, not {MODULE_VERSION} (§2.3)")
    if msg.timezone != 0:
        problems.append(f"timezone is {msg.timezone}; the module never writes it (§2.3)")
    if not msg.events:
        problems.append("message has no events (§2.3)")
    kinds = [e.payload_type for e in msg.events]
    if len(set(kinds)) != len(kinds):
        problems.append(f"more than one event of a kind in one message: {[k.name for k in kinds]} (§1.5)")
    unknown = [k.name for k in kinds if k not in ORDER]
    if unknown:
        problems.append(f"payload types the RTOS module never emits: {unknown} (§2.3)")
    order = [k for k in kinds if k in ORDER]
    if order != sorted(order, key=ORDER.index):
        problems.append(f"events out of order {[k.name for k in order]}; expected NetworkActivity, "
                        "SystemInformation, Heartbeat (§1.5)")
    ids = [e.id for e in msg.events]
    if len(set(ids)) != len(ids):
        problems.append("two events share an id (§2.3)")
    for i, ev in enumerate(msg.events):
        want = intervals.get(ev.payload_type)
        if want is not None and ev.collection_interval != want:
            problems.append(f"event {i} ({ev.payload_type.name}): collection_interval {ev.collection_interval}, "
                            f"expected {want} (§1.2)")
        if ev.payload_type == PayloadType.NETWORK_ACTIVITY:
            problems += _check_network(i, ev.payload)
        elif ev.payload_type == PayloadType.SYSTEM_INFORMATION:
            p = ev.payload
            if not p.os_info or not p.os_info.startswith("Azure RTOS "):
                problems.append(f"event {i}: os_info {p.os_info!r} is not 'Azure RTOS X.Y' (§1.2)")
            if p.kernel_info is not None or p.hw_info is not None:
                problems.append(f"event {i}: kernel_info/hw_info are set; the RTOS module writes only os_info (§1.2)")
    return problems


def _check_network(i: int, payload) -> list[str]:
    problems = []
    for version, records in ((4, payload.ipv4), (6, payload.ipv6)):
        if len(records) > MAX_RECORDS:
            problems.append(f"event {i}: {len(records)} IPv{version} records, more than the {MAX_RECORDS} cap (§1.4)")
        seen = set()
        for rec in records:
            key = (rec.protocol, rec.local_address, rec.local_port, rec.remote_address, rec.remote_port)
            if key in seen:
                problems.append(f"event {i}: two records for one 5-tuple {key} in a window (§1.4)")
            seen.add(key)
            if rec.protocol == Protocol.ICMP and (rec.local_port or rec.remote_port):
                problems.append(f"event {i}: ICMP record with ports {rec.local_port}/{rec.remote_port} (§1.3)")
            if rec.bytes_in == 0 and rec.bytes_out == 0:
                problems.append(f"event {i}: record with no bytes either way {key} (§1.4)")
    if not payload.ipv4 and not payload.ipv6:
        problems.append(f"event {i}: empty NetworkActivity; empty windows add no event (§1.4)")
    return problems
