"""Where alerts, recommendations and findings go: the ``Store`` interface and SQLite.

The interface is small and speaks only in the records of :mod:`.alerts`, so a
server database (PostgreSQL, …) can implement it later without touching the
detections. De-duplication is part of the contract (``add_alert``), so several
writers sharing one store de-duplicate against each other.

:class:`SqliteStore` uses WAL mode: one process writes (the service) while
others read (the CLI, the Robot keywords polling for an alert) without
blocking each other. The schema is created when the database is opened for
writing; JSON columns are written with sorted keys and no spaces, so equal
evidence is equal text.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod

from harness.errors import InfrastructureError

from .alerts import HUB, Alert, Finding, Recommendation

DEFAULT_DEDUP_WINDOW = 3600.0
SCHEMA_VERSION = 1


def _json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


class Store(ABC):
    """Persistence of the back end's output."""

    @abstractmethod
    def add_alert(self, alert: Alert, dedup_window: float = DEFAULT_DEDUP_WINDOW) -> Alert | None:
        """Store ``alert`` unless an alert with the same (device, type, peer) exists
        less than ``dedup_window`` seconds of record time away; then that alert's
        ``count``/``last_time`` are updated and None is returned."""

    @abstractmethod
    def list_alerts(self, device_id: str | None = None, type: str | None = None,
                    peer: str | None = None, since: float | None = None,
                    until: float | None = None, updated_after: float | None = None,
                    limit: int | None = None) -> list[Alert]:
        """Alerts in record-time order, filtered; ``updated_after`` is wall time."""

    @abstractmethod
    def add_recommendation(self, rec: Recommendation) -> Recommendation | None:
        """Store ``rec`` unless one of its (device, type) is active; then refresh
        that one's ``last_time`` and return None."""

    @abstractmethod
    def resolve_recommendation(self, type: str, device_id: str | None, time: float) -> bool:
        """Mark the active (device, type) recommendation resolved; False if none."""

    @abstractmethod
    def list_recommendations(self, device_id: str | None = None, type: str | None = None,
                             active: bool | None = None) -> list[Recommendation]: ...

    @abstractmethod
    def add_finding(self, finding: Finding) -> Finding: ...

    @abstractmethod
    def list_findings(self, kind: str | None = None, device_id: str | None = None) -> list[Finding]: ...

    @abstractmethod
    def get_state(self, key: str, default=None):
        """Per-device (or any) state saved with :meth:`set_state` (JSON values)."""

    @abstractmethod
    def set_state(self, key: str, value) -> None: ...

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    name        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    grp         TEXT,
    time        REAL NOT NULL,
    last_time   REAL NOT NULL,
    peer        TEXT NOT NULL,
    dedup_key   TEXT NOT NULL,
    count       INTEGER NOT NULL DEFAULT 1,
    indicator   TEXT,
    source      TEXT,
    confidence  INTEGER,
    evidence    TEXT NOT NULL,
    created     REAL NOT NULL,
    updated     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_dedup ON alerts (dedup_key, time);
CREATE INDEX IF NOT EXISTS alerts_device ON alerts (device_id, type);
CREATE TABLE IF NOT EXISTS recommendations (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    type          TEXT NOT NULL,
    name          TEXT NOT NULL,
    severity      TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    time          REAL NOT NULL,
    last_time     REAL NOT NULL,
    active        INTEGER NOT NULL,
    resolved_time REAL,
    evidence      TEXT NOT NULL,
    created       REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS recommendations_active
    ON recommendations (device_id, type) WHERE active = 1;
CREATE TABLE IF NOT EXISTS findings (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    device_id   TEXT,
    time        REAL,
    record_seq  INTEGER,
    detail      TEXT NOT NULL,
    created     REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated REAL NOT NULL);
"""

_ALERT_COLS = ("id, type, name, severity, device_id, grp, time, last_time, peer, count, "
               "indicator, source, confidence, evidence")
_REC_COLS = "id, type, name, severity, device_id, time, last_time, active, resolved_time, evidence"


class SqliteStore(Store):
    """SQLite implementation (WAL; safe with readers in other processes).

    ``readonly=True`` opens an existing database for reading only (the CLI and
    the keyword API use it); the schema is not touched.
    """

    def __init__(self, path, readonly: bool = False, timeout: float = 10.0):
        self.path = os.fspath(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        try:
            if readonly:
                if self.path != ":memory:" and not os.path.exists(self.path):
                    raise InfrastructureError(f"alert database {self.path} does not exist")
                uri = "file:" + os.path.abspath(self.path) + "?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=timeout,
                                           check_same_thread=False, isolation_level=None)
            else:
                if self.path != ":memory:":
                    os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False,
                                           isolation_level=None)
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            if not readonly:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = NORMAL")
                self._db.executescript(_SCHEMA)      # idempotent (IF NOT EXISTS)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                                 (str(SCHEMA_VERSION),))
        except sqlite3.Error as e:
            raise InfrastructureError(f"cannot open alert database {self.path}: {e}") from None

    # ---- helpers -------------------------------------------------------
    class _Tx:
        def __init__(self, store):
            self.store = store

        def __enter__(self):
            self.store._lock.acquire()
            try:
                self.store._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.store._lock.release()
                raise
            return self.store._db

        def __exit__(self, exc_type, *_):
            try:
                self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.store._lock.release()

    def _tx(self):
        return SqliteStore._Tx(self)

    def _select(self, select: str, conditions: list[tuple[str, object]], order: str, limit=None) -> list:
        """``select`` narrowed by the ``(sql, value)`` conditions whose value is not None."""
        used = [(sql, val) for sql, val in conditions if val is not None]
        sql = select + (" WHERE " + " AND ".join(c for c, _ in used) if used else "") + f" ORDER BY {order}"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self._query(sql, [v for _, v in used])

    def _query(self, sql, args=()):
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @staticmethod
    def _alert(row) -> Alert:
        (id_, type_, name, sev, dev, grp, t, last, peer, count, ind, src, conf, ev) = row
        return Alert(type=type_, device_id=dev or None, time=t, group=grp, peer=peer or None,
                     evidence=json.loads(ev), indicator=ind, source=src, confidence=conf,
                     name=name, severity=sev, id=id_, count=count, last_time=last)

    @staticmethod
    def _rec(row) -> Recommendation:
        (id_, type_, name, sev, dev, t, last, active, resolved, ev) = row
        return Recommendation(type=type_, device_id=dev or None, time=t, evidence=json.loads(ev),
                              name=name, severity=sev, id=id_, active=bool(active),
                              resolved_time=resolved, last_time=last)

    # ---- alerts --------------------------------------------------------
    def add_alert(self, alert: Alert, dedup_window: float = DEFAULT_DEDUP_WINDOW) -> Alert | None:
        now = time.time()
        with self._tx() as db:
            row = db.execute(
                "SELECT seq, time, last_time FROM alerts WHERE dedup_key = ? AND time > ? AND time < ?"
                " ORDER BY time DESC LIMIT 1",
                (alert.dedup_key, alert.time - dedup_window, alert.time + dedup_window)).fetchone()
            if row is not None:
                db.execute("UPDATE alerts SET count = count + 1, last_time = max(last_time, ?),"
                           " updated = ? WHERE seq = ?", (alert.time, now, row[0]))
                return None
            cur = db.execute(
                "INSERT OR IGNORE INTO alerts (id, type, name, severity, device_id, grp, time, last_time,"
                " peer, dedup_key, count, indicator, source, confidence, evidence, created, updated)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (alert.id, alert.type, alert.name, alert.severity, alert.device_id or HUB,
                 alert.group, alert.time, alert.last_time, alert.peer or "", alert.dedup_key,
                 alert.count, alert.indicator, alert.source, alert.confidence,
                 _json(alert.evidence), now, now))
            return alert if cur.rowcount else None

    def list_alerts(self, device_id=None, type=None, peer=None, since=None, until=None,
                    updated_after=None, limit=None) -> list[Alert]:
        rows = self._select(f"SELECT {_ALERT_COLS} FROM alerts",
                            [("device_id = ?", device_id), ("type = ?", type), ("peer = ?", peer),
                             ("time >= ?", since), ("time < ?", until), ("updated >= ?", updated_after)],
                            "time, seq", limit)
        return [self._alert(r) for r in rows]

    # ---- recommendations ---------------------------------------------------
    def add_recommendation(self, rec: Recommendation) -> Recommendation | None:
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT seq FROM recommendations WHERE device_id = ? AND type = ?"
                             " AND active = 1", (rec.device_id or HUB, rec.type)).fetchone()
            if row is not None:
                db.execute("UPDATE recommendations SET last_time = max(last_time, ?), evidence = ?"
                           " WHERE seq = ?", (rec.time, _json(rec.evidence), row[0]))
                return None
            cur = db.execute(
                "INSERT OR IGNORE INTO recommendations (id, type, name, severity, device_id, time,"
                " last_time, active, resolved_time, evidence, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (rec.id, rec.type, rec.name, rec.severity, rec.device_id or HUB, rec.time,
                 rec.last_time, 1, None, _json(rec.evidence), now))
            return rec if cur.rowcount else None

    def resolve_recommendation(self, type, device_id, time) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE recommendations SET active = 0, resolved_time = ?"
                             " WHERE device_id = ? AND type = ? AND active = 1",
                             (time, device_id or HUB, type))
            return cur.rowcount > 0

    def list_recommendations(self, device_id=None, type=None, active=None) -> list[Recommendation]:
        rows = self._select(f"SELECT {_REC_COLS} FROM recommendations",
                            [("device_id = ?", device_id), ("type = ?", type),
                             ("active = ?", None if active is None else int(bool(active)))], "time, seq")
        return [self._rec(r) for r in rows]

    # ---- findings --------------------------------------------------------
    def add_finding(self, finding: Finding) -> Finding:
        with self._tx() as db:
            cur = db.execute("INSERT INTO findings (kind, device_id, time, record_seq, detail, created)"
                             " VALUES (?,?,?,?,?,?)",
                             (finding.kind, finding.device_id, finding.time, finding.record_seq,
                              _json(finding.detail), time.time()))
            finding.id = cur.lastrowid
        return finding

    def list_findings(self, kind=None, device_id=None) -> list[Finding]:
        rows = self._select("SELECT id, kind, device_id, time, record_seq, detail FROM findings",
                            [("kind = ?", kind), ("device_id = ?", device_id)], "id")
        return [Finding(kind=k, device_id=d, time=t, record_seq=s, detail=json.loads(det), id=i)
                for i, k, d, t, s, det in rows]

    # ---- state -----------------------------------------------------------
    def get_state(self, key, default=None):
        rows = self._query("SELECT value FROM state WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def set_state(self, key, value) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO state (key, value, updated) VALUES (?,?,?) ON CONFLICT(key)"
                       " DO UPDATE SET value = excluded.value, updated = excluded.updated",
                       (key, _json(value), time.time()))

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                try:
                    if not self.readonly:
                        self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass
                self._db.close()
                self._db = None
