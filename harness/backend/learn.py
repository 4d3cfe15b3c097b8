"""Baseline learning: propose a security-groups file from a training recording.

``python -m harness.backend learn --recording train.jsonl --registry registry.yaml
--out proposed-groups.yaml [--window PT5M] [--margin 0.2] [--v4-prefix 32]
[--v6-prefix 128]``

For every security group (devices grouped by their ``SecurityGroup`` tag, as
the back end does) it observes:

* remote peers of **outbound** records (direction rule of :mod:`.direction`;
  ``both`` counts for both lists) → a ``ConnectionToIpNotAllowed`` allowlist,
  and of **inbound** records → a ``ConnectionFromIpNotAllowed`` allowlist
  (written even when empty: no inbound connection was seen, so none is
  expected). Addresses are widened to ``--v4-prefix`` / ``--v6-prefix``
  (default /32 and /128: exact) and adjacent networks are merged;
* remote (outbound) and local (inbound) ports — written as comments, since
  the groups format has no port rules;
* per-device counts per epoch-aligned window of ``--window`` for active
  connections, D2C messages and every hub counter that occurred. Complete
  windows only (see :mod:`.windows`), or all windows if there is no complete
  one. The proposed range is ``floor(min * (1 - margin)) ..
  ceil(max * (1 + margin))`` (and at least one above the observed maximum).

The output is a groups file in the format of :mod:`.groups`, loadable as is,
with comments on what was observed; it is checked by loading it before it is
written. It is a proposal for a person to review, not a verdict.
"""

from __future__ import annotations

import base64
import ipaddress
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field

import yaml

from .direction import DEFAULT_SERVICE_PORTS, record_direction, connection_key
from .engine import ACTIVE, D2C, HUB_EVENT_METRICS, SECURITY_IFID, _default_decode
from .groups import DeviceRegistry, SecurityGroups, format_duration
from .records import BadLine, as_record
from .windows import WindowTracker

_COUNTED = [ACTIVE, D2C] + sorted(set(HUB_EVENT_METRICS.values()))


@dataclass
class GroupObservation:
    name: str
    devices: set = field(default_factory=set)
    outbound: set = field(default_factory=set)      # ip_address objects
    inbound: set = field(default_factory=set)
    remote_ports: dict = field(default_factory=lambda: defaultdict(int))
    local_ports: dict = field(default_factory=lambda: defaultdict(int))
    counts: dict = field(default_factory=lambda: defaultdict(list))        # metric -> [count]
    partial_counts: dict = field(default_factory=lambda: defaultdict(list))
    metrics_seen: set = field(default_factory=set)


@dataclass
class LearnResult:
    groups: dict
    window: float
    margin: float
    v4_prefix: int
    v6_prefix: int
    records: int = 0
    security_messages: int = 0
    undecodable: int = 0
    start: float | None = None
    end: float | None = None


def learn(records, registry=None, window: float = 300.0, margin: float = 0.2,
          v4_prefix: int = 32, v6_prefix: int = 128, service_ports=DEFAULT_SERVICE_PORTS,
          decode=None) -> LearnResult:
    registry = DeviceRegistry.load(registry)
    decode = decode or _default_decode
    groups: dict[str, GroupObservation] = {g: GroupObservation(g) for g in registry.groups_in_use()}
    res = LearnResult(groups, window, margin, v4_prefix, v6_prefix)
    tracker = WindowTracker(lambda dev: [(m, window, m == ACTIVE) for m in _COUNTED])

    def obs(dev) -> GroupObservation:
        g = registry.group_of(dev)
        o = groups.get(g)
        if o is None:
            o = groups[g] = GroupObservation(g)
        o.devices.add(dev)
        return o

    def collect(closed):
        for w in closed:
            o = obs(w.device_id)
            (o.counts if w.complete else o.partial_counts)[w.metric].append(w.count)

    for item in records:
        if isinstance(item, BadLine):
            continue
        rec = as_record(item)
        try:
            t = float(rec["t"])
        except (KeyError, TypeError, ValueError):
            continue
        res.records += 1
        res.start = t if res.start is None else min(res.start, t)
        res.end = t if res.end is None else max(res.end, t)
        collect(tracker.advance(t))
        kind = rec.get("kind")
        if kind in ("d2c", "d2c_module") and rec.get("device_id"):
            dev = rec["device_id"]
            o = obs(dev)
            tracker.add(dev, D2C, t)
            o.metrics_seen.add(D2C)
            if (rec.get("properties") or {}).get("$.ifid") != SECURITY_IFID:
                continue
            try:
                msg = decode(base64.b64decode(rec.get("payload_b64") or ""))
            except Exception:
                res.undecodable += 1
                continue
            res.security_messages += 1
            for ev in msg.events:
                if getattr(ev.payload_type, "name", "") != "NETWORK_ACTIVITY":
                    continue
                for conn in list(ev.payload.ipv4) + list(ev.payload.ipv6):
                    d = record_direction(conn, service_ports)
                    if d.is_outbound:
                        o.outbound.add(conn.remote_address)
                        o.remote_ports[conn.remote_port] += 1
                    if d.is_inbound:
                        o.inbound.add(conn.remote_address)
                        o.local_ports[conn.local_port] += 1
                    tracker.add(dev, ACTIVE, t, connection_key(conn))
                    o.metrics_seen.add(ACTIVE)
        elif kind == "hub_event" and isinstance(rec.get("event"), dict):
            ev = rec["event"]
            dev = ev.get("device_id") or rec.get("device_id")
            metric = HUB_EVENT_METRICS.get(ev.get("event"))
            if dev:
                tracker.device_seen(dev, t)
                obs(dev)
                if metric:
                    tracker.add(dev, metric, t)
                    obs(dev).metrics_seen.add(metric)
    collect(tracker.flush())
    return res


def aggregate(addresses, v4_prefix: int, v6_prefix: int) -> list[str]:
    nets = []
    for a in addresses:
        plen = v4_prefix if a.version == 4 else v6_prefix
        nets.append(ipaddress.ip_network(f"{a}/{plen}", strict=False))
    out = []
    for version in (4, 6):
        out.extend(str(n) for n in ipaddress.collapse_addresses(x for x in nets if x.version == version))
    return out


def _range(counts: list[int], margin: float) -> tuple[int, int]:
    lo, hi = min(counts), max(counts)
    pmin = max(0, math.floor(lo * (1 - margin)))
    pmax = max(hi + 1, math.ceil(hi * (1 + margin)))
    return pmin, pmax


def _ports(d: dict, limit: int = 20) -> str:
    items = sorted(d.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    text = ", ".join(f"{p} (x{n})" for p, n in items)
    return text + (" …" if len(d) > limit else "") if text else "none"


def render(res: LearnResult) -> str:
    """The proposed groups file as YAML text with comments."""
    wtext = format_duration(res.window)
    lines = [
        "# Proposed device security groups, learned from a training recording.",
        f"# Records: {res.records}, security messages: {res.security_messages}"
        + (f", undecodable: {res.undecodable}" if res.undecodable else "")
        + (f", span: {res.end - res.start:.0f} s" if res.start is not None else ""),
        f"# Window {wtext}, margin {res.margin:g}, address aggregation /{res.v4_prefix} (IPv4), "
        f"/{res.v6_prefix} (IPv6).",
        "# Review before use: this lists what was observed, not what should be allowed.",
        "groups:",
    ]
    for name in sorted(res.groups, key=lambda n: (n != "default", n)):
        o = res.groups[name]
        lines.append(f"  {_q(name)}:")
        lines.append(f"    # devices observed: {', '.join(sorted(o.devices)) or 'none'}")
        if not o.devices:
            lines.append("    # no traffic observed for this group: no rules proposed")
            lines.append("    timeWindowRules: []")
            continue
        lines.append("    timeWindowRules:")
        any_tw = False
        for metric in _COUNTED:
            counts = o.counts.get(metric) or o.partial_counts.get(metric)
            if metric not in o.metrics_seen and metric not in (ACTIVE, D2C):
                continue
            if not counts:
                continue
            basis = "complete" if o.counts.get(metric) else "partial (no complete window)"
            pmin, pmax = _range(counts, res.margin)
            lines.append(f"      # observed per device per {wtext} ({basis} windows, n={len(counts)}):"
                         f" min {min(counts)}, max {max(counts)}")
            lines += [f"      - ruleType: {metric}", "        isEnabled: true",
                      f"        minThreshold: {pmin}", f"        maxThreshold: {pmax}",
                      f"        timeWindowSize: {wtext}"]
            any_tw = True
        if not any_tw:
            lines[-1] = "    timeWindowRules: []"
        out_nets = aggregate(o.outbound, res.v4_prefix, res.v6_prefix)
        in_nets = aggregate(o.inbound, res.v4_prefix, res.v6_prefix)
        lines.append("    allowlistRules:")
        lines.append(f"      # outbound peers: {len(o.outbound)} address(es); remote ports: "
                     f"{_ports(o.remote_ports)}")
        lines += ["      - ruleType: ConnectionToIpNotAllowed", "        isEnabled: true"]
        lines.append("        allowlistValues:" + ("" if out_nets else " []"))
        lines += [f"          - {_q(n)}" for n in out_nets]
        lines.append(f"      # inbound peers: {len(o.inbound)} address(es); local ports: "
                     f"{_ports(o.local_ports)}"
                     + ("" if in_nets else " — no inbound connection observed"))
        lines += ["      - ruleType: ConnectionFromIpNotAllowed", "        isEnabled: true"]
        lines.append("        allowlistValues:" + ("" if in_nets else " []"))
        lines += [f"          - {_q(n)}" for n in in_nets]
    text = "\n".join(lines) + "\n"
    SecurityGroups.from_dict(yaml.safe_load(text), "<learned groups>")   # must load back
    return text


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_proposed_groups(res: LearnResult, path) -> str:
    text = render(res)
    path = os.fspath(path)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return text
