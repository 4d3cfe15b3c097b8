"""Longest-prefix-match index over IP indicators, built as flat interval arrays.

Structure
---------
CIDR networks either nest or are disjoint; they never overlap partially. So
the set of indicators of one IP family can be flattened into a sorted list of
**disjoint segments** ``[start, end]``, each labelled with the *most specific*
indicator covering it (a sweep over the entries sorted by (first address,
prefix length) with a stack of open networks does this in one pass). A lookup
is then one binary search (``bisect`` in C) plus one comparison.

* IPv4 segments live in ``array('I')`` (start, end) and ``array('i')`` (entry).
* IPv6 keys are 128-bit, which no array type holds, so each key is split into
  two ``array('Q')`` halves (hi, lo). A lookup bisects the hi half and, only
  when segments start in the same upper half, the lo half within that run.
* Entries (the indicators themselves) stay in the feeds' own column arrays
  (:class:`FamilyEntries`: first address, prefix length, confidence); a
  segment holds a global entry number (feeds concatenated in priority order).
  No per-entry object, and nothing is copied per index.

Ties: when several feeds carry the *same* network, the entry with the highest
confidence wins, then the feed listed first. A more specific network always
wins over a less specific one, whatever the confidences.

An ``Index`` is immutable once built; reloading builds a new one and swaps a
single reference (see :mod:`.feeds`), so readers never see a half-built index.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from typing import NamedTuple, Sequence

from .addr import MAPPED_V4_PREFIX, V6_MAX, format_cidr, parse_address

_MASK64 = (1 << 64) - 1


class Match(NamedTuple):
    """The most specific indicator covering an address."""

    indicator: str      # canonical text: "203.0.113.66" or "203.0.113.0/24"
    version: int        # 4 or 6
    prefixlen: int
    source: str         # the feed's source name
    confidence: int     # 0..100
    ref: str | None     # e.g. the STIX indicator id, when the feed has one

    def to_dict(self) -> dict:
        return {"indicator": self.indicator, "source": self.source,
                "confidence": self.confidence, "ref": self.ref}


class FamilyEntries:
    """Column-wise entries of one IP family (appendable while parsing)."""

    __slots__ = ("version", "hi", "lo", "plen", "conf", "refs")

    def __init__(self, version: int):
        self.version = version
        if version == 4:
            self.hi = array("I")     # the 32-bit first address
            self.lo = None
        else:
            self.hi = array("Q")     # upper 64 bits of the first address
            self.lo = array("Q")     # lower 64 bits
        self.plen = array("B")
        self.conf = array("B")
        self.refs: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self.plen)

    def append(self, first: int, plen: int, conf: int, ref: str | None = None) -> None:
        if self.lo is None:
            self.hi.append(first)
        else:
            self.hi.append(first >> 64)
            self.lo.append(first & _MASK64)
        if ref is not None:
            self.refs[len(self.plen)] = ref
        self.plen.append(plen)
        self.conf.append(conf)

    def first(self, i: int) -> int:
        if self.lo is None:
            return self.hi[i]
        return (self.hi[i] << 64) | self.lo[i]


class _FamilyIndex:
    """Disjoint segments of one family, pointing into the feeds' own entry columns.

    A segment's value is a global entry number: entries of feed 0 first, then
    feed 1, … (``offsets`` holds where each feed starts), so no entry column is
    copied.
    """

    __slots__ = ("version", "bits", "s_hi", "s_lo", "e_hi", "e_lo", "seg_entry",
                 "parts", "offsets", "entries", "unique")

    def __init__(self, version: int, parts: Sequence[FamilyEntries] = ()):
        self.version = version
        self.bits = 32 if version == 4 else 128
        code = "I" if version == 4 else "Q"
        self.s_hi = array(code)
        self.e_hi = array(code)
        self.s_lo = array("Q") if version == 6 else None
        self.e_lo = array("Q") if version == 6 else None
        self.seg_entry = array("i")
        self.parts = list(parts)
        self.offsets = array("q", [0])
        for p in self.parts:
            self.offsets.append(self.offsets[-1] + len(p))
        self.entries = self.offsets[-1]   # entries given, duplicates included
        self.unique = 0                   # distinct networks

    # ---- lookup -----------------------------------------------------------
    def find(self, value: int) -> int:
        """Global entry number of the most specific match, or -1."""
        if self.version == 4:
            i = bisect_right(self.s_hi, value) - 1
            if i >= 0 and value <= self.e_hi[i]:
                return self.seg_entry[i]
            return -1
        hi = value >> 64
        s_hi = self.s_hi
        right = bisect_right(s_hi, hi)
        if right == 0:
            return -1
        i = right - 1
        if s_hi[i] == hi:           # segments starting in the same upper half: look at lo
            lo = value & _MASK64
            left = bisect_left(s_hi, hi, 0, i)
            i = bisect_right(self.s_lo, lo, left, right) - 1
            if i < 0:
                return -1
            eh = self.e_hi[i]
            if hi < eh or (hi == eh and lo <= self.e_lo[i]):
                return self.seg_entry[i]
            return -1
        eh = self.e_hi[i]           # the segment starts in a lower upper half
        if hi < eh or (hi == eh and (value & _MASK64) <= self.e_lo[i]):
            return self.seg_entry[i]
        return -1

    def locate(self, e: int) -> tuple[int, int]:
        """(feed number, index inside that feed) of a global entry number."""
        f = bisect_right(self.offsets, e) - 1
        return f, e - self.offsets[f]

    def covered(self) -> int:
        """Number of distinct addresses covered by at least one indicator."""
        total = 0
        if self.version == 4:
            for s, e in zip(self.s_hi, self.e_hi):
                total += e - s + 1
            return total
        for sh, sl, eh, el in zip(self.s_hi, self.s_lo, self.e_hi, self.e_lo):
            total += ((eh << 64) | el) - ((sh << 64) | sl) + 1
        return total


def _build_family(version: int, parts: Sequence[FamilyEntries]) -> _FamilyIndex:
    """Build the segment arrays from the entries of several feeds (priority order)."""
    fx = _FamilyIndex(version, parts)
    bits = fx.bits
    total = fx.entries
    if total == 0:
        return fx
    # One sortable int per entry: first | plen | (255-conf) | global index.
    idx_bits = max(1, total.bit_length())
    shift_first = 16 + idx_bits
    shift_plen = 8 + idx_bits
    keys: list[int] = []
    base = 0
    for ents in parts:
        if version == 4:
            keys.extend((f << shift_first) | (p << shift_plen) | ((255 - c) << idx_bits) | i
                        for i, (f, p, c) in enumerate(zip(ents.hi, ents.plen, ents.conf), base))
        else:
            sh = shift_first + 64
            keys.extend((h << sh) | (l << shift_first) | (p << shift_plen) | ((255 - c) << idx_bits) | i
                        for i, (h, l, p, c) in enumerate(zip(ents.hi, ents.lo, ents.plen, ents.conf),
                                                         base))
        base += len(ents)
    keys.sort()

    idx_mask = (1 << idx_bits) - 1
    # Segments go straight into the arrays (IPv6 split into halves) to keep the peak low.
    segs = fx.seg_entry
    g_app = segs.append
    v6 = version == 6
    if version == 4:
        s_app, e_app = fx.s_hi.append, fx.e_hi.append
    else:
        sh_app, sl_app, eh_app, el_app = fx.s_hi.append, fx.s_lo.append, fx.e_hi.append, fx.e_lo.append

        def s_app(v, _h=sh_app, _l=sl_app, _m=_MASK64):
            _h(v >> 64)
            _l(v & _m)

        def e_app(v, _h=eh_app, _l=el_app, _m=_MASK64):
            _h(v >> 64)
            _l(v & _m)
    stack_end: list[int] = []
    stack_ent: list[int] = []
    pos = 0            # first address not yet emitted
    prev_fp = -1
    unique = 0
    for key in keys:
        fp = key >> shift_plen                  # first + plen
        if fp == prev_fp:          # same network again: the first one (best) wins
            continue
        prev_fp = fp
        unique += 1
        ent = key & idx_mask
        first = fp >> 8
        plen = fp & 0xFF
        # Close every open network that ends before this one starts.
        while stack_end and stack_end[-1] < first:
            top_end = stack_end.pop()
            top_ent = stack_ent.pop()
            if pos <= top_end:
                s_app(pos); e_app(top_end); g_app(top_ent)
                pos = top_end + 1
        if plen == bits:                        # a single address: a leaf
            if stack_end and pos < first:
                s_app(pos); e_app(first - 1); g_app(stack_ent[-1])
            if v6:
                h, l = first >> 64, first & _MASK64
                sh_app(h); sl_app(l); eh_app(h); el_app(l)
            else:
                s_app(first); e_app(first)
            g_app(ent)
            pos = first + 1
            continue
        # The enclosing network (if any) covers [pos, first-1].
        if stack_end and pos < first:
            s_app(pos); e_app(first - 1); g_app(stack_ent[-1])
        stack_end.append(first | ((1 << (bits - plen)) - 1))
        stack_ent.append(ent)
        pos = first
    while stack_end:
        top_end = stack_end.pop()
        top_ent = stack_ent.pop()
        if pos <= top_end:
            s_app(pos); e_app(top_end); g_app(top_ent)
            pos = top_end + 1
    fx.unique = unique
    return fx


class Index:
    """Immutable lookup structure over the entries of several feeds."""

    def __init__(self, feeds: Sequence[tuple[str, "FamilyEntries", "FamilyEntries"]] = ()):
        """``feeds``: ``[(source_name, v4_entries, v6_entries), ...]`` in priority order."""
        self.sources = [name for name, _, _ in feeds]
        self.v4 = _build_family(4, [v4 for _, v4, _ in feeds])
        self.v6 = _build_family(6, [v6 for _, _, v6 in feeds])

    def __len__(self) -> int:
        return self.v4.entries + self.v6.entries

    @property
    def unique(self) -> int:
        return self.v4.unique + self.v6.unique

    def _match(self, fx: _FamilyIndex, e: int) -> Match:
        feed, local = fx.locate(e)
        ents = fx.parts[feed]
        plen = ents.plen[local]
        return Match(format_cidr(fx.version, ents.first(local), plen), fx.version, plen,
                     self.sources[feed], ents.conf[local],
                     ents.refs.get(local) if ents.refs else None)

    def lookup_int(self, version: int, value: int) -> Match | None:
        if version == 4:
            e = self.v4.find(value)
            return self._match(self.v4, e) if e >= 0 else None
        e = self.v6.find(value)
        if e >= 0:
            return self._match(self.v6, e)
        # An IPv4-mapped IPv6 address (::ffff:a.b.c.d) also matches IPv4 indicators.
        if value >> 32 == MAPPED_V4_PREFIX >> 32 and 0 <= value <= V6_MAX:
            e = self.v4.find(value & 0xFFFFFFFF)
            if e >= 0:
                return self._match(self.v4, e)
        return None

    def lookup(self, addr) -> Match | None:
        """Most specific indicator for an address (text, ipaddress object or bytes)."""
        version, value = parse_address(addr)
        return self.lookup_int(version, value)

    def __contains__(self, addr) -> bool:
        return self.lookup(addr) is not None

    def covered_addresses(self, version: int) -> int:
        return (self.v4 if version == 4 else self.v6).covered()

    def stats(self) -> dict:
        return {"entries": len(self), "unique": self.unique,
                "v4_entries": self.v4.entries, "v6_entries": self.v6.entries,
                "v4_segments": len(self.v4.seg_entry), "v6_segments": len(self.v6.seg_entry)}
