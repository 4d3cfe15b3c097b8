"""Each recommendation: raised when its condition appears, once while it holds, resolved when it ends."""

from __future__ import annotations

from .test_rules import DEV, backend, tick
from .util import T0, conn, d2c, hub_event, secmsg


def recs_of(be, type_=None, **kw):
    return be.store.list_recommendations(type=type_, **kw)


NO_HUB_RECS = {"ipFilter": {"defaultAction": "Reject", "rules": []}}


def test_shared_credentials():
    be = backend(registry=NO_HUB_RECS)
    for r in [hub_event(T0, "connect", "dev-1", credential_id="c-A", auth="sas", transport="mqtts"),
              hub_event(T0 + 1, "connect", "dev-2", credential_id="c-B", transport="mqtts"),
              hub_event(T0 + 2, "connect", "dev-3", credential_id="c-A", transport="mqtts"),
              hub_event(T0 + 3, "connect", "dev-1", credential_id="c-A", transport="mqtts")]:
        be.process(r)
    got = recs_of(be, "IoT_SharedCredentials")
    assert [(r.device_id, r.time) for r in got] == [("dev-1", T0 + 2), ("dev-3", T0 + 2)]
    assert got[0].evidence["devices"] == ["dev-1", "dev-3"] and got[0].evidence["credential_id"] == "c-A"
    assert got[0].severity == "High" and got[0].active
    assert recs_of(be) == got                      # nothing else raised


def test_ip_filter_default_and_large_ranges():
    reg = {"ipFilter": {"defaultAction": "Accept", "rules": [
        {"name": "wide4", "action": "Accept", "ipMask": "10.0.0.0/23"},
        {"name": "ok4", "action": "Accept", "ipMask": "192.0.2.0/24"},
        {"name": "wide6", "action": "Accept", "ipMask": "2001:db8::/47"},
        {"name": "ok6", "action": "Accept", "ipMask": "2001:db8:1::/48"},
        {"name": "block", "action": "Reject", "ipMask": "0.0.0.0/0"}]}}
    be = backend(registry=reg)
    be.process(tick(T0))
    be.process(tick(T0 + 1))
    got = {r.type: r for r in recs_of(be)}
    assert set(got) == {"IoT_IPFilterDefaultDeny", "IoT_IPFilterLargeRange"}
    assert got["IoT_IPFilterDefaultDeny"].device_id is None and got["IoT_IPFilterDefaultDeny"].time == T0
    assert [r["name"] for r in got["IoT_IPFilterLargeRange"].evidence["rules"]] == ["wide4", "wide6"]
    # Reject by default and narrow rules: nothing
    be = backend(registry={"ipFilter": {"defaultAction": "Reject", "rules": [
        {"name": "ok4", "action": "Accept", "ipMask": "192.0.2.0/24"}]}})
    be.process(tick(T0))
    assert recs_of(be) == []
    # no ipFilter at all: the hub accepts everything
    be = backend()
    be.process(tick(T0))
    assert [r.type for r in recs_of(be)] == ["IoT_IPFilterDefaultDeny"]


def test_plaintext_mqtt_raised_resolved_raised_again():
    be = backend(registry=NO_HUB_RECS)
    for r in [hub_event(T0, "connect", "dev-1", transport="mqtt"),
              hub_event(T0 + 1, "connect", "dev-1", transport="mqtt"),
              hub_event(T0 + 2, "connect", "dev-2", transport="mqtts"),
              hub_event(T0 + 3, "connect", "dev-1", transport="mqtts"),
              hub_event(T0 + 4, "connect", "dev-1", transport="mqtt")]:
        be.process(r)
    got = recs_of(be, "IoT_PlaintextMqtt")
    assert [(r.device_id, r.time, r.active, r.resolved_time) for r in got] == [
        ("dev-1", T0, False, T0 + 3), ("dev-1", T0 + 4, True, None)]
    assert got[0].last_time == T0 + 1


def test_device_silent_as_time_advances_and_at_flush():
    be = backend(registry=NO_HUB_RECS, silent_after=600)
    for r in [hub_event(T0, "connect", "dev-1", transport="mqtts"),
              d2c(T0 + 10, "dev-1"),
              hub_event(T0 + 20, "connect", "dev-2", transport="mqtts"),
              hub_event(T0 + 30, "connect_refused", "dev-x", reason="sas_expired"),   # never in
              d2c(T0 + 609, "dev-2"),
              tick(T0 + 609.9)]:
        be.process(r)
    assert recs_of(be, "IoT_DeviceSilent") == []
    be.process(tick(T0 + 610))                                  # exactly 600 s after the last D2C
    got = recs_of(be, "IoT_DeviceSilent")
    assert [(r.device_id, r.time, r.active) for r in got] == [("dev-1", T0 + 610, True)]
    be.process(d2c(T0 + 700, "dev-1"))                          # speaks again: resolved
    got = recs_of(be, "IoT_DeviceSilent")
    assert [(r.device_id, r.active, r.resolved_time) for r in got] == [("dev-1", False, T0 + 700)]
    be.process(tick(T0 + 1300))
    be.flush()
    got = recs_of(be, "IoT_DeviceSilent", active=True)
    assert sorted((r.device_id, r.time) for r in got) == [("dev-1", T0 + 1300), ("dev-2", T0 + 1209)]


def test_device_silent_never_sent_after_connect():
    be = backend(registry=NO_HUB_RECS, silent_after=60)
    be.process(hub_event(T0, "connect", "dev-1", transport="mqtts"))
    be.flush(T0 + 59)
    assert recs_of(be) == []
    be.flush(T0 + 61)
    assert [(r.device_id, r.evidence["last_message"]) for r in recs_of(be)] == [("dev-1", None)]


def test_outdated_module_version():
    be = backend(registry=NO_HUB_RECS)
    c = [conn(DEV, "192.0.2.1", 40000, 8883)]
    for r in [secmsg(T0, "dev-1", c, version=(3, 5, 3)), secmsg(T0 + 1, "dev-1", c, version=(3, 5, 3)),
              secmsg(T0 + 2, "dev-2", c, version=(3, 5, 4)),
              secmsg(T0 + 3, "dev-3", c, version=(2, 0, 3)),
              secmsg(T0 + 4, "dev-4", c, version=(3, 6, 0)),
              secmsg(T0 + 5, "dev-1", c, version=(3, 5, 4))]:
        be.process(r)
    got = recs_of(be, "IoT_OutdatedSecurityModule")
    assert [(r.device_id, r.evidence["version"], r.active) for r in got] == [
        ("dev-1", "3.5.3", False), ("dev-3", "2.0.3", True)]
    assert got[0].resolved_time == T0 + 5


def test_inbound_from_outside_allowlist():
    def groups(rules):
        return {"groups": {"default": {"allowlistRules": rules}}}
    to_rule = {"ruleType": "ConnectionToIpNotAllowed", "isEnabled": True, "allowlistValues": ["192.0.2.0/24"]}
    from_rule = {"ruleType": "ConnectionFromIpNotAllowed", "isEnabled": True,
                 "allowlistValues": ["198.51.100.0/24"]}
    inbound_lab = conn(DEV, "192.0.2.50", 80, 40000)             # inbound TCP from 192.0.2.50
    inbound_doc = conn(DEV, "198.51.100.50", 5683, 40000, "UDP")  # inbound UDP from 198.51.100.50
    outbound = conn(DEV, "203.0.113.1", 40000, 443)
    icmp_in = conn(DEV, "203.0.113.1", 0, 0, "ICMP", bytes_in=64)

    def run(rules):
        be = backend(groups(rules), registry=NO_HUB_RECS)
        for i, c in enumerate([inbound_lab, inbound_doc, outbound, icmp_in]):
            be.process(secmsg(T0 + i, f"dev-{i}", [c]))
        return {(r.device_id, r.evidence["basis"]) for r in recs_of(be, "IoT_InboundFromOutsideAllowlist")}

    # the ConnectionFromIpNotAllowed allowlist decides when present
    assert run([to_rule, from_rule]) == {("dev-0", "ConnectionFromIpNotAllowed")}
    # otherwise any allowlist of the group
    assert run([to_rule]) == {("dev-1", "any allowlist of the group")}
    # no allowlist at all: every clear inbound TCP/UDP connection is flagged; ICMP never
    assert run([]) == {("dev-0", "no allowlist in the group"), ("dev-1", "no allowlist in the group")}
