"""SAS token validation edge cases (harness/hub/sas.py), as IoT Hub validates device tokens."""

import base64
import hashlib
import hmac
from urllib.parse import quote

import pytest

from harness.hub.sas import check_token, make_token, parse_token

HUB = "hub.lab"
KEY = base64.b64encode(bytes(range(32))).decode()
NOW = 1_800_000_000


def token(resource: str, expiry: int, key: str = KEY, sr: str | None = None, sig_encode=True) -> str:
    """A token built by hand: ``sr`` as sent (default: fully URL-encoded), signed over ``sr``."""
    sr = quote(resource, safe="") if sr is None else sr
    sig = base64.b64encode(hmac.new(base64.b64decode(key), f"{sr}\n{expiry}".encode(), hashlib.sha256).digest()).decode()
    return f"SharedAccessSignature sr={sr}&sig={quote(sig, safe='') if sig_encode else sig}&se={expiry}"


def test_round_trip_and_parse():
    t = make_token(HUB, "dev-1", KEY, expiry=NOW + 60)
    assert check_token(t, HUB, "dev-1", KEY, now=NOW).ok
    fields = parse_token(t)
    assert fields["sr"] == "hub.lab%2Fdevices%2Fdev-1" and fields["se"] == str(NOW + 60)


@pytest.mark.parametrize("device", ["dev-1", "Dev.With_Upper", "a$b@c", "x%y", "p(1),q:2=3!*'?"])
def test_device_ids_with_special_characters(device):
    t = make_token(HUB, device, KEY, expiry=NOW + 60)
    assert check_token(t, HUB, device, KEY, now=NOW).ok, t
    assert check_token(t, HUB, device + "x", KEY, now=NOW).reason == "sas_wrong_resource"


def test_expiry_boundary():
    t = make_token(HUB, "dev-1", KEY, expiry=NOW)
    assert check_token(t, HUB, "dev-1", KEY, now=NOW).ok
    assert check_token(t, HUB, "dev-1", KEY, now=NOW + 1).reason == "sas_expired"


def test_wrong_key_wrong_device_and_expired():
    other = base64.b64encode(b"k" * 32).decode()
    assert check_token(make_token(HUB, "dev-1", other, NOW + 9), HUB, "dev-1", KEY, now=NOW).reason \
        == "sas_invalid_signature"
    assert check_token(make_token(HUB, "dev-2", KEY, NOW + 9), HUB, "dev-1", KEY, now=NOW).reason \
        == "sas_wrong_resource"
    assert check_token(make_token("other.hub", "dev-1", KEY, NOW + 9), HUB, "dev-1", KEY, now=NOW).reason \
        == "sas_wrong_resource"
    assert check_token(make_token(HUB, "dev-1", KEY, NOW - 1), HUB, "dev-1", KEY, now=NOW).reason == "sas_expired"


def test_resource_forms_iot_hub_accepts():
    # host name case, a trailing slash, a resource sent unencoded, lowercase percent-escapes
    assert check_token(make_token("HUB.LAB", "dev-1", KEY, NOW + 9), HUB, "dev-1", KEY, now=NOW).ok
    assert check_token(token("hub.lab/devices/dev-1/", NOW + 9), HUB, "dev-1", KEY, now=NOW).ok
    assert check_token(token("hub.lab/devices/dev-1", NOW + 9, sr="hub.lab/devices/dev-1"), HUB, "dev-1", KEY,
                       now=NOW).ok
    assert check_token(token("hub.lab/devices/dev-1", NOW + 9, sr="hub.lab%2fdevices%2fdev-1"), HUB, "dev-1", KEY,
                       now=NOW).ok


def test_signature_encoding():
    # an unencoded signature ('+', '/' and '=' as they are) is the same signature
    for expiry in range(NOW, NOW + 40):  # find a signature with '+' in it
        t = token("hub.lab/devices/dev-1", expiry, sig_encode=False)
        if "+" in parse_token(t)["sig"]:
            break
    assert check_token(t, HUB, "dev-1", KEY, now=NOW).ok
    t = make_token(HUB, "dev-1", KEY, NOW + 9)
    assert check_token(t.replace("sig=", "sig=%%%"), HUB, "dev-1", KEY, now=NOW).reason == "sas_invalid_signature"
    assert check_token(t.replace("sig=", "sig=A"), HUB, "dev-1", KEY, now=NOW).reason == "sas_invalid_signature"


def test_expired_and_wrong_signature_reports_the_signature():
    other = base64.b64encode(b"k" * 32).decode()
    assert check_token(make_token(HUB, "dev-1", other, NOW - 100), HUB, "dev-1", KEY, now=NOW).reason \
        == "sas_invalid_signature"


@pytest.mark.parametrize("bad", [
    "", "Bearer abc", "SharedAccessSignature", "SharedAccessSignature sr=a&sig=b",
    "SharedAccessSignature sr=hub.lab%2Fdevices%2Fdev-1&sig=x&se=soon", "SharedAccessSignature sr&sig&se",
    "sharedaccesssignature sr=hub.lab%2Fdevices%2Fdev-1&sig=x&se=1",
])
def test_malformed(bad):
    assert check_token(bad, HUB, "dev-1", KEY, now=NOW).reason == "sas_malformed"


def test_field_order_and_policy_name_do_not_matter():
    t = make_token(HUB, "dev-1", KEY, NOW + 9)
    fields = parse_token(t)
    reordered = f"SharedAccessSignature se={fields['se']}&skn=device&sig={fields['sig']}&sr={fields['sr']}"
    assert check_token(reordered, HUB, "dev-1", KEY, now=NOW).ok
