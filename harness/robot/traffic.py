"""Traffic keywords: run traffic steps and profiles from lab hosts."""

from __future__ import annotations

import json

from robot.api import logger
from robot.api.deco import keyword

from ..traffic import TrafficDriver


class TrafficKeywords:
    @keyword
    def send_traffic(self, kind: str, src: str, dst: str, lab: str | None = None, **step) -> dict:
        """One traffic step from a lab host (``src``: host name, device id or address) to ``dst``.
        Kinds: udp, udp_flows, tcp, ping, telnet_bruteforce, syn_scan, udp_scan, icmp_sweep,
        syn_flood, ipv6_ext_udp, malformed, pcap_replay. Other arguments are the step's fields
        (e.g. ``dport=7 sport=40001 size=100 count=3 ipv6=True``). Returns the result."""
        for key, value in list(step.items()):
            if isinstance(value, str) and value.lower() in ("true", "false"):
                step[key] = value.lower() == "true"
            elif isinstance(value, str) and value.lstrip("-").isdigit():
                step[key] = int(value)
        result = TrafficDriver(self._lab(lab)).run([{"kind": kind, "src": src, "dst": dst, **step}])
        res = result.results[0]
        logger.info(f"traffic {kind} {result.steps[0].get('src')} -> {result.steps[0].get('dst')}: "
                    + json.dumps({k: v for k, v in res.items() if k != "output"}))
        return res

    @keyword
    def write_synthetic_capture(self, path: str, packets: int = 6) -> str:
        """A small pcap to replay at a device (TCP SYNs to the echo and telnet ports, UDP datagrams),
        captured between two documentation hosts that are not in the lab; Send Traffic's
        ``pcap_replay`` rewrites its addresses and MACs into the lab."""
        from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap
        frames = []
        for i in range(int(packets)):
            base = Ether(src="02:00:00:00:00:77", dst="02:00:00:00:00:99") / IP(src="198.51.100.77", dst="192.0.2.99")
            frames.append(base / (TCP(sport=41000 + i, dport=(7, 23)[i % 2], flags="S") if i % 3 else
                                  UDP(sport=41000 + i, dport=7) / Raw(b"replayed")))
        wrpcap(path, frames)
        return path

    @keyword
    def run_traffic_profile(self, profile: str, lab: str | None = None, **variables) -> list:
        """Run a traffic profile (a YAML file, or the name of one in harness/traffic/profiles/)."""
        from ..traffic.profiles import load_profile
        steps = load_profile(profile, variables)
        result = TrafficDriver(self._lab(lab)).run(steps, timeout=300)
        for step, res in zip(result.steps, result.results):
            logger.info(f"{step['kind']} {step.get('src')} -> {step.get('dst')}: "
                        + json.dumps({k: v for k, v in res.items() if k != "output"}))
        return result.results
