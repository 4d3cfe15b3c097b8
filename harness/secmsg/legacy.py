"""Recognise JSON payloads, in particular the pre-6.1 JSON preview (spec §0).

Before NetX Duo 6.1 a preview of the module sent the classic ASC JSON message:
an object with ``AgentVersion``, ``AgentId``, ``MessageSchemaVersion`` ("1.0") and an
``Events`` array. No released NetX Duo ships it; a firmware that does is reported
as such rather than as garbage.

A FlatBuffers security message can never be mistaken for JSON: its root offset is
a little-endian uint32 below 2**24 (payloads are capped well below 16 MiB), so the
buffer contains a NUL byte, which JSON text cannot.
"""

from __future__ import annotations

import json

from .errors import DecodeError, LegacyJsonPreview

LEGACY_KEYS = ("AgentVersion", "AgentId", "MessageSchemaVersion", "Events")
_JSON_START = b"{[\"-0123456789tfn"
_WHITESPACE = b" \t\r\n"


def _short(value, limit: int = 64) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


def check_json(payload: bytes) -> None:
    """Raise if ``payload`` is JSON (LegacyJsonPreview for the preview format); else return."""
    if b"\x00" in payload:
        return
    body = payload[3:] if payload.startswith(b"\xef\xbb\xbf") else payload
    stripped = body.lstrip(_WHITESPACE)
    if not stripped or stripped[0] not in _JSON_START:
        return
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        if stripped[:1] in (b"{", b"["):
            raise DecodeError(
                "payload starts like JSON but is not valid JSON "
                f"({_short(exc, 120)}), and it is not a FlatBuffers security message either"
            ) from None
        return
    if isinstance(doc, dict) and sum(k in doc for k in LEGACY_KEYS) >= 2:
        version = doc.get("AgentVersion")
        agent_id = doc.get("AgentId")
        schema = doc.get("MessageSchemaVersion")
        events = doc.get("Events")
        count = len(events) if isinstance(events, list) else None
        details = [f"AgentVersion {_short(version)!s}" if version is not None else None,
                   f"AgentId {_short(agent_id)!s}" if agent_id is not None else None,
                   f"MessageSchemaVersion {_short(schema)!s}" if schema is not None else None,
                   f"{count} events" if count is not None else None]
        info = ", ".join(d for d in details if d)
        raise LegacyJsonPreview(
            "payload is the legacy JSON preview format of the security module (pre-NetX Duo "
            f"6.1 / iot-security-module-core JSON era{': ' + info if info else ''}), not a "
            "FlatBuffers security message (schema 2.x, mti 2.3-1-0-0)",
            agent_version=version, agent_id=agent_id, schema_version=schema,
            event_count=count)
    kinds = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    kind = kinds.get(type(doc), "number")
    raise DecodeError(f"payload is JSON, not a FlatBuffers security message (top level: {kind})")
