"""What the security module must have counted, computed from the device's pcap.

The rules are the real module's (spec §1.3): outbound, every IP datagram the
device sends (whole, before fragmentation); inbound, what IP hands to TCP,
UDP or ICMPv4 — inbound ICMPv6 is not counted. Local/remote by direction,
ports from the transport header (ICMP: 0), bytes = transport header + payload
(IPv4 total length − header length; IPv6 payload length − extension headers).
Flows are keyed like records: (ip version, protocol, local, local port, remote, remote port).
"""

from __future__ import annotations

import ipaddress
import struct
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

PROTO_NAMES = {6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMP"}
EXT_HEADERS = {0, 43, 44, 60, 51}


@dataclass(frozen=True)
class FlowKey:
    ip: int
    protocol: str
    local: str
    local_port: int
    remote: str
    remote_port: int

    def __str__(self) -> str:
        fmt = (lambda a, p: f"[{a}]:{p}") if self.ip == 6 else (lambda a, p: f"{a}:{p}")
        return f"{self.protocol} {fmt(self.local, self.local_port)} <-> {fmt(self.remote, self.remote_port)}"


@dataclass
class Totals:
    bytes_in: int = 0
    bytes_out: int = 0
    packets_in: int = 0
    packets_out: int = 0


def _ipv6_walk(payload: bytes, next_header: int) -> tuple[int | None, int]:
    """Final protocol and total extension header length, or (None, 0) when not TCP/UDP/ICMPv6."""
    offset = 0
    while next_header in EXT_HEADERS:
        if offset + 8 > len(payload):
            return None, 0
        nh = payload[offset]
        if next_header == 44:
            length = 8
            frag_off = struct.unpack("!H", payload[offset + 2:offset + 4])[0] >> 3
            if frag_off:
                return None, 0  # non-initial fragment
        elif next_header == 51:
            length = (payload[offset + 1] + 2) * 4
        else:
            length = (payload[offset + 1] + 1) * 8
        offset += length
        next_header = nh
    if next_header not in (6, 17, 58):
        return None, 0
    return next_header, offset


def flows_from_pcap(pcap: Path, device_mac: str) -> dict[FlowKey, Totals]:
    """Per-flow totals of what the module should have counted, over the whole capture."""
    from scapy.all import Ether, PcapReader, raw

    mac = device_mac.lower()
    totals: dict[FlowKey, Totals] = defaultdict(Totals)
    frags: dict[tuple, list] = defaultdict(list)
    with PcapReader(str(pcap)) as reader:
        for frame in reader:
            if Ether not in frame:
                continue
            outbound = frame[Ether].src.lower() == mac
            data = raw(frame[Ether].payload)
            etype = frame[Ether].type
            if etype == 0x0800 and len(data) >= 20:
                _ipv4(data, outbound, totals, frags)
            elif etype == 0x86DD and len(data) >= 40:
                _ipv6(data, outbound, totals)
    return dict(totals)


def _add(totals, key: FlowKey, outbound: bool, n: int) -> None:
    t = totals[key]
    if outbound:
        t.bytes_out += n
        t.packets_out += 1
    else:
        t.bytes_in += n
        t.packets_in += 1


def _ipv4(data: bytes, outbound: bool, totals, frags) -> None:
    ihl = (data[0] & 0x0F) * 4
    total_len = struct.unpack("!H", data[2:4])[0]
    ident = struct.unpack("!H", data[4:6])[0]
    flags_off = struct.unpack("!H", data[6:8])[0]
    proto = data[9]
    src, dst = ipaddress.IPv4Address(data[12:16]), ipaddress.IPv4Address(data[16:20])
    if proto not in (1, 6, 17) or ihl < 20 or total_len < ihl:
        return
    more, offset = flags_off & 0x2000, (flags_off & 0x1FFF) * 8
    length = total_len - ihl
    if more or offset:
        # count the reassembled datagram once, when its last fragment arrives
        key = (src, dst, ident, proto)
        frags[key].append((offset, length, data[ihl:ihl + 4] if offset == 0 else b""))
        if more:
            return
        parts = frags.pop(key)
        length = max(o + n for o, n, _ in parts)
        head = next((h for o, _, h in parts if o == 0), b"")
    else:
        head = data[ihl:ihl + 4]
    sport = dport = 0
    if proto in (6, 17) and len(head) >= 4:
        sport, dport = struct.unpack("!HH", head[:4])
    local, remote = (src, dst) if outbound else (dst, src)
    lport, rport = (sport, dport) if outbound else (dport, sport)
    _add(totals, FlowKey(4, PROTO_NAMES[proto], str(local), lport, str(remote), rport), outbound, length & 0xFFFF)


def _ipv6(data: bytes, outbound: bool, totals) -> None:
    plen = struct.unpack("!H", data[4:6])[0]
    src, dst = ipaddress.IPv6Address(data[8:24]), ipaddress.IPv6Address(data[24:40])
    proto, ext = _ipv6_walk(data[40:40 + plen], data[6])
    if proto is None or (proto == 58 and not outbound):
        return  # inbound ICMPv6 goes to the ICMPv6 handler, which the module does not wrap
    body = data[40 + ext:]
    sport = dport = 0
    if proto in (6, 17) and len(body) >= 4:
        sport, dport = struct.unpack("!HH", body[:4])
    local, remote = (src, dst) if outbound else (dst, src)
    lport, rport = (sport, dport) if outbound else (dport, sport)
    _add(totals, FlowKey(6, PROTO_NAMES[proto], str(local), lport, str(remote), rport), outbound, (plen - ext) & 0xFFFF)


def flows_from_messages(messages) -> dict[FlowKey, Totals]:
    """Per-flow totals summed over the NetworkActivity records of decoded messages."""
    totals: dict[FlowKey, Totals] = defaultdict(Totals)
    for msg in messages:
        for version, rec in msg.records():
            key = FlowKey(version, rec.protocol.name, str(rec.local_address), rec.local_port,
                          str(rec.remote_address), rec.remote_port)
            t = totals[key]
            t.bytes_in += rec.bytes_in
            t.bytes_out += rec.bytes_out
    return dict(totals)


def compare(expected: dict[FlowKey, Totals], observed: dict[FlowKey, Totals], remotes: set[str]) -> list[str]:
    """Differences for flows whose remote address is one of ``remotes`` (compared as addresses)."""
    wanted = {str(ipaddress.ip_address(r)) for r in remotes}
    problems = []
    keys = {k for k in expected if k.remote in wanted} | {k for k in observed if k.remote in wanted}
    for key in sorted(keys, key=str):
        e, o = expected.get(key), observed.get(key)
        if e is None:
            problems.append(f"{key}: in the security messages (in {o.bytes_in}, out {o.bytes_out}) but not on the wire")
        elif o is None:
            problems.append(f"{key}: on the wire (in {e.bytes_in}, out {e.bytes_out}) but in no security message")
        elif (e.bytes_in, e.bytes_out) != (o.bytes_in, o.bytes_out):
            problems.append(f"{key}: wire in {e.bytes_in} out {e.bytes_out}, messages in {o.bytes_in} out {o.bytes_out}")
    if not keys:
        problems.append(f"no flow with remote {sorted(wanted)} on the wire or in the messages")
    return problems
