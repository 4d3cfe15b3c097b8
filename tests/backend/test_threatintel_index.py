"""The most-specific-match index: v4/v6, nesting, boundaries, ties, scale."""

from __future__ import annotations

import ipaddress
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.backend import feedgen
from harness.backend.threatintel import FeedConfig, ThreatIntel
from harness.backend.threatintel.addr import AddressError, parse_cidr
from harness.backend.threatintel.index import FamilyEntries, Index


def index_of(*feeds) -> Index:
    """feeds: (source, [(cidr, confidence), ...])"""
    parts = []
    for source, items in feeds:
        v4, v6 = FamilyEntries(4), FamilyEntries(6)
        for cidr, conf in items:
            version, first, plen = parse_cidr(cidr)
            (v4 if version == 4 else v6).append(first, plen, conf)
        parts.append((source, v4, v6))
    return Index(parts)


def test_nested_networks_most_specific_wins_v4():
    idx = index_of(("f", [("10.0.0.0/8", 10), ("10.1.0.0/16", 20), ("10.1.2.0/24", 30),
                          ("10.1.2.3", 40), ("10.200.0.0/16", 50)]))
    cases = {
        "10.0.0.0": "10.0.0.0/8", "9.255.255.255": None, "10.255.255.255": "10.0.0.0/8",
        "11.0.0.0": None, "10.1.0.0": "10.1.0.0/16", "10.0.255.255": "10.0.0.0/8",
        "10.1.255.255": "10.1.0.0/16", "10.2.0.0": "10.0.0.0/8", "10.1.2.0": "10.1.2.0/24",
        "10.1.2.2": "10.1.2.0/24", "10.1.2.3": "10.1.2.3", "10.1.2.4": "10.1.2.0/24",
        "10.1.2.255": "10.1.2.0/24", "10.1.3.0": "10.1.0.0/16", "10.199.255.255": "10.0.0.0/8",
        "10.200.0.0": "10.200.0.0/16", "10.200.255.255": "10.200.0.0/16", "10.201.0.0": "10.0.0.0/8",
    }
    for addr, want in cases.items():
        m = idx.lookup(addr)
        assert (m.indicator if m else None) == want, addr
    assert idx.lookup("10.1.2.3").confidence == 40


def test_nested_networks_v6_and_boundaries():
    idx = index_of(("f", [("2001:db8::/32", 10), ("2001:db8:1::/48", 20), ("2001:db8:1:2::/64", 30),
                          ("2001:db8:1:2::5", 40), ("::/0", 1)]))
    assert idx.lookup("2001:db8:1:2::5").indicator == "2001:db8:1:2::5"
    assert idx.lookup("2001:db8:1:2::4").indicator == "2001:db8:1:2::/64"
    assert idx.lookup("2001:db8:1:2::6").indicator == "2001:db8:1:2::/64"
    assert idx.lookup("2001:db8:1:2:ffff:ffff:ffff:ffff").indicator == "2001:db8:1:2::/64"
    assert idx.lookup("2001:db8:1:3::").indicator == "2001:db8:1::/48"
    assert idx.lookup("2001:db8:1:1:ffff:ffff:ffff:ffff").indicator == "2001:db8:1::/48"
    assert idx.lookup("2001:db8:2::").indicator == "2001:db8::/32"
    assert idx.lookup("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff").indicator == "2001:db8::/32"
    assert idx.lookup("2001:db9::").indicator == "::/0"
    assert idx.lookup("::").indicator == "::/0"
    assert idx.lookup("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").indicator == "::/0"


def test_full_range_and_edges_v4():
    idx = index_of(("f", [("0.0.0.0/0", 1), ("255.255.255.255", 2), ("0.0.0.0", 3)]))
    assert idx.lookup("255.255.255.255").confidence == 2
    assert idx.lookup("0.0.0.0").confidence == 3
    assert idx.lookup("127.0.0.1").confidence == 1
    assert index_of(("f", [])).lookup("192.0.2.1") is None


def test_duplicate_network_highest_confidence_then_first_feed():
    idx = index_of(("a", [("192.0.2.0/24", 50), ("198.51.100.1", 60)]),
                   ("b", [("192.0.2.0/24", 80), ("198.51.100.1", 60)]))
    assert (idx.lookup("192.0.2.9").source, idx.lookup("192.0.2.9").confidence) == ("b", 80)
    assert idx.lookup("198.51.100.1").source == "a"
    assert len(idx) == 4 and idx.unique == 2


def test_v4_mapped_v6_matches_v4_indicator_and_inputs():
    idx = index_of(("f", [("203.0.113.0/24", 70)]))
    assert idx.lookup("::ffff:203.0.113.9").indicator == "203.0.113.0/24"
    assert idx.lookup(ipaddress.ip_address("203.0.113.1")).confidence == 70
    assert idx.lookup(bytes([203, 0, 113, 2])) is not None
    with pytest.raises(AddressError):
        idx.lookup("203.0.113.0/24")
    with pytest.raises(AddressError):
        idx.lookup("not-an-ip")


@pytest.mark.parametrize("text", ["1.2.3", "1.2.3.4/", "1.2.3.4/x", "01.2.3.4", "1.2.3.4/-1",
                                  "fe80::1%eth0", "2001:db8::/129", "10.0.0.1/8", "", "1.2.3.4 "])
def test_parse_cidr_rejects(text):
    with pytest.raises(AddressError):
        parse_cidr(text)


networks_v4 = st.tuples(st.integers(0, 255), st.integers(24, 32)).map(
    lambda t: str(ipaddress.ip_network((0xC0000200 + t[0], t[1]), strict=False)))
networks_v6 = st.tuples(st.integers(0, 2 ** 12 - 1), st.sampled_from([116, 118, 120, 124, 128])).map(
    lambda t: str(ipaddress.ip_network(((0x20010DB8 << 96) + t[0], t[1]), strict=False)))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.one_of(networks_v4, networks_v6), st.integers(0, 100)), max_size=40),
       st.lists(st.integers(0, 2 ** 12 - 1), min_size=1, max_size=30))
def test_matches_naive_longest_prefix(entries, probes):
    idx = index_of(("f", entries))
    nets = [(ipaddress.ip_network(c), conf) for c, conf in entries]
    for p in probes:
        for addr in (ipaddress.ip_address(0xC0000200 + (p & 0xFF)),
                     ipaddress.ip_address((0x20010DB8 << 96) + p)):
            cands = [(n, c) for n, c in nets if addr in n]
            m = idx.lookup(addr)
            if not cands:
                assert m is None
                continue
            best_len = max(n.prefixlen for n, _ in cands)
            best_conf = max(c for n, c in cands if n.prefixlen == best_len)
            assert m is not None and m.prefixlen == best_len and m.confidence == best_conf


def test_million_entries_load_and_match(tmp_path):
    """1,000,000 mixed v4/v6 addresses and networks: generous bounds (exact figures: bench/)."""
    must = ["203.0.113.66", "2001:db8:ab::1", "198.51.100.0/25"]
    entries = feedgen.generate_entries(1_000_000, seed=7, include=must)
    path = tmp_path / "big.txt"
    feedgen.write_feed(path, entries, "list")
    t0 = time.perf_counter()
    ti = ThreatIntel([FeedConfig(str(path), "list", source="big")])
    load_s = time.perf_counter() - t0
    assert len(ti) == 1_000_000
    assert load_s < 60, f"load took {load_s:.1f} s"
    assert ti.lookup("203.0.113.66").indicator == "203.0.113.66"
    assert ti.lookup("2001:db8:ab::1") is not None
    m = ti.lookup("198.51.100.127")        # in the /25; maybe listed itself, or a longer prefix
    assert m is not None and m.prefixlen >= 25
    assert ipaddress.ip_address("198.51.100.127") in ipaddress.ip_network(m.indicator)
    # every listed entry matches itself (sample), and lookups are fast
    rng = random.Random(3)
    sample = rng.sample(entries, 2000)
    for e in sample:
        net = ipaddress.ip_network(e)
        m = ti.lookup(net.network_address)
        assert m is not None, e
        if net.prefixlen == net.max_prefixlen:
            assert m.indicator == e
        else:      # the network itself, or something more specific listed inside it
            assert m.prefixlen >= net.prefixlen
            assert ipaddress.ip_network(m.indicator).subnet_of(net)
    probes = [ipaddress.ip_address((0x20010DB8 << 96) | rng.getrandbits(96)) for _ in range(20000)]
    t0 = time.perf_counter()
    for a in probes:
        ti.lookup(a)
    per_s = len(probes) / (time.perf_counter() - t0)
    assert per_s > 5000, f"{per_s:.0f} lookups/s"
    assert ti.lookup("8.8.8.8") is None
