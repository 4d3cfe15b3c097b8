"""Keyword-friendly API of the back end (the Robot library wraps these).

Every function takes plain values (strings are accepted for numbers and
durations: ``30``, ``"30"``, ``"30 s"``, ``"1.5s"``, ``"2 min"``, ``"500 ms"``)
and returns plain values (dicts, lists, strings), so keywords stay thin.
``db`` is the path of the back end's SQLite database (opened read-only, so
the service can keep writing) or a :class:`~.store.Store` object.

* :func:`load_feeds`, :func:`load_groups`, :func:`load_registry` — load and
  validate files (raise FeedError/GroupsError with file and line/rule).
* :func:`wait_for_alert` — poll until an alert matching type/device/peer exists;
  :class:`harness.errors.WaitTimeout` when none came in time.
* :func:`assert_no_alert` — watch for ``period``; :class:`harness.errors.DeviceFailure`
  naming the alert if one matching appears (``new_only`` ignores alerts that
  existed when the watch started).
* :func:`list_alerts`, :func:`list_recommendations`, :func:`list_findings`,
  :func:`wait_for_recommendation`.
* :func:`alerts_table` / :func:`recommendations_table` — text or HTML.
"""

from __future__ import annotations

import os
import re
import time

from harness.errors import DeviceFailure, InfrastructureError, InputError, WaitTimeout

from . import render
from .alerts import Alert, Recommendation
from .groups import DeviceRegistry, SecurityGroups
from .groups import load_groups as _load_groups
from .store import SqliteStore, Store
from .threatintel import FeedConfig, ThreatIntel, load_feed_config

_DUR_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?)?\s*$",
                     re.IGNORECASE)


def seconds(value) -> float:
    """A duration in seconds from a number or a short string ("30", "30 s", "2 min", "500 ms")."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _DUR_RE.match(str(value))
    if not m:
        raise InputError(f"not a duration: {value!r} (e.g. 30, '30 s', '2 min')")
    n, unit = float(m.group(1)), (m.group(2) or "s").lower()
    if unit == "ms":
        return n / 1000
    if unit.startswith("m"):
        return n * 60
    if unit.startswith("h"):
        return n * 3600
    return n


def _none(v):
    return None if v in (None, "", "None", "NONE", "*") else v


# ---- loading -------------------------------------------------------------------------
def load_feeds(*sources, format: str | None = None) -> ThreatIntel:
    """Load feeds from feed-config files (``.yaml``/``.yml``) and/or bare feed files
    (format from the extension — ``.csv`` csv, ``.json`` stix, else list — or ``format``)."""
    configs = []
    for src in sources:
        if isinstance(src, FeedConfig):
            configs.append(src)
            continue
        path = os.fspath(src)
        if path.endswith((".yaml", ".yml")):
            configs.extend(load_feed_config(path))
        else:
            configs.append(FeedConfig.for_path(path, format=format))
    return ThreatIntel(configs)


def load_groups(path) -> SecurityGroups:
    return _load_groups(path)


def load_registry(source) -> DeviceRegistry:
    return DeviceRegistry.load(source)


def lookup(ti: ThreatIntel, address) -> dict | None:
    m = ti.lookup(address)
    return m.to_dict() if m else None


# ---- store access ----------------------------------------------------------------------
def _open(db) -> tuple[Store | None, bool]:
    if isinstance(db, Store):
        return db, False
    path = os.fspath(db)
    if not os.path.exists(path):
        return None, False
    try:
        return SqliteStore(path, readonly=True), True
    except InfrastructureError:
        return None, False


def _alerts(db, type=None, device=None, peer=None, since=None) -> list[Alert]:
    store, own = _open(db)
    if store is None:
        return []
    try:
        return store.list_alerts(device_id=_none(device), type=_none(type), peer=_none(peer),
                                 since=None if _none(since) is None else float(since))
    except Exception as e:           # the schema may not be there yet while the service starts
        if "no such table" in str(e):
            return []
        raise
    finally:
        if own:
            store.close()


def list_alerts(db, type=None, device=None, peer=None, since=None) -> list[dict]:
    return [a.to_dict() for a in _alerts(db, type, device, peer, since)]


def _describe(type, device, peer) -> str:
    parts = [f"type {type}" if _none(type) else "any type"]
    if _none(device):
        parts.append(f"device {device}")
    if _none(peer):
        parts.append(f"peer {peer}")
    return ", ".join(parts)


def wait_for_alert(db, type=None, device=None, peer=None, timeout=30, poll=0.25,
                   since=None) -> dict:
    """The first alert (in record-time order) matching the filters; waits up to ``timeout``."""
    deadline = time.monotonic() + seconds(timeout)
    poll = seconds(poll)
    while True:
        found = _alerts(db, type, device, peer, since)
        if found:
            return found[0].to_dict()
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"no alert with {_describe(type, device, peer)} within "
                              f"{seconds(timeout):g} s")
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def assert_no_alert(db, type=None, device=None, peer=None, period=0, poll=0.25,
                    new_only: bool = False) -> None:
    """Fail (DeviceFailure) if an alert matching the filters exists or appears within ``period``."""
    known = {a.id for a in _alerts(db, type, device, peer)} if new_only else set()
    deadline = time.monotonic() + seconds(period)
    poll = seconds(poll)
    while True:
        bad = [a for a in _alerts(db, type, device, peer) if a.id not in known]
        if bad:
            a = bad[0]
            raise DeviceFailure(f"unexpected alert {a.type} for device {a.device_id} "
                                f"(peer {a.peer}) at {render.fmt_time(a.time)}"
                                + (f" and {len(bad) - 1} more" if len(bad) > 1 else ""))
        if time.monotonic() >= deadline:
            return
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))


def _recs(db, device=None, type=None, active=None) -> list[Recommendation]:
    store, own = _open(db)
    if store is None:
        return []
    try:
        if isinstance(active, str):
            active = {"true": True, "false": False, "": None, "none": None}[active.lower()]
        return store.list_recommendations(device_id=_none(device), type=_none(type), active=active)
    except Exception as e:
        if "no such table" in str(e):
            return []
        raise
    finally:
        if own:
            store.close()


def list_recommendations(db, device=None, type=None, active=None) -> list[dict]:
    return [r.to_dict() for r in _recs(db, device, type, active)]


def wait_for_recommendation(db, type=None, device=None, timeout=30, poll=0.25) -> dict:
    deadline = time.monotonic() + seconds(timeout)
    while True:
        found = _recs(db, device, type)
        if found:
            return found[0].to_dict()
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"no recommendation with {_describe(type, device, None)} within "
                              f"{seconds(timeout):g} s")
        time.sleep(seconds(poll))


def list_findings(db, kind=None, device=None) -> list[dict]:
    store, own = _open(db)
    if store is None:
        return []
    try:
        return [f.to_dict() for f in store.list_findings(kind=_none(kind), device_id=_none(device))]
    finally:
        if own:
            store.close()


# ---- rendering --------------------------------------------------------------------------
def _as_alerts(items) -> list[Alert]:
    return [a if isinstance(a, Alert) else Alert.from_dict(a) for a in items]


def alerts_table(db_or_alerts, format: str = "text", type=None, device=None) -> str:
    """Alerts as a text table (``format="text"``) or an HTML table (``"html"``)."""
    if isinstance(db_or_alerts, (list, tuple)):
        alerts = _as_alerts(db_or_alerts)
    else:
        alerts = _alerts(db_or_alerts, type, device)
    if format.lower() == "html":
        return render.alerts_html(alerts)
    return render.alerts_text(alerts)


def recommendations_table(db_or_recs, format: str = "text", device=None, type=None) -> str:
    if isinstance(db_or_recs, (list, tuple)):
        recs = [r if isinstance(r, Recommendation) else Recommendation.from_dict(r)
                for r in db_or_recs]
    else:
        recs = _recs(db_or_recs, device, type)
    if format.lower() == "html":
        return render.recommendations_html(recs)
    return render.recommendations_text(recs)
