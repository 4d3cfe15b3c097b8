"""IoT Hub's device-facing behaviour through the gateway, with paho clients that behave like
unmodified Azure IoT samples: authentication (SAS, X.509) and its refusals as hub events,
keep-alive 240 s, the NUL-ended username, twin GET / reported PATCH / desired patches,
direct methods, cloud-to-device messages, and isolation between devices."""

import json
import time

import pytest

from harness.errors import InputError, WaitTimeout
from harness.hub.sample import SampleDevice

from .conftest import require_lab

OTHER_KEY = "QltK1rFc+8HZ3RYFIGNCtH6uMUbmX5t6Io2s3+aJgEg="


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_lab()
    from harness.lab.lab import Lab

    base = tmp_path_factory.mktemp("hubsvc")
    lab = Lab("hubsvc", artifacts_dir=base / "art", pki_dir=base / "pki").start()
    yield lab
    lab.stop()


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """The module's lab lives across tests (overrides conftest's per-test check)."""
    yield


def events(lab, name, device, since=0):
    return [r.event for r in lab.hub.recorder.find(since=since, kind="hub_event", device_id=device, event=name)]


def refused_reason(lab, device_id, **kwargs):
    mark = lab.hub.recorder.mark()
    sample = SampleDevice(lab, device_id, **kwargs)
    assert sample.connect(expect_success=False) == 5
    rec = lab.hub.recorder.wait_for(5, since=mark, kind="hub_event", device_id=device_id, event="connect_refused")
    return rec[0].event


def test_sas_refusals_are_hub_events(lab):
    lab.register_device("sas-1", auth="sas")
    ev = refused_reason(lab, "sas-1", key=OTHER_KEY)
    assert (ev["reason"], ev["connack"], ev["transport"], ev["auth"]) == ("sas_invalid_signature", 5, "mqtts", "sas")
    assert refused_reason(lab, "sas-1", sas_expiry=int(time.time()) - 60)["reason"] == "sas_expired"
    lab.register_device("sas-2", auth="sas")
    # a valid token of sas-2 presented by sas-1
    assert refused_reason(lab, "sas-1", key=lab.registry.get("sas-2").key, sas_device_id="sas-2")["reason"] \
        == "sas_wrong_resource"
    assert refused_reason(lab, "sas-1", token="Bearer nothing")["reason"] == "sas_malformed"
    assert refused_reason(lab, "ghost", key=OTHER_KEY)["reason"] == "device_unknown"


def test_refusals_raise_the_back_end_alerts(lab):
    """The back end turns the refusals into IoT Hub's alerts (replaying the recording)."""
    lab.register_device("sas-3", auth="sas")
    refused_reason(lab, "sas-3", key=OTHER_KEY)
    refused_reason(lab, "sas-3", sas_expiry=int(time.time()) - 60)
    from harness.backend.service import Backend, BackendConfig

    types = set()
    with Backend(BackendConfig(feed_poll_interval=0)) as backend:
        for rec in lab.hub.recorder.find(device_id="sas-3", kind="hub_event"):
            for alert in backend.process(json.loads(rec.to_json())) or []:
                types.add(alert.type)
    assert {"IoT_Invalid_SAS_Token", "IoT_Expired_SAS_Token"} <= types


def test_x509_by_thumbprint(lab):
    lab.register_device("x-1", auth="x509")
    good = SampleDevice(lab, "x-1", cert=lab.device_certificate("x-1"))
    assert good.connect() == 0
    good.close()
    connect = events(lab, "connect", "x-1")[-1]
    assert connect["auth"] == "x509" and connect["credential_id"] == lab.registry.get("x-1").thumbprint[:16].lower()
    wrong = lab.device_certificate("x-1", variant="other")
    assert refused_reason(lab, "x-1", cert=wrong)["reason"] == "x509_thumbprint_mismatch"
    assert refused_reason(lab, "x-1")["reason"] == "x509_missing"
    lab.use_device_certificate("x-1", expired=True, register=True)
    assert refused_reason(lab, "x-1", cert=lab.device_certificate("x-1", expired=True))["reason"] == "x509_expired"


def test_sample_connect_keepalive_and_nul_username(lab):
    lab.register_device("nul-1", auth="sas")
    mark = lab.hub.recorder.mark()
    s = SampleDevice(lab, "nul-1", nul_username=True, keepalive=240)
    assert s.connect() == 0
    ev = lab.hub.recorder.wait_for(5, since=mark, kind="hub_event", device_id="nul-1", event="connect")[0].event
    assert ev["nul_username"] is True and ev["keepalive"] == 240
    assert ev["username"] == f"hub.lab/nul-1/?api-version=2021-04-12&DeviceClientType={s.username.split('=')[-1]}"
    assert ev["tls"]["tls_version"] in ("TLSv1.2", "TLSv1.3")
    s.send_telemetry({"t": 1})
    lab.hub.recorder.wait_for(5, since=mark, kind="d2c", device_id="nul-1")
    s.close()


def test_twin_methods_c2d_and_isolation(lab):
    for d in ("tw-1", "tw-2"):
        lab.register_device(d, auth="sas", tags={"SecurityGroup": "fleet"})
    a, b = SampleDevice(lab, "tw-1"), SampleDevice(lab, "tw-2", ipv6=True)
    assert a.connect() == 0 and b.connect() == 0
    mark = lab.hub.recorder.mark()
    status, twin = a.twin_get()
    assert status == 200 and twin == {"desired": {"$version": 1}, "reported": {"$version": 1}}
    assert a.report({"fw": "1.2", "nested": {"x": 1}}) == (204, 2)
    assert a.report({"nested": {"y": 2}, "fw": None}) == (204, 3)
    assert a.report(b"[1, 2]")[0] == 400
    status, twin = a.twin_get()
    assert twin["reported"] == {"nested": {"x": 1, "y": 2}, "$version": 3}
    service_twin = lab.hub.get_twin("tw-1")
    assert service_twin["tags"] == {"SecurityGroup": "fleet"} and service_twin["properties"]["reported"]["$version"] == 3

    version = lab.hub.update_desired("tw-1", {"interval": 5})
    msg = a.wait_message("$iothub/twin/PATCH/properties/desired/")
    assert msg.topic == f"$iothub/twin/PATCH/properties/desired/?$version={version}"
    assert json.loads(msg.payload) == {"interval": 5, "$version": version}

    a.serve_methods(lambda name, payload: (201, {"name": name, "got": payload}))
    result = lab.hub.invoke_method("tw-1", "configure", {"level": 3}, timeout=5)
    assert (result["status"], result["payload"]) == (201, {"name": "configure", "got": {"level": 3}})
    assert lab.hub.invoke_method("tw-2", "configure", None, timeout=0.5)["status"] == 504  # b does not answer

    mid = lab.hub.send_c2d("tw-1", b"\x00binary\xff", {"kind": "cmd", "a b": "c&d"})
    msg = a.wait_message("devices/tw-1/messages/devicebound/")
    assert msg.payload == b"\x00binary\xff"
    assert f"%24.mid={mid}" in msg.topic and "a%20b=c%26d" in msg.topic

    # tw-2 saw none of it (it only got the method call meant for it)
    time.sleep(0.3)
    assert b.topics_seen() == ["$iothub/methods/POST/configure/?$rid=2"]
    with pytest.raises(WaitTimeout):
        b.wait_message("$iothub/twin/", timeout=0.2)

    names = [r.event["event"] for r in lab.hub.recorder.find(since=mark, kind="hub_event")]
    assert names.count("twin_updated") == 3 and "c2d_sent" in names and names.count("method_invoked") == 2
    timeout_ev = [e for e in events(lab, "method_response", "tw-2", since=mark)]
    assert timeout_ev and timeout_ev[0]["status"] == 504
    a.close()
    b.close()


def test_device_may_not_fake_desired_properties_or_read_others(lab):
    lab.register_device("evil-1", auth="sas")
    s = SampleDevice(lab, "evil-1", auto_subscribe=False)
    assert s.connect() == 0
    mark = lab.hub.recorder.mark()
    s.publish("$iothub/twin/PATCH/properties/desired/?$version=9", b"{}", qos=0)
    ev = lab.hub.recorder.wait_for(5, since=mark, kind="hub_event", device_id="evil-1", event="publish_denied")
    assert ev[0].event["topic"].startswith("$iothub/twin/PATCH/properties/desired/")
    s.close()
    s = SampleDevice(lab, "evil-1", auto_subscribe=False)
    assert s.connect() == 0
    mark = lab.hub.recorder.mark()
    s.client.subscribe("devices/tw-1/messages/devicebound/#", 1)
    lab.hub.recorder.wait_for(5, since=mark, kind="hub_event", device_id="evil-1", event="subscribe_denied")
    s.close()


def test_cli_requests_reach_the_running_hub(lab):
    """What `harness hub ...` does from another process: requests over the service socket."""
    from harness.hub.commands import find_hub
    from harness.hub.service import request

    hub = find_hub("hubsvc")
    lab.register_device("cli-1", auth="sas")
    s = SampleDevice(lab, "cli-1")
    assert s.connect() == 0
    s.serve_methods(lambda name, payload: (200, payload))
    assert request(hub["service_socket"], "method", device_id="cli-1", method="m", payload=[1], timeout=5)["payload"] \
        == [1]
    request(hub["service_socket"], "c2d", device_id="cli-1", payload="from the cli", properties={})
    assert s.wait_message("devices/cli-1/messages/devicebound/").payload == b"from the cli"
    assert request(hub["service_socket"], "desired", device_id="cli-1", patch={"a": 1})["version"] == 2
    assert request(hub["service_socket"], "twin", device_id="cli-1")["properties"]["desired"]["a"] == 1
    with pytest.raises(Exception, match="unknown op"):
        request(hub["service_socket"], "explode", device_id="cli-1")
    s.close()


def test_c2d_for_an_offline_device_waits_in_its_queue(lab):
    """Through the real gateway and broker: queued while offline, delivered in order on subscribe,
    expired ones never delivered; a persistent session gets them on reconnect."""
    lab.register_device("q-1", auth="sas")
    mark = lab.hub.recorder.mark()
    first = lab.hub.send_c2d("q-1", "one")
    lab.hub.send_c2d("q-1", "stale", ttl=0.2)
    second = lab.hub.send_c2d("q-1", "two")
    time.sleep(0.5)
    dev = SampleDevice(lab, "q-1")
    assert dev.connect() == 0
    got = [dev.wait_message("devices/q-1/messages/devicebound/") for _ in range(2)]
    assert [m.payload for m in got] == [b"one", b"two"]
    assert f"%24.mid={first}" in got[0].topic and f"%24.mid={second}" in got[1].topic
    with pytest.raises(WaitTimeout):
        dev.wait_message("devices/q-1/messages/devicebound/", timeout=0.5)
    lab.hub.recorder.wait_for(5, since=mark, kind="hub_event", device_id="q-1", event="c2d_expired")
    assert len(events(lab, "c2d_queued", "q-1", since=mark)) == 3
    sent = events(lab, "c2d_sent", "q-1", since=mark)
    assert [e["message_id"] for e in sent] == [first, second] and all(e["queued_s"] >= 0.4 for e in sent)
    assert events(lab, "subscribed", "q-1", since=mark)
    dev.close()

    persistent = SampleDevice(lab, "q-1", clean_session=False)
    assert persistent.connect() == 0
    persistent.close()
    lab.hub.recorder.wait_for(5, since=mark, kind="hub_event", device_id="q-1", event="disconnect")
    third = lab.hub.send_c2d("q-1", "three")
    again = SampleDevice(lab, "q-1", clean_session=False, auto_subscribe=False)
    assert again.connect() == 0
    msg = again.wait_message("devices/q-1/messages/devicebound/")
    assert msg.payload == b"three" and f"%24.mid={third}" in msg.topic
    again.close()


def test_a_full_c2d_queue_is_refused(lab):
    lab.register_device("q-full", auth="sas")
    for i in range(50):
        lab.hub.send_c2d("q-full", f"m{i}")
    with pytest.raises(InputError, match="queue is full"):
        lab.hub.send_c2d("q-full", "one too many")
    with pytest.raises(InputError, match="time to live"):
        lab.hub.send_c2d("q-full", "x", ttl=0)
