"""The back-end service: hub records in, alerts out (store + optional MQTT).

Library use::

    from harness.backend.service import Backend, BackendConfig
    with Backend(BackendConfig(db="alerts.db", feeds=["feeds.yaml"], groups="groups.yaml",
                               registry="registry.yaml")) as be:
        for rec in records:              # dicts, JSON lines or HubRecord objects
            be.process(rec)
        be.flush()

or ``be.replay(path)`` / ``be.follow(path, stop_event)``.

Command line: ``python -m harness.backend serve --recording hub.jsonl [--follow]
--db alerts.db --feeds feeds.yaml --groups groups.yaml --registry registry.yaml
[--mqtt unix:/path/to/socket | host:port]``. SIGTERM/SIGINT stop it cleanly:
the records already read are processed, windows are flushed, the database is
closed, exit status 0.

Live mode (``--follow``): the file is tailed (it may not exist yet). While no
record arrives, the clock is moved to the wall clock (minus 2 s of grace) so
that windows close and silent devices are noticed — but only while the
recording is live, i.e. its last record is less than 10 minutes older than the
wall clock; an old recording followed after its end is not aged artificially.
Feed files are polled for changes every ``feed_poll_interval`` seconds in a
background thread and swapped in atomically.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field

from harness.errors import InfrastructureError, InputError

from .alerts import Alert
from .engine import Engine, EngineConfig
from .groups import DeviceRegistry, SecurityGroups, load_groups
from .records import IDLE, follow_jsonl, read_jsonl
from .store import SqliteStore, Store
from .threatintel import FeedConfig, ThreatIntel, load_feed_config

log = logging.getLogger(__name__)

ALERT_TOPIC = "lab/alerts/{device_id}"
LIVE_GRACE = 2.0
LIVE_MAX_LAG = 600.0


@dataclass
class BackendConfig:
    db: str | None = None                     # SQLite path (":memory:" works in-process)
    feeds: list = field(default_factory=list)  # feed config files and/or FeedConfig objects
    feed_files: list = field(default_factory=list)  # bare feed files (format from extension)
    groups: object = None                     # path, dict or SecurityGroups
    registry: object = None                   # path, dict or DeviceRegistry
    mqtt: str | None = None                   # "unix:/path", "/path" or "host:port"
    engine: EngineConfig = field(default_factory=EngineConfig)
    feed_poll_interval: float = 2.0           # 0 disables the background feed watcher
    follow_poll: float = 0.2

    @classmethod
    def from_dict(cls, d: dict) -> "BackendConfig":
        d = dict(d)
        eng = d.pop("engine", None)
        known = {f for f in cls.__dataclass_fields__}
        extra = set(d) - known
        if extra:
            raise InputError(f"backend config: unknown keys {sorted(extra)}")
        cfg = cls(**d)
        if isinstance(eng, dict):
            cfg.engine = EngineConfig(**eng)
        elif isinstance(eng, EngineConfig):
            cfg.engine = eng
        return cfg


def parse_mqtt_target(target: str) -> tuple[str, str, int]:
    """(transport, host or socket path, port) from 'unix:/p', '/p', 'host:port', '[v6]:port'."""
    if target.startswith("unix:"):
        return "unix", target[5:], 0
    if target.startswith("/") or target.startswith("./"):
        return "unix", target, 0
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        port = rest.lstrip(":") or "1883"
    else:
        host, sep, port = target.rpartition(":")
        if not sep:
            host, port = target, "1883"
    if not port.isdigit() or not host:
        raise InputError(f"--mqtt {target!r}: expected unix:/path or host:port")
    return "tcp", host, int(port)


class AlertPublisher:
    """Publishes each new alert as JSON on ``lab/alerts/{device_id}`` (QoS 1).

    Connects in the background and reconnects by itself; alerts published
    while the broker is away are queued by paho and sent on connect. A missing
    broker is therefore never an error here; at most ``MAX_QUEUED`` alerts wait
    for it (beyond that paho refuses new ones for MQTT; the store has them all).
    """

    MAX_QUEUED = 10000

    def __init__(self, target: str, client_id: str | None = None):
        import paho.mqtt.client as mqtt

        self.target = target
        transport, host, port = parse_mqtt_target(target)
        self._client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                   client_id=client_id or f"harness-backend-{os.getpid()}",
                                   transport=transport)
        self._client.reconnect_delay_set(0.2, 5)
        self._client.max_queued_messages_set(self.MAX_QUEUED)
        self.connected = threading.Event()
        self._client.on_connect = lambda c, u, f, rc, p=None: (
            self.connected.set() if not rc.is_failure else None)
        self._client.on_disconnect = lambda *a: self.connected.clear()
        self._pending = []
        self.published = 0
        self._client.connect_async(host, port or 1883, keepalive=30)   # port unused for unix
        self._client.loop_start()

    def publish(self, alert: Alert) -> None:
        topic = ALERT_TOPIC.format(device_id=alert.device_id or "_hub")
        info = self._client.publish(topic, alert.to_json(), qos=1)
        self._pending.append(info)
        self._pending = [i for i in self._pending if not _published(i)][-self.MAX_QUEUED:]
        self.published += 1

    def close(self, timeout: float = 2.0) -> None:
        deadline = time.monotonic() + timeout
        if self.connected.is_set():
            for info in self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    info.wait_for_publish(left)
                except (RuntimeError, ValueError):
                    pass
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()


def _published(info) -> bool:
    try:
        return info.is_published()
    except (RuntimeError, ValueError):   # not connected (still queued) or failed
        return False


def _load_ti(cfg: BackendConfig) -> ThreatIntel:
    feeds: list[FeedConfig] = []
    for item in cfg.feeds or []:
        if isinstance(item, FeedConfig):
            feeds.append(item)
        else:
            feeds.extend(load_feed_config(item))
    for item in cfg.feed_files or []:
        feeds.append(item if isinstance(item, FeedConfig) else FeedConfig.for_path(item))
    return ThreatIntel(feeds)


class Backend:
    """Decodes, detects, stores, publishes. See the module docstring."""

    def __init__(self, config: BackendConfig | dict | None = None, store: Store | None = None,
                 threatintel: ThreatIntel | None = None, decode=None, publisher=None):
        if isinstance(config, dict):
            config = BackendConfig.from_dict(config)
        self.config = config = config or BackendConfig()
        self._own_store = store is None
        if store is None:
            store = SqliteStore(config.db or ":memory:")
        self.store = store
        self.threatintel = threatintel if threatintel is not None else _load_ti(config)
        groups = config.groups
        if groups is None or isinstance(groups, SecurityGroups):
            self.groups = groups or SecurityGroups()
        elif isinstance(groups, dict):
            self.groups = SecurityGroups.from_dict(groups)
        else:
            self.groups = load_groups(groups)
        self.registry = DeviceRegistry.load(config.registry)
        self.publisher = publisher
        if self.publisher is None and config.mqtt:
            self.publisher = AlertPublisher(config.mqtt)
        self.engine = Engine(self.store, self.threatintel, self.groups, self.registry,
                             config.engine, decode=decode,
                             on_alert=self.publisher.publish if self.publisher else None)
        self._lock = threading.Lock()
        self._closed = False
        # the lab adds devices (registry) and tests redefine groups while the service runs
        self._watched = {k: (p, _mtime(p)) for k, p in (("registry", config.registry), ("groups", config.groups))
                         if isinstance(p, (str, os.PathLike))}
        self._next_config_check = 0.0
        if config.feed_poll_interval and len(self.threatintel.feeds()):
            self.threatintel.start_watching(config.feed_poll_interval)

    # ---- in-process API ----------------------------------------------------------
    def process(self, record) -> list[Alert]:
        with self._lock:
            return self.engine.process(record)

    def tick(self, now: float) -> list[Alert]:
        with self._lock:
            return self.engine.tick(now)

    def flush(self, now: float | None = None) -> list[Alert]:
        with self._lock:
            return self.engine.flush(now)

    @property
    def stats(self) -> dict:
        return dict(self.engine.stats)

    def reload_changed_config(self) -> list[str]:
        """Reload the registry / groups files if they changed on disk; a broken file keeps the
        previous version (logged). Returns what was reloaded."""
        reloaded = []
        for key, (path, seen) in list(self._watched.items()):
            now = _mtime(path)
            if now == seen:
                continue
            self._watched[key] = (path, now)
            try:
                if key == "registry":
                    value = DeviceRegistry.load(path)
                else:
                    value = load_groups(path)
            except InputError as exc:
                log.error("keeping the previous %s: %s", key, exc)
                continue
            with self._lock:
                setattr(self, key, value)
                setattr(self.engine, key, value)
                self.engine.windows.reconfigure()
            reloaded.append(key)
            log.info("reloaded %s from %s", key, path)
        return reloaded

    def run(self, records, stop: threading.Event | None = None, live: bool = False) -> dict:
        """Process an iterable of records (IDLE items tick the clock in live mode)."""
        last_t = None
        for rec in records:
            if live and time.monotonic() >= self._next_config_check:
                self._next_config_check = time.monotonic() + 0.5
                self.reload_changed_config()
            if rec is IDLE:
                if live and last_t is not None:
                    now = time.time()
                    if now - last_t < LIVE_MAX_LAG:
                        self.tick(now - LIVE_GRACE)
                continue
            self.process(rec)
            t = rec.get("t") if isinstance(rec, dict) else getattr(rec, "t", None)
            if isinstance(t, (int, float)):
                last_t = t
            if stop is not None and stop.is_set() and not live:
                break
        return self.stats

    def replay(self, path, stop: threading.Event | None = None) -> dict:
        """Process a saved recording, then flush."""
        if not os.path.exists(path):
            raise InputError(f"recording {path} does not exist")
        self.run(read_jsonl(path), stop=stop)
        self.flush()
        return self.stats

    def follow(self, path, stop: threading.Event, from_start: bool = True) -> dict:
        """Tail a live recording until ``stop`` is set, then flush."""
        log.info("following %s", path)
        self.run(follow_jsonl(path, stop, poll=self.config.follow_poll, from_start=from_start),
                 stop=stop, live=True)
        self.flush()
        return self.stats

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.threatintel.stop_watching()
        if self.publisher is not None:
            self.publisher.close()
        if self._own_store:
            self.store.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _mtime(path) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def serve(recording, db, feeds=(), groups=None, registry=None, mqtt=None, follow=False,
          stop: threading.Event | None = None, feed_files=(), engine: EngineConfig | None = None,
          install_signals: bool = True) -> dict:
    """What ``python -m harness.backend serve`` runs; returns the stats."""
    import signal

    stop = stop or threading.Event()
    if install_signals and threading.current_thread() is threading.main_thread():
        def handler(signum, frame):
            log.info("signal %d: stopping", signum)
            stop.set()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
    cfg = BackendConfig(db=db, feeds=list(feeds), feed_files=list(feed_files), groups=groups,
                        registry=registry, mqtt=mqtt, engine=engine or EngineConfig())
    try:
        backend = Backend(cfg)
    except InputError:
        raise
    except OSError as e:
        raise InfrastructureError(f"back end could not start: {e}") from None
    with backend:
        if follow:
            return backend.follow(recording, stop)
        return backend.replay(recording, stop)
