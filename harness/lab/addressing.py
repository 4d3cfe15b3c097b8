"""The lab's address plan: documentation ranges only (RFC 5737, RFC 3849).

Every lab is its own network namespace, so labs reuse the same plan without
colliding. Link-scope traffic that IPv4/IPv6 cannot work without (DHCP's
0.0.0.0/255.255.255.255, fe80::/10, ff02::/16) never leaves the lab's bridge.
"""

from __future__ import annotations

import ipaddress

DOC_V4 = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
DOC_V6 = [ipaddress.ip_network("2001:db8::/32")]
LOOPBACK = [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]
LINK_SCOPE = [ipaddress.ip_network(n) for n in ("0.0.0.0/32", "255.255.255.255/32", "224.0.0.0/24",
                                                 "fe80::/10", "ff02::/16", "::/128")]

# the device segment (the bridge); the hub is also gateway, DNS and SNTP server
SEGMENT_V4 = ipaddress.ip_network("192.0.2.0/24")
SEGMENT_V6 = ipaddress.ip_network("2001:db8:1::/64")
HUB_V4 = ipaddress.ip_address("192.0.2.1")
HUB_V6 = ipaddress.ip_address("2001:db8:1::1")
DHCP_FIRST, DHCP_LAST = ipaddress.ip_address("192.0.2.100"), ipaddress.ip_address("192.0.2.199")
STATIC_BASE_V4 = ipaddress.ip_address("192.0.2.10")    # static devices: .10, .11, ...
STATIC_BASE_V6 = ipaddress.ip_address("2001:db8:1::10")

# lab hosts beyond the segment, reached through the hub as gateway
ROLES = {
    "benign": (ipaddress.ip_network("198.51.100.0/24"), ipaddress.ip_network("2001:db8:100::/64")),
    "malicious": (ipaddress.ip_network("203.0.113.0/24"), ipaddress.ip_network("2001:db8:bad::/64")),
}

HUB_HOST = "hub.lab"  # default hub host name in the lab DNS


def is_allowed(addr) -> bool:
    """True for documentation, loopback and link-scope addresses: the only ones a lab may use."""
    a = ipaddress.ip_address(addr)
    nets = DOC_V4 + LOOPBACK + LINK_SCOPE if a.version == 4 else DOC_V6 + LOOPBACK + LINK_SCOPE
    return any(a in n for n in nets)


def require_documentation(addr) -> None:
    a = ipaddress.ip_address(addr)
    if not any(a in n for n in (DOC_V4 if a.version == 4 else DOC_V6)):
        from ..errors import InputError
        raise InputError(f"address {a} is not in a documentation range (192.0.2.0/24, 198.51.100.0/24, "
                         "203.0.113.0/24, 2001:db8::/32): lab traffic never uses other addresses")


def device_mac(lab_index: int, device_index: int) -> str:
    """Locally administered, unicast; unique within a lab (labs are separate namespaces)."""
    return f"52:54:00:{lab_index % 256:02x}:{device_index // 256 % 256:02x}:{device_index % 256 + 1:02x}"
