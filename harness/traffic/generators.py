"""Traffic generators. Each takes a step (a dict) and returns a result dict
(packets/bytes sent and received, the flows it used). Each is bounded: a
count or a duration, and a timeout on every wait. They run inside the lab
namespace, from lab host addresses (``src``), with real sockets, real tools
(ping, nmap, hping3) or scapy."""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import time

MAX_PACKETS = 10_000
MAX_DURATION = 60.0


class StepError(Exception):
    pass


def _family(addr: str) -> int:
    return socket.AF_INET6 if ipaddress.ip_address(addr).version == 6 else socket.AF_INET


def _bounded(step: dict, key: str, default: int, limit: int = MAX_PACKETS) -> int:
    value = int(step.get(key, default))
    if not 0 < value <= limit:
        raise StepError(f"{step['kind']}: {key}={value} outside 1..{limit}")
    return value


def _payload(step: dict, size: int) -> bytes:
    text = step.get("data")
    if text is not None:
        return text.encode()
    pattern = b"testbed-traffic-"
    return (pattern * (size // len(pattern) + 1))[:size]


def udp(step: dict) -> dict:
    """``count`` datagrams of ``size`` bytes from src:sport to dst:dport; optionally wait for replies."""
    count = _bounded(step, "count", 1)
    payload = _payload(step, int(step.get("size", 32)))
    s = socket.socket(_family(step["dst"]), socket.SOCK_DGRAM)
    s.bind((step["src"], int(step.get("sport", 0))))
    s.settimeout(float(step.get("timeout", 2.0)))
    replies = 0
    for _ in range(count):
        s.sendto(payload, (step["dst"], int(step["dport"])))
        if step.get("expect_reply"):
            try:
                s.recvfrom(65536)
                replies += 1
            except socket.timeout:
                pass
        elif step.get("interval"):
            time.sleep(float(step["interval"]))
    sport = s.getsockname()[1]
    s.close()
    return {"sent": count, "received": replies, "payload": len(payload),
            "flows": [["udp", step["src"], sport, step["dst"], int(step["dport"])]]}


def udp_flows(step: dict) -> dict:
    """One datagram on each of ``flows`` distinct source ports (e.g. to fill the module's record pool)."""
    flows = _bounded(step, "flows", 10)
    base = int(step.get("sport_base", 40000))
    payload = _payload(step, int(step.get("size", 8)))
    used = []
    for i in range(flows):
        s = socket.socket(_family(step["dst"]), socket.SOCK_DGRAM)
        s.bind((step["src"], base + i))
        s.sendto(payload, (step["dst"], int(step["dport"])))
        s.close()
        used.append(["udp", step["src"], base + i, step["dst"], int(step["dport"])])
    return {"sent": flows, "flows": used}


def tcp(step: dict) -> dict:
    """Connect from src:sport to dst:dport, send data, read the answer, close."""
    payload = _payload(step, int(step.get("size", 64)))
    repeat = _bounded(step, "count", 1, 100)
    s = socket.socket(_family(step["dst"]), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((step["src"], int(step.get("sport", 0))))
    s.settimeout(float(step.get("timeout", 5.0)))
    try:
        s.connect((step["dst"], int(step["dport"])))
    except OSError as exc:
        sport = s.getsockname()[1]
        s.close()
        return {"connected": False, "refused": str(exc),
                "flows": [["tcp", step["src"], sport, step["dst"], int(step["dport"])]]}
    received = 0
    for _ in range(repeat):
        s.sendall(payload)
        if step.get("expect_echo", True):
            want = len(payload)
            while want > 0:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += len(chunk)
                want -= len(chunk)
        elif step.get("read_banner"):
            try:
                received += len(s.recv(4096))
            except socket.timeout:
                pass
    sport = s.getsockname()[1]
    s.shutdown(socket.SHUT_WR)
    try:
        while s.recv(4096):
            pass
    except OSError:
        pass
    s.close()
    return {"connected": True, "sent": len(payload) * repeat, "received": received,
            "flows": [["tcp", step["src"], sport, step["dst"], int(step["dport"])]]}


def ping(step: dict) -> dict:
    count = _bounded(step, "count", 3, 1000)
    size = int(step.get("size", 56))
    v6 = ipaddress.ip_address(step["dst"]).version == 6
    argv = ["ping", "-6" if v6 else "-4", "-n", "-c", str(count), "-s", str(size), "-i", str(step.get("interval", 0.2)),
            "-W", "2", "-I", step["src"], step["dst"]]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=count * 3 + 10)
    import re
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out.stdout)
    return {"sent": int(m.group(1)) if m else 0, "received": int(m.group(2)) if m else 0, "size": size,
            "flows": [["icmp6" if v6 else "icmp", step["src"], 0, step["dst"], 0]], "output": out.stdout[-400:]}


def telnet_bruteforce(step: dict) -> dict:
    """Mirai-like credential guessing against the device's telnet-like login: a burst of
    connections, each trying a few user/password pairs."""
    attempts = _bounded(step, "attempts", 5, 200)
    creds = [("root", "xc3511"), ("admin", "admin"), ("root", "vizxv"), ("root", "888888"), ("support", "support"),
             ("root", "default"), ("admin", "password"), ("root", "root"), ("user", "user"), ("guest", "12345")]
    refused = 0
    flows = []
    for i in range(attempts):
        user, password = creds[i % len(creds)]
        s = socket.socket(_family(step["dst"]), socket.SOCK_STREAM)
        s.bind((step["src"], 0))
        s.settimeout(float(step.get("timeout", 3.0)))
        try:
            s.connect((step["dst"], int(step.get("dport", 23))))
            s.recv(64)
            s.sendall(f"{user}\r\n".encode())
            s.recv(64)
            s.sendall(f"{password}\r\n".encode())
            if b"incorrect" in s.recv(64):
                refused += 1
        except OSError:
            pass
        flows.append(["tcp", step["src"], s.getsockname()[1], step["dst"], int(step.get("dport", 23))])
        s.close()
    return {"attempts": attempts, "refused": refused, "flows": flows}


def _tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise StepError(f"{name} is not installed (make setup installs it)")
    return path


def syn_scan(step: dict) -> dict:
    """nmap SYN scan of a port range, from src."""
    ports = step.get("ports", "1-100")
    six = ["-6"] if ipaddress.ip_address(step["dst"]).version == 6 else []
    argv = [_tool("nmap"), *six, "-sS", "-n", "-Pn", "--max-retries", "0", "--host-timeout", "30s",
            "-S", step["src"], "-e", step.get("interface", "br0"), "-p", ports, step["dst"]]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return {"tool": "nmap -sS", "ports": ports, "output": out.stdout[-600:], "flows": []}


def udp_scan(step: dict) -> dict:
    ports = step.get("ports", "1-30")
    six = ["-6"] if ipaddress.ip_address(step["dst"]).version == 6 else []
    argv = [_tool("nmap"), *six, "-sU", "-n", "-Pn", "--max-retries", "0", "--host-timeout", "30s",
            "-S", step["src"], "-e", step.get("interface", "br0"), "-p", ports, step["dst"]]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    return {"tool": "nmap -sU", "ports": ports, "output": out.stdout[-600:], "flows": []}


def icmp_sweep(step: dict) -> dict:
    """Ping sweep of a range of addresses (a few per second), from src."""
    net = ipaddress.ip_network(step["targets"], strict=False)
    hosts = list(net.hosts())[: _bounded(step, "max_hosts", 16, 256)]
    alive = 0
    for host in hosts:
        v6 = host.version == 6
        rc = subprocess.run(["ping", "-6" if v6 else "-4", "-n", "-c", "1", "-W", "1", "-I", step["src"], str(host)],
                            capture_output=True).returncode
        alive += rc == 0
    return {"probed": len(hosts), "alive": alive, "flows": []}


def syn_flood(step: dict) -> dict:
    """Rate-limited SYN flood with hping3 (count and rate bounded)."""
    count = _bounded(step, "count", 200, 5000)
    rate = int(step.get("rate", 100))  # packets per second
    interval = f"u{max(1, 1_000_000 // max(rate, 1))}"
    argv = [_tool("hping3"), "-S", "-q", "-a", step["src"], "-p", str(step.get("dport", 80)), "-c", str(count),
            "-i", interval, step["dst"]]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=count / max(rate, 1) + 30)
    return {"tool": "hping3 -S", "count": count, "rate": rate, "output": (out.stdout + out.stderr)[-400:], "flows": []}


def ipv6_ext_udp(step: dict) -> dict:
    """IPv6 UDP datagrams carrying extension headers (Destination Options, Hop-by-Hop), with scapy."""
    from scapy.all import UDP, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, Raw, send
    count = _bounded(step, "count", 1, 100)
    payload = _payload(step, int(step.get("size", 20)))
    pkt = IPv6(src=step["src"], dst=step["dst"])
    for ext in step.get("ext", ["dest"]):
        pkt = pkt / (IPv6ExtHdrHopByHop() if ext == "hbh" else IPv6ExtHdrDestOpt())
    pkt = pkt / UDP(sport=int(step.get("sport", 40100)), dport=int(step["dport"])) / Raw(payload)
    send(pkt, count=count, verbose=False)
    return {"sent": count, "flows": [["udp", step["src"], int(step.get("sport", 40100)), step["dst"],
                                      int(step["dport"])]]}


def malformed(step: dict) -> dict:
    """Malformed and fuzzed frames at the device (bounded): bad lengths, bad checksums,
    truncated headers, bogus options, random garbage — with scapy."""
    import random
    from scapy.all import ICMP, IP, TCP, UDP, IPv6, Raw, fuzz, send
    count = _bounded(step, "count", 50, 2000)
    rng = random.Random(int(step.get("seed", 1)))
    dst, src = step["dst"], step["src"]
    v6 = ipaddress.ip_address(dst).version == 6
    templates = ([IPv6(src=src, dst=dst) / UDP(dport=7), IPv6(src=src, dst=dst) / TCP(dport=7)] if v6 else
                 [IP(src=src, dst=dst, ihl=15) / Raw(b"x" * 4), IP(src=src, dst=dst, len=20000) / UDP(dport=7),
                  IP(src=src, dst=dst) / TCP(dport=7, dataofs=15), IP(src=src, dst=dst, frag=100, flags=1) / Raw(b"y" * 40),
                  IP(src=src, dst=dst) / UDP(dport=7, len=3), IP(src=src, dst=dst, proto=200) / Raw(b"z"),
                  IP(src=src, dst=dst) / ICMP(type=rng.randrange(256)) / Raw(b"q" * 8)])
    sent = 0
    for i in range(count):
        base = templates[i % len(templates)]
        pkt = fuzz(base.copy()) if i % 3 == 0 else base
        send(pkt, verbose=False)
        sent += 1
    return {"sent": sent, "flows": []}


def pcap_replay(step: dict) -> dict:
    """Replay a capture at the device, with addresses and MACs rewritten into the lab."""
    from scapy.all import IP, TCP, UDP, Ether, IPv6, rdpcap, sendp
    packets = rdpcap(step["pcap"])[: _bounded(step, "max_packets", 1000)]
    v4_map, v6_map = step.get("map_v4", {}), step.get("map_v6", {})
    sent = 0
    for pkt in packets:
        if IP in pkt:
            ip = pkt[IP]
            ip.src, ip.dst = v4_map.get(ip.src, step["src"]), v4_map.get(ip.dst, step["dst"])
            del ip.chksum
        elif IPv6 in pkt:
            ip6 = pkt[IPv6]
            ip6.src, ip6.dst = v6_map.get(ip6.src, step.get("src6", ip6.src)), v6_map.get(ip6.dst, step.get("dst6", ip6.dst))
        else:
            continue
        for layer in (TCP, UDP):
            if layer in pkt:
                del pkt[layer].chksum
        if Ether in pkt:
            pkt[Ether].dst = step["dst_mac"]
            pkt[Ether].src = step.get("src_mac", "02:00:00:00:00:01")
        else:
            pkt = Ether(dst=step["dst_mac"], src=step.get("src_mac", "02:00:00:00:00:01")) / pkt
        sendp(pkt, iface=step.get("interface", "br0"), verbose=False)
        sent += 1
    return {"sent": sent, "flows": []}


GENERATORS = {
    "udp": udp, "udp_flows": udp_flows, "tcp": tcp, "ping": ping, "telnet_bruteforce": telnet_bruteforce,
    "syn_scan": syn_scan, "udp_scan": udp_scan, "icmp_sweep": icmp_sweep, "syn_flood": syn_flood,
    "ipv6_ext_udp": ipv6_ext_udp, "malformed": malformed, "pcap_replay": pcap_replay,
}


def run_step(step: dict) -> dict:
    kind = step.get("kind")
    if kind not in GENERATORS:
        raise StepError(f"unknown traffic kind {kind!r} (known: {', '.join(sorted(GENERATORS))})")
    t0 = time.monotonic()
    result = GENERATORS[kind](step)
    result["kind"] = kind
    result["duration"] = round(time.monotonic() - t0, 3)
    return result
