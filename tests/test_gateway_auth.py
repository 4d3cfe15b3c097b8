"""The hub gateway's IoT Hub checks, as pure functions (no sockets)."""

import base64
import time

import pytest

from harness.hub import mqtt_packets as M
from harness.hub.gateway import authenticate, publish_allowed, subscribe_allowed, to_device, to_internal
from harness.hub.registry import Registry
from harness.hub.sas import check_token, make_token

HUB = "hub.lab"
KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def registry():
    reg = Registry(hub_host=HUB)
    reg.add_device("dev-1", key=KEY)
    reg.add_device("plain", auth="none")
    return reg


def connect(client_id, username, password=None, level=4):
    body = M.build_connect(client_id, None, 60, True).body
    # rebuild with raw username/password bytes (build_connect takes str)
    flags = 0x02 | (0x80 if username is not None else 0) | (0x40 if password is not None else 0)
    import struct
    pkt = (struct.pack("!H", 4) + b"MQTT" + bytes([level, flags]) + struct.pack("!H", 60)
           + struct.pack("!H", len(client_id)) + client_id.encode())
    for field in (username, password):
        if field is not None:
            pkt += struct.pack("!H", len(field)) + field
    return M.parse_connect(M.Packet(M.CONNECT, 0, pkt))


def test_sas_device_accepted(registry):
    token = make_token(HUB, "dev-1", KEY).encode()
    d = authenticate(connect("dev-1", b"hub.lab/dev-1/?api-version=2021-04-12", token), registry, HUB)
    assert d.reason == "" and d.auth == "sas" and d.api_version == "2021-04-12" and d.credential_id


@pytest.mark.parametrize("client,user,password,reason", [
    ("ghost", b"hub.lab/ghost/?api-version=1", None, "device_unknown"),
    ("dev-1", b"other.hub/dev-1/?api-version=1", b"x", "bad_username"),
    ("dev-1", b"hub.lab/dev-2/?api-version=1", b"x", "client_id_mismatch"),
    ("dev-1", b"hub.lab/dev-1/?api-version=1", None, "sas_missing"),
    ("dev-1", b"hub.lab/dev-1/?api-version=1", b"Bearer x", "sas_malformed"),
])
def test_refusals(registry, client, user, password, reason):
    assert authenticate(connect(client, user, password), registry, HUB).reason == reason


def test_sas_failures(registry):
    user = b"hub.lab/dev-1/?api-version=2021-04-12"
    other_key = base64.b64encode(b"z" * 32).decode()
    assert authenticate(connect("dev-1", user, make_token(HUB, "dev-1", other_key).encode()), registry,
                        HUB).reason == "sas_invalid_signature"
    expired = make_token(HUB, "dev-1", KEY, expiry=int(time.time()) - 10).encode()
    assert authenticate(connect("dev-1", user, expired), registry, HUB).reason == "sas_expired"
    foreign = make_token(HUB, "plain", KEY).encode()
    assert authenticate(connect("dev-1", user, foreign), registry, HUB).reason == "sas_wrong_resource"


def test_nul_terminated_username_is_accepted_and_noted(registry):
    # the NetX Duo hub client's default build sends the username with a trailing NUL
    d = authenticate(connect("plain", b"hub.lab/plain/?api-version=2021-04-12\x00"), registry, HUB)
    assert d.reason == "" and d.nul_username


def test_mqtt5_is_refused(registry):
    assert authenticate(connect("plain", b"hub.lab/plain/", level=5), registry, HUB).reason == "bad_protocol"


def test_sas_token_check_directly():
    token = make_token(HUB, "dev-1", KEY, expiry=2_000_000_000)
    assert check_token(token, HUB, "dev-1", KEY, now=1_000).ok
    assert check_token(token, HUB, "dev-1", KEY, now=2_000_000_001).reason == "sas_expired"
    assert check_token(token.replace("sig=", "sig=A"), HUB, "dev-1", KEY, now=0).reason in (
        "sas_invalid_signature", "sas_malformed")


def test_topic_rules():
    assert publish_allowed("d", "devices/d/messages/events/a=1")
    assert publish_allowed("d", "devices/d/modules/m/messages/events/")
    assert not publish_allowed("d", "devices/e/messages/events/")
    assert not publish_allowed("d", "devices/d/messages/devicebound/")
    assert not publish_allowed("d", "lab/alerts/d")
    assert publish_allowed("d", "$iothub/twin/GET/?$rid=1")
    assert subscribe_allowed("d", "devices/d/messages/devicebound/#")
    assert not subscribe_allowed("d", "devices/+/messages/devicebound/#")
    assert not subscribe_allowed("d", "#")
    assert to_device("d", to_internal("d", "$iothub/twin/res/200/?$rid=1")) == "$iothub/twin/res/200/?$rid=1"
    assert to_internal("d", "$iothub/twin/GET/?$rid=1") == "hubint/d/twin/GET/?$rid=1"


def test_mqtt_codec_round_trip():
    pub = M.Publish("devices/d/messages/events/", 1, False, False, 7, b"\x00" * 300)
    again = M.parse_publish(M.Packet(M.PUBLISH, M.build_publish(pub).flags, M.build_publish(pub).body))
    assert again == pub
    pid, filters = M.parse_subscribe(M.build_subscribe(3, [("a/#", 1), ("b", 0)]))
    assert (pid, filters) == (3, [("a/#", 1), ("b", 0)])
    assert M.encode_length(321) == bytes([0xC1, 0x02])
    with pytest.raises(M.MQTTProtocolError):
        M.parse_publish(M.Packet(M.PUBLISH, 6, b"\x00\x05ab"))
