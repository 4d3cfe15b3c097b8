"""IoT Hub topic and property-bag parsing, and how the recorder keeps what it cannot parse."""

import base64
import json

import pytest

from harness.hub.recorder import make_record
from harness.hub.recording import HubRecord, parse_line, read_recording
from harness.hub.topics import TopicError, encode_property_bag, parse_property_bag, parse_topic
from harness.secmsg import SECURITY_PROPERTY_BAG, is_security_message

SEC_TOPIC = f"devices/dev-1/messages/events/{SECURITY_PROPERTY_BAG}"


def test_security_message_topic_properties_are_decoded_in_order():
    t = parse_topic(SEC_TOPIC)
    assert (t.kind, t.device_id, t.module_id) == ("d2c", "dev-1", None)
    assert list(t.properties.items()) == [("mti", "2.3-1-0-0"), ("$.ifid", "urn:azureiot:Security:SecurityAgent:1")]
    assert is_security_message(t.properties)


def test_module_identity_form():
    t = parse_topic("devices/dev-1/modules/sensor%2F1/messages/events/a=1&b=x%20y")
    assert (t.kind, t.device_id, t.module_id, t.properties) == ("d2c_module", "dev-1", "sensor/1",
                                                                {"a": "1", "b": "x y"})


@pytest.mark.parametrize("topic,props", [
    ("devices/d/messages/events", {}),
    ("devices/d/messages/events/", {}),
    ("devices/d/messages/events/$.ct=application%2Fjson&$.ce=utf-8", {"$.ct": "application/json", "$.ce": "utf-8"}),
    ("devices/d/messages/events/flag", {"flag": ""}),
    ("devices/d/messages/events/a=1&&b=2", {"a": "1", "b": "2"}),
    ("devices/d/messages/events/p=a+b", {"p": "a+b"}),  # '+' is a literal plus, not a space
    ("devices/d/messages/events/path=a/b/c", {"path": "a/b/c"}),
    ("devices/d/messages/events/u=%C3%A9", {"u": "é"}),
])
def test_property_bags(topic, props):
    assert parse_topic(topic).properties == props


def test_c2d_and_lab_topics():
    assert parse_topic("devices/d/messages/devicebound/%24.mid=1").kind == "c2d"
    assert parse_topic("lab/hub/events").kind == "hub_event"
    assert parse_topic("lab/alerts/dev-1").device_id == "dev-1"
    assert parse_topic("$iothub/twin/res/200/?$rid=1").kind == "twin"
    assert parse_topic("weather/today").kind == "other"


@pytest.mark.parametrize("topic,message", [
    ("devices/d/messages/events/a=%ZZ", r"bad percent-encoding '%ZZ' at position 0 in property value '%ZZ'"),
    ("devices/d/messages/events/a=%4", r"bad percent-encoding '%4'"),
    ("devices/d/messages/events/a=%", r"bad percent-encoding '%'"),
    ("devices/d/messages/events/a=%FF%FE", r"does not decode to UTF-8"),
    ("devices/d/messages/events/=x", r"empty property name"),
    ("devices//messages/events/", r"empty device id"),
    ("devices/d/telemetry", r"not an IoT Hub device topic"),
    ("devices/d/modules//messages/events/", r"empty module id"),
])
def test_malformed_topics_give_clear_errors(topic, message):
    with pytest.raises(TopicError, match=message):
        parse_topic(topic)


def test_malformed_topic_is_recorded_not_lost(tmp_path):
    rec = make_record(7, 1.5, "devices/dev-9/messages/events/x=%G1", b"\x00\x01payload", 1, False)
    assert rec.kind == "malformed" and "bad percent-encoding" in rec.error
    assert rec.device_id == "dev-9" and rec.payload == b"\x00\x01payload" and rec.payload_len == 9
    path = tmp_path / "hub.jsonl"
    path.write_text(rec.to_json() + "\n")
    again = next(read_recording(path))
    assert again == rec


def test_hub_event_payload_is_parsed():
    payload = json.dumps({"event": "connect", "device_id": "dev-1"}).encode()
    rec = make_record(1, 0.0, "lab/hub/events", payload, 1, False)
    assert rec.kind == "hub_event" and rec.event["event"] == "connect" and rec.device_id == "dev-1"
    bad = make_record(2, 0.0, "lab/hub/events", b"not json", 1, False)
    assert bad.kind == "hub_event" and "not JSON" in bad.error


def test_broken_recording_line_names_file_and_line(tmp_path):
    path = tmp_path / "hub.jsonl"
    good = HubRecord(seq=1, t=0.0, topic="x", kind="other", payload_b64=base64.b64encode(b"").decode())
    path.write_text(good.to_json() + "\n{not json\n")
    with pytest.raises(Exception, match=r"hub.jsonl:2: not a hub record"):
        list(read_recording(path))
    with pytest.raises(Exception, match="not a hub record"):
        parse_line("[1, 2]", "x")


def test_property_bag_round_trip():
    props = {"$.ifid": "urn:azureiot:Security:SecurityAgent:1", "mti": "2.3-1-0-0", "k&=": "v w"}
    assert parse_property_bag(encode_property_bag(props)) == props
