"""Feed parsers: plain lists, CSV, STIX 2.1 bundles and bare STIX observables.

Every parser returns a :class:`FeedData` and raises
:class:`harness.backend.errors.FeedError` naming the file and line of the first
problem. A feed is all-or-nothing: one bad line rejects the whole file, so a
half-written or corrupted feed never replaces a good one.

Formats
-------
``list``
    One address or CIDR network per line (``192.0.2.1``, ``2001:db8::/32``).
    ``#`` and ``;`` start a comment anywhere on a line (FireHOL ``#`` headers,
    Spamhaus ``net ; SBLnnn`` and ``; EOF``). Blank lines are ignored. Anything
    else left on the line is an error.

``csv``
    ``column`` names the indicator column, by header name (a header row is then
    required) or by 0-based index. Without ``column``, a header row is searched
    for a usual name (``ip``, ``dst_ip``, ``indicator`` …) and column 0 is used
    otherwise. A header row is detected as the first non-comment row in which
    the chosen column does not parse as an address. Lines starting with ``#``
    (banners, trailers) and blank lines are skipped; fields may be quoted; the
    last line need not end with a newline. ``where`` keeps only rows whose named
    columns hold one of the given values (e.g. ``{c2_status: online}``);
    ``confidence_column`` reads a per-row confidence.

``stix``
    A STIX 2.1 (or 2.0) **bundle**. Each ``indicator`` object is validated with
    the ``stix2`` library and its pattern parsed with the stix2 pattern parser.
    IPs are taken from comparisons ``ipv4-addr:value`` / ``ipv6-addr:value``
    with ``=`` (or ``IN (…)``, or ``ISSUBSET 'cidr'``) that are reachable
    through ``OR`` only, so in ``[domain-name:value = 'x' OR ipv4-addr:value =
    '1.2.3.4']`` the address is an indicator on its own. Comparisons under
    ``AND``/``FOLLOWEDBY`` or negated ones are not enough by themselves and are
    skipped; qualifiers (``WITHIN``, ``REPEATS``, ``START/STOP``) are ignored.
    CIDR values become networks. Revoked indicators, non-``stix`` pattern types
    and all non-indicator objects are skipped. Confidence is the indicator's
    ``confidence`` when present, else the feed default. A bare JSON array is
    rejected with a clear error (it is not a bundle).

``stix-observables``
    A bundle *or* a bare JSON array of STIX cyber-observable objects; every
    ``ipv4-addr``/``ipv6-addr`` object's ``value`` (address or CIDR, IPv6 in
    full or compressed form) is an indicator. This is the deliberate way to load
    a file such as an SCO example array.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import struct
from dataclasses import dataclass, field

from ..errors import FeedError
from .addr import AddressError, parse_cidr
from .index import FamilyEntries

FORMATS = ("list", "csv", "stix", "stix-observables")

_CSV_COLUMN_NAMES = ("ip", "ip_address", "ipaddress", "dst_ip", "ip_addr", "address", "addr",
                     "indicator", "value", "network", "cidr", "ioc")


@dataclass
class FeedData:
    """Parsed entries of one feed."""

    v4: FamilyEntries = field(default_factory=lambda: FamilyEntries(4))
    v6: FamilyEntries = field(default_factory=lambda: FamilyEntries(6))
    skipped: int = 0          # objects/rows deliberately skipped (not IP indicators)

    def __len__(self) -> int:
        return len(self.v4) + len(self.v6)

    def add(self, version: int, first: int, plen: int, conf: int, ref: str | None = None) -> None:
        (self.v4 if version == 4 else self.v6).append(first, plen, conf, ref)


def read_bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FeedError("feed file does not exist", path) from None
    except IsADirectoryError:
        raise FeedError("feed path is a directory", path) from None
    except OSError as e:
        raise FeedError(f"cannot read feed file: {e.strerror}", path) from None


def decode_text(path: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise FeedError(f"not valid UTF-8 text (byte {e.start})", path, line) from None


def _read_text(path: str) -> str:
    return decode_text(path, read_bytes(path))


def _check_conf(conf, path, line=None) -> int:
    if isinstance(conf, bool) or not isinstance(conf, int) or not 0 <= conf <= 100:
        raise FeedError(f"confidence must be an integer 0..100, not {conf!r}", path, line)
    return conf


# ---------------------------------------------------------------------------
# plain list
# ---------------------------------------------------------------------------
_COMMENT_RE = re.compile(r"[#;]")


def parse_list(path: str, confidence: int, text: str | None = None) -> FeedData:
    text = _read_text(path) if text is None else text
    data = FeedData()
    # The loop is hand-inlined: it runs once per line of million-line feeds.
    v4h, v4p, v4c = data.v4.hi, data.v4.plen, data.v4.conf
    v6h, v6l, v6p, v6c = data.v6.hi, data.v6.lo, data.v6.plen, data.v6.conf
    search = _COMMENT_RE.search
    pton, from_bytes = socket.inet_pton, int.from_bytes
    unpack_v6 = struct.Struct(">QQ").unpack
    af4, af6 = socket.AF_INET, socket.AF_INET6
    for lineno, line in enumerate(text.split("\n"), 1):
        if "#" in line or ";" in line:
            line = line[: search(line).start()]
        line = line.strip()
        if not line:
            continue
        if "/" not in line:            # a single address: the common case, inlined
            try:
                if ":" in line:
                    h, l = unpack_v6(pton(af6, line))
                    v6h.append(h)
                    v6l.append(l)
                    v6p.append(128)
                    v6c.append(confidence)
                else:
                    v4h.append(from_bytes(pton(af4, line), "big"))
                    v4p.append(32)
                    v4c.append(confidence)
                continue
            except (OSError, ValueError):
                pass
        # Networks and errors take the general path.
        try:
            version, first, plen = parse_cidr(line)
        except AddressError as e:
            if any(ch.isspace() for ch in line):
                raise FeedError(f"expected one address or CIDR per line, got {line!r}",
                                path, lineno) from None
            raise FeedError(str(e), path, lineno) from None
        data.add(version, first, plen, confidence)
    return data


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------
def parse_csv(path: str, confidence: int, column: str | int | None = None,
              delimiter: str = ",", where: dict | None = None,
              confidence_column: str | int | None = None, text: str | None = None) -> FeedData:
    text = _read_text(path) if text is None else text
    data = FeedData()
    current = [0]

    def lines():
        for lineno, line in enumerate(text.split("\n"), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            current[0] = lineno
            yield line.rstrip("\r")

    try:
        reader = csv.reader(lines(), delimiter=delimiter, strict=True)
        rows = ((current[0], row) for row in reader)
        col_idx: int | None = None
        conf_idx: int | None = None
        where_idx: list[tuple[int, set]] = []
        first_row = True
        for lineno, row in rows:
            if first_row:
                first_row = False
                header = [h.strip().lower() for h in row]
                col_idx, is_header = _csv_pick_column(path, lineno, header, row, column)
                if where or confidence_column is not None:
                    if not is_header and (where or isinstance(confidence_column, str)):
                        raise FeedError("'where'/'confidence_column' by name need a header row",
                                        path, lineno)
                    for name, allowed in (where or {}).items():
                        where_idx.append((_csv_index(path, lineno, header, name),
                                          {str(v) for v in (allowed if isinstance(allowed, list)
                                                            else [allowed])}))
                    if confidence_column is not None:
                        conf_idx = _csv_index(path, lineno, header, confidence_column)
                if is_header:
                    continue
            if col_idx >= len(row):
                raise FeedError(f"row has {len(row)} fields, indicator column is {col_idx}",
                                path, lineno)
            if any(i >= len(row) or row[i].strip() not in allowed for i, allowed in where_idx):
                data.skipped += 1
                continue
            value = row[col_idx].strip()
            try:
                version, first, plen = parse_cidr(value)
            except AddressError as e:
                raise FeedError(str(e), path, lineno) from None
            conf = confidence
            if conf_idx is not None:
                raw = row[conf_idx].strip() if conf_idx < len(row) else ""
                if not raw.isdigit():
                    raise FeedError(f"confidence {raw!r} is not an integer", path, lineno)
                conf = _check_conf(int(raw), path, lineno)
            data.add(version, first, plen, conf)
    except csv.Error as e:
        raise FeedError(f"CSV syntax: {e}", path, current[0]) from None
    return data


def _csv_index(path, lineno, header, name) -> int:
    if isinstance(name, int) and not isinstance(name, bool):
        return name
    key = str(name).strip().lower()
    if key not in header:
        raise FeedError(f"column {name!r} not in header {header}", path, lineno)
    return header.index(key)


def _looks_like_ip(value: str) -> bool:
    try:
        parse_cidr(value.strip())
        return True
    except AddressError:
        return False


def _csv_pick_column(path, lineno, header, row, column) -> tuple[int, bool]:
    """(column index, first row is a header)."""
    if isinstance(column, str) and not column.isdigit():
        return _csv_index(path, lineno, header, column), True
    if column is not None:
        idx = int(column)
        if idx < 0:
            raise FeedError(f"column index must be >= 0, not {idx}", path)
        is_header = idx >= len(row) or not _looks_like_ip(row[idx])
        return idx, is_header
    is_header = not any(_looks_like_ip(v) for v in row)
    if is_header:
        for name in _CSV_COLUMN_NAMES:
            if name in header:
                return header.index(name), True
        raise FeedError(f"no indicator column found in header {header}; set 'column'",
                        path, lineno)
    for i, v in enumerate(row):
        if _looks_like_ip(v):
            return i, False
    return 0, False  # unreachable: is_header would be True


# ---------------------------------------------------------------------------
# STIX
# ---------------------------------------------------------------------------
def _line_of(text: str, needle: str) -> int | None:
    pos = text.find(needle)
    return None if pos < 0 else text.count("\n", 0, pos) + 1


def _load_json(path: str, text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FeedError(f"invalid JSON: {e.msg}", path, e.lineno) from None


def _stix_ip_values(node, out: list[tuple[str, str]]) -> None:
    """Collect (object type, value) of IP comparisons reachable through OR only."""
    import stix2.patterns as P

    if isinstance(node, (P.ObservationExpression,)):
        _stix_ip_values(node.operand, out)
    elif isinstance(node, P.QualifiedObservationExpression):
        _stix_ip_values(node.observation_expression, out)
    elif isinstance(node, P.ParentheticalExpression):
        _stix_ip_values(node.expression, out)
    elif isinstance(node, (P.OrBooleanExpression, P.OrObservationExpression)):
        for op in node.operands:
            _stix_ip_values(op, out)
    elif isinstance(node, (P.EqualityComparisonExpression, P.InComparisonExpression,
                           P.IsSubsetComparisonExpression)):
        lhs = node.lhs
        if node.negated or lhs.object_type_name not in ("ipv4-addr", "ipv6-addr"):
            return
        if [str(c) for c in lhs.property_path] != ["value"]:
            return
        rhs = node.rhs
        consts = rhs.value if isinstance(rhs, P.ListConstant) else [rhs]
        for c in consts:
            if isinstance(c, P.StringConstant):
                out.append((lhs.object_type_name, c.value))
    # AND / FOLLOWEDBY / other comparisons: an IP there is not an indicator alone.


def _stix_objects(path: str, text: str, allow_array: bool) -> list:
    doc = _load_json(path, text)
    if isinstance(doc, list):
        if not allow_array:
            raise FeedError("top-level JSON array, not a STIX bundle; load it with format "
                            "'stix-observables' to take its ipv4-addr/ipv6-addr objects", path, 1)
        objects = doc
    elif isinstance(doc, dict) and doc.get("type") == "bundle":
        objects = doc.get("objects", [])
        if not isinstance(objects, list):
            raise FeedError("bundle 'objects' is not a list", path, _line_of(text, '"objects"'))
    elif isinstance(doc, dict):
        raise FeedError(f"not a STIX bundle (type {doc.get('type')!r})", path, 1)
    else:
        raise FeedError("not a STIX bundle", path, 1)
    for i, obj in enumerate(objects):
        if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
            raise FeedError(f"object #{i} of the bundle has no 'type'", path)
    return objects


def _stix_add_value(data: FeedData, path, text, obj_id, otype, value, conf, ref) -> None:
    try:
        version, first, plen = parse_cidr(str(value).strip())
    except AddressError as e:
        raise FeedError(f"{obj_id}: {e}", path, _line_of(text, obj_id)) from None
    if (otype == "ipv4-addr") != (version == 4):
        raise FeedError(f"{obj_id}: {otype} value {value!r} is IPv{version}", path,
                        _line_of(text, obj_id))
    data.add(version, first, plen, conf, ref)


def parse_stix(path: str, confidence: int, text: str | None = None) -> FeedData:
    import stix2
    from stix2.pattern_visitor import create_pattern_object

    text = _read_text(path) if text is None else text
    data = FeedData()
    for obj in _stix_objects(path, text, allow_array=False):
        if obj["type"] != "indicator":
            data.skipped += 1
            continue
        obj_id = str(obj.get("id", "indicator"))
        try:
            ind = stix2.parse(obj, allow_custom=True)
        except Exception as e:  # the stix2 library raises many kinds
            raise FeedError(f"{obj_id}: invalid STIX indicator: {e}", path,
                            _line_of(text, obj_id)) from None
        if ind.get("revoked", False) or ind.get("pattern_type", "stix") != "stix":
            data.skipped += 1
            continue
        spec = ind.get("spec_version", "2.0")
        try:
            pattern = create_pattern_object(ind["pattern"], version=spec if spec in ("2.0", "2.1") else "2.1")
        except Exception as e:
            raise FeedError(f"{obj_id}: invalid STIX pattern: {e}", path,
                            _line_of(text, obj_id)) from None
        values: list[tuple[str, str]] = []
        _stix_ip_values(pattern, values)
        if not values:
            data.skipped += 1
            continue
        conf = ind.get("confidence", None)
        conf = confidence if conf is None else _check_conf(conf, path, _line_of(text, obj_id))
        for otype, value in values:
            _stix_add_value(data, path, text, obj_id, otype, value, conf, obj_id)
    return data


def parse_stix_observables(path: str, confidence: int, text: str | None = None) -> FeedData:
    import stix2

    text = _read_text(path) if text is None else text
    data = FeedData()
    for obj in _stix_objects(path, text, allow_array=True):
        if obj["type"] not in ("ipv4-addr", "ipv6-addr"):
            data.skipped += 1
            continue
        obj_id = str(obj.get("id", obj["type"]))
        try:
            sco = stix2.parse(obj, allow_custom=True)
        except Exception as e:
            raise FeedError(f"{obj_id}: invalid STIX {obj['type']} object: {e}", path,
                            _line_of(text, obj_id)) from None
        _stix_add_value(data, path, text, obj_id, obj["type"], sco["value"], confidence, obj_id)
    return data
