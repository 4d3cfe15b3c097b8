"""Feeds reload on change, atomically, while records are processed; bad versions are not taken."""

from __future__ import annotations

import os
import threading
import time

from harness.backend.service import Backend, BackendConfig
from harness.backend.threatintel import FeedConfig, ThreatIntel

from .util import T0, conn, secmsg


def _replace(path, text):
    tmp = f"{path}.new"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def test_poll_detects_change_error_keeps_previous(tmp_path):
    p = tmp_path / "f.txt"
    p.write_text("203.0.113.1\n")
    ti = ThreatIntel([FeedConfig(str(p))])
    gen = ti.generation
    assert ti.lookup("203.0.113.1") and not ti.lookup("203.0.113.2")
    assert ti.poll() is False
    # same size, same mtime: found by the hash check of recently modified files
    st = os.stat(p)
    p.write_text("203.0.113.2\n")
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert ti.poll() is True and ti.generation == gen + 1
    assert ti.lookup("203.0.113.2") and not ti.lookup("203.0.113.1")
    # a broken version: error recorded with file and line, previous version stays
    _replace(p, "203.0.113.3\nnot-an-address\n")
    assert ti.poll() is False
    err = ti.errors[p.name]
    assert err.line == 2 and str(p) in str(err)
    assert ti.lookup("203.0.113.2") and not ti.lookup("203.0.113.3")
    assert ti.poll() is False                       # not re-parsed while unchanged
    # the file disappears: previous version stays too
    os.unlink(p)
    assert ti.poll() is False and ti.lookup("203.0.113.2")
    # fixed: taken, error cleared
    _replace(p, "203.0.113.3\n")
    assert ti.poll() is True
    assert ti.lookup("203.0.113.3") and not ti.errors


def test_reload_while_processing_in_another_thread(tmp_path):
    feed = tmp_path / "feed.txt"
    feed.write_text("# v1\n203.0.113.1\n")
    n = 600
    records = [secmsg(T0 + i * 0.1, "dev-1", [conn("192.0.2.10", "203.0.113.2", 40000 + i, 8883),
                                              conn("192.0.2.10", "203.0.113.1", 50000 + i, 8883)])
               for i in range(n)]
    be = Backend(BackendConfig(feed_files=[str(feed)], feed_poll_interval=0.02),
                 )
    be.engine.config.dedup_window = 0.0          # keep every alert, to see when each IP matched
    half = threading.Event()
    done = threading.Event()
    processed = []

    def worker():
        for i, rec in enumerate(records):
            be.process(rec)
            processed.append(rec["seq"])
            if i == n // 3:
                half.set()
            time.sleep(0.001)
        done.set()

    th = threading.Thread(target=worker)
    gen0 = be.threatintel.generation
    th.start()
    assert half.wait(30)
    _replace(feed, "# v2\n203.0.113.2\n")
    deadline = time.monotonic() + 20
    while be.threatintel.generation == gen0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert be.threatintel.generation == gen0 + 1, "feed not reloaded"
    swap_at = len(processed)
    th.join(60)
    assert done.is_set()
    assert be.stats["records"] == n and be.stats["connection_records"] == 2 * n   # none lost
    alerts = be.store.list_alerts(type="IoT_SuspiciousIPCommunication")
    old = [a.evidence["record_seq"] for a in alerts if a.peer == "203.0.113.1"]
    new = [a.evidence["record_seq"] for a in alerts if a.peer == "203.0.113.2"]
    first_seq = records[0]["seq"]
    # every record before the swap matched v1, every record after it matches v2, none both
    assert old and new
    assert max(old) < min(new)
    assert len(old) + len(new) == n
    assert old == list(range(first_seq, first_seq + len(old)))
    assert len(old) <= swap_at + 1
    assert new[-1] == records[-1]["seq"]
    be.close()
