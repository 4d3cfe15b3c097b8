"""Decoded security messages: plain dataclasses and enums, plus wire constants.

The shape is the one in docs/design.md ("Decoded security messages"). Defaults of
the schema are already applied (an absent ``protocol`` is TCP, absent counters and
ports are 0, an absent timezone is 0). Every dataclass has ``to_dict()`` giving a
JSON-friendly dict: addresses as strings, enums as their names, the event id as 32
lowercase hex digits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Iterator, Union

# Property bag of a security message (spec §2.1).
SECURITY_INTERFACE_ID = "urn:azureiot:Security:SecurityAgent:1"
MTI = "2.3-1-0-0"
SECURITY_PROPERTY_BAG = "mti=2.3-1-0-0&%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"
# What the reference module (NetX Duo 6.2.0 … 6.3.0) puts in the envelope (spec §0, §2.3).
MODULE_ID = "defender-iot-micro-agent"
MODULE_VERSION = (3, 5, 4)


class PayloadType(enum.IntEnum):
    """Union ``Payload`` type byte."""
    NONE = 0
    NETWORK_ACTIVITY = 1
    SYSTEM_INFORMATION = 2
    LISTENING_PORTS = 3
    HEARTBEAT = 4
    BASELINE = 5
    PROCESS = 6
    LOG = 7


class Protocol(enum.IntEnum):
    """Enum ``Protocol`` (int8) of a connection record."""
    TCP = 0
    UDP = 1
    ICMP = 2


# Schema names of the union members, for messages ("payload type 9 is not a known Payload").
PAYLOAD_SCHEMA_NAMES = {
    PayloadType.NETWORK_ACTIVITY: "NetworkActivity",
    PayloadType.SYSTEM_INFORMATION: "SystemInformation",
    PayloadType.LISTENING_PORTS: "ListeningPorts",
    PayloadType.HEARTBEAT: "Heartbeat",
    PayloadType.BASELINE: "Baseline",
    PayloadType.PROCESS: "Process",
    PayloadType.LOG: "Log",
}
# Payload kinds the RTOS module emits (spec §2.3); the others decode as OpaquePayload.
RTOS_PAYLOAD_TYPES = frozenset(
    {PayloadType.NETWORK_ACTIVITY, PayloadType.SYSTEM_INFORMATION, PayloadType.HEARTBEAT})


def version_tuple(raw: int) -> tuple[int, int, int]:
    """Split ``security_module_version`` = (major<<24)|(minor<<16)|patch."""
    return (raw >> 24) & 0xFF, (raw >> 16) & 0xFF, raw & 0xFFFF


def version_raw(version: tuple[int, int, int]) -> int:
    """Inverse of :func:`version_tuple`."""
    major, minor, patch = version
    return (major << 24) | (minor << 16) | patch


def is_security_message(properties: dict) -> bool:
    """True iff a (URL-decoded) property bag marks a security message (``$.ifid``)."""
    return isinstance(properties, dict) and properties.get("$.ifid") == SECURITY_INTERFACE_ID


@dataclass(frozen=True)
class ConnectionRecord:
    """One NetworkActivityV4/V6 record (one 5-tuple in one collection window)."""
    local_address: Union[IPv4Address, IPv6Address]
    remote_address: Union[IPv4Address, IPv6Address]
    local_port: int = 0
    remote_port: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    protocol: Protocol = Protocol.TCP

    @property
    def ip_version(self) -> int:
        return self.local_address.version

    def to_dict(self) -> dict:
        return {
            "local_address": str(self.local_address),
            "remote_address": str(self.remote_address),
            "local_port": self.local_port,
            "remote_port": self.remote_port,
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
            "protocol": Protocol(self.protocol).name,
        }


@dataclass(frozen=True)
class NetworkActivity:
    ipv4: list[ConnectionRecord] = field(default_factory=list)
    ipv6: list[ConnectionRecord] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"ipv4": [r.to_dict() for r in self.ipv4],
                "ipv6": [r.to_dict() for r in self.ipv6]}


@dataclass(frozen=True)
class SystemInformation:
    os_info: str | None = None
    kernel_info: str | None = None
    hw_info: str | None = None

    def to_dict(self) -> dict:
        return {"os_info": self.os_info, "kernel_info": self.kernel_info,
                "hw_info": self.hw_info}


@dataclass(frozen=True)
class Heartbeat:
    def to_dict(self) -> dict:
        return {}


@dataclass(frozen=True)
class OpaquePayload:
    """A schema-valid payload the RTOS module never emits (ListeningPorts, Baseline,
    Process, Log): its fields are not public, so only the kind and the number of
    fields present in its table are kept. A conformance check should flag it."""
    kind: PayloadType
    fields_present: int = 0

    def to_dict(self) -> dict:
        return {"kind": PayloadType(self.kind).name, "fields_present": self.fields_present}


Payload = Union[NetworkActivity, SystemInformation, Heartbeat, OpaquePayload]


@dataclass(frozen=True)
class Event:
    id: bytes  # 16 bytes
    time: int
    collection_interval: int
    payload_type: PayloadType
    payload: Payload

    @property
    def id_hex(self) -> str:
        return self.id.hex()

    def to_dict(self) -> dict:
        return {
            "id": self.id.hex(),
            "time": self.time,
            "collection_interval": self.collection_interval,
            "payload_type": PayloadType(self.payload_type).name,
            "payload": self.payload.to_dict(),
        }


@dataclass(frozen=True)
class SecurityMessage:
    security_module_id: str
    version: tuple[int, int, int]
    version_raw: int
    timezone: int
    events: list[Event]

    def records(self) -> Iterator[tuple[int, ConnectionRecord]]:
        """All connection records of all NetworkActivity events, as (4|6, record)."""
        for event in self.events:
            if isinstance(event.payload, NetworkActivity):
                for rec in event.payload.ipv4:
                    yield 4, rec
                for rec in event.payload.ipv6:
                    yield 6, rec

    def events_of(self, payload_type: PayloadType) -> list[Event]:
        return [e for e in self.events if e.payload_type == payload_type]

    def to_dict(self) -> dict:
        return {
            "security_module_id": self.security_module_id,
            "version": list(self.version),
            "version_raw": self.version_raw,
            "timezone": self.timezone,
            "events": [e.to_dict() for e in self.events],
        }
