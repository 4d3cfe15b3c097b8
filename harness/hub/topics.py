"""IoT Hub MQTT topics: what kind of message a topic is, which device and
module it belongs to, and its property bag (URL-decoded).

Device-to-cloud:  devices/{device}/messages/events/{property bag}
                  devices/{device}/modules/{module}/messages/events/{property bag}
Cloud-to-device:  devices/{device}/messages/devicebound/{property bag}
Property bag:     key=value&key=value, percent-encoded (RFC 3986; '+' is a literal plus).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import InputError

HUB_EVENTS_TOPIC = "lab/hub/events"
ALERTS_PREFIX = "lab/alerts/"


class TopicError(InputError):
    """A topic under devices/ that does not follow IoT Hub's grammar."""


@dataclass
class ParsedTopic:
    kind: str  # d2c | d2c_module | c2d | hub_event | alert | twin | method | other
    device_id: str | None = None
    module_id: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


_HEX = re.compile(r"%[0-9A-Fa-f]{2}")


def percent_decode(text: str, what: str) -> str:
    """Strict percent-decoding: every '%' must start a %XX escape, and the result must be UTF-8."""
    out = bytearray()
    i = 0
    raw = text.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c == 0x25:  # '%'
            esc = raw[i:i + 3].decode("ascii", errors="replace")
            if not _HEX.fullmatch(esc):
                raise TopicError(f"bad percent-encoding {esc!r} at position {i} in {what} {text!r}")
            out.append(int(esc[1:], 16))
            i += 3
        else:
            out.append(c)
            i += 1
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise TopicError(f"{what} {text!r} does not decode to UTF-8") from None


def parse_property_bag(bag: str) -> dict[str, str]:
    props: dict[str, str] = {}
    if not bag:
        return props
    for part in bag.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not key:
            raise TopicError(f"empty property name in property bag {bag!r}")
        props[percent_decode(key, "property name")] = percent_decode(value, "property value") if sep else ""
    return props


def _device_segment(segment: str, topic: str) -> str:
    if not segment:
        raise TopicError(f"topic {topic!r} has an empty device id")
    return percent_decode(segment, "device id")


def parse_topic(topic: str) -> ParsedTopic:
    """Classify a topic; raises TopicError for a malformed devices/... topic."""
    if topic == HUB_EVENTS_TOPIC:
        return ParsedTopic("hub_event")
    if topic.startswith(ALERTS_PREFIX):
        return ParsedTopic("alert", device_id=topic[len(ALERTS_PREFIX):] or None)
    if topic.startswith("$iothub/twin/"):
        return ParsedTopic("twin")
    if topic.startswith("$iothub/methods/"):
        return ParsedTopic("method")
    if not topic.startswith("devices/"):
        return ParsedTopic("other")
    parts = topic.split("/", 6)
    # devices/{id}/messages/events/{bag}
    if len(parts) >= 4 and parts[2] == "messages" and parts[3] in ("events", "devicebound"):
        device = _device_segment(parts[1], topic)
        bag = topic.split("/", 4)[4] if len(parts) > 4 else ""
        if len(parts) == 4 and not topic.endswith("/"):
            bag = ""
        return ParsedTopic("d2c" if parts[3] == "events" else "c2d", device, None, parse_property_bag(bag))
    # devices/{id}/modules/{mid}/messages/events/{bag}
    if len(parts) >= 6 and parts[2] == "modules" and parts[4] == "messages" and parts[5] == "events":
        device = _device_segment(parts[1], topic)
        if not parts[3]:
            raise TopicError(f"topic {topic!r} has an empty module id")
        module = percent_decode(parts[3], "module id")
        bag = parts[6] if len(parts) > 6 else ""
        return ParsedTopic("d2c_module", device, module, parse_property_bag(bag))
    raise TopicError(f"topic {topic!r} is not an IoT Hub device topic "
                     "(devices/{id}/messages/events/..., devices/{id}/modules/{module}/messages/events/...)")


def encode_property_bag(props: dict[str, str]) -> str:
    from urllib.parse import quote

    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in props.items())
