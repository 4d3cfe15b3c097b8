"""Device security groups (the ``deviceSecurityGroups`` resource) and the device registry.

Groups file (YAML or JSON)::

    groups:
      default:
        timeWindowRules:
          - ruleType: ActiveConnectionsNotInAllowedRange
            isEnabled: true
            minThreshold: 0
            maxThreshold: 30
            timeWindowSize: PT5M          # ISO-8601: PnDTnHnMnS (no years/months)
        allowlistRules:
          - ruleType: ConnectionToIpNotAllowed
            isEnabled: true
            allowlistValues: [192.0.2.0/24, "2001:db8::/32"]
        denylistRules:
          - ruleType: ConnectionToIpNotAllowed
            isEnabled: true
            denylistValues: [203.0.113.66]
        thresholdRules:
          - ruleType: MqttD2CMessagesNotInAllowedRange
            isEnabled: true
            minThreshold: 0
            maxThreshold: 1000

``groups`` may also be a list in the ARM shape, ``[{name: default, properties:
{timeWindowRules: …}}]``. The server-populated fields ``displayName``,
``description`` and ``valueType`` are accepted and ignored. Every list is
optional; any other key, an unknown or misplaced ``ruleType``, a bad CIDR or
duration, ``minThreshold > maxThreshold``, a negative or non-integer threshold
or a missing field is a :class:`GroupsError` naming the file, group and rule.

Which list takes which ruleType:

* ``timeWindowRules`` / ``thresholdRules`` — the count rules
  (:data:`COUNT_RULE_TYPES`). A time-window rule counts per tumbling window; a
  threshold rule has no window and counts over the whole run (see
  :mod:`.windows`).
* ``allowlistRules`` / ``denylistRules`` — ``ConnectionToIpNotAllowed``
  (outbound) and ``ConnectionFromIpNotAllowed`` (inbound), values are IPv4/IPv6
  addresses or CIDRs. An empty ``allowlistValues`` allows nothing.

ruleTypes that exist in the API but not for RTOS devices (LocalUserNotAllowed,
ProcessNotAllowed, the AMQP/HTTP/FileUpload counters …) are rejected with a
message saying so.

Devices are mapped to groups by the registry tag ``SecurityGroup``; a device
without it (or unknown to the registry) is in ``default``. A group named by a
tag but absent from the groups file has no rules.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from .errors import GroupsError
from .threatintel.addr import AddressError, format_cidr, parse_cidr
from .threatintel.index import FamilyEntries, Index

DEFAULT_GROUP = "default"
GROUP_TAG = "SecurityGroup"

#: Count rule types, and the data each is evaluated from (see README).
COUNT_RULE_TYPES = {
    "ActiveConnectionsNotInAllowedRange": "distinct 5-tuples in NetworkActivity records",
    "MqttD2CMessagesNotInAllowedRange": "d2c and d2c_module records (security messages included)",
    "MqttC2DMessagesNotInAllowedRange": "hub_event c2d_sent",
    "MqttC2DRejectedMessagesNotInAllowedRange": "hub_event c2d_rejected (not emitted by the lab hub yet)",
    "DirectMethodInvokesNotInAllowedRange": "hub_event method_invoked",
    "TwinUpdatesNotInAllowedRange": "hub_event twin_updated",
    "UnauthorizedOperationsNotInAllowedRange": "hub_event publish_denied, subscribe_denied, connect_refused",
    "QueuePurgesNotInAllowedRange": "hub_event queue_purged (not emitted by the lab hub yet)",
}
IP_RULE_TYPES = {
    "ConnectionToIpNotAllowed": "outbound",
    "ConnectionFromIpNotAllowed": "inbound",
}
NOT_FOR_RTOS = {
    "LocalUserNotAllowed", "ProcessNotAllowed", "FailedLocalLoginsNotInAllowedRange",
    "AmqpC2DMessagesNotInAllowedRange", "AmqpC2DRejectedMessagesNotInAllowedRange",
    "AmqpD2CMessagesNotInAllowedRange", "HttpC2DMessagesNotInAllowedRange",
    "HttpC2DRejectedMessagesNotInAllowedRange", "HttpD2CMessagesNotInAllowedRange",
    "FileUploadsNotInAllowedRange",
}
LISTS = {
    "timeWindowRules": COUNT_RULE_TYPES,
    "thresholdRules": COUNT_RULE_TYPES,
    "allowlistRules": IP_RULE_TYPES,
    "denylistRules": IP_RULE_TYPES,
}
_IGNORED = {"displayName", "description", "valueType"}
_FIELDS = {
    "timeWindowRules": {"ruleType", "isEnabled", "minThreshold", "maxThreshold", "timeWindowSize"},
    "thresholdRules": {"ruleType", "isEnabled", "minThreshold", "maxThreshold"},
    "allowlistRules": {"ruleType", "isEnabled", "allowlistValues"},
    "denylistRules": {"ruleType", "isEnabled", "denylistValues"},
}

_DURATION_RE = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text) -> float:
    """Seconds of an ISO-8601 duration such as PT5M, PT30S, PT1H, P1DT2H (> 0).

    Years and months are rejected (their length is not fixed).
    """
    if not isinstance(text, str):
        raise ValueError(f"duration must be an ISO-8601 string like PT5M, not {text!r}")
    m = _DURATION_RE.match(text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise ValueError(f"bad ISO-8601 duration {text!r} (expected e.g. PT30S, PT5M, PT1H, P1D)")
    g = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    secs = g["w"] * 604800 + g["d"] * 86400 + g["h"] * 3600 + g["m"] * 60 + g["s"]
    if secs <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return secs


def format_duration(seconds: float) -> str:
    s = int(seconds)
    if s != seconds:
        return f"PT{seconds:g}S"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return "PT" + (f"{h}H" if h else "") + (f"{m}M" if m else "") + (f"{sec}S" if sec or not s else "")


class CidrSet:
    """A small set of IPv4/IPv6 networks with a most-specific ``match``."""

    def __init__(self, values=(), name: str = "list"):
        self.values: tuple[str, ...] = ()
        v4, v6 = FamilyEntries(4), FamilyEntries(6)
        canon = []
        for v in values:
            version, first, plen = parse_cidr(str(v).strip())   # AddressError to the caller
            (v4 if version == 4 else v6).append(first, plen, 100)
            canon.append(format_cidr(version, first, plen))
        self.values = tuple(canon)
        self._index = Index([(name, v4, v6)])

    def match(self, addr) -> str | None:
        """The most specific listed network containing ``addr`` (text), or None."""
        m = self._index.lookup(addr)
        return m.indicator if m else None

    def __contains__(self, addr) -> bool:
        return self._index.lookup(addr) is not None

    def __len__(self):
        return len(self.values)

    def __repr__(self):
        return f"CidrSet({list(self.values)!r})"


@dataclass(frozen=True)
class CountRule:
    """A timeWindowRules or thresholdRules item."""

    rule_type: str
    kind: str                      # "timeWindow" | "threshold"
    enabled: bool
    min: int
    max: int
    window: float | None           # seconds; None for threshold rules
    window_text: str | None = None

    def to_dict(self) -> dict:
        d = {"ruleType": self.rule_type, "isEnabled": self.enabled,
             "minThreshold": self.min, "maxThreshold": self.max}
        if self.window_text:
            d["timeWindowSize"] = self.window_text
        return d


@dataclass(frozen=True, eq=False)
class IpListRule:
    """An allowlistRules or denylistRules item."""

    rule_type: str
    kind: str                      # "allowlist" | "denylist"
    enabled: bool
    cidrs: CidrSet

    @property
    def direction(self) -> str:
        return IP_RULE_TYPES[self.rule_type]

    def to_dict(self) -> dict:
        key = "allowlistValues" if self.kind == "allowlist" else "denylistValues"
        return {"ruleType": self.rule_type, "isEnabled": self.enabled, key: list(self.cidrs.values)}


@dataclass
class SecurityGroup:
    name: str
    time_window_rules: list[CountRule] = field(default_factory=list)
    threshold_rules: list[CountRule] = field(default_factory=list)
    allowlist_rules: list[IpListRule] = field(default_factory=list)
    denylist_rules: list[IpListRule] = field(default_factory=list)

    def count_rules(self, enabled_only: bool = True) -> list[CountRule]:
        return [r for r in self.time_window_rules + self.threshold_rules
                if r.enabled or not enabled_only]

    def allowlists(self, rule_type: str) -> list[IpListRule]:
        return [r for r in self.allowlist_rules if r.enabled and r.rule_type == rule_type]

    def denylists(self, rule_type: str) -> list[IpListRule]:
        return [r for r in self.denylist_rules if r.enabled and r.rule_type == rule_type]

    def to_dict(self) -> dict:
        return {"timeWindowRules": [r.to_dict() for r in self.time_window_rules],
                "allowlistRules": [r.to_dict() for r in self.allowlist_rules],
                "denylistRules": [r.to_dict() for r in self.denylist_rules],
                "thresholdRules": [r.to_dict() for r in self.threshold_rules]}


class SecurityGroups:
    """All groups of a groups file; ``get(name)`` never fails (empty group)."""

    def __init__(self, groups: dict[str, SecurityGroup] | None = None, path: str | None = None):
        self.groups = dict(groups or {})
        self.path = path
        self.groups.setdefault(DEFAULT_GROUP, SecurityGroup(DEFAULT_GROUP))

    def get(self, name: str | None) -> SecurityGroup:
        name = name or DEFAULT_GROUP
        g = self.groups.get(name)
        if g is None:
            g = SecurityGroup(name)
        return g

    def __contains__(self, name) -> bool:
        return name in self.groups

    def names(self) -> list[str]:
        return list(self.groups)

    def to_dict(self) -> dict:
        return {"groups": {n: g.to_dict() for n, g in self.groups.items()}}

    @classmethod
    def from_dict(cls, doc, path: str = "<groups>") -> "SecurityGroups":
        return cls(_parse_groups(doc, path), path)


def _load_doc(path: str, err):
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise err(f"cannot read file: {e.strerror}", path) from None
    try:
        if path.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)
    except ValueError as e:
        raise err(f"not valid JSON: {e}", path) from None
    except yaml.YAMLError as e:
        raise err(f"not valid YAML: {e}", path) from None


def load_groups(path) -> SecurityGroups:
    path = os.fspath(path)
    return SecurityGroups.from_dict(_load_doc(path, GroupsError), path)


def _int_field(item, key, path, group, rule) -> int:
    if key not in item:
        raise GroupsError(f"missing {key}", path, group, rule)
    v = item[key]
    if isinstance(v, bool) or not isinstance(v, int):
        raise GroupsError(f"{key} must be an integer, not {v!r}", path, group, rule)
    if v < 0:
        raise GroupsError(f"{key} must not be negative ({v})", path, group, rule)
    return v


def _parse_rule(list_name, i, item, path, group):
    label = f"{list_name}[{i}]"
    if not isinstance(item, dict):
        raise GroupsError("a rule must be a mapping", path, group, label)
    rtype = item.get("ruleType")
    if rtype is None:
        raise GroupsError("missing ruleType", path, group, label)
    label = f"{list_name}[{i}] {rtype}"
    allowed = LISTS[list_name]
    if rtype not in allowed:
        if rtype in NOT_FOR_RTOS:
            raise GroupsError(f"ruleType {rtype} exists in the API but does not apply to "
                              "RTOS devices; not supported", path, group, label)
        home = [ln for ln, types in LISTS.items() if rtype in types]
        if home:
            raise GroupsError(f"ruleType {rtype} does not belong in {list_name} "
                              f"(it goes in {' or '.join(home)})", path, group, label)
        raise GroupsError(f"unknown ruleType {rtype!r}", path, group, label)
    extra = set(item) - _FIELDS[list_name] - _IGNORED
    if extra:
        raise GroupsError(f"unknown keys {sorted(extra)}", path, group, label)
    if "isEnabled" not in item:
        raise GroupsError("missing isEnabled", path, group, label)
    enabled = item["isEnabled"]
    if not isinstance(enabled, bool):
        raise GroupsError(f"isEnabled must be true or false, not {enabled!r}", path, group, label)
    if list_name in ("timeWindowRules", "thresholdRules"):
        lo = _int_field(item, "minThreshold", path, group, label)
        hi = _int_field(item, "maxThreshold", path, group, label)
        if lo > hi:
            raise GroupsError(f"minThreshold {lo} > maxThreshold {hi}", path, group, label)
        window = text = None
        if list_name == "timeWindowRules":
            if "timeWindowSize" not in item:
                raise GroupsError("missing timeWindowSize", path, group, label)
            text = item["timeWindowSize"]
            try:
                window = parse_duration(text)
            except ValueError as e:
                raise GroupsError(str(e), path, group, label) from None
        return CountRule(rtype, "timeWindow" if window else "threshold", enabled, lo, hi,
                         window, text)
    key = "allowlistValues" if list_name == "allowlistRules" else "denylistValues"
    if key not in item:
        raise GroupsError(f"missing {key}", path, group, label)
    values = item[key]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise GroupsError(f"{key} must be a list of CIDR strings", path, group, label)
    if "valueType" in item and item["valueType"] != "IpCidr":
        raise GroupsError(f"valueType must be IpCidr, not {item['valueType']!r}", path, group, label)
    try:
        cidrs = CidrSet(values, name=f"{group}/{rtype}")
    except AddressError as e:
        raise GroupsError(f"bad CIDR in {key}: {e}", path, group, label) from None
    return IpListRule(rtype, "allowlist" if key == "allowlistValues" else "denylist", enabled, cidrs)


def _parse_groups(doc, path) -> dict[str, SecurityGroup]:
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise GroupsError("expected a mapping with 'groups'", path)
    extra = set(doc) - {"groups"}
    if extra:
        raise GroupsError(f"unknown top-level keys {sorted(extra)} (expected 'groups')", path)
    raw = doc.get("groups") or {}
    items: list[tuple[str, object]] = []
    if isinstance(raw, dict):
        items = list(raw.items())
    elif isinstance(raw, list):                       # ARM shape
        for i, g in enumerate(raw):
            if not isinstance(g, dict) or "name" not in g:
                raise GroupsError(f"groups[{i}] must be a mapping with 'name'", path)
            bad = set(g) - {"name", "properties", "id", "type"}
            if bad:
                raise GroupsError(f"unknown keys {sorted(bad)}", path, str(g["name"]))
            items.append((g["name"], g.get("properties") or {}))
    else:
        raise GroupsError("'groups' must be a mapping of name -> rules (or a list)", path)
    out: dict[str, SecurityGroup] = {}
    for name, body in items:
        if not isinstance(name, str) or not name:
            raise GroupsError(f"group name must be a non-empty string, not {name!r}", path)
        if name in out:
            raise GroupsError("group defined twice", path, name)
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise GroupsError("group body must be a mapping of rule lists", path, name)
        extra = set(body) - set(LISTS)
        if extra:
            raise GroupsError(f"unknown keys {sorted(extra)} (expected {', '.join(LISTS)})",
                              path, name)
        g = SecurityGroup(name)
        for list_name in LISTS:
            rules = body.get(list_name) or []
            if not isinstance(rules, list):
                raise GroupsError(f"{list_name} must be a list", path, name)
            parsed = [_parse_rule(list_name, i, r, path, name) for i, r in enumerate(rules)]
            {"timeWindowRules": g.time_window_rules, "thresholdRules": g.threshold_rules,
             "allowlistRules": g.allowlist_rules, "denylistRules": g.denylist_rules}[list_name] \
                .extend(parsed)
        out[name] = g
    return out


# ---------------------------------------------------------------------------
# device registry (+ hub IP filter)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class IpFilterRule:
    name: str
    action: str          # Accept | Reject
    ip_mask: str         # canonical CIDR
    version: int
    prefixlen: int


@dataclass(frozen=True)
class IpFilter:
    default_action: str
    rules: tuple[IpFilterRule, ...] = ()


@dataclass
class DeviceRegistry:
    """Device id -> twin tags, plus the hub's optional IP filter config.

    File (YAML or JSON)::

        devices:
          - id: dev-1
            key: "base64…"                 # not used by the back end
            tags: {SecurityGroup: cameras}
        ipFilter:                          # optional
          defaultAction: Accept            # Accept | Reject
          rules:
            - {name: lab, action: Accept, ipMask: 192.0.2.0/24}

    Other keys of a device entry and other top-level keys belong to the hub's
    registry format and are ignored here. A plain mapping ``{device_id: tags}``
    is accepted by :meth:`from_mapping`.
    """

    devices: dict[str, dict] = field(default_factory=dict)
    ip_filter: IpFilter | None = None
    path: str | None = None

    def tags(self, device_id: str | None) -> dict:
        return self.devices.get(device_id or "", {})

    def group_of(self, device_id: str | None) -> str:
        g = self.tags(device_id).get(GROUP_TAG)
        return g if isinstance(g, str) and g else DEFAULT_GROUP

    def groups_in_use(self) -> list[str]:
        seen = [DEFAULT_GROUP]
        for d in self.devices:
            g = self.group_of(d)
            if g not in seen:
                seen.append(g)
        return seen

    @classmethod
    def from_mapping(cls, mapping: dict, ip_filter: IpFilter | None = None) -> "DeviceRegistry":
        devices = {}
        for dev, tags in (mapping or {}).items():
            if not isinstance(tags, dict):
                raise GroupsError(f"tags of device {dev!r} must be a mapping", "<registry>")
            devices[str(dev)] = dict(tags)
        return cls(devices, ip_filter)

    @classmethod
    def from_dict(cls, doc, path: str = "<registry>") -> "DeviceRegistry":
        if doc is None:
            doc = {}
        if not isinstance(doc, dict):
            raise GroupsError("registry must be a mapping with 'devices'", path)
        devs = doc.get("devices") or []
        devices: dict[str, dict] = {}
        if isinstance(devs, dict):                 # {id: {tags: …}} form
            devs = [{"id": k, **(v or {})} for k, v in devs.items()]
        if not isinstance(devs, list):
            raise GroupsError("'devices' must be a list", path)
        for i, d in enumerate(devs):
            if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not d["id"]:
                raise GroupsError(f"devices[{i}] needs an 'id' string", path)
            tags = d.get("tags")
            tags = {} if tags is None else tags
            if not isinstance(tags, dict):
                raise GroupsError(f"devices[{i}] ({d['id']}): 'tags' must be a mapping", path)
            grp = tags.get(GROUP_TAG)
            if grp is not None and (not isinstance(grp, str) or not grp):
                raise GroupsError(f"devices[{i}] ({d['id']}): tag {GROUP_TAG} must be a non-empty "
                                  "string", path)
            if d["id"] in devices:
                raise GroupsError(f"device {d['id']!r} listed twice", path)
            devices[d["id"]] = dict(tags)
        ipf = doc.get("ipFilter")
        return cls(devices, _parse_ip_filter(ipf, path) if ipf is not None else None, path)

    @classmethod
    def load(cls, source) -> "DeviceRegistry":
        """From a path (YAML/JSON), a dict ({devices: …} or {id: tags}) or None."""
        if source is None:
            return cls()
        if isinstance(source, DeviceRegistry):
            return source
        if isinstance(source, dict):
            if "devices" in source or "ipFilter" in source:
                return cls.from_dict(source)
            return cls.from_mapping(source)
        path = os.fspath(source)
        return cls.from_dict(_load_doc(path, GroupsError), path)


def _parse_ip_filter(doc, path) -> IpFilter:
    if not isinstance(doc, dict):
        raise GroupsError("ipFilter must be a mapping", path)
    extra = set(doc) - {"defaultAction", "rules"}
    if extra:
        raise GroupsError(f"ipFilter: unknown keys {sorted(extra)}", path)
    action = doc.get("defaultAction", "Accept")
    if action not in ("Accept", "Reject"):
        raise GroupsError(f"ipFilter.defaultAction must be Accept or Reject, not {action!r}", path)
    rules = []
    for i, r in enumerate(doc.get("rules") or []):
        if not isinstance(r, dict):
            raise GroupsError(f"ipFilter.rules[{i}] must be a mapping", path)
        extra = set(r) - {"name", "action", "ipMask"}
        if extra:
            raise GroupsError(f"ipFilter.rules[{i}]: unknown keys {sorted(extra)}", path)
        missing = {"name", "action", "ipMask"} - set(r)
        if missing:
            raise GroupsError(f"ipFilter.rules[{i}]: missing {sorted(missing)}", path)
        if r["action"] not in ("Accept", "Reject"):
            raise GroupsError(f"ipFilter.rules[{i}].action must be Accept or Reject", path)
        try:
            version, first, plen = parse_cidr(str(r["ipMask"]).strip())
        except AddressError as e:
            raise GroupsError(f"ipFilter.rules[{i}].ipMask: {e}", path) from None
        rules.append(IpFilterRule(str(r["name"]), r["action"], format_cidr(version, first, plen)
                                  if plen != (32 if version == 4 else 128)
                                  else f"{format_cidr(version, first, plen)}/{plen}",
                                  version, plen))
    return IpFilter(action, tuple(rules))
