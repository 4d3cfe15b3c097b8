"""Synthetic threat-intelligence feeds made of documentation addresses only.

``python -m harness.backend.feedgen --count N --format list --out feed.txt
[--include 203.0.113.66 ...] [--seed 1] [--v4-share 0.5] [--network-share 0.25]``

Every entry lies in a documentation range: 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24 (RFC 5737) or 2001:db8::/32 (RFC 3849), so a generated feed can
never point the lab at a real host. The three IPv4 ranges hold only 768
addresses (plus 765 sub-networks /24../31), so large feeds are mostly IPv6:
``/128`` addresses and ``/48``, ``/56``, ``/64``, ``/96``, ``/112`` networks inside
2001:db8::/32, some addresses deliberately placed inside generated networks so
that nesting is exercised. Entries are unique and shuffled (seeded: the same
arguments give the same file).

``--include ADDR`` (repeatable) guarantees an address or CIDR is in the feed;
it must itself be a documentation address (``--allow-any-include`` lifts that,
e.g. for a lab host given an address outside those ranges).

Formats: ``list`` (``#`` header, one entry per line), ``csv`` (quoted header
``"first_seen_utc","indicator","confidence"``; load with ``column: indicator``),
``stix`` (a bundle of indicators ``[ipv4-addr:value = '…']``) and
``stix-observables`` (a bare array of ipv4-addr/ipv6-addr objects).
STIX files load through the stix2 library at roughly 1,000 indicators a
second; use list or CSV for very large feeds.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import random
import sys
import uuid

from harness.errors import InputError

from .threatintel.addr import AddressError, format_cidr, parse_cidr

DOC_V4 = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
DOC_V6 = ipaddress.ip_network("2001:db8::/32")
DOC_NETWORKS = DOC_V4 + [DOC_V6]
FORMATS = ("list", "csv", "stix", "stix-observables")
_V6_NET_PREFIXES = (48, 56, 64, 96, 112)
_NS = uuid.UUID("6f1d0c3e-7d4b-4c54-9a53-6b1f0e0b2a11")


def is_documentation(text: str) -> bool:
    try:
        net = ipaddress.ip_network(text, strict=True)
    except ValueError:
        return False
    return any(net.version == d.version and net.subnet_of(d) for d in DOC_NETWORKS)


def _v4_pool() -> list[str]:
    pool = []
    for net in DOC_V4:
        for plen in range(24, 33):
            pool.extend(format_cidr(4, int(s.network_address), plen) for s in net.subnets(new_prefix=plen))
    return pool


def generate_entries(count: int, seed: int = 1, include=(), v4_share: float = 0.5,
                     network_share: float = 0.25, allow_any_include: bool = False) -> list[str]:
    """``count`` unique entries (canonical text), shuffled, ``include`` guaranteed."""
    if count < 0:
        raise InputError(f"feedgen: count must be >= 0, not {count}")
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[str] = []
    for item in include:
        try:
            version, first, plen = parse_cidr(str(item).strip())
        except AddressError as e:
            raise InputError(f"feedgen: --include {item!r}: {e}") from None
        text = format_cidr(version, first, plen)
        if not allow_any_include and not is_documentation(text):
            raise InputError(f"feedgen: --include {item!r} is not a documentation address "
                             "(192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32); "
                             "use --allow-any-include to force it")
        if text not in seen:
            seen.add(text)
            out.append(text)
    if len(out) > count:
        raise InputError(f"feedgen: {len(out)} --include entries but count is {count}")

    pool = [e for e in _v4_pool() if e not in seen]
    n_v4 = min(len(pool), max(0, round((count - len(out)) * v4_share)))
    hosts = [e for e in pool if "/" not in e]
    nets = [e for e in pool if "/" in e]
    n_nets = min(len(nets), round(n_v4 * network_share))
    chosen = rng.sample(nets, n_nets) + rng.sample(hosts, min(len(hosts), n_v4 - n_nets))
    for e in chosen:
        seen.add(e)
        out.append(e)

    base = int(DOC_V6.network_address)
    v6_nets: list[tuple[int, int]] = []
    getrandbits = rng.getrandbits
    while len(out) < count:
        if rng.random() < network_share:
            plen = rng.choice(_V6_NET_PREFIXES)
            first = base | (getrandbits(plen - 32) << (128 - plen))
            if len(v6_nets) < 100_000:
                v6_nets.append((first, plen))
        elif v6_nets and rng.random() < 0.1:           # an address inside a listed network
            nfirst, nplen = v6_nets[rng.randrange(len(v6_nets))]
            first, plen = nfirst | getrandbits(128 - nplen), 128
        else:
            first, plen = base | getrandbits(96), 128
        text = format_cidr(6, first, plen)
        if text not in seen:
            seen.add(text)
            out.append(text)
    rng.shuffle(out)
    return out


def generate_entries_excluding(count: int, exclude=(), seed: int = 1, include=()) -> list[str]:
    """Like :func:`generate_entries`, but no entry overlaps an ``exclude`` network (e.g. the lab's
    benign side, so a synthetic feed cannot make its hub or peers "suspicious")."""
    import ipaddress

    nets = [ipaddress.ip_network(str(n), strict=False) for n in exclude]

    def clear(e: str) -> bool:
        net = ipaddress.ip_network(e, strict=False)
        return not any(net.version == x.version and net.overlaps(x) for x in nets)

    want = count
    while True:
        pool = generate_entries(want, seed=seed, include=include)
        out = [e for e in pool if e in include or clear(e)]
        if len(out) >= count or want > 4 * count + 1000:
            return out[:count]
        want += count - len(out) + 100


def write_feed(path, entries, fmt: str = "list", confidence: int = 80, seed: int = 1) -> None:
    """Write entries in one of FORMATS (atomically: temp file + rename)."""
    if fmt not in FORMATS:
        raise InputError(f"feedgen: unknown format {fmt!r} (one of {', '.join(FORMATS)})")
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        if fmt == "list":
            f.write(f"# synthetic threat feed (documentation addresses only)\n"
                    f"# entries: {len(entries)}  seed: {seed}\n#\n")
            f.write("\n".join(entries))
            f.write("\n")
        elif fmt == "csv":
            f.write("# synthetic threat feed (documentation addresses only)\n")
            f.write('"first_seen_utc","indicator","confidence"\n')
            f.writelines(f'"2025-01-01 00:00:00","{e}","{confidence}"\n' for e in entries)
            f.write(f"# END {len(entries)} entries")
        elif fmt == "stix":
            objs = []
            for e in entries:
                kind = "ipv6-addr" if ":" in e else "ipv4-addr"
                objs.append({
                    "type": "indicator", "spec_version": "2.1",
                    "id": f"indicator--{uuid.uuid5(_NS, e)}",
                    "created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
                    "name": f"synthetic {e}", "indicator_types": ["malicious-activity"],
                    "pattern": f"[{kind}:value = '{e}']", "pattern_type": "stix",
                    "valid_from": "2025-01-01T00:00:00Z", "confidence": confidence})
            json.dump({"type": "bundle", "id": f"bundle--{uuid.uuid5(_NS, str(seed))}",
                       "objects": objs}, f, indent=1)
        else:
            objs = [{"type": "ipv6-addr" if ":" in e else "ipv4-addr", "spec_version": "2.1",
                     "id": f"{'ipv6-addr' if ':' in e else 'ipv4-addr'}--{uuid.uuid5(_NS, e)}",
                     "value": e} for e in entries]
            json.dump(objs, f, indent=1)
    os.replace(tmp, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m harness.backend.feedgen",
                                 description="Generate a synthetic feed of documentation addresses.")
    ap.add_argument("--count", "-n", type=int, required=True, help="number of entries")
    ap.add_argument("--format", "-f", choices=FORMATS, default="list")
    ap.add_argument("--out", "-o", required=True, help="output file")
    ap.add_argument("--include", action="append", default=[], metavar="ADDR",
                    help="address/CIDR that must be in the feed (repeatable)")
    ap.add_argument("--allow-any-include", action="store_true",
                    help="allow --include outside the documentation ranges")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--v4-share", type=float, default=0.5,
                    help="wanted share of IPv4 entries (capped by the 1,533 available)")
    ap.add_argument("--network-share", type=float, default=0.25, help="share of networks")
    ap.add_argument("--confidence", type=int, default=80, help="confidence written in csv/stix")
    args = ap.parse_args(argv)
    try:
        entries = generate_entries(args.count, seed=args.seed, include=args.include,
                                   v4_share=args.v4_share, network_share=args.network_share,
                                   allow_any_include=args.allow_any_include)
        write_feed(args.out, entries, args.format, confidence=args.confidence, seed=args.seed)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {len(entries)} entries to {args.out} ({args.format})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
