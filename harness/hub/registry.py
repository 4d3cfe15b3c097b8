"""The hub's device registry: identities, keys and tags (YAML or JSON).

    hub:
      host: hub.lab                 # IoT Hub host name (MQTT username prefix, SAS resource URI)
    devices:
      - id: dev-1
        key: <base64 symmetric key>   # SAS authentication (optional in the plain lab)
        auth: sas                     # sas | x509 | none
        thumbprint: <sha1 hex>        # x509 only
        status: enabled               # enabled | disabled
        tags: {SecurityGroup: fleet-a}
    ipFilter:                         # optional, as IoT Hub's IP filter (for recommendations)
      defaultAction: Accept
      rules: [{name: lab, action: Accept, ipMask: 192.0.2.0/24}]
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import InputError

DEVICE_ID = re.compile(r"^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$")
AUTH_METHODS = ("sas", "x509", "none")
_DEVICE_KEYS = {"id", "key", "auth", "thumbprint", "status", "tags"}
_TOP_KEYS = {"hub", "devices", "ipFilter"}


@dataclass
class DeviceIdentity:
    id: str
    key: str | None = None
    auth: str = "none"
    thumbprint: str | None = None
    status: str = "enabled"
    tags: dict = field(default_factory=dict)

    @property
    def security_group(self) -> str:
        return str(self.tags.get("SecurityGroup") or "default")

    def to_dict(self) -> dict:
        d = {"id": self.id, "auth": self.auth, "status": self.status, "tags": dict(self.tags)}
        if self.key:
            d["key"] = self.key
        if self.thumbprint:
            d["thumbprint"] = self.thumbprint
        return d


@dataclass
class Registry:
    hub_host: str = "hub.lab"
    devices: dict[str, DeviceIdentity] = field(default_factory=dict)
    ip_filter: dict | None = None
    path: Path | None = None

    def get(self, device_id: str) -> DeviceIdentity | None:
        return self.devices.get(device_id)

    def add(self, device: DeviceIdentity) -> DeviceIdentity:
        if device.id in self.devices:
            raise InputError(f"registry: device {device.id!r} is already registered")
        _validate_device(device, "registry")
        self.devices[device.id] = device
        return device

    def add_device(self, device_id: str, *, auth: str = "sas", tags: dict | None = None,
                   key: str | None = None) -> DeviceIdentity:
        if auth == "sas" and key is None:
            key = base64.b64encode(secrets.token_bytes(32)).decode()
        return self.add(DeviceIdentity(device_id, key=key, auth=auth, tags=dict(tags or {})))

    def to_dict(self) -> dict:
        d = {"hub": {"host": self.hub_host}, "devices": [dev.to_dict() for dev in self.devices.values()]}
        if self.ip_filter:
            d["ipFilter"] = self.ip_filter
        return d

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))
        self.path = path
        return path


def _validate_device(dev: DeviceIdentity, where: str) -> None:
    if not DEVICE_ID.match(dev.id):
        raise InputError(f"{where}: device id {dev.id!r} is not a valid IoT Hub device id "
                         "(1-128 of A-Z a-z 0-9 - . % _ * ? ! ( ) , : = @ $ ')")
    if dev.auth not in AUTH_METHODS:
        raise InputError(f"{where}: device {dev.id!r}: auth {dev.auth!r} is not one of {', '.join(AUTH_METHODS)}")
    if dev.key is not None:
        try:
            raw = base64.b64decode(dev.key, validate=True)
        except (binascii.Error, ValueError):
            raise InputError(f"{where}: device {dev.id!r}: key is not valid base64") from None
        if not 16 <= len(raw) <= 64:
            raise InputError(f"{where}: device {dev.id!r}: key must be 16 to 64 bytes, is {len(raw)}")
    if dev.auth == "sas" and not dev.key:
        raise InputError(f"{where}: device {dev.id!r}: auth sas needs a key")
    if dev.auth == "x509" and not (dev.thumbprint and re.fullmatch(r"[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64}", dev.thumbprint)):
        raise InputError(f"{where}: device {dev.id!r}: auth x509 needs a SHA-1 or SHA-256 hex thumbprint")
    if dev.status not in ("enabled", "disabled"):
        raise InputError(f"{where}: device {dev.id!r}: status must be enabled or disabled")
    if not isinstance(dev.tags, dict) or not all(isinstance(k, str) for k in dev.tags):
        raise InputError(f"{where}: device {dev.id!r}: tags must be a mapping of names to values")


def _validate_ip_filter(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(f"{where}: ipFilter must be a mapping")
    action = value.get("defaultAction", "Accept")
    if action not in ("Accept", "Reject"):
        raise InputError(f"{where}: ipFilter.defaultAction must be Accept or Reject, not {action!r}")
    rules = value.get("rules", [])
    if not isinstance(rules, list):
        raise InputError(f"{where}: ipFilter.rules must be a list")
    for i, rule in enumerate(rules):
        if not isinstance(rule, dict) or rule.get("action") not in ("Accept", "Reject"):
            raise InputError(f"{where}: ipFilter.rules[{i}] needs action Accept or Reject")
        try:
            ipaddress.ip_network(str(rule.get("ipMask")), strict=False)
        except ValueError:
            raise InputError(f"{where}: ipFilter.rules[{i}]: ipMask {rule.get('ipMask')!r} is not an "
                             "address or CIDR") from None
    return value


def load_registry(path) -> Registry:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise InputError(f"registry {path}: cannot read: {exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputError(f"registry {path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"registry {path}: top level must be a mapping with 'devices'")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise InputError(f"registry {path}: unknown top-level key(s) {', '.join(sorted(unknown))}")
    hub = data.get("hub") or {}
    if not isinstance(hub, dict) or not isinstance(hub.get("host", "hub.lab"), str):
        raise InputError(f"registry {path}: hub must be a mapping with a host name")
    reg = Registry(hub_host=hub.get("host", "hub.lab"), path=path)
    devices = data.get("devices", [])
    if not isinstance(devices, list):
        raise InputError(f"registry {path}: devices must be a list")
    for i, entry in enumerate(devices):
        where = f"registry {path}: devices[{i}]"
        if not isinstance(entry, dict) or "id" not in entry:
            raise InputError(f"{where} must be a mapping with an id")
        extra = set(entry) - _DEVICE_KEYS
        if extra:
            raise InputError(f"{where} ({entry.get('id')!r}): unknown field(s) {', '.join(sorted(extra))}")
        dev = DeviceIdentity(id=str(entry["id"]), key=entry.get("key"), auth=entry.get("auth", "sas" if entry.get("key")
                                                                                           else "none"),
                             thumbprint=entry.get("thumbprint"), status=entry.get("status", "enabled"),
                             tags=entry.get("tags") or {})
        _validate_device(dev, where)
        if dev.id in reg.devices:
            raise InputError(f"{where}: device id {dev.id!r} appears twice")
        reg.devices[dev.id] = dev
    if "ipFilter" in data:
        reg.ip_filter = _validate_ip_filter(data["ipFilter"], f"registry {path}")
    return reg
