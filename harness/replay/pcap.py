"""Read the device's frames back: pcap files (as QEMU's filter-dump writes them),
TCP stream reassembly for one direction, MQTT PUBLISH packets in that stream,
and the security messages among them (decoded with harness.secmsg)."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

_LINKTYPE_ETHERNET = 1


@dataclass
class Frame:
    t: float
    data: bytes


def read_pcap(path) -> list[Frame]:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"pcap {path}: cannot read: {exc}") from None
    if len(data) < 24:
        raise InputError(f"pcap {path}: too short for a pcap header ({len(data)} bytes)")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        endian = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        endian = ">"
    else:
        raise InputError(f"pcap {path}: not a pcap file (magic {magic.hex()})")
    nanos = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != _LINKTYPE_ETHERNET:
        raise InputError(f"pcap {path}: link type {linktype}, expected Ethernet (1)")
    frames, pos = [], 24
    while pos + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[pos:pos + 16])
        pos += 16
        if pos + incl > len(data):
            break  # a frame cut off when QEMU stopped
        frames.append(Frame(sec + frac / (1e9 if nanos else 1e6), data[pos:pos + incl]))
        pos += incl
    return frames


@dataclass
class Segment:
    t: float
    src_mac: str
    src: str
    dst: str
    sport: int
    dport: int
    seq: int
    flags: int
    payload: bytes

    @property
    def syn(self) -> bool:
        return bool(self.flags & 0x02)


def tcp_segments(frames: list[Frame]) -> list[Segment]:
    """TCP segments over IPv4 and IPv6 (no fragments, no VLANs beyond one tag)."""
    out = []
    for fr in frames:
        d = fr.data
        if len(d) < 14:
            continue
        src_mac = ":".join(f"{b:02x}" for b in d[6:12])
        etype, off = struct.unpack("!H", d[12:14])[0], 14
        if etype == 0x8100 and len(d) >= 18:
            etype, off = struct.unpack("!H", d[16:18])[0], 18
        if etype == 0x0800 and len(d) >= off + 20:
            ihl = (d[off] & 0x0F) * 4
            total = struct.unpack("!H", d[off + 2:off + 4])[0]
            frag = struct.unpack("!H", d[off + 6:off + 8])[0]
            if d[off + 9] != 6 or frag & 0x3FFF:
                continue
            src, dst = str(ipaddress.IPv4Address(d[off + 12:off + 16])), str(ipaddress.IPv4Address(d[off + 16:off + 20]))
            tcp, end = off + ihl, off + total
        elif etype == 0x86DD and len(d) >= off + 40:
            nxt = d[off + 6]
            plen = struct.unpack("!H", d[off + 4:off + 6])[0]
            src, dst = str(ipaddress.IPv6Address(d[off + 8:off + 24])), str(ipaddress.IPv6Address(d[off + 24:off + 40]))
            tcp, end = off + 40, off + 40 + plen
            while nxt in (0, 43, 60) and tcp + 8 <= len(d):  # hop-by-hop, routing, destination options
                nxt, tcp = d[tcp], tcp + (d[tcp + 1] + 1) * 8
            if nxt != 6:
                continue
        else:
            continue
        end = min(end, len(d))
        if tcp + 20 > end:
            continue
        sport, dport, seq = struct.unpack("!HHI", d[tcp:tcp + 8])
        doff = (d[tcp + 12] >> 4) * 4
        flags = d[tcp + 13]
        out.append(Segment(fr.t, src_mac, src, dst, sport, dport, seq, flags, d[tcp + doff:end]))
    return out


@dataclass
class Stream:
    """One direction of one TCP connection, reassembled."""

    src: str
    sport: int
    dst: str
    dport: int
    data: bytes
    gaps: int = 0
    times: list = field(default_factory=list)  # (stream offset, capture time) of each new segment

    def time_at(self, offset: int) -> float | None:
        t = None
        for off, ts in self.times:
            if off > offset:
                break
            t = ts
        return t


def reassemble(segments: list[Segment], dport: int, src_mac: str | None = None) -> list[Stream]:
    """Streams toward ``dport`` (optionally only from ``src_mac``), in connection order.
    Retransmissions are folded; a missing range ends the stream there (``gaps`` counts it)."""
    conns: dict[tuple, dict] = {}
    order: list[dict] = []
    for seg in segments:
        if seg.dport != dport or (src_mac and seg.src_mac != src_mac.lower()):
            continue
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        conn = conns.get(key)
        if seg.syn and (conn is None or conn["isn"] != (seg.seq + 1) & 0xFFFFFFFF):
            conn = {"key": key, "isn": (seg.seq + 1) & 0xFFFFFFFF, "chunks": {}}
            conns[key] = conn
            order.append(conn)
            continue
        if conn is None:  # no SYN seen: start where the capture starts
            conn = {"key": key, "isn": seg.seq, "chunks": {}}
            conns[key] = conn
            order.append(conn)
        if seg.payload:
            off = (seg.seq - conn["isn"]) & 0xFFFFFFFF
            if off not in conn["chunks"] or len(conn["chunks"][off][1]) < len(seg.payload):
                conn["chunks"][off] = (seg.t, seg.payload)
    streams = []
    for conn in order:
        data, pos, gaps, times = bytearray(), 0, 0, []
        for off in sorted(conn["chunks"]):
            t, chunk = conn["chunks"][off]
            if off > pos:
                gaps += 1
                break
            if off + len(chunk) <= pos:
                continue
            times.append((pos, t))
            data += chunk[pos - off:]
            pos = len(data)
        src, sport, dst, dp = conn["key"]
        streams.append(Stream(src, sport, dst, dp, bytes(data), gaps, times))
    return streams


@dataclass
class Published:
    """One MQTT PUBLISH the device sent, and what it is."""

    t: float | None
    connection: int
    topic: str
    qos: int
    dup: bool
    packet_id: int | None
    payload: bytes
    kind: str = "other"
    device_id: str | None = None
    properties: dict = field(default_factory=dict)
    security: bool = False
    message: object = None  # harness.secmsg.SecurityMessage when security and it decodes
    error: str | None = None

    def to_dict(self) -> dict:
        d = {"t": self.t, "connection": self.connection, "topic": self.topic, "qos": self.qos, "dup": self.dup,
             "packet_id": self.packet_id, "payload_len": len(self.payload), "kind": self.kind,
             "device_id": self.device_id, "properties": self.properties, "security": self.security,
             "error": self.error}
        if self.message is not None:
            d["message"] = self.message.to_dict()
        return d


def mqtt_publishes(stream: bytes) -> tuple[list, str | None]:
    """(PUBLISH packets in a client→server MQTT byte stream, why parsing stopped early or None)."""
    from ..hub.mqtt_packets import MQTTProtocolError, Packet, parse_publish, PUBLISH

    out, pos = [], 0
    while pos < len(stream):
        start = pos
        first = stream[pos]
        pos += 1
        length, mult = 0, 1
        for _ in range(4):
            if pos >= len(stream):
                return out, f"stream ends inside a packet header at byte {start}"
            b = stream[pos]
            pos += 1
            length += (b & 0x7F) * mult
            if not b & 0x80:
                break
            mult *= 128
        else:
            return out, f"bad MQTT remaining length at byte {start}"
        if pos + length > len(stream):
            return out, f"stream ends inside a packet at byte {start}"
        body = stream[pos:pos + length]
        pos += length
        if first >> 4 == PUBLISH:
            try:
                out.append((start, parse_publish(Packet(first >> 4, first & 0x0F, body))))
            except MQTTProtocolError as exc:
                return out, f"bad PUBLISH at byte {start}: {exc}"
    return out, None


def extract_publishes(pcap, hub_port: int = 1883, src_mac: str | None = None) -> tuple[list[Published], list[str]]:
    """Every PUBLISH the device sent to the hub port in a pcap, classified and (security
    messages) decoded; plus notes on anything that could not be read."""
    notes, out = [], []
    streams = reassemble(tcp_segments(read_pcap(pcap)), hub_port, src_mac)
    for n, st in enumerate(streams):
        if st.gaps:
            notes.append(f"connection {n} ({st.src}:{st.sport}): bytes missing after offset {len(st.data)}")
        pubs, why = stream_publishes(st.data, n, st.time_at)
        if why and not (why.startswith("stream ends") and n == len(streams) - 1):
            notes.append(f"connection {n} ({st.src}:{st.sport}): {why}")
        out += pubs
    return out, notes


def stream_publishes(stream: bytes, connection: int, time_at=lambda offset: None) -> tuple[list[Published], str | None]:
    """The PUBLISH packets of one client→server MQTT byte stream (from frames or from a TLS
    plaintext tap), classified by topic and (security messages) decoded; plus why parsing
    stopped early, or None. ``time_at(offset)``: when the stream's byte at ``offset`` was sent."""
    from ..hub.topics import TopicError, parse_topic
    from ..secmsg import decode
    from ..secmsg.errors import DecodeError
    from ..secmsg.model import SECURITY_INTERFACE_ID

    out = []
    pubs, why = mqtt_publishes(stream)
    for offset, pub in pubs:
        rec = Published(time_at(offset), connection, pub.topic, pub.qos, pub.dup, pub.packet_id, pub.payload)
        try:
            parsed = parse_topic(pub.topic)
            rec.kind, rec.device_id, rec.properties = parsed.kind, parsed.device_id, dict(parsed.properties)
        except TopicError as exc:
            rec.kind, rec.error = "malformed", str(exc)
        rec.security = rec.properties.get("$.ifid") == SECURITY_INTERFACE_ID
        if rec.security:
            try:
                rec.message = decode(pub.payload)
            except DecodeError as exc:
                rec.error = f"security message does not decode: {exc}"
        out.append(rec)
    return out, why
