"""Run the benchmarks (``make bench``) and write bench/results/latest.json and latest.md.

Each benchmark is a script in bench/ that prints one JSON object on stdout (progress on
stderr). This runner starts each as a subprocess in its own session, with a timeout (and a
global budget, so the whole run stays under 15 minutes), collects the JSON, checks that
nothing the benchmark started is left behind (runtime dirs, network namespaces and
processes named after the benchmark's pid — the harness's naming), and renders one
markdown file: a summary table (one headline per benchmark) and a table per benchmark
with its workload and the command that reruns it alone. Benchmarks whose script does not
exist are skipped (bench_record.py is optional); one that fails or times out is reported
as such and the others still run.

    python bench/run.py [--only boot,density] [--skip suites] [--budget 780] [--out bench/results]

Stderr of every benchmark: bench/results/logs/<name>.log.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO))

import _benchlib as B  # noqa: E402

# name, script, arguments, timeout (s): in the order they run
BENCHMARKS = [
    ("footprint", "bench_footprint.py", [], 180),
    ("decoder", "bench_decoder.py", [], 120),
    ("boot", "bench_boot.py", ["--repeats", "10"], 120),
    ("first_alert", "bench_first_alert.py", ["--repeats", "5"], 180),
    ("alert_latency", "bench_alert_latency.py", ["--samples", "6"], 240),
    ("density", "bench_density.py", ["--budget", "150"], 360),
    ("suites", "bench_suites.py", ["--jobs", "1,2,3"], 420),
    ("threatintel", "bench_threatintel.py", ["--quick", "--quiet"], 360),
    ("record", "bench_record.py", [], 300),
]

TITLES = {"decoder": "Decoder: security messages decoded per second",
          "threatintel": "Threat intelligence: load, memory, lookups vs a naive baseline",
          "record": "Record/replay cost"}


# ---- running ------------------------------------------------------------------------------------
def _kill_group(proc: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM the benchmark's process group (its scripts stop what they started), then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass


def leftovers(pid: int) -> list[str]:
    """What a benchmark process (pid) left behind (by the harness's naming, rtl-<pid>-…), removed.
    Only this pid's leftovers: never anybody else's."""
    from harness.cleanup import clean_stale

    return clean_stale(owner=pid)


def _parse(stdout: str) -> dict | None:
    text = stdout.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return None


def run_one(name: str, script: str, args: list[str], timeout: float, logs: Path) -> dict:
    path = BENCH / script
    argv = [sys.executable, str(path), *args]
    rerun = ".venv/bin/python " + " ".join(["bench/" + script, *args])
    if not path.exists():
        return {"name": name, "status": "skipped", "reason": f"bench/{script} does not exist", "command": rerun}
    log_path = logs / f"{name}.log"
    t0 = time.perf_counter()
    with open(log_path, "wb") as err:
        proc = subprocess.Popen(argv, cwd=str(REPO), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err, start_new_session=True, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
        try:
            out, _ = proc.communicate(timeout=timeout)
            status = "ok" if proc.returncode == 0 else "failed"
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, _ = proc.communicate()
            status = "timeout"
        except BaseException:
            _kill_group(proc)
            raise
    elapsed = time.perf_counter() - t0
    data = _parse(out.decode("utf-8", errors="replace"))
    left = leftovers(proc.pid)
    entry = {"name": name, "status": status, "exit": proc.returncode, "elapsed_s": round(elapsed, 1),
             "timeout_s": timeout, "command": rerun, "log": os.path.relpath(log_path, REPO), "leftovers": left}
    if status == "ok" and data is not None and data.get("skipped"):
        entry["status"] = "skipped"
        entry["reason"] = str(data["skipped"])
    if status == "ok" and data is None:
        entry["status"] = "failed"
        entry["reason"] = "no JSON on stdout"
    if status not in ("ok", "skipped"):
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-6:]
        entry.setdefault("reason", f"{status} (exit {proc.returncode}); log tail: " + " | ".join(tail))
    if data is not None:
        if "workload" not in data and name not in ADAPTERS:
            wl = script_workload(path)
            if wl:
                data["workload"] = wl
        entry["data"] = adapt(name, data, rerun)
    return entry


# ---- adapters for scripts that print their own format ------------------------------------------------
def adapt(name: str, data: dict, rerun: str) -> dict:
    if "rows" in data:
        return data
    data = dict(data)
    data.setdefault("title", TITLES.get(name, name))
    data.setdefault("rerun", rerun)
    fn = ADAPTERS.get(name, _adapt_generic)
    try:
        fn(data)
    except (KeyError, TypeError, ValueError) as exc:  # an output format we do not know: show it flat
        data["adapter_error"] = f"{type(exc).__name__}: {exc}"
        _adapt_generic(data)
    return data


def _adapt_decoder(d: dict) -> None:
    res = d["results"]
    d.setdefault("workload", "harness.secmsg.decode on two canonical payloads: capacity_64_64 (one NetworkActivity "
                             "event, 64 IPv4 + 64 IPv6 records) and heartbeat_only; repeated timed loops")
    d["rows"] = []
    for key, r in res.items():
        d["rows"].append({"metric": f"{key}: messages decoded per second", "unit": "msg/s", **r["msgs_per_s"],
                          "n": r.get("repeats"),
                          "note": f"{r['payload_bytes']} B, {r['records']} records; {r['us_per_msg_median']} µs/msg"})
    cap, hb = res.get("capacity_64_64"), res.get("heartbeat_only")
    d["headline"] = (f"{cap['msgs_per_s']['median']:,.0f} full 64+64-record messages/s "
                     f"({cap['us_per_msg_median'] / 1e3:.1f} ms each), {hb['msgs_per_s']['median']:,.0f} "
                     f"heartbeat messages/s (medians, Python {d.get('python', '')})")


def _adapt_threatintel(d: dict) -> None:
    res = d["results"]
    d.setdefault("workload", "feeds of 100k and 1M documentation-range entries (v4+v6, addresses and networks, "
                             "harness.backend.feedgen); ThreatIntel load (child process: time, retained and peak RSS) "
                             "and lookups of 50,000 probes (half hits); naive baseline: set of addresses + linear "
                             "scan of networks, same run" + (" (--quick: 1M naive loaded once, 30 probes)"
                                                             if d.get("quick") else ""))
    rows = []
    for label, r in res.items():
        i, n = r["index"], r["naive"]
        rows += [
            {"metric": f"{label}: index load", "unit": "s", **i["load_s"], "n": d.get("repeats"),
             "note": f"naive {n['load_s']['median']:.2f} s (median of {n.get('load_repeats', d.get('repeats'))})"},
            {"metric": f"{label}: index memory retained / peak", "unit": "MiB",
             "value": f"{i['rss_retained_mib']['median']:.1f} / {i['rss_peak_mib']['median']:.1f}",
             "note": f"naive {n['rss_retained_mib']['median']:.1f} / {n['rss_peak_mib']['median']:.1f} MiB (medians)"},
            {"metric": f"{label}: index lookups per second", "unit": "lookups/s", **i["lookups_per_s"],
             "n": d.get("repeats"), "note": f"{i['lookup_probes']:,} probes, {i['probe_hits']:,} hits"},
            {"metric": f"{label}: naive lookups per second", "unit": "lookups/s", **n["lookups_per_s"],
             "n": d.get("repeats"), "note": f"{n['lookup_probes']:,} probes"},
            {"metric": f"{label}: lookup speed-up index / naive", "unit": "×", "value": r["lookup_speedup_median"],
             "note": "ratio of medians"},
        ]
    d["rows"] = rows
    parts = []
    for label, r in res.items():
        parts.append(f"{label}: load {r['index']['load_s']['median']:.2f} s, "
                     f"{r['index']['rss_retained_mib']['median']:.0f} MiB, "
                     f"{r['index']['lookups_per_s']['median']:,.0f} lookups/s "
                     f"({r['lookup_speedup_median']:,.0f}× naive)")
    d["headline"] = "; ".join(parts)


def _adapt_generic(d: dict) -> None:
    rows = []

    def walk(obj, path):
        if isinstance(obj, dict) and {"min", "median", "max"} <= set(obj):
            rows.append({"metric": path, "unit": "", "min": obj["min"], "median": obj["median"], "max": obj["max"],
                         "note": ""})
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else k)
        elif isinstance(obj, (int, float)) or (isinstance(obj, str) and len(obj) < 60):
            rows.append({"metric": path, "unit": "", "value": obj, "note": ""})

    walk(d.get("results", {}), "")
    for r in rows:
        r["unit"] = _unit_from_key(r["metric"])
    d["rows"] = rows
    if "headline" not in d:
        res = d.get("results", {})
        bw = res.get("boot_workload", {}) if isinstance(res, dict) else {}
        if "record_overhead" in bw:
            idle = res.get("idle", {})
            d["headline"] = (f"recording costs {bw['record_overhead']}× wall time on the boot workload"
                             + (f"; replay log {idle['replay_log_kb_per_min']} KB/min idle"
                                if "replay_log_kb_per_min" in idle else "")
                             + ("; replays identical" if bw.get("replays_identical") else ""))
        else:
            d["headline"] = f"{len(rows)} figures (see the table)"
    d.setdefault("workload", "see the script's docstring")


ADAPTERS = {"decoder": _adapt_decoder, "threatintel": _adapt_threatintel}


def _unit_from_key(key: str) -> str:
    key = key.rsplit(".", 1)[-1]
    for suffix, unit in (("_kb_per_min", "KB/min"), ("_bytes", "B"), ("_ms", "ms"), ("_s", "s"),
                         ("seconds", "s"), ("_mib", "MiB"), ("_per_s", "/s"), ("overhead", "×"),
                         ("_rate", "×")):
        if key.endswith(suffix):
            return unit
    return ""


def script_workload(path: Path) -> str | None:
    """The "Workload" section of a benchmark script's docstring, as one paragraph."""
    import ast
    try:
        doc = ast.get_docstring(ast.parse(path.read_text()))
    except (OSError, SyntaxError):
        return None
    if not doc:
        return None
    m = re.search(r"Workload\n-+\n(.*?)(?:\n\s*\n(?:Output|Usage|Run|Rerun)\b|\Z)", doc, re.S)
    text = m.group(1) if m else doc.split("\n\n", 1)[0]
    return " ".join(text.split())


# ---- markdown --------------------------------------------------------------------------------------
def fmt(x) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return f"{x:,}"
    if isinstance(x, float):
        a = abs(x)
        if a >= 1000:
            return f"{x:,.0f}"
        if a >= 100:
            return f"{x:.0f}"
        if a >= 10:
            return f"{x:.1f}"
        if a >= 1:
            return f"{x:.2f}"
        if a == 0:
            return "0"
        return f"{x:.3g}"
    return str(x).replace("|", "\\|")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(report: dict) -> str:
    m = report["machine"]
    lines = ["# Benchmark results", "",
             f"Written by `make bench` (`bench/run.py`) on {report['started']} in {report['duration_s']:.0f} s; "
             f"commit {report['git']}. Machine: {m['cpus']} × {m['cpu_model']}, {m['mem_gib']} GiB RAM, "
             f"Python {m['python']}, QEMU {report.get('qemu', '?')}; load average at start "
             f"{', '.join(f'{x:.2f}' for x in m['loadavg'])}. Figures are min / median / max over repeated runs "
             "measured in this one run on a shared machine: compare ratios, not absolute values across machines. "
             "What each benchmark does: [docs/benchmarks.md](../../docs/benchmarks.md).", "",
             "## Summary", "", "| benchmark | result | time | rerun alone |", "|---|---|---|---|"]
    for e in report["benchmarks"]:
        d = e.get("data") or {}
        result = d.get("headline") or ""
        if e["status"] == "skipped":
            result = f"skipped: {e.get('reason', '')}"
        elif e["status"] != "ok":
            result = f"**{e['status']}**: {e.get('reason', '')}"[:400] + (f" — partial: {result}" if result else "")
        title = d.get("title") or e["name"]
        anchor = f"[{_cell(title)}](#{e['name'].replace('_', '-')})"
        took = f"{e['elapsed_s']:.0f} s" if e.get("elapsed_s") is not None else "–"
        lines.append(f"| {anchor} | {_cell(result)} | {took} | `{_cell(e['command'])}` |")
    for e in report["benchmarks"]:
        d = e.get("data")
        lines += ["", f'<a id="{e["name"].replace("_", "-")}"></a>', "",
                  f"## {(d or {}).get('title') or e['name']}", ""]
        if not d or e["status"] == "skipped":
            lines += [f"Not run: {e['status']} — {_cell(e.get('reason', ''))}", "", f"Rerun: `{e['command']}`"]
            continue
        lines += [f"Workload: {_cell(d.get('workload', ''))}", "", f"Rerun: `{e['command']}`", ""]
        if e["status"] != "ok":
            lines += [f"**{e['status']}**: {_cell(e.get('reason', ''))}", ""]
        if e.get("leftovers"):
            lines += [f"Left behind and cleaned up by the runner: {_cell(', '.join(e['leftovers']))}", ""]
        lines += ["| metric | min | median | max | n | unit | notes |", "|---|---:|---:|---:|---:|---|---|"]
        for r in d.get("rows", []):
            if "value" in r:
                lines.append(f"| {_cell(r['metric'])} | | {fmt(r['value'])} | | | {_cell(r.get('unit', ''))} | "
                             f"{_cell(r.get('note', ''))} |")
            else:
                lines.append(f"| {_cell(r['metric'])} | {fmt(r.get('min'))} | {fmt(r.get('median'))} | "
                             f"{fmt(r.get('max'))} | {fmt(r.get('n'))} | {_cell(r.get('unit', ''))} | "
                             f"{_cell(r.get('note', ''))} |")
    return "\n".join(lines) + "\n"


def git_describe() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="comma-separated benchmark names")
    ap.add_argument("--skip", default="", help="comma-separated benchmark names")
    ap.add_argument("--budget", type=float, default=780.0,
                    help="seconds for the whole run; a benchmark gets at most what is left")
    ap.add_argument("--out", default=str(BENCH / "results"))
    ap.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = ap.parse_args(argv)
    if args.list:
        for name, script, extra, timeout in BENCHMARKS:
            print(f"{name:14} bench/{script} {' '.join(extra)} (timeout {timeout} s)")
        return 0
    only = {s for s in args.only.split(",") if s}
    skip = {s for s in args.skip.split(",") if s}
    unknown = (only | skip) - {b[0] for b in BENCHMARKS}
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    out = Path(args.out)
    logs = out / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    from harness.device import qemu_version

    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    t0 = time.perf_counter()
    report = {"started": started, "machine": B.machine(), "git": git_describe(), "qemu": qemu_version(),
              "budget_s": args.budget, "benchmarks": []}
    for name, script, extra, timeout in BENCHMARKS:
        if (only and name not in only) or name in skip:
            continue
        left = args.budget - (time.perf_counter() - t0)
        if left < 30:
            report["benchmarks"].append({"name": name, "status": "skipped", "command":
                                         ".venv/bin/python " + " ".join(["bench/" + script, *extra]),
                                         "reason": f"the run's budget of {args.budget:.0f} s is spent"})
            continue
        print(f"== {name}: bench/{script} {' '.join(extra)} (timeout {min(timeout, left):.0f} s)", flush=True)
        entry = run_one(name, script, extra, min(timeout, left), logs)
        report["benchmarks"].append(entry)
        d = entry.get("data") or {}
        print(f"   {entry['status']} in {entry.get('elapsed_s', 0):.0f} s: "
              f"{d.get('headline') or entry.get('reason', '')}", flush=True)
        if entry.get("leftovers"):
            print(f"   left behind (cleaned): {', '.join(entry['leftovers'])}", flush=True)
    report["duration_s"] = round(time.perf_counter() - t0, 1)
    (out / "latest.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / "latest.md").write_text(render(report), encoding="utf-8")
    print(f"wrote {out / 'latest.md'} and {out / 'latest.json'} in {report['duration_s']:.0f} s")
    bad = [e["name"] for e in report["benchmarks"] if e["status"] not in ("ok", "skipped")]
    if bad:
        print(f"not ok: {', '.join(bad)}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
