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
import re
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote


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


def parse_token(token: str) -> dict[str, str] | None:
    """The fields of a SAS token, values as sent (still URL-encoded); None if it is not one."""
    prefix = "SharedAccessSignature "
    if not token.startswith(prefix):
        return None
    fields: dict[str, str] = {}
    for part in token[len(prefix):].strip().split("&"):
        key, sep, value = part.partition("=")
        if not sep or not key:
            return None
        fields.setdefault(key.strip(), value.strip())
    return fields


def check_token(token: str, hub_host: str, device_id: str, key_b64: str, now: float | None = None) -> SasResult:
    """IoT Hub's checks of a device's SAS token, in order: form (``sr``, ``sig``, ``se``), resource URI
    (``{hub}/devices/{id}``, case-insensitive host, URL-decoded once), signature (HMAC-SHA256 with the
    device key over the URL-encoded URI as the device sent it — or its canonical encoding — a newline and
    ``se``), expiry (``se`` in the past)."""
    now = time.time() if now is None else now
    fields = parse_token(token)
    if fields is None:
        return SasResult(False, "sas_malformed")
    try:
        sr_raw, sig_raw, se = fields["sr"], fields["sig"], int(fields["se"])
    except (KeyError, ValueError):
        return SasResult(False, "sas_malformed")
    resource = unquote(sr_raw)
    if resource.rstrip("/").lower() != resource_uri(hub_host, device_id).lower():
        return SasResult(False, "sas_wrong_resource")
    try:
        given = base64.b64decode(unquote(sig_raw), validate=True)
    except ValueError:
        return SasResult(False, "sas_invalid_signature")
    key = base64.b64decode(key_b64)
    canonical = quote(resource, safe="")
    candidates = {sr_raw, canonical, re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), canonical)}
    if not any(hmac.compare_digest(hmac.new(key, f"{sr}\n{se}".encode(), hashlib.sha256).digest(), given)
               for sr in candidates):
        return SasResult(False, "sas_invalid_signature")
    if se < now:
        return SasResult(False, "sas_expired")
    return SasResult(True, "")
