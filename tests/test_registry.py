import base64

import pytest

from harness.errors import InputError
from harness.hub.registry import Registry, load_registry

KEY = base64.b64encode(b"k" * 32).decode()


def write(tmp_path, text, name="registry.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_round_trip(tmp_path):
    reg = Registry(hub_host="myhub.azure-devices.net")
    reg.add_device("dev-1", tags={"SecurityGroup": "fleet-a"})
    reg.add_device("dev-2", auth="none")
    again = load_registry(reg.save(tmp_path / "r.yaml"))
    assert again.hub_host == "myhub.azure-devices.net"
    assert again.get("dev-1").security_group == "fleet-a" and again.get("dev-2").security_group == "default"
    assert again.get("dev-1").auth == "sas" and len(base64.b64decode(again.get("dev-1").key)) == 32


@pytest.mark.parametrize("text,message", [
    ("devices: [{id: 'bad id'}]", r"devices\[0\]: device id 'bad id' is not a valid IoT Hub device id"),
    (f"devices: [{{id: a, key: {KEY}}}, {{id: a, key: {KEY}}}]", r"devices\[1\]: device id 'a' appears twice"),
    ("devices: [{id: a, key: '***'}]", r"device 'a': key is not valid base64"),
    ("devices: [{id: a, key: " + base64.b64encode(b"x").decode() + "}]", r"key must be 16 to 64 bytes"),
    ("devices: [{id: a, auth: sas}]", r"auth sas needs a key"),
    ("devices: [{id: a, auth: x509}]", r"auth x509 needs a SHA-1 or SHA-256 hex thumbprint"),
    ("devices: [{id: a, auth: password}]", r"auth 'password' is not one of"),
    ("devices: [{id: a, colour: red}]", r"unknown field\(s\) colour"),
    ("devices: [{id: a, tags: [1, 2]}]", r"tags must be a mapping"),
    ("devices: {id: a}", r"devices must be a list"),
    ("gadgets: []", r"unknown top-level key\(s\) gadgets"),
    ("devices: [a, b]", r"devices\[0\] must be a mapping with an id"),
    ("devices: [\n  - id: a\n  bad", r"not valid YAML"),
    ("ipFilter: {defaultAction: Maybe}", r"ipFilter.defaultAction must be Accept or Reject"),
    ("ipFilter: {rules: [{action: Accept, ipMask: 300.1.1.1}]}", r"ipFilter.rules\[0\]: ipMask '300.1.1.1'"),
])
def test_invalid_registries_are_rejected_with_the_entry_named(tmp_path, text, message):
    with pytest.raises(InputError, match=message):
        load_registry(write(tmp_path, text))


def test_missing_registry_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_registry(tmp_path / "none.yaml")


def test_ip_filter_and_json(tmp_path):
    p = write(tmp_path, '{"devices": [{"id": "a"}], "ipFilter": {"defaultAction": "Reject", '
                        '"rules": [{"name": "lab", "action": "Accept", "ipMask": "192.0.2.0/24"}]}}', "r.json")
    reg = load_registry(p)
    assert reg.ip_filter["defaultAction"] == "Reject" and reg.get("a").auth == "none"
