"""Structural verifier for security-message FlatBuffers (run before any read).

The Python FlatBuffers runtime does no bounds checking, so every payload is checked
here first, against the schema in security_message.fbs:

* every uoffset is non-zero, points forward and lands inside the payload; every
  soffset to a vtable lands inside; vtables are well-formed (even size >= 4, fully
  inside) and every present field lies inside its table's inline size;
* tables, vectors and strings are 4-aligned, scalars and structs naturally aligned
  (relative to the start of the payload, as the FlatBuffers verifiers do);
* vector lengths are bounded by the bytes that remain after the length word;
* strings are NUL-terminated and valid UTF-8;
* required fields are present (Message.security_module_id, Message.events, Event.id,
  Event.payload, NetworkActivityV4/V6.addresses and .common);
* the union type is a known Payload and agrees with the presence of a value;
  ``protocol`` is a known Protocol;
* total work is bounded: at most ``max_objects`` tables + strings + vector elements
  are visited (shared sub-objects count each time they are reached), and the
  payload is at most ``max_bytes`` long. uoffsets only point forward, so there are
  no cycles, and the schema is not recursive, so nesting depth is fixed (5).

Any violation raises :class:`DecodeError` with the path of the object and what is
wrong, e.g. ``event 2: payload type 9 is not a known Payload``. Events and vector
elements are numbered from 0, like the lists of the decoded message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import DecodeError
from .model import PAYLOAD_SCHEMA_NAMES, PayloadType, Protocol

MAX_BYTES = 1 << 20          # IoT Hub itself caps a D2C message at 256 KiB
MAX_OBJECTS = 50_000         # a full 64+64 message needs ~270

_U16 = struct.Struct("<H").unpack_from
_U32 = struct.Struct("<I").unpack_from
_I32 = struct.Struct("<i").unpack_from


@dataclass(frozen=True)
class VerifyStats:
    """What a successful verification saw."""
    objects: int   # tables + strings + vector elements visited
    extent: int    # one past the highest payload byte any object uses


class _Table:
    __slots__ = ("pos", "vt", "vsize", "tsize", "where")

    def __init__(self, pos, vt, vsize, tsize, where):
        self.pos, self.vt, self.vsize, self.tsize, self.where = pos, vt, vsize, tsize, where


class _Verifier:
    def __init__(self, buf: bytes, max_objects: int):
        self.buf = buf
        self.n = len(buf)
        self.max_objects = max_objects
        self.objects = 0
        self.extent = 0

    # -- primitives -----------------------------------------------------------------
    @staticmethod
    def fail(where: str, what: str):
        raise DecodeError(f"{where}: {what}")

    def charge(self, count: int, where: str) -> None:
        self.objects += count
        if self.objects > self.max_objects:
            self.fail(where, f"the payload references more than {self.max_objects} objects "
                             "(tables, strings, vector elements); refusing to decode it")

    def need(self, pos: int, size: int, where: str, what: str) -> None:
        if pos < 0 or pos + size > self.n:
            self.fail(where, f"{what} (bytes {pos}..{pos + size - 1}) lies outside the "
                             f"{self.n}-byte payload")
        if pos + size > self.extent:
            self.extent = pos + size

    def align(self, pos: int, alignment: int, where: str, what: str) -> None:
        if pos % alignment:
            self.fail(where, f"{what} at byte {pos} is not {alignment}-byte aligned")

    def uoffset_target(self, pos: int, where: str, what: str) -> int:
        """Follow the uoffset stored at ``pos`` (already bounds-checked)."""
        rel = _U32(self.buf, pos)[0]
        if rel == 0:
            self.fail(where, f"{what} offset at byte {pos} is 0 (points at itself)")
        target = pos + rel
        if target >= self.n:
            self.fail(where, f"{what} offset at byte {pos} points to byte {target}, outside "
                             f"the {self.n}-byte payload")
        return target

    # -- tables ---------------------------------------------------------------------
    def table(self, pos: int, where: str) -> _Table:
        self.charge(1, where)
        self.align(pos, 4, where, "table")
        self.need(pos, 4, where, "table header")
        vt = pos - _I32(self.buf, pos)[0]
        if vt < 0 or vt + 4 > self.n:
            self.fail(where, f"vtable of the table at byte {pos} would be at byte {vt}, "
                             f"outside the {self.n}-byte payload")
        self.align(vt, 2, where, "vtable")
        vsize = _U16(self.buf, vt)[0]
        tsize = _U16(self.buf, vt + 2)[0]
        if vsize < 4 or vsize % 2:
            self.fail(where, f"vtable at byte {vt} has invalid size {vsize} "
                             "(must be even and at least 4)")
        self.need(vt, vsize, where, f"vtable of size {vsize}")
        if tsize < 4:
            self.fail(where, f"table at byte {pos} has invalid inline size {tsize} (minimum 4)")
        self.need(pos, tsize, where, f"table of inline size {tsize}")
        return _Table(pos, vt, vsize, tsize, where)

    def field(self, t: _Table, slot: int, size: int, alignment: int, name: str,
              required: bool = False) -> int | None:
        """Absolute position of field ``slot`` (checked to lie inside the table), or None."""
        entry = 4 + 2 * slot
        voff = _U16(self.buf, t.vt + entry)[0] if entry < t.vsize else 0
        if voff == 0:
            if required:
                self.fail(t.where, f"required field {name} is missing")
            return None
        if voff < 4:
            self.fail(t.where, f"field {name} at table offset {voff} overlaps the table header")
        if voff + size > t.tsize:
            self.fail(t.where, f"field {name} ({size} bytes at table offset {voff}) extends "
                               f"past the table's inline size {t.tsize}")
        pos = t.pos + voff
        self.align(pos, alignment, t.where, f"field {name}")
        return pos

    def scalar(self, t: _Table, slot: int, size: int, name: str, default: int = 0) -> int:
        pos = self.field(t, slot, size, size, name)
        if pos is None:
            return default
        if size == 1:
            return self.buf[pos]
        return _U16(self.buf, pos)[0] if size == 2 else _U32(self.buf, pos)[0]

    def ref(self, t: _Table, slot: int, name: str, required: bool = False) -> int | None:
        """Target of an offset field (table, vector or string), or None if absent."""
        pos = self.field(t, slot, 4, 4, name, required)
        if pos is None:
            return None
        return self.uoffset_target(pos, t.where, f"field {name}")

    def string(self, t: _Table, slot: int, name: str, required: bool = False) -> None:
        target = self.ref(t, slot, name, required)
        if target is None:
            return
        where = f"{t.where}: {name}"
        self.charge(1, where)
        self.align(target, 4, where, "string")
        self.need(target, 4, where, "string length")
        length = _U32(self.buf, target)[0]
        if length > self.n - target - 5:
            self.fail(where, f"string length {length} at byte {target} exceeds the "
                             f"{max(self.n - target - 4, 0)} bytes that remain")
        self.need(target + 4, length + 1, where, "string")
        if self.buf[target + 4 + length] != 0:
            self.fail(where, f"string at byte {target} is not NUL-terminated")
        try:
            self.buf[target + 4:target + 4 + length].decode("utf-8")
        except UnicodeDecodeError as exc:
            self.fail(where, f"string is not valid UTF-8 ({exc.reason} at string byte {exc.start})")

    def table_vector(self, t: _Table, slot: int, name: str, required: bool = False) -> list[int]:
        """Positions of the tables a vector-of-tables field points to ([] if absent)."""
        target = self.ref(t, slot, name, required)
        if target is None:
            return []
        where = f"{t.where}: {name}"
        self.align(target, 4, where, "vector")
        self.need(target, 4, where, "vector length")
        count = _U32(self.buf, target)[0]
        room = (self.n - target - 4) // 4
        if count > room:
            self.fail(where, f"vector length {count} at byte {target} exceeds the {room} "
                             "elements that fit in the remaining bytes")
        self.charge(count, where)
        self.need(target + 4, 4 * count, where, "vector")
        return [self.uoffset_target(target + 4 + 4 * i, where, f"element {i}")
                for i in range(count)]

    # -- the schema -----------------------------------------------------------------
    def message(self) -> None:
        if self.n < 4:
            raise DecodeError(f"payload is {self.n} bytes, too short for a FlatBuffers "
                              "message (a root offset alone is 4 bytes)")
        root = self.uoffset_target(0, "message", "root table")
        t = self.table(root, "message")
        self.string(t, 0, "security_module_id", required=True)
        self.scalar(t, 1, 4, "security_module_version")
        self.scalar(t, 2, 1, "timezone")
        for i, pos in enumerate(self.table_vector(t, 3, "events", required=True)):
            self.event(pos, f"event {i}")

    def event(self, pos: int, where: str) -> None:
        t = self.table(pos, where)
        self.field(t, 0, 16, 1, "id", required=True)
        self.scalar(t, 1, 4, "time")
        self.scalar(t, 2, 4, "collection_interval")
        ptype = self.scalar(t, 3, 1, "payload_type")
        value = self.ref(t, 4, "payload")
        if ptype not in PAYLOAD_SCHEMA_NAMES and ptype != PayloadType.NONE:
            self.fail(where, f"payload type {ptype} is not a known Payload "
                             f"(known: 1..{max(PAYLOAD_SCHEMA_NAMES)})")
        if ptype == PayloadType.NONE:
            if value is None:
                self.fail(where, "required field payload is missing (payload type NONE, no value)")
            self.fail(where, "payload type is NONE but a payload value is present")
        name = PAYLOAD_SCHEMA_NAMES[PayloadType(ptype)]
        if value is None:
            self.fail(where, f"payload type {ptype} ({name}) but required field payload "
                             "(the value) is missing")
        sub = f"{where}: {name}"
        if ptype == PayloadType.NETWORK_ACTIVITY:
            self.network_activity(value, sub)
        elif ptype == PayloadType.SYSTEM_INFORMATION:
            self.system_information(value, sub)
        else:  # Heartbeat (no fields) and the kinds whose fields are not public
            self.table(value, sub)

    def network_activity(self, pos: int, where: str) -> None:
        t = self.table(pos, where)
        for i, rec in enumerate(self.table_vector(t, 0, "ipv4_activity")):
            self.record(rec, f"{where}: ipv4_activity[{i}]", 8)
        for i, rec in enumerate(self.table_vector(t, 1, "ipv6_activity")):
            self.record(rec, f"{where}: ipv6_activity[{i}]", 32)

    def record(self, pos: int, where: str, addr_size: int) -> None:
        t = self.table(pos, where)
        self.field(t, 0, addr_size, 4, "addresses", required=True)
        self.common(self.ref(t, 1, "common", required=True), f"{where}: common")

    def common(self, pos: int, where: str) -> None:
        t = self.table(pos, where)
        self.scalar(t, 0, 2, "local_port")
        self.scalar(t, 1, 2, "remote_port")
        self.scalar(t, 2, 4, "bytes_in")
        self.scalar(t, 3, 4, "bytes_out")
        proto = self.scalar(t, 4, 1, "protocol")
        if proto >= 0x80:
            proto -= 0x100  # int8
        if proto not in Protocol._value2member_map_:
            self.fail(where, f"protocol {proto} is not a known Protocol "
                             f"({', '.join(f'{p.name}={p.value}' for p in Protocol)})")
        self.scalar(t, 5, 2, "process_id")
        self.scalar(t, 6, 2, "user_id")
        self.string(t, 7, "executable")
        self.string(t, 8, "commandline")

    def system_information(self, pos: int, where: str) -> None:
        t = self.table(pos, where)
        self.string(t, 0, "os_info")
        self.string(t, 1, "kernel_info")
        self.string(t, 2, "hw_info")


def verify(buf: bytes, *, max_objects: int = MAX_OBJECTS, max_bytes: int = MAX_BYTES) -> VerifyStats:
    """Check that ``buf`` is a structurally valid Message buffer; DecodeError if not."""
    if len(buf) > max_bytes:
        raise DecodeError(f"payload is {len(buf)} bytes; the decoder accepts at most "
                          f"{max_bytes} (IoT Hub's own limit is 262144)")
    v = _Verifier(buf, max_objects)
    v.message()
    return VerifyStats(objects=v.objects, extent=v.extent)
