"""The service end to end: replay, follow (with partial lines), CLI serve + SIGTERM, MQTT."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.backend import api
from harness.backend.records import IDLE, BadLine, follow_jsonl, read_jsonl
from harness.backend.service import Backend, BackendConfig, parse_mqtt_target
from harness.errors import InputError

from .util import (SCENARIO_ALERTS, SCENARIO_RECOMMENDATIONS, scenario_records, write_scenario)

REPO = Path(__file__).resolve().parents[2]
PY = sys.executable


def config(p, **kw) -> BackendConfig:
    return BackendConfig(db=p["db"], feeds=[p["feeds"]], groups=p["groups"], registry=p["registry"],
                         feed_poll_interval=0, **kw)


def check_outcome(store):
    alerts = store.list_alerts()
    assert [(a.type, a.device_id, a.peer) for a in alerts] == SCENARIO_ALERTS
    ti = alerts[0]
    assert (ti.indicator, ti.source, ti.confidence, ti.group) == ("203.0.113.66", "lab-feed.txt", 80,
                                                                  "cameras")
    assert ti.evidence["record_seq"] == 3
    assert alerts[2].indicator == "2001:db8:bad::/48"
    assert alerts[4].evidence["count"] == 6 and alerts[4].time == 1767225600.0 + 60
    recs = store.list_recommendations()
    assert sorted((r.type, r.device_id or "") for r in recs) == \
        sorted((t, d or "") for t, d in SCENARIO_RECOMMENDATIONS)
    findings = store.list_findings()
    assert [(f.kind, f.device_id, f.record_seq) for f in findings] == \
        [("malformed_security_message", "dev-1", 6)]


def test_replay_in_process(tmp_path):
    p = write_scenario(tmp_path)
    with Backend(config(p)) as be:
        stats = be.replay(p["recording"])
        check_outcome(be.store)
    assert stats["records"] == 9 and stats["security_messages"] == 5
    assert stats["connection_records"] == 7 and stats["alerts"] == 5


def test_process_accepts_dicts_json_and_objects(tmp_path):
    p = write_scenario(tmp_path)

    class Rec:                                      # like harness.hub.recording.HubRecord
        def __init__(self, d):
            self.d = d

        def to_dict(self):
            return self.d

    recs = scenario_records()
    mixed = [json.dumps(r) if i % 3 == 0 else Rec(r) if i % 3 == 1 else r for i, r in enumerate(recs)]
    with Backend(config(p)) as be:
        for r in mixed:
            be.process(r)
        be.flush()
        check_outcome(be.store)


def test_replay_bad_lines_become_findings(tmp_path):
    p = write_scenario(tmp_path)
    with open(p["recording"], "a") as f:
        f.write("{not json\n[1, 2]\n")
        f.write(json.dumps(scenario_records()[0]))            # last line without newline
    items = list(read_jsonl(p["recording"]))
    assert isinstance(items[-3], BadLine) and isinstance(items[-2], BadLine)
    assert items[-3].lineno == 10 and isinstance(items[-1], dict)
    with Backend(config(p)) as be:
        be.replay(p["recording"])
        kinds = [f.kind for f in be.store.list_findings()]
    assert kinds == ["malformed_security_message", "malformed_record", "malformed_record"]
    with pytest.raises(InputError, match="does not exist"):
        Backend(config(p)).replay(tmp_path / "nope.jsonl")


def test_follow_waits_for_file_and_partial_lines(tmp_path):
    path = tmp_path / "live.jsonl"
    stop = threading.Event()
    got = []
    lines = [json.dumps(r) + "\n" for r in scenario_records()]

    def consume():
        for item in follow_jsonl(path, stop, poll=0.01):
            if item is not IDLE:
                got.append(item)

    th = threading.Thread(target=consume)
    th.start()
    time.sleep(0.1)                                  # the file does not exist yet
    with open(path, "w") as f:
        for line in lines[:4]:
            f.write(line)
        f.flush()
        time.sleep(0.1)
        half = len(lines[4]) // 2
        f.write(lines[4][:half])                     # a partial line: must not be yielded yet
        f.flush()
        time.sleep(0.15)
        assert len(got) == 4
        f.write(lines[4][half:])
        for line in lines[5:]:
            f.write(line)
        f.write('{"seq": 100, "t": 1.0')            # unterminated at stop, invalid: dropped
        f.flush()
    deadline = time.monotonic() + 10
    while len(got) < len(lines) and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    th.join(10)
    assert [r["seq"] for r in got] == [r["seq"] for r in scenario_records()]


def test_follow_truncation_and_replacement(tmp_path):
    path = tmp_path / "live.jsonl"
    path.write_text('{"seq": 1, "t": 1}\n')
    stop = threading.Event()
    got = []
    th = threading.Thread(target=lambda: got.extend(
        i["seq"] for i in follow_jsonl(path, stop, poll=0.01) if i is not IDLE))
    th.start()
    time.sleep(0.1)
    path.write_text("")                                               # truncated
    time.sleep(0.1)
    with open(path, "a") as f:
        f.write('{"seq": 2, "t": 2}\n')
    time.sleep(0.1)
    tmp = tmp_path / "new.jsonl"
    tmp.write_text('{"seq": 3, "t": 3}\n')
    os.replace(tmp, path)                                             # replaced
    time.sleep(0.2)
    stop.set()
    th.join(10)
    assert got == [1, 2, 3]


def test_backend_follow_in_thread(tmp_path):
    p = write_scenario(tmp_path)
    live = tmp_path / "live.jsonl"
    stop = threading.Event()
    be = Backend(config(p, follow_poll=0.01))
    th = threading.Thread(target=be.follow, args=(live, stop))
    th.start()
    with open(live, "w") as f:
        for r in scenario_records():
            f.write(json.dumps(r) + "\n")
            f.flush()
    api.wait_for_alert(be.store, type="IoT_CA_ActiveConnectionsNotInAllowedRange", timeout=20)
    api.wait_for_recommendation(be.store, type="IoT_OutdatedSecurityModule", timeout=20)
    stop.set()
    th.join(20)
    check_outcome(be.store)
    be.close()


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cli(*args, check=True):
    r = subprocess.run([PY, "-m", "harness.backend", *args], capture_output=True, text=True,
                       env=_env(), cwd=REPO, timeout=120)
    if check and r.returncode != 0:
        raise AssertionError(f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}")
    return r


def test_cli_serve_replay_then_query(tmp_path):
    p = write_scenario(tmp_path)
    _cli("serve", "--recording", p["recording"], "--db", p["db"], "--feeds", p["feeds"],
         "--groups", p["groups"], "--registry", p["registry"])
    from harness.backend.store import SqliteStore
    with SqliteStore(p["db"], readonly=True) as s:
        check_outcome(s)
    out = json.loads(_cli("alerts", "--db", p["db"], "--json").stdout)
    assert [(a["type"], a["device_id"], a["peer"]) for a in out] == SCENARIO_ALERTS
    assert set(out[0]) >= {"id", "type", "name", "severity", "device_id", "group", "time", "peer",
                           "evidence", "indicator", "source", "confidence"}
    table = _cli("alerts", "--db", p["db"], "--device", "dev-1").stdout.splitlines()
    assert table[0].split()[:4] == ["time", "(UTC)", "severity", "type"]
    assert set(table[1]) <= {"-", " "}
    assert len(table) == 2 + 3
    assert "IoT_SuspiciousIPCommunication" in table[2] and "203.0.113.66" in table[2]
    assert "indicator 203.0.113.66 (lab-feed.txt, confidence 80)" in table[2]
    only = json.loads(_cli("alerts", "--db", p["db"], "--json", "--type",
                           "IoT_Invalid_SAS_Token").stdout)
    assert [a["device_id"] for a in only] == ["dev-4"]
    html = _cli("alerts", "--db", p["db"], "--html").stdout
    assert html.startswith('<table class="alerts">') and html.count("<tr>") == 6
    recs = json.loads(_cli("recommendations", "--db", p["db"], "--json").stdout)
    assert len(recs) == len(SCENARIO_RECOMMENDATIONS)
    rtable = _cli("recommendations", "--db", p["db"], "--device", "dev-2").stdout
    assert "IoT_PlaintextMqtt" in rtable and "IoT_SharedCredentials" in rtable
    assert "dev-1" in rtable                         # shared with dev-1 (details column)
    f = json.loads(_cli("findings", "--db", p["db"], "--json").stdout)
    assert f[0]["kind"] == "malformed_security_message"


def test_cli_errors_exit_codes(tmp_path):
    p = write_scenario(tmp_path)
    Path(p["groups"]).write_text("groups:\n  default:\n    timeWindowRules:\n      - ruleType: Nope\n")
    r = _cli("serve", "--recording", p["recording"], "--db", p["db"], "--groups", p["groups"], check=False)
    assert r.returncode == 2 and "unknown ruleType 'Nope'" in r.stderr and p["groups"] in r.stderr
    r = _cli("alerts", "--db", str(tmp_path / "none.db"), check=False)
    assert r.returncode == 3 and "does not exist" in r.stderr
    Path(p["feed"]).write_text("203.0.113.66\n203.0.113.666\n")
    r = _cli("check-feeds", "--feeds", p["feeds"], check=False)
    assert r.returncode == 2 and f"{p['feed']}:2:" in r.stderr


def test_cli_serve_follow_sigterm(tmp_path):
    p = write_scenario(tmp_path)
    live = tmp_path / "live.jsonl"                   # does not exist when the service starts
    proc = subprocess.Popen([PY, "-m", "harness.backend", "serve", "--recording", str(live), "--follow",
                             "--db", p["db"], "--feeds", p["feeds"], "--groups", p["groups"],
                             "--registry", p["registry"]],
                            env=_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        with open(live, "w") as f:
            for r in scenario_records():
                f.write(json.dumps(r) + "\n")
                f.flush()
        api.wait_for_alert(p["db"], type="IoT_CA_ActiveConnectionsNotInAllowedRange", timeout=60)
        api.wait_for_recommendation(p["db"], type="IoT_OutdatedSecurityModule", timeout=60)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    stats = json.loads(err.strip().splitlines()[-1])
    assert stats["stopped"] and stats["records"] == 9
    from harness.backend.store import SqliteStore
    with SqliteStore(p["db"], readonly=True) as s:
        check_outcome(s)


def test_parse_mqtt_target():
    assert parse_mqtt_target("unix:/run/m.sock") == ("unix", "/run/m.sock", 0)
    assert parse_mqtt_target("/run/m.sock") == ("unix", "/run/m.sock", 0)
    assert parse_mqtt_target("127.0.0.1:1884") == ("tcp", "127.0.0.1", 1884)
    assert parse_mqtt_target("[::1]:1884") == ("tcp", "::1", 1884)
    assert parse_mqtt_target("localhost") == ("tcp", "localhost", 1883)
    with pytest.raises(InputError):
        parse_mqtt_target("host:port")


@pytest.fixture
def mosquitto_unix(tmp_path):
    exe = shutil.which("mosquitto")
    if exe is None:
        pytest.skip("mosquitto not installed")
    sock = tmp_path / "mqtt.sock"
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"user {getpass.getuser()}\nlistener 0 {sock}\nallow_anonymous true\n"
                    "persistence false\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip(f"mosquitto did not start: {proc.stderr.read().decode()[:300]}")
            time.sleep(0.02)
        yield str(sock)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_alerts_published_on_mqtt(tmp_path, mosquitto_unix):
    import paho.mqtt.client as mqtt

    p = write_scenario(tmp_path)
    got = []
    subscribed = threading.Event()
    sub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, transport="unix")
    sub.on_connect = lambda c, u, f, rc, pr: c.subscribe("lab/alerts/#", qos=1)
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.on_message = lambda c, u, m: got.append((m.topic, json.loads(m.payload)))
    sub.connect(mosquitto_unix)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        with Backend(config(p, mqtt=f"unix:{mosquitto_unix}")) as be:
            assert be.publisher.connected.wait(10)
            be.replay(p["recording"])
        deadline = time.monotonic() + 10
        while len(got) < len(SCENARIO_ALERTS) and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert [(t, m["type"], m["peer"]) for t, m in got] == \
        [(f"lab/alerts/{d}", ty, pe) for ty, d, pe in SCENARIO_ALERTS]
    ti = got[0][1]
    assert ti["name"] == "Communication with a suspicious IP address detected"
    assert (ti["severity"], ti["group"], ti["indicator"], ti["source"], ti["confidence"]) == \
        ("Medium", "cameras", "203.0.113.66", "lab-feed.txt", 80)
    assert ti["evidence"]["record_seq"] == 3 and ti["evidence"]["record"]["remote_port"] == 443


def test_absent_broker_is_not_fatal(tmp_path):
    p = write_scenario(tmp_path)
    with Backend(config(p, mqtt=f"unix:{tmp_path / 'no-broker.sock'}")) as be:
        be.replay(p["recording"])
        assert be.publisher.published == len(SCENARIO_ALERTS)
        check_outcome(be.store)


def test_cli_check_commands(tmp_path):
    p = write_scenario(tmp_path)
    out = json.loads(_cli("check-feeds", "--feeds", p["feeds"], "--lookup", "2001:db8:bad::9",
                          "--lookup", "192.0.2.1").stdout)
    assert out["index"]["entries"] == 2 and out["feeds"][0]["source"] == "lab-feed.txt"
    assert out["lookups"]["2001:db8:bad::9"]["indicator"] == "2001:db8:bad::/48"
    assert out["lookups"]["192.0.2.1"] is None
    out = json.loads(_cli("check-groups", "--groups", p["groups"], "--registry", p["registry"]).stdout)
    assert out["devices"] == {"dev-1": "cameras", "dev-2": "default", "dev-3": "default"}
    assert out["groups"]["cameras"]["timeWindowRules"] == 1
    _cli("serve", "--recording", p["recording"], "--db", p["db"])          # no feeds, no groups
    active = json.loads(_cli("recommendations", "--db", p["db"], "--json", "--active").stdout)
    assert {r["type"] for r in active} == {"IoT_IPFilterDefaultDeny", "IoT_SharedCredentials",
                                           "IoT_PlaintextMqtt", "IoT_OutdatedSecurityModule"}
    assert json.loads(_cli("recommendations", "--db", p["db"], "--json", "--resolved").stdout) == []
    assert "usage" in _cli("--help").stdout


def test_hub_package_records(tmp_path):
    """Records as harness.hub.recording reads them (HubRecord dataclasses) work as well."""
    recording = pytest.importorskip("harness.hub.recording")
    p = write_scenario(tmp_path)
    with Backend(config(p)) as be:
        be.run(recording.read_recording(p["recording"]))
        be.flush()
        check_outcome(be.store)
