"""A tiny, independent FlatBuffers walker for byte-level assertions in the tests.

It trusts its input (only used on buffers known to be valid) and exists so tests
can find and patch specific bytes without going through the code under test.
"""

import struct


def u8(buf, pos):
    return buf[pos]


def u16(buf, pos):
    return struct.unpack_from("<H", buf, pos)[0]


def u32(buf, pos):
    return struct.unpack_from("<I", buf, pos)[0]


def i32(buf, pos):
    return struct.unpack_from("<i", buf, pos)[0]


def root(buf):
    return u32(buf, 0)


def vtable(buf, table):
    """(vtable position, vtable size, table inline size)."""
    vt = table - i32(buf, table)
    return vt, u16(buf, vt), u16(buf, vt + 2)


def slot_entry_pos(buf, table, slot):
    """Position of the vtable entry of ``slot`` (None if the vtable is shorter)."""
    vt, vsize, _ = vtable(buf, table)
    entry = 4 + 2 * slot
    return vt + entry if entry < vsize else None


def field(buf, table, slot):
    """Absolute position of a present field, or None when it is absent."""
    entry = slot_entry_pos(buf, table, slot)
    if entry is None or u16(buf, entry) == 0:
        return None
    return table + u16(buf, entry)


def deref(buf, pos):
    return pos + u32(buf, pos)


def vector(buf, table, slot):
    """(length position, [element positions]) of a vector-of-tables field."""
    vec = deref(buf, field(buf, table, slot))
    n = u32(buf, vec)
    return vec, [deref(buf, vec + 4 + 4 * i) for i in range(n)]


def events(buf):
    return vector(buf, root(buf), 3)[1]


def payload(buf, event_table):
    return deref(buf, field(buf, event_table, 4))


def records(buf, event_table, version=4):
    na = payload(buf, event_table)
    if field(buf, na, 0 if version == 4 else 1) is None:
        return []
    return vector(buf, na, 0 if version == 4 else 1)[1]


def common(buf, record_table):
    return deref(buf, field(buf, record_table, 1))


def patched(buf, pos, data):
    out = bytearray(buf)
    out[pos:pos + len(data)] = data
    return bytes(out)
