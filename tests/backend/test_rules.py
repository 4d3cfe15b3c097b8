"""Detections through the engine, with real encoded security messages."""

from __future__ import annotations

import pytest

from harness.backend.alerts import ALERT_TYPES
from harness.backend.engine import EngineConfig
from harness.backend.groups import COUNT_RULE_TYPES
from harness.backend.service import Backend, BackendConfig
from harness.backend.threatintel import FeedConfig, ThreatIntel

from .util import T0, conn, d2c, hub_event, secmsg

DEV = "192.0.2.10"


def backend(groups=None, registry=None, feed_text=None, tmp_path=None, **eng) -> Backend:
    ti = None
    if feed_text is not None:
        p = tmp_path / "feed.txt"
        p.write_text(feed_text)
        ti = ThreatIntel([FeedConfig(str(p), source="lab-feed.txt", confidence=80)])
    cfg = BackendConfig(groups=groups, registry=registry, engine=EngineConfig(**eng),
                        feed_poll_interval=0)
    return Backend(cfg, threatintel=ti)


def tick(t) -> dict:
    """A record that only advances the clock."""
    return {"seq": 0, "t": float(t), "kind": "other", "topic": "lab/other"}


def run(be, records, flush=True):
    for r in records:
        be.process(r)
    if flush:
        be.flush()
    return be.store.list_alerts()


def tw_groups(rule_type, lo, hi, window="PT1M", kind="timeWindowRules"):
    rule = {"ruleType": rule_type, "isEnabled": True, "minThreshold": lo, "maxThreshold": hi}
    if kind == "timeWindowRules":
        rule["timeWindowSize"] = window
    return {"groups": {"default": {kind: [rule]}}}


def metric_events(rule_type, k, t0, device="dev-1"):
    """k events of the data a count rule counts, inside [t0, t0+50)."""
    ts = [t0 + 1 + i * (48 / max(k, 1)) for i in range(k)]
    if rule_type == "ActiveConnectionsNotInAllowedRange":
        if not k:
            return []
        return [secmsg(t0 + 5, device, [conn(DEV, "192.0.2.1", 40000 + i, 8883) for i in range(k)])]
    if rule_type == "MqttD2CMessagesNotInAllowedRange":
        return [d2c(t, device) for t in ts]
    name = {"MqttC2DMessagesNotInAllowedRange": "c2d_sent",
            "MqttC2DRejectedMessagesNotInAllowedRange": "c2d_rejected",
            "DirectMethodInvokesNotInAllowedRange": "method_invoked",
            "TwinUpdatesNotInAllowedRange": "twin_updated",
            "UnauthorizedOperationsNotInAllowedRange": "publish_denied",
            "QueuePurgesNotInAllowedRange": "queue_purged"}[rule_type]
    return [hub_event(t, name, device) for t in ts]


@pytest.mark.parametrize("rule_type", list(COUNT_RULE_TYPES))
@pytest.mark.parametrize("k,alert", [(1, True), (2, False), (3, False), (4, False), (5, True)])
def test_time_window_rule_boundaries(rule_type, k, alert):
    be = backend(tw_groups(rule_type, 2, 4))
    recs = [hub_event(T0, "disconnect", "dev-1")]          # device known from the window start
    recs += metric_events(rule_type, k, T0)
    recs.append(tick(T0 + 60))                             # closes [T0, T0+60)
    alerts = run(be, recs, flush=False)
    if alert:
        assert [a.type for a in alerts] == [f"IoT_CA_{rule_type}"]
        a = alerts[0]
        assert a.severity == "Low" and a.device_id == "dev-1" and a.group == "default"
        assert a.time == T0 + 60 and a.peer is None
        assert a.evidence["count"] == k
        assert (a.evidence["window_start"], a.evidence["window_end"]) == (T0, T0 + 60)
        assert a.evidence["minThreshold"] == 2 and a.evidence["maxThreshold"] == 4
        assert a.name == ALERT_TYPES[a.type][0]
    else:
        assert alerts == []
    be.close()


@pytest.mark.parametrize("rule_type", ["MqttD2CMessagesNotInAllowedRange",
                                       "UnauthorizedOperationsNotInAllowedRange"])
@pytest.mark.parametrize("k,alert", [(3, False), (4, True), (7, True)])
def test_threshold_rule_max_fires_once_when_crossed(rule_type, k, alert):
    be = backend(tw_groups(rule_type, 0, 3, kind="thresholdRules"))
    half = k // 2                      # spread over two windows: thresholds have no window
    recs = metric_events(rule_type, half, T0) + metric_events(rule_type, k - half, T0 + 600)
    alerts = run(be, recs)
    assert len(alerts) == (1 if alert else 0)
    if alerts:
        assert alerts[0].evidence["count"] == 4 and alerts[0].count == 1
        assert alerts[0].evidence["rule"] == "thresholdRules"


def test_threshold_rule_min_at_flush():
    be = backend(tw_groups("MqttD2CMessagesNotInAllowedRange", 3, 100, kind="thresholdRules"))
    alerts = run(be, metric_events("MqttD2CMessagesNotInAllowedRange", 2, T0))
    assert [a.evidence["count"] for a in alerts] == [2]
    be = backend(tw_groups("MqttD2CMessagesNotInAllowedRange", 3, 100, kind="thresholdRules"))
    assert run(be, metric_events("MqttD2CMessagesNotInAllowedRange", 3, T0)) == []
    # a device that never had such an event counts 0
    be = backend(tw_groups("MqttC2DMessagesNotInAllowedRange", 1, 100, kind="thresholdRules"))
    alerts = run(be, [d2c(T0, "dev-1")])
    assert [(a.type, a.evidence["count"]) for a in alerts] == [("IoT_CA_MqttC2DMessagesNotInAllowedRange", 0)]


def test_security_messages_count_as_d2c():
    be = backend(tw_groups("MqttD2CMessagesNotInAllowedRange", 0, 2))
    recs = [hub_event(T0, "connect", "dev-1", transport="mqtts"),
            secmsg(T0 + 10, "dev-1", [conn(DEV, "192.0.2.1", 40000, 8883)]),
            secmsg(T0 + 20, "dev-1", [conn(DEV, "192.0.2.1", 40000, 8883)]),
            d2c(T0 + 30, "dev-1", module_id="mod"), tick(T0 + 60)]
    alerts = run(be, recs, flush=False)
    assert [a.evidence["count"] for a in alerts] == [3]


def test_active_connections_are_distinct_5_tuples():
    be = backend(tw_groups("ActiveConnectionsNotInAllowedRange", 0, 2))
    c1 = conn(DEV, "192.0.2.1", 40000, 8883)
    c2 = conn(DEV, "192.0.2.1", 40001, 8883)
    c3 = conn(DEV, "192.0.2.1", 40001, 8883, proto="UDP")
    recs = [hub_event(T0, "connect", "dev-1"), secmsg(T0 + 10, "dev-1", [c1, c2]),
            secmsg(T0 + 20, "dev-1", [c1, c2]), tick(T0 + 60),         # 2 distinct: fine
            secmsg(T0 + 70, "dev-1", [c1, c2]), secmsg(T0 + 80, "dev-1", [c3]), tick(T0 + 120)]
    alerts = run(be, recs, flush=False)
    assert [(a.evidence["count"], a.evidence["window_start"]) for a in alerts] == [(3, T0 + 60)]


def test_windows_are_epoch_aligned_and_boundaries_exclusive():
    be = backend(tw_groups("MqttD2CMessagesNotInAllowedRange", 0, 1))
    recs = [hub_event(T0 - 30, "disconnect", "dev-1"),
            d2c(T0 - 0.001, "dev-1"), d2c(T0, "dev-1"), d2c(T0 + 59.999, "dev-1"),
            d2c(T0 + 60, "dev-1"), tick(T0 + 120)]
    alerts = run(be, recs, flush=False)
    # [T0-60, T0) has 1, [T0, T0+60) has 2 (the alert), [T0+60, T0+120) has 1
    assert [(a.evidence["window_start"], a.evidence["count"]) for a in alerts] == [(T0, 2)]


def test_min_needs_complete_window_and_empty_windows_count_zero():
    be = backend(tw_groups("MqttD2CMessagesNotInAllowedRange", 1, 10), dedup_window=0)
    recs = [d2c(T0 + 30, "dev-1"),                     # first seen mid-window: no min check there
            tick(T0 + 60),                             # [T0, +60): incomplete, 1 >= 1 anyway
            tick(T0 + 250)]                            # [60,120), [120,180), [180,240): empty
    alerts = run(be, recs, flush=False)
    assert [a.evidence["window_start"] - T0 for a in alerts] == [60, 120, 180]
    assert all(a.evidence["count"] == 0 and a.evidence["window_complete"] for a in alerts)


def test_flush_checks_open_window_for_max_only():
    be = backend(tw_groups("MqttD2CMessagesNotInAllowedRange", 5, 6))
    recs = [hub_event(T0, "disconnect", "dev-1")] + [d2c(T0 + 1 + i, "dev-1") for i in range(7)]
    alerts = run(be, recs, flush=True)                 # the window never ended: partial
    assert [(a.evidence["count"], a.evidence["window_complete"]) for a in alerts] == [(7, False)]
    be = backend(tw_groups("MqttD2CMessagesNotInAllowedRange", 5, 6))
    recs = [hub_event(T0, "disconnect", "dev-1"), d2c(T0 + 1, "dev-1")]
    assert run(be, recs, flush=True) == []             # 1 < 5 but the window is partial
    # flush(now) past the window end makes it complete
    be = backend(tw_groups("MqttD2CMessagesNotInAllowedRange", 5, 6))
    for r in recs:
        be.process(r)
    assert [a.evidence["count"] for a in be.flush(T0 + 60)] == [1]


def test_disabled_rules_and_other_groups_ignored():
    groups = {"groups": {"default": {"timeWindowRules": [
        {"ruleType": "MqttD2CMessagesNotInAllowedRange", "isEnabled": False, "minThreshold": 0,
         "maxThreshold": 0, "timeWindowSize": "PT1M"}]},
        "strict": {"timeWindowRules": [
            {"ruleType": "MqttD2CMessagesNotInAllowedRange", "isEnabled": True, "minThreshold": 0,
             "maxThreshold": 0, "timeWindowSize": "PT1M"}]}}}
    be = backend(groups, registry={"dev-2": {"SecurityGroup": "strict"}})
    alerts = run(be, [d2c(T0, "dev-1"), d2c(T0, "dev-2"), tick(T0 + 60)], flush=False)
    assert [(a.device_id, a.group) for a in alerts] == [("dev-2", "strict")]


# ---- threat intelligence -------------------------------------------------------------------
def test_ti_alert_either_direction_v4_v6(tmp_path):
    be = backend(feed_text="203.0.113.0/24\n203.0.113.66\n2001:db8:bad::/48\n", tmp_path=tmp_path)
    recs = [secmsg(T0, "dev-1", [conn(DEV, "203.0.113.66", 40000, 443, bytes_out=10)]),      # out
            secmsg(T0 + 1, "dev-2", [conn(DEV, "203.0.113.5", 22, 50000, bytes_in=10)]),      # in
            secmsg(T0 + 2, "dev-3", [conn("2001:db8::10", "2001:db8:bad::1", 0, 0, "ICMP", 5, 5)]),
            secmsg(T0 + 3, "dev-4", [conn(DEV, "198.51.100.1", 40000, 443)])]
    alerts = run(be, recs)
    got = {(a.device_id, a.peer, a.indicator, a.evidence["direction"]) for a in alerts}
    assert got == {("dev-1", "203.0.113.66", "203.0.113.66", "outbound"),
                   ("dev-2", "203.0.113.5", "203.0.113.0/24", "inbound"),
                   ("dev-3", "2001:db8:bad::1", "2001:db8:bad::/48", "both")}
    a = [a for a in alerts if a.device_id == "dev-1"][0]
    assert (a.type, a.severity, a.source, a.confidence) == \
        ("IoT_SuspiciousIPCommunication", "Medium", "lab-feed.txt", 80)
    assert a.name == "Communication with a suspicious IP address detected"
    assert a.evidence["record_seq"] == recs[0]["seq"]
    assert len(a.evidence["event_id"]) == 32
    assert a.evidence["record"]["remote_address"] == "203.0.113.66"
    assert a.to_dict()["indicator"] == "203.0.113.66"


def test_dedup_per_device_type_peer_within_window(tmp_path):
    be = backend(feed_text="203.0.113.0/24\n", tmp_path=tmp_path)
    c = conn(DEV, "203.0.113.9", 40000, 443)
    recs = [secmsg(T0, "dev-1", [c]), secmsg(T0 + 10, "dev-1", [c]),
            secmsg(T0 + 3599, "dev-1", [c]),
            secmsg(T0 + 20, "dev-1", [conn(DEV, "203.0.113.10", 40000, 443)]),   # other peer
            secmsg(T0 + 30, "dev-2", [c]),                                          # other device
            secmsg(T0 + 3600, "dev-1", [c])]                                        # window over
    alerts = run(be, recs)
    assert [(a.device_id, a.peer, a.time - T0, a.count) for a in alerts] == [
        ("dev-1", "203.0.113.9", 0, 3), ("dev-1", "203.0.113.10", 20, 1),
        ("dev-2", "203.0.113.9", 30, 1), ("dev-1", "203.0.113.9", 3600, 1)]
    assert alerts[0].last_time == T0 + 3599
    be2 = backend(feed_text="203.0.113.0/24\n", tmp_path=tmp_path, dedup_window=5)
    assert len(run(be2, [secmsg(T0, "dev-1", [c]), secmsg(T0 + 10, "dev-1", [c])])) == 2


# ---- allowlists / denylists -------------------------------------------------------------------
IPG = {"groups": {"default": {
    "allowlistRules": [{"ruleType": "ConnectionToIpNotAllowed", "isEnabled": True,
                        "allowlistValues": ["192.0.2.0/24", "2001:db8:1::/48"]}],
    "denylistRules": [{"ruleType": "ConnectionFromIpNotAllowed", "isEnabled": True,
                       "denylistValues": ["198.51.100.0/25"]}]}}}


def test_allowlist_outbound_and_denylist_inbound():
    be = backend(IPG)
    recs = [
        secmsg(T0, "d1", [conn(DEV, "192.0.2.1", 40000, 8883)]),                 # allowed out
        secmsg(T0, "d2", [conn(DEV, "198.51.100.200", 40000, 8883)]),            # out: not allowed
        secmsg(T0, "d3", [conn(DEV, "198.51.100.200", 8080, 40000)]),            # in: no From allowlist
        secmsg(T0, "d4", [conn(DEV, "198.51.100.5", 80, 40000)]),                # in: denylisted
        secmsg(T0, "d5", [conn(DEV, "198.51.100.5", 40000, 80)]),                # out: not allowed
        secmsg(T0, "d6", [conn(DEV, "198.51.100.5", 0, 0, "ICMP", 1, 1)]),       # both: both apply
        secmsg(T0, "d7", [conn("2001:db8::10", "2001:db8:1::9", 40000, 443)]),   # allowed v6
        secmsg(T0, "d8", [conn("2001:db8::10", "2001:db8:2::9", 40000, 443)]),   # v6 not allowed
    ]
    alerts = run(be, recs)
    got = sorted((a.device_id, a.type.replace("IoT_CA_", ""), a.evidence["rule"]) for a in alerts)
    assert got == [
        ("d2", "ConnectionToIpNotAllowed", "allowlistRules"),
        ("d4", "ConnectionFromIpNotAllowed", "denylistRules"),
        ("d5", "ConnectionToIpNotAllowed", "allowlistRules"),
        ("d6", "ConnectionFromIpNotAllowed", "denylistRules"),
        ("d6", "ConnectionToIpNotAllowed", "allowlistRules"),
        ("d8", "ConnectionToIpNotAllowed", "allowlistRules"),
    ]
    d4 = [a for a in alerts if a.device_id == "d4"][0]
    assert d4.peer == "198.51.100.5" and d4.evidence["denylistMatch"] == "198.51.100.0/25"
    assert d4.name == "Inbound connection from an IP that isn't allowed"


def test_allowlist_boundaries():
    g = {"groups": {"default": {"allowlistRules": [
        {"ruleType": "ConnectionToIpNotAllowed", "isEnabled": True, "allowlistValues": ["192.0.2.64/26"]}]}}}
    be = backend(g)
    peers = {"192.0.2.63": True, "192.0.2.64": False, "192.0.2.127": False, "192.0.2.128": True}
    recs = [secmsg(T0, f"d-{p}", [conn(DEV, p, 40000, 443)]) for p in peers]
    flagged = {a.peer for a in run(be, recs)}
    assert flagged == {p for p, bad in peers.items() if bad}


# ---- hub authentication alerts ------------------------------------------------------------------
def test_hub_auth_alerts():
    be = backend()
    recs = [hub_event(T0, "connect_refused", "d1", reason="sas_invalid_signature", peer="192.0.2.5:4000"),
            hub_event(T0, "connect_refused", "d2", reason="sas_expired", peer="192.0.2.6:4000"),
            hub_event(T0, "connect_refused", "d3", reason="x509_thumbprint_mismatch",
                      peer="[2001:db8::5]:8883"),
            hub_event(T0, "connect_refused", "d4", reason="x509_expired", peer="192.0.2.8"),
            hub_event(T0, "connect_refused", "d5", reason="not_authorized", peer="192.0.2.9:1"),
            hub_event(T0 + 5, "connect_refused", "d1", reason="sas_invalid_signature",
                      peer="192.0.2.5:4001")]                        # same peer ip: folded
    alerts = run(be, recs)
    assert [(a.device_id, a.type, a.severity, a.peer, a.count) for a in alerts] == [
        ("d1", "IoT_Invalid_SAS_Token", "Low", "192.0.2.5", 2),
        ("d2", "IoT_Expired_SAS_Token", "Low", "192.0.2.6", 1),
        ("d3", "IoT_Cert_Print_Mismatch", "Medium", "2001:db8::5", 1),
        ("d4", "IoT_Cert_Expired", "Medium", "192.0.2.8", 1)]
    assert alerts[0].name == "Invalid SAS token signature"
    assert alerts[0].evidence["record"]["reason"] == "sas_invalid_signature"
    assert alerts[0].evidence["record_seq"] == recs[0]["seq"]


# ---- malformed input ----------------------------------------------------------------------------
def test_malformed_security_messages_are_findings_and_processing_continues(tmp_path):
    be = backend(feed_text="203.0.113.66\n", tmp_path=tmp_path)
    legacy = b'{"AgentVersion": "0.0.1", "AgentId": "x", "MessageSchemaVersion": "1.0", "Events": []}'
    bad_b64 = secmsg(T0 + 3, "dev-1", [])
    bad_b64["payload_b64"] = "!!!"
    no_payload = secmsg(T0 + 4, "dev-1", [])
    del no_payload["payload_b64"]
    recs = [secmsg(T0, "dev-1", raw=b"\x00\x01\x02\x03garbage"),
            secmsg(T0 + 1, "dev-1", raw=legacy),
            secmsg(T0 + 2, "dev-1", raw=b""),
            bad_b64, no_payload,
            {"seq": 99, "kind": "d2c"},                                  # no t
            secmsg(T0 + 5, "dev-1", [conn(DEV, "203.0.113.66", 40000, 443)])]
    alerts = run(be, recs)
    assert [a.type for a in alerts] == ["IoT_SuspiciousIPCommunication"]
    findings = be.store.list_findings()
    assert [f.kind for f in findings] == ["malformed_security_message"] * 5 + ["malformed_record"]
    assert findings[0].record_seq == recs[0]["seq"] and findings[0].device_id == "dev-1"
    assert findings[0].detail["error_type"] == "DecodeError"
    assert findings[1].detail["error_type"] == "LegacyJsonPreview"
    assert be.stats["security_messages"] == 1
