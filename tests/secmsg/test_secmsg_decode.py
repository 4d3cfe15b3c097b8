"""decode(): canonical vectors round-trip, defaults, the model API, constants."""

import json
from ipaddress import IPv4Address, IPv6Address

import pytest

from harness.errors import InputError
from harness.secmsg import (MODULE_ID, MODULE_VERSION, MTI, SECURITY_INTERFACE_ID,
                            SECURITY_PROPERTY_BAG, ConnectionRecord, DecodeError, Heartbeat,
                            LegacyJsonPreview, NetworkActivity, OpaquePayload, PayloadType,
                            Protocol, SecurityMessage, SystemInformation, decode,
                            is_security_message, vectors)


@pytest.mark.parametrize("name", sorted(vectors.CANONICAL))
def test_canonical_round_trip(name, canonical_buffers):
    msg = decode(canonical_buffers[name])
    assert msg == vectors.to_message(vectors.CANONICAL[name])
    # to_dict is JSON-friendly and agrees with the normalised spec
    assert json.loads(json.dumps(msg.to_dict())) == vectors.to_message(
        vectors.CANONICAL[name]).to_dict()


def test_envelope_values(canonical_buffers):
    msg = decode(canonical_buffers["full_cycle"])
    assert msg.security_module_id == MODULE_ID == "defender-iot-micro-agent"
    assert msg.version == MODULE_VERSION == (3, 5, 4)
    assert msg.version_raw == 0x03050004
    assert msg.timezone == 0
    assert [e.payload_type for e in msg.events] == [
        PayloadType.NETWORK_ACTIVITY, PayloadType.SYSTEM_INFORMATION, PayloadType.HEARTBEAT]
    assert [e.collection_interval for e in msg.events] == [10, 60, 60]
    assert all(len(e.id) == 16 for e in msg.events)
    assert msg.events[0].id.hex() == "1f2e3d4c5b6a79800a1b2c3d4e5f6071"
    assert isinstance(msg.events[1].payload, SystemInformation)
    assert msg.events[1].payload == SystemInformation(os_info="Azure RTOS 6.2")
    assert isinstance(msg.events[2].payload, Heartbeat)


def test_defaults_applied_to_records(canonical_buffers):
    ipv4 = decode(canonical_buffers["network_v4"]).events[0].payload.ipv4
    tcp, udp, icmp = ipv4
    assert tcp.protocol is Protocol.TCP      # absent on the wire
    assert udp.protocol is Protocol.UDP
    assert icmp.protocol is Protocol.ICMP
    assert (icmp.local_port, icmp.remote_port) == (0, 0)
    assert tcp == ConnectionRecord(IPv4Address("10.0.0.2"), IPv4Address("10.0.0.1"),
                                   49152, 8883, 4210, 1893, Protocol.TCP)
    zero = decode(canonical_buffers["zero_bytes_in"]).events[0].payload.ipv4[0]
    assert zero.bytes_in == 0 and zero.bytes_out == 120


def test_ipv6_addresses(canonical_buffers):
    recs = decode(canonical_buffers["network_v6"]).events[0].payload.ipv6
    assert [str(r.remote_address) for r in recs] == ["2001:db8::1", "2001:db8:0:1::35",
                                                     "ff02::1:ff00:1"]
    assert all(isinstance(r.local_address, IPv6Address) for r in recs)
    assert recs[2].bytes_in == 0 and recs[2].protocol is Protocol.ICMP


def test_capacity_message(canonical_buffers):
    msg = decode(canonical_buffers["capacity_64_64"])
    na = msg.events[0].payload
    assert len(na.ipv4) == 64 and len(na.ipv6) == 64
    assert str(na.ipv4[63].remote_address) == "198.51.100.64"
    assert str(na.ipv6[63].remote_address) == "2001:db8:1::40"
    assert na.ipv4[0].bytes_in == 0 and na.ipv4[63].bytes_in == 6300


def test_records_iterates_all_events(canonical_buffers):
    msg = decode(canonical_buffers["full_cycle"])
    got = list(msg.records())
    assert [v for v, _ in got] == [4, 4, 4, 6, 6, 6]
    assert all(isinstance(r, ConnectionRecord) for _, r in got)
    assert got[0][1].ip_version == 4 and got[3][1].ip_version == 6
    assert list(decode(canonical_buffers["heartbeat_only"]).records()) == []


def test_to_dict_shapes(canonical_buffers):
    d = decode(canonical_buffers["full_cycle"]).to_dict()
    assert d["version"] == [3, 5, 4] and d["version_raw"] == 0x03050004
    ev = d["events"][0]
    assert ev["payload_type"] == "NETWORK_ACTIVITY"
    assert ev["id"] == "1f2e3d4c5b6a79800a1b2c3d4e5f6071"
    assert ev["payload"]["ipv4"][0] == {
        "local_address": "10.0.0.2", "remote_address": "10.0.0.1", "local_port": 49152,
        "remote_port": 8883, "bytes_in": 4210, "bytes_out": 1893, "protocol": "TCP"}
    assert d["events"][1]["payload"] == {"os_info": "Azure RTOS 6.2", "kernel_info": None,
                                         "hw_info": None}
    assert d["events"][2]["payload"] == {}


@pytest.mark.parametrize("ptype", [PayloadType.LISTENING_PORTS, PayloadType.BASELINE,
                                   PayloadType.PROCESS, PayloadType.LOG])
def test_non_rtos_payload_types_decode_opaque(ptype):
    spec = {"events": [{"id": "00" * 16, "time": 5, "collection_interval": 60,
                        "payload_type": ptype.name, "payload": {}}]}
    ev = decode(vectors.build(spec)).events[0]
    assert ev.payload_type is ptype
    assert ev.payload == OpaquePayload(kind=ptype, fields_present=0)
    assert ev.payload.to_dict() == {"kind": ptype.name, "fields_present": 0}


def test_non_ascii_strings_round_trip():
    spec = {"security_module_id": "módulo-ü", "events": [
        {"id": "11" * 16, "time": 1, "collection_interval": 60,
         "payload_type": "SYSTEM_INFORMATION",
         "payload": {"os_info": "Azure RTOS 6.2 – ŧest", "kernel_info": "", "hw_info": "M3"}}]}
    msg = decode(vectors.build(spec))
    assert msg.security_module_id == "módulo-ü"
    assert msg.events[0].payload == SystemInformation("Azure RTOS 6.2 – ŧest", "", "M3")


def test_extreme_scalars_round_trip():
    spec = {"version_raw": 0xFFFFFFFF, "timezone": -128, "events": [
        {"id": "ff" * 16, "time": 0xFFFFFFFF, "collection_interval": 0xFFFFFFFF,
         "payload_type": "NETWORK_ACTIVITY", "payload": {"ipv4": [
             {"local_address": "255.255.255.255", "remote_address": "0.0.0.0",
              "local_port": 65535, "remote_port": 65535, "bytes_in": 0xFFFFFFFF,
              "bytes_out": 0xFFFFFFFF, "protocol": "ICMP"}],
             "ipv6": [{"local_address": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                       "remote_address": "::"}]}}]}
    msg = decode(vectors.build(spec))
    assert msg == vectors.to_message(spec)
    assert msg.version == (255, 255, 0xFFFF) and msg.timezone == -128


def test_empty_events_vector_is_valid():
    msg = decode(vectors.build({"events": []}))
    assert msg.events == []


@pytest.mark.parametrize("bad", [b"", bytearray(), "text", None, 42])
def test_non_payloads(bad):
    with pytest.raises(DecodeError) as info:
        decode(bad)
    assert "payload" in str(info.value)


def test_accepts_bytearray_and_memoryview(canonical_buffers):
    buf = canonical_buffers["heartbeat_only"]
    assert decode(bytearray(buf)) == decode(memoryview(buf)) == decode(buf)


def test_error_hierarchy():
    assert issubclass(DecodeError, InputError)
    assert issubclass(LegacyJsonPreview, DecodeError)


def test_constants_and_property_bag():
    assert SECURITY_INTERFACE_ID == "urn:azureiot:Security:SecurityAgent:1"
    assert MTI == "2.3-1-0-0"
    assert SECURITY_PROPERTY_BAG == (
        "mti=2.3-1-0-0&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1")
    from urllib.parse import parse_qsl
    props = dict(parse_qsl(SECURITY_PROPERTY_BAG))
    assert props == {"mti": MTI, "$.ifid": SECURITY_INTERFACE_ID}
    assert is_security_message(props)
    assert is_security_message({"$.ifid": SECURITY_INTERFACE_ID})
    assert not is_security_message({"mti": MTI})
    assert not is_security_message({"$.ifid": "urn:other"})
    assert not is_security_message({})
    assert not is_security_message(None)


def test_dataclasses_are_values():
    rec = ConnectionRecord(IPv4Address("1.2.3.4"), IPv4Address("5.6.7.8"))
    assert rec.protocol is Protocol.TCP and rec.bytes_in == 0
    assert NetworkActivity() == NetworkActivity([], [])
    msg = SecurityMessage("x", (1, 2, 3), 0x01020003, 0, [])
    with pytest.raises(AttributeError):
        msg.timezone = 5
