"""Remove what a crashed run left behind (``harness clean-lab``, ``make clean-lab``).

Everything the harness creates carries the owner's pid in its name
(runtime dirs ``/tmp/rtl-<pid>-…``, namespaces ``rtl-<pid>-…``), so leftovers
of dead runs are found without touching anything of a live run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from . import procs, reaper

_OWNER = re.compile(rf"^{re.escape(reaper.PREFIX)}(\d+)-")


def _owner(name: str) -> int | None:
    m = _OWNER.match(name)
    return int(m.group(1)) if m else None


def _stale(name: str, everything: bool) -> bool:
    owner = _owner(name)
    return owner is not None and (everything or not procs.pid_alive(owner))


def processes_mentioning(fragments: list[str]) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if any(f in cmd for f in fragments):
            pids.append(int(proc.name))
    return pids


def list_namespaces() -> list[str]:
    try:
        return sorted(p.name for p in procs.NETNS_DIR.iterdir())
    except OSError:
        return []


def clean_stale(everything: bool = False, owner: int | None = None) -> list[str]:
    """Kill processes of dead runs, delete their namespaces and runtime dirs; returns what was removed.
    ``owner``: only what that process (dead or alive) created."""
    def chosen(name: str) -> bool:
        return _owner(name) == owner if owner is not None else _stale(name, everything)

    removed = []
    dirs = [p for p in reaper.RUNTIME_ROOT.glob(f"{reaper.PREFIX}*") if chosen(p.name)]
    namespaces = [n for n in list_namespaces() if chosen(n)]
    fragments = [str(d) for d in dirs] + [f"/run/netns/{n}" for n in namespaces]
    for pid in processes_mentioning(fragments):
        try:
            os.kill(pid, signal.SIGKILL)
            removed.append(f"process {pid}")
        except ProcessLookupError:
            pass
    for ns in namespaces:
        # processes still inside the namespace (e.g. started by a dead harness) go first
        for pid in pids_in_namespace(ns):
            try:
                os.kill(pid, signal.SIGKILL)
                removed.append(f"process {pid} (in namespace {ns})")
            except ProcessLookupError:
                pass
        subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        removed.append(f"namespace {ns}")
    for d in dirs:
        reaper.remove_dir(d)
        removed.append(f"dir {d}")
    return removed


def pids_in_namespace(ns: str) -> list[int]:
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split() if p.isdigit()]
