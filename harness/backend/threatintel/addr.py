"""Fast, strict parsing of IP addresses and CIDR networks into integers.

Feeds can hold a million entries, so parsing avoids :mod:`ipaddress` objects
on the hot path: ``socket.inet_pton`` validates the text (strict dotted quads,
no leading zeros, no zone ids) and the value is kept as a Python int.

A parsed entry is ``(version, first, prefixlen)``: version 4 or 6, the first
address of the network as an int, and the prefix length (32/128 for a single
address). Networks whose host bits are set (``10.0.0.1/8``) are rejected:
such a line is almost always a typo, and silently masking it would change
what the feed means.
"""

from __future__ import annotations

import ipaddress
import socket

_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6
_pton = socket.inet_pton
_from_bytes = int.from_bytes

V4_MAX = (1 << 32) - 1
V6_MAX = (1 << 128) - 1
MAPPED_V4_PREFIX = 0xFFFF << 32  # ::ffff:0:0/96


class AddressError(ValueError):
    """The text is not an IPv4/IPv6 address or CIDR network."""


def parse_cidr(text: str) -> tuple[int, int, int]:
    """Parse ``a.b.c.d``, ``a.b.c.d/n``, an IPv6 address or ``v6/n``.

    Returns ``(version, first_address_int, prefixlen)``; raises
    :class:`AddressError` with a short reason.
    """
    addr, sep, plen_text = text.partition("/")
    if ":" in addr:
        version, bits = 6, 128
        try:
            value = _from_bytes(_pton(_AF_INET6, addr), "big")
        except (OSError, ValueError):
            raise AddressError(f"not an IPv6 address: {addr!r}") from None
    else:
        version, bits = 4, 32
        try:
            value = _from_bytes(_pton(_AF_INET, addr), "big")
        except (OSError, ValueError):
            raise AddressError(f"not an IPv4 address: {addr!r}") from None
    if not sep:
        return version, value, bits
    if not plen_text.isdigit() or not plen_text.isascii() or len(plen_text) > 3:
        raise AddressError(f"bad prefix length {plen_text!r} in {text!r}")
    plen = int(plen_text)
    if plen > bits:
        raise AddressError(f"prefix length /{plen} too long for IPv{version} in {text!r}")
    host_mask = (1 << (bits - plen)) - 1
    if value & host_mask:
        raise AddressError(f"host bits set in network {text!r}")
    return version, value, plen


def parse_address(addr) -> tuple[int, int]:
    """``(version, int)`` of an address given as text, int-able ip object or bytes."""
    if isinstance(addr, ipaddress.IPv4Address):
        return 4, int(addr)
    if isinstance(addr, ipaddress.IPv6Address):
        return 6, int(addr)
    if isinstance(addr, (bytes, bytearray)):
        if len(addr) == 4:
            return 4, _from_bytes(addr, "big")
        if len(addr) == 16:
            return 6, _from_bytes(addr, "big")
        raise AddressError(f"address bytes must be 4 or 16 long, not {len(addr)}")
    if isinstance(addr, str):
        version, value, plen = parse_cidr(addr.strip())
        if plen != (32 if version == 4 else 128):
            raise AddressError(f"expected an address, got a network: {addr!r}")
        return version, value
    raise AddressError(f"not an address: {addr!r}")


def format_cidr(version: int, first: int, plen: int) -> str:
    """Canonical text: ``a.b.c.d`` / ``v6`` for single addresses, else ``net/len``."""
    if version == 4:
        text = socket.inet_ntop(_AF_INET, first.to_bytes(4, "big"))
        return text if plen == 32 else f"{text}/{plen}"
    text = socket.inet_ntop(_AF_INET6, first.to_bytes(16, "big"))
    return text if plen == 128 else f"{text}/{plen}"


def last_address(version: int, first: int, plen: int) -> int:
    bits = 32 if version == 4 else 128
    return first | ((1 << (bits - plen)) - 1)
