"""The per-instance configuration block the harness loads into the device.

Format (docs/device-config.md): ASCII "RTLCFG1\\n", then "key=value\\n" lines,
then a NUL; it must fit the board's config block (target file). QEMU loads it
with ``-device loader,file=…,addr=<memory.config_block>,force-raw=on`` before
the CPU starts, and again on every reset.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field, fields

from .errors import InputError

MAGIC = b"RTLCFG1\n"
_SAFE = re.compile(r"^[^\n\r\x00]*$")  # the firmware splits a line at its first '=': values may contain '='
_KEY_B64 = re.compile(r"^[A-Za-z0-9+/]+={0,2}$")
_MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")


@dataclass
class DeviceConfig:
    device_id: str = "refdev"
    mac: str = "52:54:00:12:34:56"
    ipv4: str = "dhcp"            # dhcp | static | off
    ipv4_addr: str = ""
    ipv4_mask: str = ""
    ipv4_gw: str = ""
    dns: str = ""
    ipv6: str = "slaac"           # slaac | static | off
    ipv6_addr: str = ""
    hub_host: str = "hub.lab"
    hub_addr: str = ""            # address literal; empty: resolve hub_host with DNS
    hub_port: int = 1883
    transport: str = "mqtt"       # mqtt | mqtts
    api_version: str = "2021-04-12"
    password: str = ""
    device_key: str = ""          # base64; the device computes SAS tokens from it (the password then)
    sas_ttl: int = 3600           # SAS token lifetime (s): expiry = device's unix time + ttl
    sas_expiry: int = 0           # fixed SAS expiry (unix s), e.g. in the past to test refusal; 0: now + ttl
    sas_resource: str = ""        # SAS resource URI; "" = {hub_host}/devices/{device_id} (tests: another device)
    username_nul: int = 0         # 1: MQTT username ends in NUL (NetX Duo's default build quirk)
    keepalive: int = 240          # MQTT keep-alive (s), NetX Duo's IoT client default
    tls_verify: int = 1           # 0: do not verify the hub's certificate (mqtts)
    ntp: str = ""
    time_hint_ms: int | None = None  # None: now, when the block is written; 0: no hint (SNTP only)
    telemetry_interval: int = 5
    seed: str = field(default_factory=lambda: secrets.token_hex(32))
    secmod_autostart: int = 1

    def validate(self) -> None:
        for f in fields(self):  # integer fields given as text (Robot Framework arguments)
            value = getattr(self, f.name)
            if f.type in ("int", "int | None") and isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
                setattr(self, f.name, int(value))
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and not _SAFE.match(value):
                raise InputError(f"device config: field {f.name!r} contains a newline or NUL: {value!r}")
        if not self.device_id or len(self.device_id) > 63 or not re.match(r"^[A-Za-z0-9\-.%_*?!(),:=@$']+$",
                                                                            self.device_id):
            raise InputError(f"device config: device_id {self.device_id!r} is not a valid IoT Hub device id")
        if not _MAC.match(self.mac.lower()):
            raise InputError(f"device config: mac {self.mac!r} is not of the form aa:bb:cc:dd:ee:ff")
        if int(self.mac[:2], 16) & 1:
            raise InputError(f"device config: mac {self.mac!r} is a multicast address")
        if self.ipv4 not in ("dhcp", "static", "off"):
            raise InputError(f"device config: ipv4 must be dhcp, static or off, not {self.ipv4!r}")
        if self.ipv6 not in ("slaac", "static", "off"):
            raise InputError(f"device config: ipv6 must be slaac, static or off, not {self.ipv6!r}")
        if self.transport not in ("mqtt", "mqtts"):
            raise InputError(f"device config: transport must be mqtt or mqtts, not {self.transport!r}")
        if not re.match(r"^[0-9a-fA-F]{64}$", self.seed):
            raise InputError("device config: seed must be 64 hex digits (32 bytes)")
        if self.device_key and not _KEY_B64.match(self.device_key):
            raise InputError("device config: device_key must be base64 (IoT Hub symmetric key)")
        for name, low, high in (("hub_port", 1, 65535), ("keepalive", 0, 65535), ("sas_ttl", 1, 2**31),
                                ("sas_expiry", 0, 2**32 - 1), ("username_nul", 0, 1), ("tls_verify", 0, 1)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InputError(f"device config: {name} must be an integer in {low}..{high}, not {value!r}")

    def to_block(self, max_size: int) -> bytes:
        self.validate()
        if self.time_hint_ms is None:
            self.time_hint_ms = int(time.time() * 1000)
        body = "".join(f"{f.name}={getattr(self, f.name)}\n" for f in fields(self))
        block = MAGIC + body.encode("ascii") + b"\x00"
        if len(block) > max_size:
            raise InputError(f"device config is {len(block)} bytes; the board's config block holds {max_size}")
        return block

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        for secret in ("password", "device_key"):
            if d[secret]:
                d[secret] = "(set)"
        return d
