"""Security-group files, the registry, durations and the direction rule."""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from harness.backend.direction import Direction, infer_direction
from harness.backend.errors import GroupsError
from harness.backend.groups import (COUNT_RULE_TYPES, DeviceRegistry, SecurityGroups,
                                    format_duration, load_groups, parse_duration)
from harness.errors import InputError

GOOD = {
    "groups": {
        "default": {
            "timeWindowRules": [
                {"ruleType": rt, "isEnabled": True, "minThreshold": 0, "maxThreshold": 10,
                 "timeWindowSize": "PT5M"} for rt in COUNT_RULE_TYPES],
            "allowlistRules": [
                {"ruleType": "ConnectionToIpNotAllowed", "isEnabled": True,
                 "allowlistValues": ["192.0.2.0/24", "2001:db8::/32"]},
                {"ruleType": "ConnectionFromIpNotAllowed", "isEnabled": False, "allowlistValues": []}],
            "denylistRules": [
                {"ruleType": "ConnectionToIpNotAllowed", "isEnabled": True,
                 "denylistValues": ["203.0.113.66"]}],
            "thresholdRules": [
                {"ruleType": "MqttD2CMessagesNotInAllowedRange", "isEnabled": True,
                 "minThreshold": 1, "maxThreshold": 100}],
        },
        "cameras": {"timeWindowRules": [
            {"ruleType": "ActiveConnectionsNotInAllowedRange", "isEnabled": True, "minThreshold": 1,
             "maxThreshold": 3, "timeWindowSize": "PT30S", "displayName": "x", "description": "y"}]},
        "empty": None,
    }
}


def test_load_yaml_and_json(tmp_path):
    for name, dump in (("g.yaml", yaml.safe_dump), ("g.json", json.dumps)):
        p = tmp_path / name
        p.write_text(dump(GOOD))
        g = load_groups(p)
        d = g.get("default")
        assert len(d.time_window_rules) == len(COUNT_RULE_TYPES)
        assert d.time_window_rules[0].window == 300
        assert d.allowlists("ConnectionToIpNotAllowed")[0].cidrs.match("2001:db8::1") == "2001:db8::/32"
        assert d.allowlists("ConnectionFromIpNotAllowed") == []          # disabled
        assert d.denylists("ConnectionToIpNotAllowed")[0].cidrs.match("203.0.113.66") == "203.0.113.66"
        assert d.threshold_rules[0].window is None
        assert g.get("cameras").time_window_rules[0].window == 30
        assert g.get("nonexistent").count_rules() == []                    # no rules, no error
        assert set(g.names()) == {"default", "cameras", "empty"}
        # round trip
        assert SecurityGroups.from_dict(g.to_dict()).to_dict() == g.to_dict()


def test_arm_shape():
    doc = {"groups": [{"name": "default", "properties": GOOD["groups"]["default"]},
                      {"name": "cameras", "properties": GOOD["groups"]["cameras"]}]}
    g = SecurityGroups.from_dict(doc)
    assert g.get("cameras").time_window_rules[0].max == 3


def _mutate(path, value):
    doc = copy.deepcopy(GOOD)
    node = doc
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


TW = ["groups", "default", "timeWindowRules", 0]
AL = ["groups", "default", "allowlistRules", 0]


@pytest.mark.parametrize("path,value,match,group,rule", [
    (TW + ["ruleType"], "Bogus", "unknown ruleType", "default", "Bogus"),
    (TW + ["ruleType"], "ConnectionToIpNotAllowed", "does not belong in timeWindowRules",
     "default", "ConnectionToIpNotAllowed"),
    (AL + ["ruleType"], "ActiveConnectionsNotInAllowedRange", "does not belong in allowlistRules",
     "default", "allowlistRules[0]"),
    (TW + ["ruleType"], "ProcessNotAllowed", "does not apply to RTOS", "default", "ProcessNotAllowed"),
    (AL + ["allowlistValues"], ["192.0.2.0/33"], "bad CIDR", "default", "ConnectionToIpNotAllowed"),
    (AL + ["allowlistValues"], ["192.0.2.1/24"], "host bits", "default", "allowlistRules[0]"),
    (AL + ["allowlistValues"], "192.0.2.0/24", "list of CIDR", "default", "allowlistRules[0]"),
    (TW + ["timeWindowSize"], "5 minutes", "ISO-8601", "default", "timeWindowRules[0]"),
    (TW + ["timeWindowSize"], "P1M", "ISO-8601", "default", "timeWindowRules[0]"),
    (TW + ["timeWindowSize"], "PT0S", "longer than zero", "default", "timeWindowRules[0]"),
    (TW + ["timeWindowSize"], KeyError, "missing timeWindowSize", "default", "timeWindowRules[0]"),
    (TW + ["minThreshold"], 11, "minThreshold 11 > maxThreshold 10", "default", "timeWindowRules[0]"),
    (TW + ["minThreshold"], -1, "negative", "default", "timeWindowRules[0]"),
    (TW + ["maxThreshold"], 2.5, "integer", "default", "timeWindowRules[0]"),
    (TW + ["maxThreshold"], KeyError, "missing maxThreshold", "default", "timeWindowRules[0]"),
    (TW + ["isEnabled"], "yes", "true or false", "default", "timeWindowRules[0]"),
    (TW + ["isEnabled"], KeyError, "missing isEnabled", "default", "timeWindowRules[0]"),
    (TW + ["ruleType"], KeyError, "missing ruleType", "default", "timeWindowRules[0]"),
    (TW + ["colour"], "red", "unknown keys", "default", "timeWindowRules[0]"),
    (["groups", "default", "processRules"], [], "unknown keys", "default", None),
    (["groups", "default", "allowlistRules", 0, "valueType"], "String", "IpCidr", "default",
     "allowlistRules[0]"),
    (["groups", "default", "thresholdRules", 0, "timeWindowSize"], "PT5M", "unknown keys",
     "default", "thresholdRules[0]"),
    (["version"], 2, "unknown top-level keys", None, None),
])
def test_invalid_group_files(tmp_path, path, value, match, group, rule):
    p = tmp_path / "groups.yaml"
    p.write_text(yaml.safe_dump(_mutate(path, value)))
    with pytest.raises(GroupsError, match=match) as ei:
        load_groups(p)
    err = ei.value
    assert isinstance(err, InputError)
    assert str(p) in str(err)
    assert err.group == group
    if rule is not None:
        assert rule in err.rule


def test_unreadable_group_files(tmp_path):
    with pytest.raises(GroupsError, match="cannot read"):
        load_groups(tmp_path / "nope.yaml")
    p = tmp_path / "g.yaml"
    p.write_text("groups: [unclosed")
    with pytest.raises(GroupsError, match="YAML"):
        load_groups(p)
    p.write_text("groups:\n  a: {}\n  a: {}\n")        # YAML keeps the last; fine
    load_groups(p)


@pytest.mark.parametrize("text,secs", [("PT5M", 300), ("PT30S", 30), ("PT1H", 3600), ("P1D", 86400),
                                       ("P1DT1H1M1S", 90061), ("PT0.5S", 0.5), ("pt2m", 120),
                                       ("P1W", 604800)])
def test_durations(text, secs):
    assert parse_duration(text) == secs


@pytest.mark.parametrize("text", ["", "P", "PT", "5M", "PT5", "P1Y", "PT-5M", "P1DT", 300])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_format_duration():
    assert [format_duration(s) for s in (300, 30, 3600, 3690, 0.5)] == \
        ["PT5M", "PT30S", "PT1H", "PT1H1M30S", "PT0.5S"]


def test_registry_file_and_mapping(tmp_path):
    p = tmp_path / "registry.yaml"
    p.write_text(yaml.safe_dump({
        "hub": {"name": "lab"},                                     # foreign key: ignored
        "devices": [{"id": "dev-1", "key": "abc", "tags": {"SecurityGroup": "cameras"}},
                    {"id": "dev-2", "key": "def", "auth": "x509"},
                    {"id": "dev-3", "tags": {"other": 1}}],
        "ipFilter": {"defaultAction": "Reject",
                     "rules": [{"name": "lab", "action": "Accept", "ipMask": "192.0.2.0/24"},
                               {"name": "one", "action": "Accept", "ipMask": "198.51.100.7"}]}}))
    reg = DeviceRegistry.load(p)
    assert reg.group_of("dev-1") == "cameras"
    assert reg.group_of("dev-2") == "default" and reg.group_of("dev-3") == "default"
    assert reg.group_of("unknown") == "default" and reg.group_of(None) == "default"
    assert reg.groups_in_use() == ["default", "cameras"]
    assert reg.ip_filter.default_action == "Reject"
    assert [(r.ip_mask, r.prefixlen) for r in reg.ip_filter.rules] == \
        [("192.0.2.0/24", 24), ("198.51.100.7/32", 32)]
    reg2 = DeviceRegistry.load({"dev-9": {"SecurityGroup": "x"}})
    assert reg2.group_of("dev-9") == "x" and reg2.ip_filter is None


@pytest.mark.parametrize("doc,match", [
    ({"devices": [{"key": "x"}]}, "needs an 'id'"),
    ({"devices": [{"id": "a", "tags": []}]}, "'tags' must be a mapping"),
    ({"devices": [{"id": "a", "tags": {"SecurityGroup": 5}}]}, "SecurityGroup must be"),
    ({"devices": [{"id": "a"}, {"id": "a"}]}, "listed twice"),
    ({"ipFilter": {"defaultAction": "Allow"}}, "Accept or Reject"),
    ({"ipFilter": {"rules": [{"name": "r", "action": "Accept", "ipMask": "10.0.0.0/33"}]}}, "ipMask"),
    ({"ipFilter": {"rules": [{"name": "r", "action": "Accept"}]}}, "missing"),
    ({"ipFilter": {"rules": [{"name": "r", "action": "Accept", "ipMask": "10.0.0.0/8", "x": 1}]}},
     "unknown keys"),
])
def test_invalid_registry(tmp_path, doc, match):
    p = tmp_path / "reg.yaml"
    p.write_text(yaml.safe_dump(doc))
    with pytest.raises(GroupsError, match=match) as ei:
        DeviceRegistry.load(p)
    assert str(p) in str(ei.value)


# ---- direction ---------------------------------------------------------------------------
O, I, B = Direction.OUTBOUND, Direction.INBOUND, Direction.BOTH


@pytest.mark.parametrize("proto,lport,rport,bin_,bout,want", [
    ("TCP", 49152, 8883, 0, 0, O),        # device -> hub (service port 8883)
    ("TCP", 8883, 49152, 0, 0, I),        # something connected to the device's 8883
    ("TCP", 49152, 80, 0, 0, O),          # well-known remote
    ("TCP", 80, 49152, 0, 0, I),          # device serves HTTP
    ("UDP", 50000, 53, 0, 0, O),          # DNS query
    ("UDP", 5683, 40000, 0, 0, I),        # CoAP server on the device
    ("UDP", 123, 123, 0, 0, B),           # NTP symmetric: undetermined
    ("TCP", 443, 1883, 0, 0, I),          # both service ports: lower is the server (local 443)
    ("TCP", 1883, 443, 0, 0, O),
    ("TCP", 40000, 30000, 0, 0, O),       # neither: lower port is the server
    ("TCP", 30000, 40000, 0, 0, I),
    ("TCP", 0, 0, 5, 5, B),
    ("ICMP", 0, 0, 0, 64, O),             # echo out, no reply in this window
    ("ICMP", 0, 0, 64, 0, I),             # echo in, not answered
    ("ICMP", 0, 0, 64, 64, B),            # request and reply: either side may have started
    ("ICMP", 0, 0, 0, 0, B),
])
def test_direction_rule(proto, lport, rport, bin_, bout, want):
    assert infer_direction(proto, lport, rport, bin_, bout) is want


def test_direction_configured_service_ports():
    assert infer_direction("TCP", 49152, 9000, 0, 0) is O          # lower port
    assert infer_direction("TCP", 9000, 2000, 0, 0) is O           # lower port is remote
    assert infer_direction("TCP", 9000, 2000, 0, 0, service_ports={9000}) is I
