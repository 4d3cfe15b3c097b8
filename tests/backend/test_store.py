"""SqliteStore: dedup, recommendations, findings, state, and a reader in another process."""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3
import time

import pytest

from harness.backend.alerts import Alert, Finding, Recommendation
from harness.backend.store import SqliteStore, Store
from harness.errors import InfrastructureError

T = 1767225600.0


def alert(t, device="dev-1", type_="IoT_SuspiciousIPCommunication", peer="203.0.113.1", **kw):
    return Alert(type=type_, device_id=device, time=t, peer=peer,
                 evidence={"record_seq": int(t - T), "z": 1, "a": [1, 2]}, **kw)


def test_is_a_store_and_schema_created(tmp_path):
    db = tmp_path / "sub" / "alerts.db"
    with SqliteStore(db) as s:
        assert isinstance(s, Store)
    con = sqlite3.connect(db)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"alerts", "recommendations", "findings", "state", "meta"} <= tables
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    with SqliteStore(db) as s:                     # reopening keeps data and schema
        assert s.list_alerts() == []


def test_alert_dedup_and_filters(tmp_path):
    with SqliteStore(tmp_path / "a.db") as s:
        a1 = s.add_alert(alert(T, indicator="203.0.113.0/24", source="f", confidence=80))
        assert a1 is not None
        assert s.add_alert(alert(T + 100)) is None
        assert s.add_alert(alert(T + 3599.9)) is None
        assert s.add_alert(alert(T + 3600)) is not None             # window over
        assert s.add_alert(alert(T + 5, peer="203.0.113.2")) is not None
        assert s.add_alert(alert(T + 5, device="dev-2")) is not None
        assert s.add_alert(alert(T + 5, type_="IoT_CA_ConnectionToIpNotAllowed")) is not None
        assert s.add_alert(alert(T + 10, peer=None, type_="IoT_CA_MqttD2CMessagesNotInAllowedRange")) \
            is not None
        assert s.add_alert(alert(T + 20, peer=None, type_="IoT_CA_MqttD2CMessagesNotInAllowedRange"),
                           dedup_window=5) is not None
        first = s.list_alerts(device_id="dev-1", type="IoT_SuspiciousIPCommunication",
                              peer="203.0.113.1")
        assert [(a.time, a.count, a.last_time) for a in first] == [(T, 3, T + 3599.9), (T + 3600, 1, T + 3600)]
        got = first[0]
        assert (got.indicator, got.source, got.confidence, got.severity) == \
            ("203.0.113.0/24", "f", 80, "Medium")
        assert got.evidence == {"record_seq": 0, "z": 1, "a": [1, 2]}
        assert got.id == a1.id
        assert len(s.list_alerts()) == 7
        assert len(s.list_alerts(since=T + 5, until=T + 11)) == 4
        assert len(s.list_alerts(limit=2)) == 2
        # stable JSON text
        raw = s._query("SELECT evidence FROM alerts ORDER BY seq LIMIT 1")[0][0]
        assert raw == '{"a":[1,2],"record_seq":0,"z":1}'
        assert json.loads(json.dumps(got.to_dict()))["type"] == "IoT_SuspiciousIPCommunication"


def test_recommendations_and_findings_and_state(tmp_path):
    with SqliteStore(tmp_path / "a.db") as s:
        assert s.add_recommendation(Recommendation("IoT_PlaintextMqtt", "dev-1", T, {"x": 1}))
        assert s.add_recommendation(Recommendation("IoT_PlaintextMqtt", "dev-1", T + 5, {"x": 2})) is None
        assert s.add_recommendation(Recommendation("IoT_IPFilterDefaultDeny", None, T, {}))
        assert s.resolve_recommendation("IoT_PlaintextMqtt", "dev-1", T + 9)
        assert not s.resolve_recommendation("IoT_PlaintextMqtt", "dev-1", T + 10)
        assert s.add_recommendation(Recommendation("IoT_PlaintextMqtt", "dev-1", T + 20, {}))
        recs = s.list_recommendations(type="IoT_PlaintextMqtt")
        assert [(r.time, r.active, r.resolved_time, r.last_time) for r in recs] == [
            (T, False, T + 9, T + 5), (T + 20, True, None, T + 20)]
        assert recs[0].evidence == {"x": 2}
        hub = s.list_recommendations(type="IoT_IPFilterDefaultDeny")[0]
        assert hub.device_id is None
        assert len(s.list_recommendations(active=True)) == 2
        f = s.add_finding(Finding("malformed_security_message", "dev-1", T, 7, {"error": "bad"}))
        assert f.id == 1
        assert s.list_findings(kind="malformed_security_message")[0].detail == {"error": "bad"}
        assert s.list_findings(device_id="other") == []
        s.set_state("device:dev-1", {"last": T})
        s.set_state("device:dev-1", {"last": T + 1})
        assert s.get_state("device:dev-1") == {"last": T + 1}
        assert s.get_state("nope", 5) == 5


def test_readonly_open(tmp_path):
    with pytest.raises(InfrastructureError, match="does not exist"):
        SqliteStore(tmp_path / "missing.db", readonly=True)
    with SqliteStore(tmp_path / "a.db") as w:
        w.add_alert(alert(T))
        with SqliteStore(tmp_path / "a.db", readonly=True) as r:
            assert len(r.list_alerts()) == 1
            with pytest.raises(sqlite3.OperationalError):
                r.add_alert(alert(T + 7200))


def _reader(path, n, q):
    """Poll in another process until n alerts are visible; report what it saw."""
    seen = []
    deadline = time.monotonic() + 60
    store = None
    while time.monotonic() < deadline:
        try:
            if store is None:
                store = SqliteStore(path, readonly=True)
                q.put(("ready", None))
            count = len(store.list_alerts())
        except Exception as e:          # pragma: no cover - reported to the parent
            q.put(("error", repr(e)))
            return
        if not seen or seen[-1] != count:
            seen.append(count)
        if count >= n:
            break
        time.sleep(0.002)
    q.put(("ok", seen))


def test_concurrent_reader_in_another_process(tmp_path):
    path = str(tmp_path / "a.db")
    n = 300
    writer = SqliteStore(path)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_reader, args=(path, n, q))
    p.start()
    try:
        assert q.get(timeout=60)[0] == "ready"
        for i in range(n):
            writer.add_alert(alert(T + i * 7200, peer=f"203.0.113.{i % 250}"))   # no dedup
            if i % 50 == 0:
                time.sleep(0.02)
        status, seen = q.get(timeout=90)
    finally:
        p.join(30)
        writer.close()
    assert status == "ok", seen
    assert seen[-1] == n
    assert seen == sorted(seen)                     # the reader never saw rows vanish
    assert len(seen) >= 3                           # it read while the writer wrote
