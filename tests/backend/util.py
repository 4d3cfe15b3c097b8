"""Builders of hub records for the back-end tests (real encoded security messages)."""

from __future__ import annotations

import base64
import itertools
import json

from harness.secmsg import vectors

IFID = "urn:azureiot:Security:SecurityAgent:1"
T0 = 1767225600.0          # 2026-01-01T00:00:00Z, a multiple of 3600 (window-aligned)

_seq = itertools.count(1)
_uuid = itertools.count(1)


def reset_seq() -> None:
    global _seq, _uuid
    _seq = itertools.count(1)
    _uuid = itertools.count(1)


def conn(local, remote, lport=0, rport=0, proto="TCP", bytes_in=0, bytes_out=0) -> dict:
    return {"local_address": local, "remote_address": remote, "local_port": lport,
            "remote_port": rport, "bytes_in": bytes_in, "bytes_out": bytes_out, "protocol": proto}


def payload(conns=(), version=(3, 5, 4), t=None, heartbeat=False) -> bytes:
    """A real FlatBuffers security message (built by harness.secmsg.vectors)."""
    t = int(t if t is not None else T0)
    v4 = [c for c in conns if ":" not in c["remote_address"]]
    v6 = [c for c in conns if ":" in c["remote_address"]]
    events = []
    if conns:
        events.append({"id": f"{next(_uuid):032x}", "time": t, "collection_interval": 10,
                       "payload_type": "NETWORK_ACTIVITY", "payload": {"ipv4": v4, "ipv6": v6}})
    if heartbeat or not conns:
        events.append({"id": f"{next(_uuid):032x}", "time": t, "collection_interval": 60,
                       "payload_type": "HEARTBEAT"})
    return vectors.build({"version": list(version), "events": events})


def d2c(t, device, body: bytes = b"{}", security=False, module_id=None, seq=None) -> dict:
    props = {"mti": "2.3-1-0-0", "$.ifid": IFID} if security else {}
    if module_id:
        topic = f"devices/{device}/modules/{module_id}/messages/events/"
    else:
        topic = f"devices/{device}/messages/events/"
    return {"seq": next(_seq) if seq is None else seq, "t": float(t), "topic": topic,
            "kind": "d2c_module" if module_id else "d2c", "device_id": device,
            "module_id": module_id, "properties": props, "error": None, "qos": 1,
            "retain": False, "payload_len": len(body),
            "payload_b64": base64.b64encode(body).decode()}


def secmsg(t, device, conns=(), version=(3, 5, 4), raw: bytes | None = None, **kw) -> dict:
    body = raw if raw is not None else payload(conns, version, t)
    return d2c(t, device, body, security=True, **kw)


def hub_event(t, event, device=None, **fields) -> dict:
    ev = {"event": event, "device_id": device, "t": float(t), **fields}
    return {"seq": next(_seq), "t": float(t), "topic": "lab/hub/events", "kind": "hub_event",
            "device_id": device, "module_id": None, "properties": {}, "error": None, "qos": 0,
            "retain": False, "payload_len": 0, "payload_b64": "", "event": ev}


def write_jsonl(path, records, final_newline=True) -> None:
    text = "\n".join(json.dumps(r) for r in records)
    with open(path, "w") as f:
        f.write(text + ("\n" if final_newline else ""))


# ---- a small end-to-end scenario --------------------------------------------------------------
SCENARIO_GROUPS = """\
groups:
  default: {}
  cameras:
    timeWindowRules:
      - ruleType: ActiveConnectionsNotInAllowedRange
        isEnabled: true
        minThreshold: 0
        maxThreshold: 3
        timeWindowSize: PT1M
    allowlistRules:
      - ruleType: ConnectionToIpNotAllowed
        isEnabled: true
        allowlistValues: [192.0.2.0/24]
"""
SCENARIO_REGISTRY = """\
devices:
  - id: dev-1
    key: a2V5MQ==
    tags: {SecurityGroup: cameras}
  - id: dev-2
    key: a2V5Mg==
  - id: dev-3
    key: a2V5Mw==
"""
SCENARIO_FEED = "# lab feed\n203.0.113.66\n2001:db8:bad::/48 ; bad net\n"

#: (type, device, peer) of every alert the scenario must produce, in time order
SCENARIO_ALERTS = [
    ("IoT_SuspiciousIPCommunication", "dev-1", "203.0.113.66"),
    ("IoT_CA_ConnectionToIpNotAllowed", "dev-1", "203.0.113.66"),
    ("IoT_SuspiciousIPCommunication", "dev-2", "2001:db8:bad::1"),
    ("IoT_Invalid_SAS_Token", "dev-4", "192.0.2.99"),
    ("IoT_CA_ActiveConnectionsNotInAllowedRange", "dev-1", None),
]
SCENARIO_RECOMMENDATIONS = [
    ("IoT_IPFilterDefaultDeny", None),
    ("IoT_SharedCredentials", "dev-1"),
    ("IoT_SharedCredentials", "dev-2"),
    ("IoT_PlaintextMqtt", "dev-2"),
    ("IoT_OutdatedSecurityModule", "dev-3"),
]


def scenario_records() -> list[dict]:
    reset_seq()
    c = lambda remote, rport, lport=40000: conn("192.0.2.10", remote, lport, rport, bytes_out=100)
    return [
        hub_event(T0, "connect", "dev-1", transport="mqtts", auth="sas", credential_id="cred-1",
                  peer="192.0.2.10:50001"),
        hub_event(T0 + 1, "connect", "dev-2", transport="mqtt", auth="sas", credential_id="cred-1",
                  peer="192.0.2.11:50002"),
        secmsg(T0 + 5, "dev-1", [c("192.0.2.1", 8883), c("203.0.113.66", 443, 40001)]),
        secmsg(T0 + 6, "dev-2", [conn("2001:db8::11", "2001:db8:bad::1", 40000, 443)]),
        hub_event(T0 + 7, "connect_refused", "dev-4", reason="sas_invalid_signature",
                  peer="192.0.2.99:1234"),
        secmsg(T0 + 8, "dev-1", raw=b"\x10\x00\x00\x00not a flatbuffer"),
        secmsg(T0 + 15, "dev-1", [c(f"192.0.2.{i}", 8883, 41000 + i) for i in range(2, 6)]),
        secmsg(T0 + 61, "dev-2", []),
        secmsg(T0 + 62, "dev-3", [], version=(3, 5, 1)),
    ]


def write_scenario(tmp_path):
    """Write the scenario's files; return a dict of their paths."""
    paths = {"groups": tmp_path / "groups.yaml", "registry": tmp_path / "registry.yaml",
             "feed": tmp_path / "lab-feed.txt", "feeds": tmp_path / "feeds.yaml",
             "recording": tmp_path / "hub.jsonl", "db": tmp_path / "alerts.db"}
    paths["groups"].write_text(SCENARIO_GROUPS)
    paths["registry"].write_text(SCENARIO_REGISTRY)
    paths["feed"].write_text(SCENARIO_FEED)
    paths["feeds"].write_text("feeds:\n  - path: lab-feed.txt\n    confidence: 80\n")
    write_jsonl(paths["recording"], scenario_records())
    return {k: str(v) for k, v in paths.items()}
