"""The main job (``make run`` / ``harness run``): a lab with one device, the
back end with a threat feed, a benign-then-malicious scenario, progress and
alerts as they arrive, and a summary a person reads at a glance, with the
path to the full report."""

from __future__ import annotations

import html
import threading
import time
from pathlib import Path

from .backend import api
from .backend.feedgen import generate_entries_excluding, write_feed
from .backend.process import BackendService
from .lab import Lab
from .secmsg import decode, is_security_message, render_html
from .traffic import TrafficDriver
from .traffic.profiles import load_profile

MALICIOUS = ["203.0.113.0/24", "2001:db8:bad::/48"]
BENIGN = ["192.0.2.0/24", "198.51.100.0/24", "2001:db8:1::/64", "2001:db8:100::/64"]
DEVICE = "refdev-1"


class Progress:
    """Prints hub events as they arrive: security messages (decoded) and alerts."""

    def __init__(self, lab: Lab, t0: float):
        self.lab, self.t0 = lab, t0
        self.seen = 0
        self.messages: list = []
        self.alerts: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.t0:6.1f}s] {text}", flush=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        rec = self.lab.hub.recorder
        while not self._stop.is_set():
            for r in rec.records[self.seen:]:
                self.seen += 1
                if r.kind == "d2c" and is_security_message(r.properties):
                    try:
                        msg = decode(r.payload)
                    except Exception as exc:  # shown, not fatal
                        self.say(f"security message #{r.seq}: cannot decode: {exc}")
                        continue
                    self.messages.append((r, msg))
                    kinds = ", ".join(e.payload_type.name.title().replace("_", "") for e in msg.events)
                    n = sum(1 for _ in msg.records())
                    self.say(f"security message #{len(self.messages)} from {r.device_id}: {kinds}; "
                             f"{n} connection record(s), {r.payload_len} bytes")
                elif r.kind == "alert" and r.event:
                    a = r.event
                    self.alerts.append(a)
                    extra = f" (indicator {a.get('indicator')}, {a.get('source')})" if a.get("indicator") else ""
                    self.say(f"ALERT {a.get('severity')}: {a.get('name')} — {a.get('device_id')} <-> "
                             f"{a.get('peer') or '-'}{extra}")
            self._stop.wait(0.2)


def _wait_windows(lab: Lab, n: int, timeout: float = 40.0) -> None:
    mark = lab.hub.recorder.mark()
    lab.hub.recorder.wait_for(timeout, since=mark, count=n, kind="d2c", device_id=DEVICE, security=True)


class Scenario:
    """A lab, the back end with the threat feed, and one device that has published its first
    security message; everything is kept (artifacts) and torn down on exit."""

    def __init__(self, artifacts: Path, board: str, image, profile: str):
        self.artifacts, self.board, self.image, self.profile = artifacts, board, image, profile
        self.t0 = time.monotonic()
        self.lab = Lab("run", artifacts_dir=artifacts / "lab")
        self.backend: BackendService | None = None
        self.progress: Progress | None = None
        self.dev = None

    def __enter__(self) -> "Scenario":
        lab = self.lab
        mode = "network namespace" if lab.privileged else "QEMU user networking, restrict=on (not root: no lab traffic)"
        print(f"== lab: {mode}; artifacts in {self.artifacts}")
        lab.start()
        try:
            feed = self.artifacts / "synthetic-feed.txt"
            # the synthetic entries stay clear of the lab: alerts then cite the lab feed
            entries = generate_entries_excluding(1000, exclude=BENIGN + MALICIOUS, seed=7)
            write_feed(feed, entries)
            self.backend = BackendService(lab)
            self.backend.start(indicators=MALICIOUS, feeds=[feed])
            print(f"== back end: threat feed {', '.join(MALICIOUS)} + {len(entries)} synthetic indicators; "
                  f"store {self.backend.db}")
            dev = self.dev = lab.start_device(DEVICE, board=self.board, image=self.image, profile=self.profile,
                                              telemetry_interval=5)
            print(f"== device {DEVICE} on {dev.target.name} ({dev.image_path.name}), mac {dev.config.mac}")
            progress = self.progress = Progress(lab, self.t0).start()
            dev.wait_for_prompt(dev.target.timeouts.boot)
            progress.say("device booted: " + (dev.console.lines[1].text if len(dev.console.lines) > 1 else ""))
            patterns = ["net: ipv4", "hub: connected"] + (["net: ipv6 slaac"] if lab.privileged else [])
            for m in dev.console.wait_for_all(patterns, 30, since=0):
                progress.say(m.line)
            if not lab.hub.recorder.find(kind="d2c", device_id=DEVICE, security=True):
                progress.say("waiting for the security module's first message (fast profile: ~2 s after enable; "
                             "real: 30-89 s)")
                lab.hub.recorder.wait_for(120, kind="d2c", device_id=DEVICE, security=True)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.progress:
            self.progress.stop()
        if self.backend:
            self.backend.stop()
        self.lab.stop(failed=True)  # the person running it looks at everything: keep the artifacts

    def wait_windows(self, n: int) -> None:
        _wait_windows(self.lab, n)

    def summary(self, expect_alerts: bool | None, benign_alerts: int = 0) -> int:
        return _summary(self.lab, self.backend, self.progress, self.artifacts, expect_alerts, benign_alerts)


def run(artifacts: Path, board: str, image, profile: str) -> int:
    with Scenario(artifacts, board, image, profile) as sc:
        if not sc.lab.privileged:
            sc.wait_windows(2)
            return sc.summary(expect_alerts=False)
        driver = TrafficDriver(sc.lab)
        print("== phase 1: benign traffic (peer 198.51.100.10: UDP/TCP echo, ping; DNS; an HTTP connection)")
        driver.run(load_profile("benign", {"device": DEVICE}))
        sc.wait_windows(2)
        benign_alerts = api.list_alerts(sc.backend.db)
        sc.progress.say(f"benign phase over: {len(benign_alerts)} alert(s)"
                        + (" (false positives!)" if benign_alerts else ", as expected"))
        print("== phase 2: malicious traffic (attacker 203.0.113.66: TCP/UDP/ICMP, SYN scan, telnet guessing; "
              "the device contacts the C2 host 203.0.113.200)")
        # outbound first: a port scan fills the module's 64-record window, as it would on a real device
        driver.run(load_profile("malicious-outbound", {"device": DEVICE})[:3])
        steps = [s for s in load_profile("malicious-inbound", {"device": DEVICE})
                 if s["kind"] in ("tcp", "udp", "ping", "telnet_bruteforce")]
        driver.run(steps)
        sc.wait_windows(1)
        sc.progress.say("port scan from the attacker (fills the module's 64-record window)")
        driver.run([s for s in load_profile("malicious-inbound", {"device": DEVICE}) if s["kind"] == "syn_scan"])
        sc.wait_windows(2)
        time.sleep(1.0)
        return sc.summary(expect_alerts=True, benign_alerts=len(benign_alerts))


def run_profile(artifacts: Path, board: str, image, profile: str, traffic_profile: str) -> int:
    """``harness traffic PROFILE``: one traffic profile against a fresh lab and device."""
    steps = load_profile(traffic_profile, {"device": DEVICE})
    with Scenario(artifacts, board, image, profile) as sc:
        if not sc.lab.privileged:
            from .errors import InfrastructureError
            raise InfrastructureError("traffic profiles need the privileged lab (run as root)")
        print(f"== traffic profile {traffic_profile}: {len(steps)} step(s)")
        result = TrafficDriver(sc.lab).run(steps, timeout=300)
        for step, res in zip(result.steps, result.results):
            shown = {k: v for k, v in res.items() if k not in ("output", "flows")}
            sc.progress.say(f"{step['kind']} {step.get('src', '')} -> {step.get('dst', step.get('command', ''))}: {shown}")
        sc.wait_windows(2)
        time.sleep(1.0)
        return sc.summary(expect_alerts=None)


def _summary(lab, backend, progress, artifacts: Path, expect_alerts: bool | None, benign_alerts: int = 0) -> int:
    alerts = api.list_alerts(backend.db)
    recs = api.list_recommendations(backend.db)
    records = sum(1 for _, m in progress.messages for _ in m.records())
    print("\n== summary")
    print(f"  device {DEVICE}: {len(progress.messages)} security messages, {records} connection records, "
          f"{len(alerts)} alert(s), {len(recs)} recommendation(s)")
    print("  alerts:")
    print("    " + api.alerts_table(backend.db, format="text").replace("\n", "\n    "))
    print("  recommendations:")
    print("    " + api.recommendations_table(backend.db, format="text").replace("\n", "\n    "))
    report = write_report(artifacts, lab, backend, progress)
    if expect_alerts is None:  # a traffic profile: no verdict, the alerts are the result
        print(f"\n  traffic profile done: {len(alerts)} alert(s)\n  full report: {report}")
        return 0
    malicious = [a for a in alerts if a.get("peer") and any(a["peer"].startswith(p) for p in ("203.0.113.", "2001:db8:bad:"))]
    ok = (not expect_alerts or malicious) and benign_alerts == 0
    verdict = ("OK: real traffic raised real alerts, benign traffic none" if expect_alerts else
               "OK: the device published security messages (no traffic scenario without the privileged lab)")
    print(f"\n  {verdict if ok else 'NOT OK: expected alerts for the malicious peers and none for benign traffic'}")
    print(f"  full report: {report}")
    return 0 if ok else 1


def write_report(artifacts: Path, lab, backend, progress) -> Path:
    dev_dir = lab.artifacts_dir / DEVICE
    links = [("console log", dev_dir / "console.log"), ("device pcap", dev_dir / "device.pcap"),
             ("hub recording", lab.artifacts_dir / "hub.jsonl"), ("QEMU command line", dev_dir / "qemu.cmdline"),
             ("back-end store (SQLite)", backend.db), ("traffic log", lab.artifacts_dir / "traffic.jsonl")]
    parts = ["<html><head><meta charset='utf-8'><title>testbed run</title></head><body>",
             f"<h1>Testbed run: {html.escape(DEVICE)}</h1>",
             "<p>" + " | ".join(f"<a href='{html.escape(str(p.relative_to(artifacts)))}'>{html.escape(n)}</a>"
                                for n, p in links if p.exists()) + "</p>",
             "<h2>Alerts</h2>", api.alerts_table(backend.db, format="html"),
             "<h2>Recommendations</h2>", api.recommendations_table(backend.db, format="html"),
             f"<h2>Security messages ({len(progress.messages)})</h2>"]
    for rec, msg in progress.messages:
        parts.append(f"<h3>#{rec.seq} received {time.strftime('%H:%M:%S', time.localtime(rec.t))}</h3>")
        parts.append(render_html(msg))
    parts.append("</body></html>")
    path = artifacts / "report.html"
    path.write_text("\n".join(parts))
    return path
