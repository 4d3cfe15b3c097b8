"""Byte-level layout of built vectors: the module's conventions (spec §2.3)."""

from harness.secmsg import decode, vectors

from . import fbwalk as w


def test_no_file_identifier(canonical_buffers):
    for name, buf in canonical_buffers.items():
        root = w.root(buf)
        vt, vsize, _ = w.vtable(buf, root)
        # The root table's vtable sits right after the 4-byte root offset: nothing
        # (no 4-byte identifier) lies between them.
        assert vt == 4, name
        assert w.u16(buf, 4) == vsize


def test_tcp_record_has_no_protocol_slot(canonical_buffers):
    buf = canonical_buffers["network_v4"]
    tcp, udp, icmp = w.records(buf, w.events(buf)[0])
    assert w.field(buf, w.common(buf, tcp), 4) is None          # protocol omitted (TCP)
    assert w.u8(buf, w.field(buf, w.common(buf, udp), 4)) == 1  # UDP written
    assert w.u8(buf, w.field(buf, w.common(buf, icmp), 4)) == 2
    # ICMP: both ports are 0 and therefore absent
    assert w.field(buf, w.common(buf, icmp), 0) is None
    assert w.field(buf, w.common(buf, icmp), 1) is None


def test_zero_counter_is_absent(canonical_buffers):
    buf = canonical_buffers["zero_bytes_in"]
    (rec,) = w.records(buf, w.events(buf)[0])
    common = w.common(buf, rec)
    assert w.field(buf, common, 2) is None                      # bytes_in = 0
    assert w.u32(buf, w.field(buf, common, 3)) == 120           # bytes_out


def test_timezone_absent_version_present(canonical_buffers):
    for buf in canonical_buffers.values():
        root = w.root(buf)
        assert w.field(buf, root, 2) is None                    # timezone never written
        assert buf[w.field(buf, root, 1):w.field(buf, root, 1) + 4] == bytes([4, 0, 5, 3])


def test_ipv4_address_is_raw_network_order(canonical_buffers):
    buf = canonical_buffers["network_v4"]
    tcp = w.records(buf, w.events(buf)[0])[0]
    addrs = w.field(buf, tcp, 0)
    assert buf[addrs:addrs + 4] == bytes([10, 0, 0, 2])         # local 10.0.0.2
    assert buf[addrs + 4:addrs + 8] == bytes([0x0A, 0x00, 0x00, 0x01])  # remote 10.0.0.1
    # what a generic FlatBuffers reader sees for the uint32
    assert w.u32(buf, addrs + 4) == 0x0100000A


def test_ipv6_address_is_raw_bytes(canonical_buffers):
    buf = canonical_buffers["network_v6"]
    rec = w.records(buf, w.events(buf)[0], version=6)[0]
    addrs = w.field(buf, rec, 0)
    assert buf[addrs:addrs + 16] == bytes.fromhex("20010db8000000000000000000000002")
    assert buf[addrs + 16:addrs + 32] == bytes.fromhex("20010db8000000000000000000000001")


def test_empty_record_vectors_are_omitted(canonical_buffers):
    buf = canonical_buffers["network_v4"]
    na = w.payload(buf, w.events(buf)[0])
    assert w.field(buf, na, 0) is not None and w.field(buf, na, 1) is None
    buf = canonical_buffers["network_v6"]
    na = w.payload(buf, w.events(buf)[0])
    assert w.field(buf, na, 0) is None and w.field(buf, na, 1) is not None


def test_union_type_bytes_and_uuid(canonical_buffers):
    buf = canonical_buffers["full_cycle"]
    types = [w.u8(buf, w.field(buf, ev, 3)) for ev in w.events(buf)]
    assert types == [1, 2, 4]
    ev0 = w.events(buf)[0]
    uuid = w.field(buf, ev0, 0)
    assert buf[uuid:uuid + 16].hex() == decode(buf).events[0].id.hex()


def test_sysinfo_writes_only_os_info(canonical_buffers):
    buf = canonical_buffers["sysinfo_heartbeat"]
    si = w.payload(buf, w.events(buf)[0])
    s = w.deref(buf, w.field(buf, si, 0))
    n = w.u32(buf, s)
    assert buf[s + 4:s + 4 + n] == b"Azure RTOS 6.2" and buf[s + 4 + n] == 0
    assert w.field(buf, si, 1) is None and w.field(buf, si, 2) is None


def test_sizes_near_published_figures(canonical_buffers):
    # README: ~36 B per IPv4 and ~60 B per IPv6 record on the wire.
    v4 = len(vectors.build({"events": [vectors.CANONICAL["capacity_64_64"]["events"][0] | {
        "payload": {"ipv4": vectors.CANONICAL["capacity_64_64"]["events"][0]["payload"]["ipv4"]}}]}))
    full = len(canonical_buffers["capacity_64_64"])
    per_v6 = (full - v4) / 64
    assert 50 <= per_v6 <= 70, per_v6
