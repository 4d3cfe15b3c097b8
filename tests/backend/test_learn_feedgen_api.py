"""Baseline learning, the feed generator and the keyword-friendly API."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
import threading
import time

import pytest
import yaml

from harness.backend import api, feedgen
from harness.backend.groups import load_groups
from harness.backend.learn import aggregate, learn, render
from harness.backend.service import Backend, BackendConfig
from harness.backend.threatintel import FeedConfig, ThreatIntel
from harness.errors import DeviceFailure, InputError, WaitTimeout

from .test_service import REPO, _env
from .util import T0, conn, hub_event, secmsg, write_jsonl

REGISTRY = {"devices": [{"id": "cam-1", "tags": {"SecurityGroup": "cameras"}},
                        {"id": "cam-2", "tags": {"SecurityGroup": "cameras"}},
                        {"id": "plug-1"}]}


def training(minutes=10, extra_peer=None):
    recs = []
    for m in range(minutes):
        t = T0 + m * 60
        for dev, local in (("cam-1", "192.0.2.21"), ("cam-2", "192.0.2.22")):
            conns = [conn(local, "192.0.2.1", 40000 + m, 8883),
                     conn(local, "198.51.100.7", 41000 + m, 123, "UDP"),
                     conn("2001:db8::" + local.split(".")[-1], "2001:db8::1", 42000 + m, 443)]
            if m % 2:
                conns.append(conn(local, "192.0.2.50", 80, 50000 + m))          # inbound
            if extra_peer and m == minutes - 1:
                conns.append(conn(local, extra_peer, 43000, 443))
            recs.append(secmsg(t + 5, dev, conns))
            recs.append(secmsg(t + 35, dev, conns[:1]))
        recs.append(secmsg(t + 10, "plug-1", [conn("192.0.2.30", "192.0.2.1", 40000, 8883)]))
        if m % 3 == 0:
            recs.append(hub_event(t + 20, "method_invoked", "plug-1"))
    return recs


def test_learn_proposes_a_loadable_baseline_that_is_quiet_on_its_training(tmp_path):
    res = learn(training(), REGISTRY, window=60, margin=0.2)
    text = render(res)
    assert text.startswith("# Proposed device security groups")
    assert "remote ports: 8883" in text and "devices observed: cam-1, cam-2" in text
    path = tmp_path / "proposed.yaml"
    path.write_text(text)
    groups = load_groups(path)
    cams = groups.get("cameras")
    to = cams.allowlists("ConnectionToIpNotAllowed")[0].cidrs.values
    assert set(to) == {"192.0.2.1", "198.51.100.7", "2001:db8::1"}
    frm = cams.allowlists("ConnectionFromIpNotAllowed")[0].cidrs.values
    assert frm == ("192.0.2.50",)
    active = [r for r in cams.time_window_rules if r.rule_type == "ActiveConnectionsNotInAllowedRange"][0]
    assert active.window_text == "PT1M" and active.min <= 3 and active.max >= 4
    plug = groups.get("default")
    assert plug.allowlists("ConnectionFromIpNotAllowed")[0].cidrs.values == ()   # no inbound seen
    assert any(r.rule_type == "DirectMethodInvokesNotInAllowedRange" for r in plug.time_window_rules)
    # replaying the training data against its own baseline raises no custom alert
    with Backend(BackendConfig(groups=str(path), registry=REGISTRY, feed_poll_interval=0)) as be:
        for r in training():
            be.process(r)
        be.flush()
        assert [a.type for a in be.store.list_alerts()] == []
    # a new peer does
    with Backend(BackendConfig(groups=str(path), registry=REGISTRY, feed_poll_interval=0)) as be:
        for r in training(extra_peer="203.0.113.9"):
            be.process(r)
        be.flush()
        assert {(a.type, a.peer) for a in be.store.list_alerts()} == \
            {("IoT_CA_ConnectionToIpNotAllowed", "203.0.113.9")}


def test_learn_aggregation_and_cli(tmp_path):
    addrs = [ipaddress.ip_address(a) for a in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::1",
                                                "2001:db8::2")]
    assert aggregate(addrs, 32, 128) == ["192.0.2.1/32", "192.0.2.2/31", "2001:db8::1/128",
                                         "2001:db8::2/128"]
    assert aggregate(addrs, 24, 64) == ["192.0.2.0/24", "2001:db8::/64"]
    rec = tmp_path / "train.jsonl"
    write_jsonl(rec, training(4))
    reg = tmp_path / "reg.yaml"
    reg.write_text(yaml.safe_dump(REGISTRY))
    out = tmp_path / "proposed.yaml"
    r = subprocess.run([sys.executable, "-m", "harness.backend", "learn", "--recording", str(rec),
                        "--registry", str(reg), "--out", str(out), "--window", "PT2M",
                        "--v4-prefix", "24"], capture_output=True, text=True, env=_env(), cwd=REPO)
    assert r.returncode == 0, r.stderr
    g = load_groups(out)
    assert "192.0.2.0/24" in g.get("cameras").allowlists("ConnectionToIpNotAllowed")[0].cidrs.values
    assert g.get("cameras").time_window_rules[0].window_text == "PT2M"


# ---- feedgen ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", feedgen.FORMATS)
def test_feedgen_formats_load_and_only_documentation_addresses(tmp_path, fmt):
    entries = feedgen.generate_entries(300, seed=2, include=["203.0.113.66", "2001:db8:ab::1"])
    assert len(entries) == len(set(entries)) == 300
    assert all(feedgen.is_documentation(e) for e in entries)
    path = tmp_path / f"f.{fmt}"
    feedgen.write_feed(path, entries, fmt)
    cfg = FeedConfig(str(path), fmt, column="indicator" if fmt == "csv" else None)
    ti = ThreatIntel([cfg])
    assert len(ti) == 300
    assert ti.lookup("203.0.113.66") and ti.lookup("2001:db8:ab::1")
    assert feedgen.generate_entries(300, seed=2) == feedgen.generate_entries(300, seed=2)


def test_feedgen_large_mix_and_errors(tmp_path):
    entries = feedgen.generate_entries(5000, seed=1)
    v4 = [e for e in entries if ":" not in e]
    nets = [e for e in entries if "/" in e]
    assert 0 < len(v4) <= 1533 and len(nets) > 500
    assert any(e.startswith("2001:db8") and "/" in e for e in entries)
    with pytest.raises(InputError, match="not a documentation address"):
        feedgen.generate_entries(10, include=["8.8.8.8"])
    assert "8.8.8.8" in feedgen.generate_entries(10, include=["8.8.8.8"], allow_any_include=True)
    with pytest.raises(InputError, match="--include"):
        feedgen.generate_entries(10, include=["nope"])
    out = tmp_path / "g.txt"
    r = subprocess.run([sys.executable, "-m", "harness.backend.feedgen", "-n", "50", "-o", str(out),
                        "--include", "192.0.2.77"], capture_output=True, text=True, env=_env(), cwd=REPO)
    assert r.returncode == 0, r.stderr
    assert "192.0.2.77" in out.read_text().split("\n")
    r = subprocess.run([sys.executable, "-m", "harness.backend.feedgen", "-n", "5", "-o", str(out),
                        "--include", "10.1.2.3"], capture_output=True, text=True, env=_env(), cwd=REPO)
    assert r.returncode == 2 and "documentation" in r.stderr


# ---- keyword API ------------------------------------------------------------------------------
def test_api_wait_assert_list_render(tmp_path):
    db = tmp_path / "alerts.db"
    feed = tmp_path / "feed.txt"
    feed.write_text("203.0.113.66\n")
    ti = api.load_feeds(feed)
    assert api.lookup(ti, "203.0.113.66")["source"] == "feed.txt"
    with pytest.raises(WaitTimeout, match="no alert with type IoT_SuspiciousIPCommunication"):
        api.wait_for_alert(db, type="IoT_SuspiciousIPCommunication", timeout="0.3 s", poll=0.05)
    api.assert_no_alert(db, period=0.1)                # no database yet: nothing to see
    be = Backend(BackendConfig(db=str(db), feed_poll_interval=0), threatintel=ti)

    def later():
        time.sleep(0.3)
        be.process(secmsg(T0, "dev-1", [conn("192.0.2.10", "203.0.113.66", 40000, 443)]))

    th = threading.Thread(target=later)
    th.start()
    a = api.wait_for_alert(str(db), type="IoT_SuspiciousIPCommunication", device="dev-1",
                           peer="203.0.113.66", timeout=10, poll="50 ms")
    th.join()
    assert a["indicator"] == "203.0.113.66" and a["device_id"] == "dev-1"
    api.assert_no_alert(db, device="dev-2", period="0.2s")
    api.assert_no_alert(db, type="IoT_Invalid_SAS_Token")
    with pytest.raises(DeviceFailure, match="unexpected alert IoT_SuspiciousIPCommunication for device dev-1"):
        api.assert_no_alert(db, device="dev-1")
    api.assert_no_alert(db, device="dev-1", period=0.2, new_only=True)
    th = threading.Thread(target=lambda: (time.sleep(0.2), be.process(
        hub_event(T0 + 1, "connect_refused", "dev-1", reason="sas_expired", peer="192.0.2.9:1"))))
    th.start()
    with pytest.raises(DeviceFailure, match="IoT_Expired_SAS_Token"):
        api.assert_no_alert(db, device="dev-1", period=5, new_only=True, poll=0.05)
    th.join()
    assert [x["type"] for x in api.list_alerts(db)] == ["IoT_SuspiciousIPCommunication",
                                                        "IoT_Expired_SAS_Token"]
    assert api.list_recommendations(db, type="IoT_IPFilterDefaultDeny")[0]["device_id"] is None
    assert api.wait_for_recommendation(db, type="IoT_IPFilterDefaultDeny", timeout=1)["active"]
    text = api.alerts_table(db)
    assert "IoT_Expired_SAS_Token" in text and text.splitlines()[0].startswith("time (UTC)")
    html = api.alerts_table(db, format="html", device="dev-1")
    assert html.count("<tr>") == 3 and "&lt;" not in html
    assert "<table" in api.alerts_table(api.list_alerts(db), format="HTML")
    assert "IoT_IPFilterDefaultDeny" in api.recommendations_table(db)
    assert "<table" in api.recommendations_table(db, format="html")
    assert api.list_findings(db) == []
    be.close()


def test_api_durations_and_loaders(tmp_path):
    assert [api.seconds(x) for x in (5, "5", "2.5s", "2 min", "500 ms", "1h")] == \
        [5, 5, 2.5, 120, 0.5, 3600]
    with pytest.raises(InputError):
        api.seconds("soon")
    g = tmp_path / "g.yaml"
    g.write_text("groups: {default: {}}\n")
    assert api.load_groups(g).get("default").count_rules() == []
    assert api.load_registry({"d": {"SecurityGroup": "x"}}).group_of("d") == "x"
    cfg = tmp_path / "feeds.yaml"
    (tmp_path / "a.txt").write_text("192.0.2.1\n")
    cfg.write_text("feeds: [a.txt]\n")
    assert len(api.load_feeds(cfg)) == 1
