"""Helpers shared by the bench/ scripts: statistics, the JSON every script prints,
clean stops on signals. Not a benchmark itself (bench/run.py skips files starting with _).

Every benchmark script prints exactly one JSON object on stdout::

    {"name": "boot", "title": "...", "workload": "...", "rerun": "...",
     "rows": [{"metric": "...", "min": 1.0, "median": 1.2, "max": 1.5, "n": 7, "unit": "s", "note": ""}, ...],
     "headline": "one line for the summary table",
     "results": {...everything else, script specific...}}

``rows`` is what bench/run.py puts in the markdown table; a row with ``value`` instead of
min/median/max is a single figure (a size, a ratio of medians). Progress goes to stderr.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PY = sys.executable


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _round(x, digits: int):
    if x is None:
        return None
    if isinstance(x, int):
        return x
    return round(float(x), digits)


def summary(values, digits: int = 4) -> dict:
    """min / median / max (and n) of a list of numbers; empty → Nones."""
    vals = [float(v) for v in values if v is not None]
    if not vals:
        return {"min": None, "median": None, "max": None, "n": 0}
    return {"min": _round(min(vals), digits), "median": _round(statistics.median(vals), digits),
            "max": _round(max(vals), digits), "n": len(vals)}


def percentile(values, p: float) -> float | None:
    vals = sorted(values)
    if not vals:
        return None
    k = (len(vals) - 1) * p / 100.0
    lo, hi = int(k), min(int(k) + 1, len(vals) - 1)
    return vals[lo] + (vals[hi] - vals[lo]) * (k - lo)


def row(metric: str, values=None, unit: str = "", note: str = "", *, value=None, digits: int = 4,
        scale: float = 1.0) -> dict:
    """A table row: ``values`` (a list, or a summary dict) → min/median/max; or one ``value``."""
    r = {"metric": metric, "unit": unit, "note": note}
    if value is not None or values is None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            r["value"] = value
        elif isinstance(value, int) and scale == 1:
            r["value"] = value
        else:
            r["value"] = _round(value * scale, digits)
        return r
    s = values if isinstance(values, dict) else summary(values, 12)
    for k in ("min", "median", "max"):
        r[k] = None if s.get(k) is None else _round(s[k] * scale, digits)
    r["n"] = s.get("n")
    return r


def ratio(a, b, digits: int = 2):
    if a is None or b in (None, 0):
        return None
    return round(a / b, digits)


def machine() -> dict:
    try:
        model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                      if line.startswith("model name")), platform.processor())
    except OSError:
        model = platform.processor()
    try:
        mem_kib = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        mem_kib = 0
    return {"cpus": os.cpu_count(), "cpu_model": model, "mem_gib": round(mem_kib / 2**20, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg": os.getloadavg()}


def emit(name: str, title: str, workload: str, rerun: str, rows: list[dict], results: dict,
         headline: str = "", **extra) -> None:
    out = {"name": name, "title": title, "workload": workload, "rerun": rerun, "headline": headline,
           "rows": rows, "results": results, "machine": machine(), **extra}
    sys.stdout.write(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP (bench/run.py's timeout) behave like Ctrl-C: finally blocks and the
    harness reaper stop every device, lab and back end this script started."""
    from harness import reaper
    reaper.install_signal_handlers()


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads) from /proc/<pid>/stat, in seconds."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def host_cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of the whole host from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


def skip_unless_privileged_lab(name: str, title: str, rerun: str) -> None:
    """Benchmarks that need the lab network (root, network namespaces): print a 'skipped'
    result and exit 0 when it is not available."""
    from harness.lab.netns import privileged_lab_available
    ok, why = privileged_lab_available()
    if not ok:
        emit(name, title, workload="needs the privileged lab (root, network namespaces)", rerun=rerun, rows=[],
             results={}, headline=f"skipped: {why}", skipped=why)
        sys.exit(0)


# ---- labs -----------------------------------------------------------------------------------
MALICIOUS_FEED = ["203.0.113.0/24", "2001:db8:bad::/48"]  # the lab's attacker and C2 ranges


class LabWithBackend:
    """A privileged lab (network namespace, hub, recorder) and the back end following its
    recording with a feed that lists the lab's malicious range. Stopped (everything the
    harness started) on exit, also on SIGTERM (install_signal_handlers)."""

    def __init__(self, name: str, artifacts: Path, indicators=MALICIOUS_FEED):
        from harness.backend.process import BackendService
        from harness.lab import Lab
        self.lab = Lab(name, artifacts_dir=artifacts, privileged=True)
        self.backend = BackendService(self.lab)
        self.indicators = list(indicators)

    def __enter__(self):
        t0 = time.perf_counter()
        self.lab.start()
        try:
            self.backend.start(indicators=self.indicators)
        except BaseException:
            self.lab.stop()
            raise
        self.setup_s = time.perf_counter() - t0
        return self

    def __exit__(self, *exc):
        try:
            self.backend.stop()
        finally:
            self.lab.stop()


def qemu_start_wall(dev) -> float:
    """Host unix time at which the device's QEMU process was spawned (Device.started_at is monotonic)."""
    return time.time() - (time.monotonic() - dev.started_at)


def console_wall(dev, line) -> float:
    """Host unix time of a console line."""
    return dev.console.wall_t0 + line.t
