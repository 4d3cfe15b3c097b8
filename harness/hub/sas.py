"""IoT Hub shared access signatures, validated the way IoT Hub does.

A device SAS token:  SharedAccessSignature sr={URL-encoded resource URI}&sig={URL-encoded
base64 HMAC-SHA256}&se={expiry, unix seconds}[&skn=...]
resource URI: {hub host}/devices/{device id}; string to sign: "{URL-encoded URI}\\n{expiry}";
key: the device's base64 key from the registry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote


@dataclass
class SasResult:
    ok: bool
    reason: str  # "" | sas_malformed | sas_wrong_resource | sas_invalid_signature | sas_expired


def resource_uri(hub_host: str, device_id: str) -> str:
    return f"{hub_host}/devices/{device_id}"


def make_token(hub_host: str, device_id: str, key_b64: str, expiry: int | None = None,
               ttl: int = 3600) -> str:
    expiry = int(time.time()) + ttl if expiry is None else expiry
    uri = quote(resource_uri(hub_host, device_id), safe="")
    sig = hmac.new(base64.b64decode(key_b64), f"{uri}\n{expiry}".encode(), hashlib.sha256).digest()
    return f"SharedAccessSignature sr={uri}&sig={quote(base64.b64encode(sig).decode(), safe='')}&se={expiry}"


def check_token(token: str, hub_host: str, device_id: str, key_b64: str, now: float | None = None) -> SasResult:
    now = time.time() if now is None else now
    prefix = "SharedAccessSignature "
    if not token.startswith(prefix):
        return SasResult(False, "sas_malformed")
    try:
        fields = dict(parse_qsl(token[len(prefix):], keep_blank_values=True, strict_parsing=True))
        sr, sig, se = fields["sr"], fields["sig"], int(fields["se"])
    except (KeyError, ValueError):
        return SasResult(False, "sas_malformed")
    if unquote(sr).lower().rstrip("/") != resource_uri(hub_host, device_id).lower():
        return SasResult(False, "sas_wrong_resource")
    expected = hmac.new(base64.b64decode(key_b64), f"{quote(unquote(sr), safe='')}\n{se}".encode(),
                        hashlib.sha256).digest()
    try:
        given = base64.b64decode(sig, validate=True)
    except ValueError:
        return SasResult(False, "sas_invalid_signature")
    if not hmac.compare_digest(expected, given):
        # devices may sign the URI as they sent it (not re-encoded): accept that form too
        alt = hmac.new(base64.b64decode(key_b64), f"{sr}\n{se}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(alt, given):
            return SasResult(False, "sas_invalid_signature")
    if se < now:
        return SasResult(False, "sas_expired")
    return SasResult(True, "")
