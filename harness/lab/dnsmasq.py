"""dnsmasq as the lab's DHCPv4, DNS and IPv6 router-advertisement server."""

from __future__ import annotations

import shutil
from pathlib import Path

from . import addressing as A

DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def dnsmasq_argv(runtime: Path, artifacts: Path, interface: str, hosts: dict[str, list[str]]) -> list[str]:
    """Command line for dnsmasq in the lab namespace; ``hosts`` maps names to addresses for the lab DNS."""
    argv = [
        DNSMASQ, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll",
        "--user=root", "--group=root",
        f"--interface={interface}", "--bind-interfaces", "--except-interface=lo",
        f"--pid-file={runtime / 'dnsmasq.pid'}",
        f"--dhcp-leasefile={runtime / 'dnsmasq.leases'}",
        f"--log-facility={artifacts / 'dnsmasq.log'}", "--log-dhcp", "--log-queries",
        f"--dhcp-range={A.DHCP_FIRST},{A.DHCP_LAST},255.255.255.0,1h",
        f"--dhcp-option=option:router,{A.HUB_V4}",
        f"--dhcp-option=option:dns-server,{A.HUB_V4}",
        f"--dhcp-option=option:ntp-server,{A.HUB_V4}",
        "--dhcp-authoritative", "--no-ping",  # no ping check before an offer: it costs 3 s per lease
        "--enable-ra", f"--dhcp-range={A.SEGMENT_V6.network_address},ra-only,64,1h",
        f"--ra-param={interface},10,1800",
        "--local=/lab/", "--domain-needed", "--bogus-priv",
    ]
    for name, addrs in sorted(hosts.items()):
        argv.append(f"--host-record={name},{','.join(addrs)}")
    return argv
