"""Feed configuration, loading, change polling and atomic index swaps.

Feed config (YAML or JSON)::

    feeds:
      - path: lab-feed.txt          # relative to the config file
        format: list                # list | csv | stix | stix-observables
                                    #   (default from the extension: .csv -> csv,
                                    #    .json -> stix, anything else -> list)
        source: lab-feed.txt        # name reported in alerts (default: file name)
        confidence: 80              # default confidence 0..100 (default 50)
      - path: feodo.csv
        format: csv
        column: dst_ip              # name (needs a header) or 0-based index
        delimiter: ","              # csv only
        where: {c2_status: online}  # csv only: keep rows whose column has this value
        confidence_column: score    # csv only: per-row confidence

A top-level list (without ``feeds:``) is accepted too. Unknown keys are errors.

Reloading
---------
:class:`ThreatIntel` remembers, per feed, the file's (mtime, size, inode) and
the SHA-256 of what it loaded. :meth:`ThreatIntel.poll` re-stats each file; a
changed signature (or a file modified less than ``RACY_SECONDS`` before the
last check, whose mtime may not have moved) triggers a re-hash, and a changed
hash a re-parse. The file is stat-ed again after reading: if it changed while
being read, the round is skipped and retried at the next poll. A feed that
fails to parse keeps its previous version in force; the error is kept in
:attr:`ThreatIntel.errors` (and logged once per bad version).

After any feed changed, a complete new :class:`~.index.Index` is built from
all feeds' parsed entries and swapped in with a single reference assignment.
Lookups read that reference once, so a record being processed uses either the
old or the new index, never a mix, and no record waits for or is lost to a
reload. Writers should still replace feed files atomically (write + rename).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass

from ..errors import FeedError
from . import parsers
from .index import Index, Match

log = logging.getLogger(__name__)

DEFAULT_CONFIDENCE = 50
RACY_SECONDS = 2.0

_KEYS = {"path", "format", "source", "confidence", "column", "delimiter", "where",
         "confidence_column", "name"}


@dataclass
class FeedConfig:
    path: str
    format: str = "list"
    source: str = ""
    confidence: int = DEFAULT_CONFIDENCE
    column: str | int | None = None
    delimiter: str = ","
    where: dict | None = None
    confidence_column: str | int | None = None

    def __post_init__(self):
        self.path = os.fspath(self.path)
        if not self.source:
            self.source = os.path.basename(self.path)
        if self.format not in parsers.FORMATS:
            raise FeedError(f"unknown feed format {self.format!r} (one of {', '.join(parsers.FORMATS)})",
                            self.path)
        if isinstance(self.confidence, bool) or not isinstance(self.confidence, int) \
                or not 0 <= self.confidence <= 100:
            raise FeedError(f"confidence must be an integer 0..100, not {self.confidence!r}", self.path)
        if self.format != "csv" and (self.column is not None or self.where or
                                     self.confidence_column is not None or self.delimiter != ","):
            raise FeedError("'column', 'delimiter', 'where' and 'confidence_column' apply to csv feeds only",
                            self.path)
        if len(self.delimiter) != 1:
            raise FeedError(f"delimiter must be one character, not {self.delimiter!r}", self.path)

    @classmethod
    def for_path(cls, path, **kw) -> "FeedConfig":
        """A config with the format guessed from the file extension unless given."""
        path = os.fspath(path)
        if "format" not in kw or kw["format"] is None:
            ext = os.path.splitext(path)[1].lower()
            kw["format"] = {".csv": "csv", ".json": "stix"}.get(ext, "list")
        return cls(path=path, **kw)

    def parse(self, text: str) -> parsers.FeedData:
        if self.format == "list":
            return parsers.parse_list(self.path, self.confidence, text=text)
        if self.format == "csv":
            return parsers.parse_csv(self.path, self.confidence, column=self.column,
                                     delimiter=self.delimiter, where=self.where,
                                     confidence_column=self.confidence_column, text=text)
        if self.format == "stix":
            return parsers.parse_stix(self.path, self.confidence, text=text)
        return parsers.parse_stix_observables(self.path, self.confidence, text=text)


def load_feed_config(path) -> list[FeedConfig]:
    """Read a feed config file (YAML or JSON) into FeedConfigs."""
    import yaml

    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise FeedError(f"cannot read feed config: {e.strerror}", path) from None
    try:
        doc = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as e:
        mark = getattr(e, "problem_mark", None)
        raise FeedError(f"not valid YAML/JSON: {e}", path,
                        mark.line + 1 if mark is not None else getattr(e, "lineno", None)) from None
    if isinstance(doc, dict):
        extra = set(doc) - {"feeds"}
        if extra:
            raise FeedError(f"unknown top-level keys {sorted(extra)} (expected 'feeds')", path)
        doc = doc.get("feeds")
    if not isinstance(doc, list):
        raise FeedError("expected a list of feeds (or 'feeds: [...]')", path)
    base = os.path.dirname(os.path.abspath(path))
    out = []
    for i, item in enumerate(doc):
        if isinstance(item, str):
            item = {"path": item}
        if not isinstance(item, dict) or "path" not in item:
            raise FeedError(f"feed #{i + 1}: expected a mapping with 'path'", path)
        extra = set(item) - _KEYS
        if extra:
            raise FeedError(f"feed #{i + 1}: unknown keys {sorted(extra)}", path)
        kw = dict(item)
        if "name" in kw:
            kw.setdefault("source", kw.pop("name"))
            kw.pop("name", None)
        fpath = os.path.join(base, os.fspath(kw.pop("path")))
        try:
            out.append(FeedConfig.for_path(fpath, **kw))
        except TypeError as e:
            raise FeedError(f"feed #{i + 1}: {e}", path) from None
    return out


@dataclass
class _Feed:
    config: FeedConfig
    data: parsers.FeedData | None = None
    signature: tuple | None = None     # (mtime_ns, size, ino) of the loaded version
    digest: str | None = None          # sha256 of the loaded version
    checked_at: float = 0.0            # wall time of the last hash check
    bad_digest: str | None = None      # last version that failed to parse
    loaded_at: float = 0.0
    error: FeedError | None = None
    loads: int = 0


def _signature(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


class ThreatIntel:
    """The set of feeds, their merged index, and change polling.

    ``lookup(addr)`` returns the most specific :class:`~.index.Match` or None.
    """

    def __init__(self, feeds=()):
        self._feeds: list[_Feed] = []
        self._lock = threading.Lock()       # serialises loads/rebuilds, not lookups
        self._index = Index()
        self.generation = 0                 # bumps on every swap
        self._watch_stop: threading.Event | None = None
        self._watch_thread: threading.Thread | None = None
        for cfg in feeds:
            self.add_feed(cfg, rebuild=False)
        if self._feeds:
            self._rebuild()

    # ---- construction ---------------------------------------------------
    @classmethod
    def from_config(cls, path) -> "ThreatIntel":
        return cls(load_feed_config(path))

    @classmethod
    def from_paths(cls, *paths, **kw) -> "ThreatIntel":
        return cls([FeedConfig.for_path(p, **kw) for p in paths])

    def add_feed(self, config: FeedConfig | str, rebuild: bool = True) -> None:
        """Load a feed now; a FeedError here (first load) propagates."""
        if not isinstance(config, FeedConfig):
            config = FeedConfig.for_path(config)
        with self._lock:
            if any(f.config.source == config.source for f in self._feeds):
                raise FeedError(f"two feeds with the same source name {config.source!r}", config.path)
            feed = _Feed(config)
            self._load(feed, raise_errors=True)
            self._feeds.append(feed)
            if rebuild:
                self._rebuild()

    def load_config(self, path) -> None:
        """Add every feed of a feed config file."""
        for cfg in load_feed_config(path):
            self.add_feed(cfg, rebuild=False)
        with self._lock:
            self._rebuild()

    # ---- loading / polling ----------------------------------------------
    def _load(self, feed: _Feed, raise_errors: bool) -> bool:
        """(Re)load a feed if its content changed. True when new data was parsed."""
        path = feed.config.path
        sig = _signature(path)
        now = time.time()
        if sig is None:
            err = FeedError("feed file does not exist", path)
            if raise_errors:
                raise err
            self._record_error(feed, err, "missing")
            return False
        racy = feed.signature is not None and sig[0] / 1e9 >= feed.checked_at - RACY_SECONDS
        if feed.data is not None and sig == feed.signature and not racy:
            return False
        raw = parsers.read_bytes(path)
        if _signature(path) != sig:
            if raise_errors:   # first load: try once more, the writer should be done soon
                time.sleep(0.05)
                return self._load(feed, raise_errors)
            return False                  # changed while reading: next poll
        digest = hashlib.sha256(raw).hexdigest()
        feed.checked_at = now
        if digest == feed.digest:
            feed.signature = sig
            return False
        if digest == feed.bad_digest and not raise_errors:
            return False
        try:
            data = feed.config.parse(parsers.decode_text(path, raw))
        except FeedError as err:
            if raise_errors:
                raise
            feed.bad_digest = digest
            self._record_error(feed, err, digest)
            return False
        feed.data, feed.signature, feed.digest = data, sig, digest
        feed.loaded_at, feed.error, feed.bad_digest = now, None, None
        feed.loads += 1
        return True

    def _record_error(self, feed: _Feed, err: FeedError, key) -> None:
        if feed.error is None or str(feed.error) != str(err):
            log.warning("feed %s not reloaded, previous version stays in force: %s",
                        feed.config.source, err)
        feed.error = err

    def _rebuild(self) -> None:
        idx = Index([(f.config.source, f.data.v4, f.data.v6) for f in self._feeds])
        self._index = idx          # the atomic swap
        self.generation += 1

    def poll(self) -> bool:
        """Check every feed file once; reload changed ones. True if the index changed."""
        with self._lock:
            changed = False
            for feed in self._feeds:
                try:
                    changed |= self._load(feed, raise_errors=False)
                except FeedError as err:
                    self._record_error(feed, err, None)
            if changed:
                self._rebuild()
            return changed

    def start_watching(self, interval: float = 2.0) -> None:
        """Poll in a daemon thread every ``interval`` seconds until stop_watching()."""
        if self._watch_thread is not None:
            return
        stop = threading.Event()

        def run():
            while not stop.wait(interval):
                try:
                    self.poll()
                except Exception:  # never let the watcher die silently
                    log.exception("feed polling failed")

        self._watch_stop = stop
        self._watch_thread = threading.Thread(target=run, name="feed-watch", daemon=True)
        self._watch_thread.start()

    def stop_watching(self) -> None:
        if self._watch_thread is None:
            return
        self._watch_stop.set()
        self._watch_thread.join()
        self._watch_thread = self._watch_stop = None

    # ---- queries ----------------------------------------------------------
    @property
    def index(self) -> Index:
        return self._index

    def lookup(self, addr) -> Match | None:
        return self._index.lookup(addr)

    def lookup_int(self, version: int, value: int) -> Match | None:
        return self._index.lookup_int(version, value)

    @property
    def errors(self) -> dict[str, FeedError]:
        """Last reload error per feed source (feeds whose last attempt failed)."""
        return {f.config.source: f.error for f in self._feeds if f.error is not None}

    def feeds(self) -> list[dict]:
        return [{"source": f.config.source, "path": f.config.path, "format": f.config.format,
                 "entries": len(f.data) if f.data else 0, "loads": f.loads,
                 "sha256": f.digest, "error": str(f.error) if f.error else None}
                for f in self._feeds]

    def __len__(self) -> int:
        return len(self._index)
