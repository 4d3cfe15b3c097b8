"""Truncated, bit-flipped and hand-crafted hostile buffers: always a clear DecodeError."""

import struct
import time

import flatbuffers
import pytest

from harness.secmsg import DecodeError, decode, vectors
from harness.secmsg.generate import load
from harness.secmsg.verify import MAX_OBJECTS, verify

from . import fbwalk as w
from .conftest import decode_or_error


def expect_error(buf, *fragments):
    with pytest.raises(DecodeError) as info:
        decode(buf)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


# -- truncation ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(set(vectors.CANONICAL) - {"capacity_64_64"}))
def test_truncation_at_every_length(name, canonical_buffers):
    buf = canonical_buffers[name]
    extent = verify(buf).extent  # bytes past this are alignment padding nobody references
    assert len(buf) - extent < 8
    original = decode(buf)
    for length in range(len(buf)):
        result = decode_or_error(buf[:length])
        if length < extent:
            assert isinstance(result, DecodeError), f"{name}[:{length}] decoded"
        else:
            assert result == original


def test_truncation_of_capacity_message(canonical_buffers):
    buf = canonical_buffers["capacity_64_64"]
    extent = verify(buf).extent
    for length in list(range(0, 200)) + list(range(200, extent, 37)) + [extent - 1]:
        assert isinstance(decode_or_error(buf[:length]), DecodeError), length


def test_truncation_messages_are_specific(canonical_buffers):
    buf = canonical_buffers["full_cycle"]
    expect_error(buf[:3], "3 bytes, too short")
    msg = expect_error(buf[:len(buf) // 2])
    assert "outside the" in msg or "exceeds" in msg


# -- bit flips ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["network_v4", "sysinfo_heartbeat"])
def test_every_single_bit_flip(name, canonical_buffers):
    buf = canonical_buffers[name]
    outcomes = {"error": 0, "message": 0}
    for i in range(len(buf)):
        for bit in range(8):
            mutated = w.patched(buf, i, bytes([buf[i] ^ (1 << bit)]))
            result = decode_or_error(mutated)
            outcomes["error" if isinstance(result, DecodeError) else "message"] += 1
    # Flips in scalar values give other valid messages; flips in the structure errors.
    assert outcomes["error"] > 0 and outcomes["message"] > 0


# -- crafted cases --------------------------------------------------------------------------

def test_root_offset_zero_points_at_itself(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    expect_error(w.patched(buf, 0, struct.pack("<I", 0)), "message", "offset at byte 0 is 0")


@pytest.mark.parametrize("value", [0xFFFFFFFC, 0x80000000, 0x7FFFFFFF])
def test_root_offset_outside(value, canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    expect_error(w.patched(buf, 0, struct.pack("<I", value)), "outside the", "-byte payload")


def test_misaligned_root_table(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    expect_error(w.patched(buf, 0, struct.pack("<I", w.root(buf) + 1)), "not 4-byte aligned")


@pytest.mark.parametrize("soffset", [2**31 - 1, -(2**31), 10_000, -10_000])
def test_vtable_pointing_outside(soffset, canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    msg = expect_error(w.patched(buf, w.root(buf), struct.pack("<i", soffset)), "message: vtable")
    assert "outside the" in msg


def test_vtable_is_the_table_itself(canonical_buffers):
    # soffset 0: the vtable would start at the table, whose first u16 is then 0.
    buf = canonical_buffers["heartbeat_only"]
    expect_error(w.patched(buf, w.root(buf), struct.pack("<i", 0)), "invalid size 0")


def test_odd_vtable_size(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    vt, vsize, _ = w.vtable(buf, w.root(buf))
    expect_error(w.patched(buf, vt, struct.pack("<H", vsize + 1)), "must be even")


def test_field_outside_table_inline_size(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    vt, _, _ = w.vtable(buf, w.root(buf))
    expect_error(w.patched(buf, vt + 2, struct.pack("<H", 8)), "extends past the table's inline size 8")


def test_field_overlapping_table_header(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    entry = w.slot_entry_pos(buf, w.root(buf), 1)  # security_module_version
    expect_error(w.patched(buf, entry, struct.pack("<H", 2)), "overlaps the table header")


@pytest.mark.parametrize("length", [2**31, 2**32 - 1, 1000])
def test_huge_vector_length(length, canonical_buffers):
    buf = canonical_buffers["full_cycle"]
    vec, _ = w.vector(buf, w.root(buf), 3)
    t0 = time.monotonic()
    expect_error(w.patched(buf, vec, struct.pack("<I", length)), "message: events",
                 f"vector length {length}", "exceeds")
    assert time.monotonic() - t0 < 0.5


def test_huge_string_length(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    s = w.deref(buf, w.field(buf, w.root(buf), 0))
    expect_error(w.patched(buf, s, struct.pack("<I", 2**31)),
                 "security_module_id", "string length 2147483648", "exceeds")


def test_string_without_nul(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    s = w.deref(buf, w.field(buf, w.root(buf), 0))
    n = w.u32(buf, s)
    expect_error(w.patched(buf, s + 4 + n, b"X"), "not NUL-terminated")


def test_bad_utf8(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    s = w.deref(buf, w.field(buf, w.root(buf), 0))
    expect_error(w.patched(buf, s + 4, b"\xff"), "message: security_module_id",
                 "not valid UTF-8")
    buf = canonical_buffers["sysinfo_heartbeat"]
    si = w.payload(buf, w.events(buf)[0])
    s = w.deref(buf, w.field(buf, si, 0))
    expect_error(w.patched(buf, s + 4, b"\xc3\x28"), "event 0: SystemInformation: os_info",
                 "not valid UTF-8")


def _zero_slot(buf, table, slot):
    return w.patched(buf, w.slot_entry_pos(buf, table, slot), b"\0\0")


def test_missing_required_message_fields(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    expect_error(_zero_slot(buf, w.root(buf), 0),
                 "message: required field security_module_id is missing")
    expect_error(_zero_slot(buf, w.root(buf), 3), "message: required field events is missing")


def test_missing_event_id(canonical_buffers):
    buf = canonical_buffers["sysinfo_heartbeat"]
    expect_error(_zero_slot(buf, w.events(buf)[1], 0), "event 1: required field id is missing")


def test_missing_payload_value(canonical_buffers):
    buf = canonical_buffers["sysinfo_heartbeat"]
    expect_error(_zero_slot(buf, w.events(buf)[1], 4),
                 "event 1: payload type 4 (Heartbeat) but required field payload")


def test_missing_payload_type_and_value(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    ev = w.events(buf)[0]
    buf = _zero_slot(_zero_slot(buf, ev, 4), ev, 3)
    expect_error(buf, "event 0: required field payload is missing")


def test_union_type_none_with_value(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    ev = w.events(buf)[0]
    expect_error(w.patched(buf, w.field(buf, ev, 3), b"\0"),
                 "event 0: payload type is NONE but a payload value is present")


@pytest.mark.parametrize("ptype", [8, 9, 255])
def test_union_type_out_of_range(ptype, canonical_buffers):
    buf = canonical_buffers["full_cycle"]
    ev = w.events(buf)[2]
    expect_error(w.patched(buf, w.field(buf, ev, 3), bytes([ptype])),
                 f"event 2: payload type {ptype} is not a known Payload")


def test_union_type_swapped_is_checked_as_the_new_type(canonical_buffers):
    # A NetworkActivity table read as SystemInformation: its vectors become "strings".
    buf = canonical_buffers["network_v4"]
    ev = w.events(buf)[0]
    result = decode_or_error(w.patched(buf, w.field(buf, ev, 3), b"\x02"))
    assert isinstance(result, DecodeError)
    assert "event 0: SystemInformation: os_info" in str(result)


def test_missing_record_addresses_and_common(canonical_buffers):
    buf = canonical_buffers["network_v4"]
    rec = w.records(buf, w.events(buf)[0])[0]
    expect_error(_zero_slot(buf, rec, 0),
                 "event 0: NetworkActivity: ipv4_activity[0]: required field addresses is missing")
    expect_error(_zero_slot(buf, rec, 1),
                 "event 0: NetworkActivity: ipv4_activity[0]: required field common is missing")
    buf = canonical_buffers["network_v6"]
    rec = w.records(buf, w.events(buf)[0], version=6)[0]
    expect_error(_zero_slot(buf, rec, 1), "ipv6_activity[0]: required field common is missing")


def test_unknown_protocol(canonical_buffers):
    buf = canonical_buffers["network_v4"]
    udp = w.records(buf, w.events(buf)[0])[1]
    pos = w.field(buf, w.common(buf, udp), 4)
    expect_error(w.patched(buf, pos, b"\x07"), "ipv4_activity[1]: common: protocol 7 is not a known Protocol")
    expect_error(w.patched(buf, pos, b"\xff"), "protocol -1 is not a known Protocol")


def test_vector_element_offset_zero(canonical_buffers):
    buf = canonical_buffers["full_cycle"]
    vec, _ = w.vector(buf, w.root(buf), 3)
    expect_error(w.patched(buf, vec + 8, b"\0\0\0\0"), "message: events: element 1 offset", "is 0")


def _shared_event_bomb(count):
    """An events vector of ``count`` offsets that all point at one heartbeat event."""
    fb = load()
    b = flatbuffers.Builder(0)
    sid = b.CreateString(b"defender-iot-micro-agent")
    fb.Heartbeat.HeartbeatStart(b)
    hb = fb.Heartbeat.HeartbeatEnd(b)
    fb.Event.EventStart(b)
    fb.Event.EventAddId(b, fb.UUID.CreateUUID(b, [1] * 16))
    fb.Event.EventAddPayloadType(b, 4)
    fb.Event.EventAddPayload(b, hb)
    ev = fb.Event.EventEnd(b)
    fb.Message.MessageStartEventsVector(b, count)
    for _ in range(count):
        b.PrependUOffsetTRelative(ev)
    events = b.EndVector()
    fb.Message.MessageStart(b)
    fb.Message.MessageAddSecurityModuleId(b, sid)
    fb.Message.MessageAddEvents(b, events)
    b.Finish(fb.Message.MessageEnd(b))
    return bytes(b.Output())


def test_shared_subobjects_are_allowed_but_bounded():
    small = decode(_shared_event_bomb(3))
    assert len(small.events) == 3 and small.events[0] == small.events[2]
    bomb = _shared_event_bomb(MAX_OBJECTS // 2)
    t0 = time.monotonic()
    expect_error(bomb, f"more than {MAX_OBJECTS} objects")
    assert time.monotonic() - t0 < 2.0


def test_oversized_payload():
    expect_error(b"\0" * (1 << 20 | 4), "accepts at most")


@pytest.mark.parametrize("junk", [b"\0", b"\0" * 4, b"\0" * 64, b"\xff" * 64, b"\x08" + b"\0" * 11,
                                  bytes(range(256))])
def test_small_junk(junk):
    assert isinstance(decode_or_error(junk), DecodeError)
