"""Build hub recordings (JSON lines, docs/design.md) without a device: security messages
encoded with the FlatBuffers builder, telemetry and hub events, for deterministic back-end
checks. Flows are written "tcp 192.0.2.10:49152 203.0.113.66:443 in=100 out=200"."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

from harness.hub.recording import HubRecord
from harness.secmsg import SECURITY_PROPERTY_BAG
from harness.secmsg.vectors import build


def _flow(text: str) -> tuple[int, dict]:
    proto, local, remote, *counts = text.split()
    (laddr, lport), (raddr, rport) = (x.rsplit(":", 1) for x in (local, remote))
    rec = {"local_address": laddr.strip("[]"), "remote_address": raddr.strip("[]"), "local_port": int(lport),
           "remote_port": int(rport), "protocol": proto.upper(), "bytes_in": 0, "bytes_out": 0}
    for c in counts:
        key, value = c.split("=")
        rec["bytes_in" if key == "in" else "bytes_out"] = int(value)
    return (6 if ":" in laddr.strip("[]") else 4), rec


class SyntheticRecordings:
    ROBOT_LIBRARY_SCOPE = "TEST"

    def __init__(self):
        self.path: Path | None = None
        self.seq = 0

    def start_recording(self, path: str) -> str:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("")
        self.seq = 0
        return str(self.path)

    def _write(self, rec: HubRecord) -> None:
        with open(self.path, "a") as fh:
            fh.write(rec.to_json() + "\n")

    def add_security_message(self, device: str, t, *flows: str, version: str = "3.5.4") -> None:
        """A security message with one NetworkActivity event holding ``flows``."""
        self.seq += 1
        v4 = [r for v, r in map(_flow, flows) if v == 4]
        v6 = [r for v, r in map(_flow, flows) if v == 6]
        spec = {"security_module_id": "defender-iot-micro-agent",
                "version": [int(x) for x in version.split(".")],
                "events": [{"id": uuid.UUID(int=self.seq).hex, "time": int(float(t)), "collection_interval": 10,
                            "payload_type": "NETWORK_ACTIVITY", "payload": {"ipv4": v4, "ipv6": v6}}]}
        payload = build(spec)
        self._write(HubRecord(seq=self.seq, t=float(t), topic=f"devices/{device}/messages/events/{SECURITY_PROPERTY_BAG}",
                              kind="d2c", device_id=device,
                              properties={"mti": "2.3-1-0-0", "$.ifid": "urn:azureiot:Security:SecurityAgent:1"},
                              qos=1, payload_len=len(payload), payload_b64=base64.b64encode(payload).decode()))

    def add_raw_security_payload(self, device: str, t, payload_text: str) -> None:
        """A security message whose payload is whatever bytes are given (e.g. garbage)."""
        self.seq += 1
        payload = payload_text.encode()
        self._write(HubRecord(seq=self.seq, t=float(t), topic=f"devices/{device}/messages/events/{SECURITY_PROPERTY_BAG}",
                              kind="d2c", device_id=device,
                              properties={"mti": "2.3-1-0-0", "$.ifid": "urn:azureiot:Security:SecurityAgent:1"},
                              qos=1, payload_len=len(payload), payload_b64=base64.b64encode(payload).decode()))

    def add_hub_event(self, event: str, device: str, t, **fields) -> None:
        self.seq += 1
        body = {"event": event, "device_id": device, "t": float(t), **fields}
        raw = json.dumps(body).encode()
        self._write(HubRecord(seq=self.seq, t=float(t), topic="lab/hub/events", kind="hub_event", device_id=device,
                              qos=1, payload_len=len(raw), payload_b64=base64.b64encode(raw).decode(), event=body))
