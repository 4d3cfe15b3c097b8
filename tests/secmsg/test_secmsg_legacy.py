"""JSON payloads: the pre-6.1 JSON preview and any other JSON."""

import json
from pathlib import Path

import pytest

from harness.secmsg import DecodeError, LegacyJsonPreview, decode

SAMPLE = Path(__file__).with_name("data") / "legacy_preview.json"


def test_legacy_preview_sample():
    with pytest.raises(LegacyJsonPreview) as info:
        decode(SAMPLE.read_bytes())
    exc = info.value
    text = str(exc)
    assert "legacy JSON preview format" in text
    assert "AgentVersion 0.0.1" in text
    assert "AgentId 0f0e0d0c-0b0a-4908-8706-050403020100" in text
    assert "MessageSchemaVersion 1.0" in text and "2 events" in text
    assert exc.agent_version == "0.0.1"
    assert exc.agent_id == "0f0e0d0c-0b0a-4908-8706-050403020100"
    assert exc.schema_version == "1.0" and exc.event_count == 2


@pytest.mark.parametrize("prefix", [b"", b"\xef\xbb\xbf", b"  \r\n\t"])
def test_legacy_preview_compact_with_bom_or_whitespace(prefix):
    doc = {"AgentVersion": "0.0.2", "AgentId": "dev", "MessageSchemaVersion": "1.0",
           "Events": []}
    with pytest.raises(LegacyJsonPreview, match="legacy JSON preview"):
        decode(prefix + json.dumps(doc, separators=(",", ":")).encode())


def test_partial_legacy_shape_without_agent_fields():
    with pytest.raises(LegacyJsonPreview) as info:
        decode(b'{"MessageSchemaVersion": "1.0", "Events": [{"Name": "Heartbeat"}]}')
    assert info.value.agent_version is None and info.value.event_count == 1
    assert "AgentVersion" not in str(info.value)


@pytest.mark.parametrize("payload", [b'{"temperature": 21.5}', b"[1, 2, 3]", b'"hello"',
                                     b"12345", b"true", b"null", b'{"Events": []}'])
def test_other_json(payload):
    with pytest.raises(DecodeError) as info:
        decode(payload)
    assert not isinstance(info.value, LegacyJsonPreview)
    assert str(info.value).startswith("payload is JSON, not a FlatBuffers security message")


@pytest.mark.parametrize("payload", [b'{"AgentVersion": "0.0.1", "Events": [',
                                     b"{not json}", b"[" * 100_000, b"[\xff]"])
def test_broken_json(payload):
    with pytest.raises(DecodeError) as info:
        decode(payload)
    assert "not valid JSON" in str(info.value)


def test_legacy_error_is_a_decode_error():
    with pytest.raises(DecodeError):
        decode(SAMPLE.read_bytes())
