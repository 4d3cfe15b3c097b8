"""Just enough of MQTT 3.1.1 for the hub gateway: read packets off a stream,
parse and build CONNECT, CONNACK, PUBLISH, SUBSCRIBE and SUBACK. Anything
malformed raises MQTTProtocolError (the gateway then drops that connection)."""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14
MAX_PACKET = 256 * 1024 + 1024  # IoT Hub's D2C limit is 256 KB

CONNACK_ACCEPTED = 0
CONNACK_BAD_PROTOCOL = 1
CONNACK_IDENTIFIER_REJECTED = 2
CONNACK_SERVER_UNAVAILABLE = 3
CONNACK_BAD_CREDENTIALS = 4
CONNACK_NOT_AUTHORIZED = 5


class MQTTProtocolError(Exception):
    pass


@dataclass
class Packet:
    type: int
    flags: int
    body: bytes

    def encode(self) -> bytes:
        return bytes([(self.type << 4) | self.flags]) + encode_length(len(self.body)) + self.body


def encode_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


async def read_packet(reader: asyncio.StreamReader) -> Packet | None:
    """The next packet, or None at a clean end of stream."""
    first = await reader.read(1)
    if not first:
        return None
    length, mult = 0, 1
    for _ in range(4):
        b = await reader.readexactly(1)
        length += (b[0] & 0x7F) * mult
        if not b[0] & 0x80:
            break
        mult *= 128
    else:
        raise MQTTProtocolError("remaining length longer than 4 bytes")
    if length > MAX_PACKET:
        raise MQTTProtocolError(f"packet of {length} bytes exceeds the limit")
    body = await reader.readexactly(length) if length else b""
    return Packet(first[0] >> 4, first[0] & 0x0F, body)


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise MQTTProtocolError("packet truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return struct.unpack("!H", self.take(2))[0]

    def binary(self) -> bytes:
        return self.take(self.u16())

    def rest(self) -> bytes:
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out


def _str(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


@dataclass
class Connect:
    protocol: str
    level: int
    flags: int
    keepalive: int
    client_id: str
    will_topic: bytes | None
    will_message: bytes | None
    username: bytes | None  # raw: IoT Hub tolerates a trailing NUL that mosquitto rejects
    password: bytes | None

    @property
    def clean_session(self) -> bool:
        return bool(self.flags & 0x02)


def parse_connect(pkt: Packet) -> Connect:
    if pkt.type != CONNECT:
        raise MQTTProtocolError(f"expected CONNECT, got packet type {pkt.type}")
    r = _Reader(pkt.body)
    protocol = r.binary().decode("utf-8", errors="replace")
    level, flags, keepalive = r.u8(), r.u8(), r.u16()
    try:
        client_id = r.binary().decode("utf-8")
    except UnicodeDecodeError:
        raise MQTTProtocolError("client id is not UTF-8") from None
    will_topic = will_message = username = password = None
    if flags & 0x04:
        will_topic, will_message = r.binary(), r.binary()
    if flags & 0x80:
        username = r.binary()
    if flags & 0x40:
        password = r.binary()
    return Connect(protocol, level, flags, keepalive, client_id, will_topic, will_message, username, password)


def build_connect(client_id: str, username: str | None, keepalive: int, clean: bool) -> Packet:
    flags = (0x02 if clean else 0) | (0x80 if username is not None else 0)
    body = _str(b"MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive) + _str(client_id.encode())
    if username is not None:
        body += _str(username.encode())
    return Packet(CONNECT, 0, body)


def build_connack(rc: int, session_present: bool = False) -> Packet:
    return Packet(CONNACK, 0, bytes([1 if session_present and rc == 0 else 0, rc]))


def parse_connack(pkt: Packet) -> int:
    if pkt.type != CONNACK or len(pkt.body) != 2:
        raise MQTTProtocolError("expected CONNACK")
    return pkt.body[1]


@dataclass
class Publish:
    topic: str
    qos: int
    retain: bool
    dup: bool
    packet_id: int | None
    payload: bytes


def parse_publish(pkt: Packet) -> Publish:
    r = _Reader(pkt.body)
    try:
        topic = r.binary().decode("utf-8")
    except UnicodeDecodeError:
        raise MQTTProtocolError("PUBLISH topic is not UTF-8") from None
    qos = (pkt.flags >> 1) & 3
    if qos == 3:
        raise MQTTProtocolError("PUBLISH with QoS 3")
    packet_id = r.u16() if qos else None
    return Publish(topic, qos, bool(pkt.flags & 1), bool(pkt.flags & 8), packet_id, r.rest())


def build_publish(pub: Publish) -> Packet:
    flags = (pub.qos << 1) | (1 if pub.retain else 0) | (8 if pub.dup else 0)
    body = _str(pub.topic.encode()) + (struct.pack("!H", pub.packet_id) if pub.qos else b"") + pub.payload
    return Packet(PUBLISH, flags, body)


def parse_subscribe(pkt: Packet) -> tuple[int, list[tuple[str, int]]]:
    r = _Reader(pkt.body)
    packet_id = r.u16()
    filters = []
    while r.pos < len(r.data):
        try:
            topic = r.binary().decode("utf-8")
        except UnicodeDecodeError:
            raise MQTTProtocolError("SUBSCRIBE filter is not UTF-8") from None
        filters.append((topic, r.u8() & 3))
    if not filters:
        raise MQTTProtocolError("SUBSCRIBE without filters")
    return packet_id, filters


def build_subscribe(packet_id: int, filters: list[tuple[str, int]]) -> Packet:
    body = struct.pack("!H", packet_id) + b"".join(_str(t.encode()) + bytes([q]) for t, q in filters)
    return Packet(SUBSCRIBE, 2, body)


def parse_unsubscribe(pkt: Packet) -> tuple[int, list[str]]:
    r = _Reader(pkt.body)
    packet_id = r.u16()
    topics = []
    while r.pos < len(r.data):
        topics.append(r.binary().decode("utf-8", errors="replace"))
    return packet_id, topics


def build_unsubscribe(packet_id: int, topics: list[str]) -> Packet:
    return Packet(UNSUBSCRIBE, 2, struct.pack("!H", packet_id) + b"".join(_str(t.encode()) for t in topics))
