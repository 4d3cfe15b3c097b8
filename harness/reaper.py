"""Everything the harness starts is registered here and torn down in reverse
order: on normal stop, on test failure, at interpreter exit, and on SIGINT /
SIGTERM (where the harness owns the signal handlers, i.e. the CLI and pytest).

Runtime directories are named ``rtl-<owner pid>-…`` under RUNTIME_ROOT so a
later run (or ``harness clean-lab``) can find what a crashed run left behind.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import signal
import tempfile
import threading
import traceback
from pathlib import Path

RUNTIME_ROOT = Path(os.environ.get("HARNESS_RUNTIME_ROOT", tempfile.gettempdir()))
PREFIX = "rtl-"

_lock = threading.RLock()
_cleanups: dict[int, tuple[str, object]] = {}
_ids = itertools.count(1)
_names = itertools.count(1)


def register(description: str, fn) -> int:
    """Register a cleanup; returns a token for unregister()."""
    with _lock:
        token = next(_ids)
        _cleanups[token] = (description, fn)
        return token


def unregister(token: int) -> None:
    with _lock:
        _cleanups.pop(token, None)


def cleanup_all() -> list[str]:
    """Run every registered cleanup (newest first); returns descriptions of failures."""
    failures = []
    while True:
        with _lock:
            if not _cleanups:
                break
            token = max(_cleanups)
            description, fn = _cleanups.pop(token)
        try:
            fn()
        except Exception as exc:  # keep cleaning the rest
            failures.append(f"{description}: {exc}")
            traceback.print_exc()
    return failures


def pending() -> list[str]:
    with _lock:
        return [d for d, _ in _cleanups.values()]


def make_runtime_dir(tag: str) -> Path:
    """A short private directory for sockets and pid files (unix socket paths are limited to 107 bytes)."""
    tag = "".join(c if c.isalnum() or c in "-_" else "_" for c in tag)[:24]
    path = RUNTIME_ROOT / f"{PREFIX}{os.getpid()}-{next(_names)}-{tag}"
    path.mkdir(mode=0o700, parents=True, exist_ok=False)
    return path


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


atexit.register(cleanup_all)


def install_signal_handlers() -> None:
    """For programs that own their process (CLI): SIGTERM/SIGHUP behave like Ctrl-C."""

    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
