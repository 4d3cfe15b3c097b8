"""The TLS plaintext tap's host side: tap records -> MQTT streams per connection -> security
messages. (The gdb side runs against a real TLS recording in robot_suites/replay.robot.)"""

import json

import pytest

from harness.errors import InputError
from harness.hub.mqtt_packets import Publish, build_connect, build_publish
from harness.replay.tlstap import TlsTap, connections, has_symbol, is_connect, read_writes, tap_publishes
from harness.secmsg import vectors

from .conftest import require_image

SEC_TOPIC = ("devices/dev-1/messages/events/mti=2.3-1-0-0"
             "&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1")


def _connect(dev="dev-1") -> bytes:
    return build_connect(dev, f"hub.lab/{dev}", 240, True).encode()


def _publish(topic, payload, pid=None, qos=1) -> bytes:
    return build_publish(Publish(topic, qos, False, False, pid, payload)).encode()


def _write_tap(path, calls):
    """calls: (ctx, data, ret, icount); ret None means 'accepted all'."""
    lines = [json.dumps({"tap": "mbedtls_ssl_write", "entry": 0x19538})]
    for ctx, data, ret, icount in calls:
        ret = len(data) if ret is None else ret
        lines.append(json.dumps({"ctx": ctx, "len": len(data), "ret": ret, "icount": icount,
                                 "data": (data[:ret] if ret > 0 else b"").hex()}))
    path.write_text("\n".join(lines) + "\n")


def test_security_messages_come_out_of_the_plaintext(tmp_path):
    payload = vectors.build(vectors.CANONICAL["heartbeat_only"])
    pub = _publish(SEC_TOPIC, payload, pid=5)
    _write_tap(tmp_path / "t.jsonl", [
        (0x2000, _connect(), None, 1000),
        (0x2000, pub[:10], -0x6880, 2000),      # WANT_WRITE: nothing taken, the caller retries
        (0x2000, pub, 12, 3000),                 # partial: 12 bytes accepted
        (0x2000, pub[12:], None, 2 ** 30),       # the rest
        (0x2000, _publish("devices/dev-1/messages/events/", b"{}", qos=0), None, 2 ** 31),
    ])
    pubs, notes = tap_publishes(tmp_path / "t.jsonl", icount_shift=0)
    assert notes == []
    assert [p.security for p in pubs] == [True, False]
    sec = pubs[0]
    assert sec.payload == payload and sec.packet_id == 5 and sec.device_id == "dev-1"
    assert sec.message.events[0].payload_type.name == "HEARTBEAT"
    assert sec.t == pytest.approx(3000 / 1e9)           # the write the packet started in
    assert pubs[1].t == pytest.approx(2 ** 31 / 1e9)


def test_connections_split_on_a_new_context_and_on_connect(tmp_path):
    payload = vectors.build(vectors.CANONICAL["heartbeat_only"])
    pub = _publish(SEC_TOPIC, payload, pid=1)
    _write_tap(tmp_path / "t.jsonl", [
        (0x2000, _connect(), None, 1),
        (0x2000, pub[:20], None, 2),            # the connection drops inside this packet
        (0x2000, _connect(), None, 3),          # same TLS memory, a new MQTT connection
        (0x2000, pub, None, 4),
        (0x3000, _connect(), None, 5),          # another context
        (0x3000, pub, None, 6),
    ])
    writes, _ = read_writes(tmp_path / "t.jsonl")
    assert [len(c) for c in connections(writes)] == [2, 2, 2]
    pubs, notes = tap_publishes(tmp_path / "t.jsonl")
    assert [p.connection for p in pubs] == [1, 2]
    assert all(p.payload == payload for p in pubs)
    assert len(notes) == 1 and "TLS connection 0" in notes[0] and "inside a packet" in notes[0]
    assert pubs[0].t is None  # no icount shift given: no time


def test_is_connect():
    assert is_connect(_connect())
    assert is_connect(build_connect("x" * 200, "u" * 200, 60, True).encode())  # 2-byte remaining length
    assert not is_connect(_publish(SEC_TOPIC, b"x", pid=1))
    assert not is_connect(b"\x10\x05\x00\x04MQ")
    assert not is_connect(b"")


def test_unreadable_tap_lines_are_notes_not_crashes(tmp_path):
    good = {"ctx": 1, "len": 2, "ret": 2, "icount": None, "data": _connect()[:2].hex()}
    (tmp_path / "t.jsonl").write_text("\n".join([
        json.dumps(good), "{not json", json.dumps({"ctx": 1}), json.dumps({**good, "data": "zz"}),
        json.dumps({**good, "error": "length 537031072 > 1048576: not a TLS write?"})]) + "\n")
    writes, notes = read_writes(tmp_path / "t.jsonl")
    assert len(writes) == 1
    assert len(notes) == 4 and all("t.jsonl:" in n for n in notes)
    assert sum("unreadable tap record" in n for n in notes) == 3 and "not a TLS write" in notes[3]


def test_image_without_the_symbol_is_refused(tmp_path):
    elf = require_image("mps2-an385", "fast")
    assert has_symbol(elf, "mbedtls_ssl_write")
    assert not has_symbol(elf, "nx_secure_tls_session_send")

    class Dev:
        image_path = elf

    with pytest.raises(InputError, match="no symbol 'nx_secure_tls_session_send'"):
        TlsTap(Dev(), tmp_path, "nx_secure_tls_session_send")


def test_record_cli_takes_a_transport_only_with_a_lab(tmp_path, capsys):
    from harness.cli import main

    assert main(["--artifacts", str(tmp_path), "record", "--transport", "mqtts"]) == 2
    assert "--transport needs --lab" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written
