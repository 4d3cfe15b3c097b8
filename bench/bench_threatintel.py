"""Benchmark of the threat-intelligence index against a naive Python baseline.

Workload
--------
* Feeds of N = 100,000 and 1,000,000 entries made by ``harness.backend.feedgen``
  (seed 1): documentation addresses only, mixed IPv4/IPv6, single addresses
  and networks. IPv4 is capped by the 1,533 entries the three IPv4
  documentation /24s offer, so the rest is IPv6 in 2001:db8::/32: ~75 %
  /128 addresses and ~25 % networks (/48, /56, /64, /96, /112), some addresses
  placed inside listed networks (nesting). Written as a plain list file.
* **Load**: ``ThreatIntel([FeedConfig(path)])`` — read, hash, parse, build the
  interval arrays — each repeat in a fresh child process, which also gives the
  memory figures: RSS after loading minus RSS before (retained) and peak RSS
  (VmHWM) minus RSS before (peak), in MiB.
* **Lookups**: 50,000 probe addresses as ``ipaddress`` objects (what the decoder
  hands the engine): one half taken from the feed (listed addresses, and random
  addresses inside listed networks: hits), the other half random addresses in
  2001:db8::/32 and the IPv4 documentation ranges (mostly misses). Reported as
  lookups per second for ``ThreatIntel.lookup(addr)``.
* **Naive baseline**, measured in the same run: a ``set`` of the single
  addresses plus a ``list`` of ``ipaddress.ip_network`` objects scanned
  linearly for the longest prefix containing the address (a most-specific
  match has to scan the whole list). Its lookups are far slower, so it runs
  a smaller probe count (1,000 at 100k, 100 at 1M) from the same probe set.

Each figure is given as min / median / max over ``--repeats`` repeats (default
3). Output: one JSON object ``{"name": "threatintel", "results": {...}}`` on
stdout. ``--sizes`` changes N (e.g. ``--sizes 10000`` for a smoke run).

``--quick`` (what ``make bench`` runs, ~2 min instead of ~4.5 on 2 CPUs): the same
sizes and repeats, except that at 1M entries the naive baseline is loaded once
(not ``--repeats`` times) and its lookups use 30 probes instead of 100; the index
figures are unchanged.

Run: ``.venv/bin/python bench/bench_threatintel.py [--sizes 100000,1000000] [--repeats 3] [--quick]``
"""

from __future__ import annotations

import argparse
import functools
import gc
import ipaddress
import json
import multiprocessing as mp
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.backend import feedgen  # noqa: E402
from harness.backend.threatintel import FeedConfig, ThreatIntel  # noqa: E402

N_PROBES = 50_000
NAIVE_PROBES = {100_000: 1_000, 1_000_000: 100}
QUICK_NAIVE_PROBES = {1_000_000: 30}  # --quick: fewer naive probes (and one naive load) from 1M up
QUICK_FROM = 1_000_000


def _rss_kib(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _summary(values) -> dict:
    return {"min": round(min(values), 4), "median": round(statistics.median(values), 4),
            "max": round(max(values), 4)}


# ---- child-process measurements -------------------------------------------------------------
def _load_index(path, q):
    gc.collect()
    before = _rss_kib()
    t0 = time.perf_counter()
    ti = ThreatIntel([FeedConfig(path, "list")])
    dt = time.perf_counter() - t0
    gc.collect()
    q.put((dt, (_rss_kib() - before) / 1024, (_rss_kib("VmHWM") - before) / 1024, len(ti)))


def naive_load(path):
    hosts: set = set()
    nets: list = []
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if "/" in line:
                nets.append(ipaddress.ip_network(line))
            else:
                hosts.add(ipaddress.ip_address(line))
    return hosts, nets


def naive_lookup(hosts, nets, addr):
    if addr in hosts:
        return addr
    best = None
    for n in nets:
        if n.version == addr.version and addr in n and (best is None or n.prefixlen > best.prefixlen):
            best = n
    return best


def _load_naive(path, q):
    gc.collect()
    before = _rss_kib()
    t0 = time.perf_counter()
    hosts, nets = naive_load(path)
    dt = time.perf_counter() - t0
    gc.collect()
    q.put((dt, (_rss_kib() - before) / 1024, (_rss_kib("VmHWM") - before) / 1024,
           len(hosts) + len(nets)))


def in_child(fn, path) -> tuple:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=fn, args=(path, q))
    p.start()
    res = q.get(timeout=1800)
    p.join()
    return res


# ---- probes ------------------------------------------------------------------------------------
def make_probes(entries, n, seed=5) -> list:
    rng = random.Random(seed)
    probes = []
    for i in range(n // 2):
        e = entries[rng.randrange(len(entries))]
        net = ipaddress.ip_network(e)
        off = rng.randrange(net.num_addresses) if net.num_addresses > 1 else 0
        probes.append(net.network_address + off)
    v6 = int(ipaddress.ip_address("2001:db8::"))
    v4 = [int(n.network_address) for n in feedgen.DOC_V4]
    for i in range(n - len(probes)):
        if i % 4 == 0:
            probes.append(ipaddress.ip_address(rng.choice(v4) + rng.randrange(256)))
        else:
            probes.append(ipaddress.ip_address(v6 | rng.getrandbits(96)))
    rng.shuffle(probes)
    return probes


def time_lookups(fn, probes) -> float:
    t0 = time.perf_counter()
    for a in probes:
        fn(a)
    return len(probes) / (time.perf_counter() - t0)


def bench_size(n: int, repeats: int, tmp: Path, log, quick: bool = False) -> dict:
    log(f"[{n}] generating feed")
    entries = feedgen.generate_entries(n, seed=1)
    path = tmp / f"feed-{n}.txt"
    feedgen.write_feed(path, entries, "list")
    n_v4 = sum(1 for e in entries if ":" not in e)
    n_net = sum(1 for e in entries if "/" in e)

    idx_runs = []
    for r in range(repeats):
        idx_runs.append(in_child(_load_index, str(path)))
        log(f"[{n}] index load {r + 1}/{repeats}: {idx_runs[-1][0]:.2f} s")
    naive_runs = []
    naive_repeats = 1 if quick and n >= QUICK_FROM else repeats
    for r in range(naive_repeats):
        naive_runs.append(in_child(_load_naive, str(path)))
        log(f"[{n}] naive load {r + 1}/{naive_repeats}: {naive_runs[-1][0]:.2f} s")

    ti = ThreatIntel([FeedConfig(str(path), "list")])
    probes = make_probes(entries, N_PROBES)
    hits = sum(1 for a in probes if ti.lookup(a) is not None)
    idx_lps = []
    for r in range(repeats):
        idx_lps.append(time_lookups(ti.lookup, probes))
    log(f"[{n}] index lookups/s median {statistics.median(idx_lps):,.0f}")

    hosts, nets = naive_load(path)
    n_naive = NAIVE_PROBES.get(n, max(100, min(1000, 100_000_000 // max(n, 1) // 100)))
    if quick and n >= QUICK_FROM:
        n_naive = QUICK_NAIVE_PROBES.get(n, 30)
    naive_probes = probes[:n_naive]
    # the two structures agree on what matches (most specific)
    for a in naive_probes[:50]:
        m, b = ti.lookup(a), naive_lookup(hosts, nets, a)
        assert (m is None) == (b is None), a
        if m is not None:
            assert m.prefixlen == (b.max_prefixlen if isinstance(b, (ipaddress.IPv4Address,
                                                                      ipaddress.IPv6Address))
                                   else b.prefixlen), a
    naive_lps = []
    for r in range(repeats):
        naive_lps.append(time_lookups(functools.partial(naive_lookup, hosts, nets), naive_probes))
        log(f"[{n}] naive lookups/s {naive_lps[-1]:,.1f}")
    del hosts, nets, ti
    gc.collect()
    return {
        "entries": n, "ipv4_entries": n_v4, "networks": n_net,
        "index": {
            "load_s": _summary([r[0] for r in idx_runs]),
            "rss_retained_mib": _summary([r[1] for r in idx_runs]),
            "rss_peak_mib": _summary([r[2] for r in idx_runs]),
            "lookups_per_s": _summary(idx_lps),
            "lookup_probes": len(probes), "probe_hits": hits,
        },
        "naive": {
            "load_s": _summary([r[0] for r in naive_runs]),
            "rss_retained_mib": _summary([r[1] for r in naive_runs]),
            "rss_peak_mib": _summary([r[2] for r in naive_runs]),
            "lookups_per_s": _summary(naive_lps),
            "lookup_probes": len(naive_probes),
            "load_repeats": naive_repeats,
        },
        "lookup_speedup_median": round(statistics.median(idx_lps) / statistics.median(naive_lps), 1),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ap.add_argument("--quick", action="store_true",
                    help="at 1M entries: one naive-baseline load and 30 naive probes (make bench)")
    args = ap.parse_args(argv)

    def log(msg):
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-ti-") as d:
        for n in sizes:
            label = f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)
            results[label] = bench_size(n, args.repeats, Path(d), log, quick=args.quick)
    out = {"name": "threatintel", "results": results,
           "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "platform": platform.platform()},
           "repeats": args.repeats, "quick": args.quick}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
