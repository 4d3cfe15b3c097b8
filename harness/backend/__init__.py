"""The testbed's Defender-like back end (the real cloud side is retired).

Hub records in (a saved or live ``hub.jsonl``), alerts and recommendations out
(SQLite store, optional MQTT ``lab/alerts/{device}``). See README.md here.

* :mod:`.threatintel` — IP indicator feeds (list, CSV, STIX) and a fast
  most-specific-match index, reloaded when the files change.
* :mod:`.groups` — device security groups and the device registry.
* :mod:`.direction`, :mod:`.windows` — direction inference, active connections,
  time windows.
* :mod:`.engine` — the detections; :mod:`.store` — Store / SqliteStore;
  :mod:`.service` — Backend and ``serve``; :mod:`.api` — keyword-friendly API;
  :mod:`.learn` — baseline learning; :mod:`.feedgen` — synthetic feeds.
"""

from .alerts import ALERT_TYPES, RECOMMENDATION_TYPES, Alert, Finding, Recommendation
from .errors import FeedError, GroupsError
from .groups import DeviceRegistry, SecurityGroups, load_groups
from .store import SqliteStore, Store
from .threatintel import FeedConfig, ThreatIntel, load_feed_config

__all__ = ["ALERT_TYPES", "RECOMMENDATION_TYPES", "Alert", "Backend", "BackendConfig",
           "DeviceRegistry", "FeedConfig", "FeedError", "Finding", "GroupsError",
           "Recommendation", "SecurityGroups", "SqliteStore", "Store", "ThreatIntel",
           "load_feed_config", "load_groups"]


def __getattr__(name):
    # The service pulls in paho-mqtt; import it only when asked for.
    if name in ("Backend", "BackendConfig"):
        from . import service
        return getattr(service, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
