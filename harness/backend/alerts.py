"""Alert, recommendation and finding records, and the table of their types."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from .groups import COUNT_RULE_TYPES, IP_RULE_TYPES

TI_ALERT = "IoT_SuspiciousIPCommunication"

#: type -> (display name, severity)
ALERT_TYPES: dict[str, tuple[str, str]] = {
    TI_ALERT: ("Communication with a suspicious IP address detected", "Medium"),
    "IoT_Invalid_SAS_Token": ("Invalid SAS token signature", "Low"),
    "IoT_Expired_SAS_Token": ("Expired SAS token", "Low"),
    "IoT_Cert_Print_Mismatch": ("X.509 device certificate thumbprint mismatch", "Medium"),
    "IoT_Cert_Expired": ("X.509 certificate expired", "Medium"),
}
_CUSTOM_NAMES = {
    "ActiveConnectionsNotInAllowedRange": "Number of active connections is not in the allowed range",
    "ConnectionToIpNotAllowed": "Outbound connection to an IP that isn't allowed",
    "ConnectionFromIpNotAllowed": "Inbound connection from an IP that isn't allowed",
    "MqttD2CMessagesNotInAllowedRange":
        "Number of device to cloud messages (MQTT protocol) is not in the allowed range",
    "MqttC2DMessagesNotInAllowedRange":
        "Number of cloud to device messages (MQTT protocol) is not in the allowed range",
    "MqttC2DRejectedMessagesNotInAllowedRange":
        "Number of rejected cloud to device messages (MQTT protocol) is not in the allowed range",
    "DirectMethodInvokesNotInAllowedRange": "Number of direct method invokes is not in the allowed range",
    "TwinUpdatesNotInAllowedRange": "Number of module twin updates is not in the allowed range",
    "UnauthorizedOperationsNotInAllowedRange":
        "Number of unauthorized operations is not in the allowed range",
    "QueuePurgesNotInAllowedRange": "Number of command queue purges is not in the allowed range",
}
for _rt in list(COUNT_RULE_TYPES) + list(IP_RULE_TYPES):
    ALERT_TYPES[f"IoT_CA_{_rt}"] = (_CUSTOM_NAMES[_rt], "Low")

#: hub connect_refused reason -> alert type
AUTH_REASONS = {
    "sas_invalid_signature": "IoT_Invalid_SAS_Token",
    "sas_expired": "IoT_Expired_SAS_Token",
    "x509_thumbprint_mismatch": "IoT_Cert_Print_Mismatch",
    "x509_expired": "IoT_Cert_Expired",
}

#: recommendation type -> (display name, severity)
RECOMMENDATION_TYPES: dict[str, tuple[str, str]] = {
    "IoT_SharedCredentials": ("Identical authentication credentials used by multiple devices", "High"),
    "IoT_IPFilterDefaultDeny": ("The default IP filter policy should be Deny", "Medium"),
    "IoT_IPFilterLargeRange": ("An IP filter rule includes a large IP range", "Medium"),
    "IoT_PlaintextMqtt": ("Device connects with plaintext MQTT instead of MQTT over TLS", "Medium"),
    "IoT_DeviceSilent": ("Device silent", "Low"),
    "IoT_OutdatedSecurityModule": ("Security module version is outdated", "Medium"),
    "IoT_InboundFromOutsideAllowlist":
        ("Device accepts inbound connections from outside its group's allowlist", "Medium"),
}

HUB = ""   # device_id used in the store for hub-level recommendations


def _json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


@dataclass
class Alert:
    type: str
    device_id: str | None
    time: float
    group: str | None = None
    peer: str | None = None
    evidence: dict = field(default_factory=dict)
    indicator: str | None = None
    source: str | None = None
    confidence: int | None = None
    name: str = ""
    severity: str = ""
    id: str = ""
    count: int = 1                 # how many occurrences the de-duplication folded in
    last_time: float | None = None

    def __post_init__(self):
        name, sev = ALERT_TYPES.get(self.type, (self.type, "Low"))
        self.name = self.name or name
        self.severity = self.severity or sev
        if not self.id:
            h = hashlib.sha256(_json([self.type, self.device_id, self.peer, self.time,
                                      self.evidence.get("record_seq"),
                                      self.evidence.get("window_start")]).encode())
            self.id = h.hexdigest()[:24]
        if self.last_time is None:
            self.last_time = self.time

    @property
    def dedup_key(self) -> str:
        return _json([self.device_id or "", self.type, self.peer or ""])

    def to_dict(self) -> dict:
        d = {"id": self.id, "type": self.type, "name": self.name, "severity": self.severity,
             "device_id": self.device_id, "group": self.group, "time": self.time,
             "peer": self.peer, "evidence": self.evidence}
        if self.type == TI_ALERT or self.indicator is not None:
            d.update(indicator=self.indicator, source=self.source, confidence=self.confidence)
        d.update(count=self.count, last_time=self.last_time)
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False, default=str)

    @classmethod
    def from_dict(cls, d: dict) -> "Alert":
        keys = {"id", "type", "name", "severity", "device_id", "group", "time", "peer",
                "evidence", "indicator", "source", "confidence", "count", "last_time"}
        return cls(**{k: v for k, v in d.items() if k in keys})


@dataclass
class Recommendation:
    type: str
    device_id: str | None          # None for hub-level recommendations
    time: float
    evidence: dict = field(default_factory=dict)
    name: str = ""
    severity: str = ""
    id: str = ""
    active: bool = True
    resolved_time: float | None = None
    last_time: float | None = None

    def __post_init__(self):
        name, sev = RECOMMENDATION_TYPES.get(self.type, (self.type, "Low"))
        self.name = self.name or name
        self.severity = self.severity or sev
        if not self.id:
            self.id = hashlib.sha256(_json([self.type, self.device_id, self.time]).encode()) \
                .hexdigest()[:24]
        if self.last_time is None:
            self.last_time = self.time

    def to_dict(self) -> dict:
        return {"id": self.id, "type": self.type, "name": self.name, "severity": self.severity,
                "device_id": self.device_id, "time": self.time, "active": self.active,
                "resolved_time": self.resolved_time, "last_time": self.last_time,
                "evidence": self.evidence}

    @classmethod
    def from_dict(cls, d: dict) -> "Recommendation":
        keys = {"id", "type", "name", "severity", "device_id", "time", "evidence", "active",
                "resolved_time", "last_time"}
        return cls(**{k: v for k, v in d.items() if k in keys})


@dataclass
class Finding:
    """Something the back end could not process (e.g. a malformed security message)."""

    kind: str                      # malformed_security_message | malformed_record
    device_id: str | None
    time: float | None
    record_seq: int | None
    detail: dict = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "device_id": self.device_id, "time": self.time,
                "record_seq": self.record_seq, "detail": self.detail}
