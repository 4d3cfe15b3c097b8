"""Time to first security message and to first alert on the fast profile, from QEMU start.

Workload
--------
One privileged lab (network namespace, dnsmasq, SNTP, hub + recorder) and the back end
(``harness.backend.process.BackendService``) following the lab's hub recording, with a lab
feed listing the lab's malicious ranges (203.0.113.0/24, 2001:db8:bad::/48). Set up once,
not timed. Then, ``--repeats`` times (default 5), a new device (reference firmware,
``refdev-fast.elf``: security module on the ``fast`` profile, first collection 2 s after
enable) is started in that lab; as soon as it has a DHCP lease and its security module is
enabled (both well under a second after boot), the attacker lab host 203.0.113.66 sends it
two UDP datagrams (echoed) and one ICMP echo (``harness.traffic.TrafficDriver``).

Timed from QEMU's spawn (``Device.started_at``), host clock, to: the shell prompt and the
``net: ipv4 dhcp bound`` line (console timestamps); the hub's ``connect`` event; the console line
``secmod: enabled``; the attacker traffic finished; the first security message received by
the hub (recorder time); the alert as stored by the back end (its ``time`` = the receive time
of the message that carried the evidence); the alert published on ``lab/alerts/<device>``
(recorder time). Each device is stopped before the next starts.

Rerun: ``.venv/bin/python bench/bench_first_alert.py [--repeats 5] [--board mps2-an385]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import _benchlib as B

from harness.backend import api  # noqa: E402
from harness.traffic import TrafficDriver  # noqa: E402

ATTACKER = "attacker1"
TITLE = "Time to first security message and first alert (fast profile)"


def one_device(env: B.LabWithBackend, device_id: str, board: str) -> dict:
    lab, rec = env.lab, env.lab.hub.recorder
    mark = rec.mark()
    dev = lab.start_device(device_id, board=board, profile="fast")
    t0 = B.qemu_start_wall(dev)
    out: dict = {}
    try:
        prompt = dev.wait_for_prompt()
        out["prompt"] = dev.console.wall_t0 + prompt.t - t0
        bound, enabled = dev.console.wait_for_all([r"net: ipv4 dhcp bound", r"secmod: enabled"], 30, since=0)
        out["dhcp_bound"] = B.console_wall(dev, bound) - t0
        out["secmod_enabled"] = B.console_wall(dev, enabled) - t0
        lab.wait_for_ipv4(device_id)  # the lease as the lab sees it (the traffic needs the address)
        traffic = TrafficDriver(lab).run([
            {"kind": "udp", "src": ATTACKER, "dst": device_id, "dport": 7, "size": 32, "count": 2,
             "expect_reply": True},
            {"kind": "ping", "src": ATTACKER, "dst": device_id, "count": 1},
        ])
        out["traffic_started"] = traffic.started - t0
        out["traffic_done"] = traffic.ended - t0
        first_msg = rec.wait_for(60, since=mark, kind="d2c", device_id=device_id, security=True)[0]
        out["first_security_message"] = first_msg.t - t0
        alert = rec.wait_for(60, since=mark, kind="alert", device_id=device_id)[0]
        out["first_alert_published"] = alert.t - t0
        connects = rec.find(since=mark, kind="hub_event", device_id=device_id, event="connect")
        if connects:
            out["hub_connected"] = connects[0].t - t0
        stored = api.list_alerts(env.backend.db, device=device_id)
        if stored:
            out["first_alert_stored"] = min(a["time"] for a in stored) - t0
        out["alert_type"] = (alert.event or {}).get("type")
        out["alert_peer"] = (alert.event or {}).get("peer")
        out["first_message_bytes"] = first_msg.payload_len
    finally:
        lab.stop_device(device_id)
    return out


KEYS = [("prompt", "QEMU start → shell prompt"), ("dhcp_bound", "QEMU start → DHCP bound (console)"),
        ("hub_connected", "QEMU start → hub connect event"), ("secmod_enabled", "QEMU start → secmod enabled"),
        ("traffic_done", "QEMU start → attacker traffic sent"),
        ("first_security_message", "QEMU start → first security message at the hub"),
        ("first_alert_stored", "QEMU start → first alert (alert table time)"),
        ("first_alert_published", "QEMU start → first alert on lab/alerts (recorder)")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--board", default="mps2-an385")
    args = ap.parse_args(argv)
    B.install_signal_handlers()
    B.skip_unless_privileged_lab("first_alert", TITLE, ".venv/bin/python bench/bench_first_alert.py")

    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-fa-") as tmp:
        with B.LabWithBackend("bench-fa", Path(tmp) / "lab") as env:
            B.log(f"lab and back end up in {env.setup_s:.2f} s")
            for i in range(args.repeats):
                runs.append(one_device(env, f"fa-{i + 1}", args.board))
                r = runs[-1]
                B.log(f"device {i + 1}/{args.repeats}: first security message {r['first_security_message']:.2f} s, "
                      f"first alert {r['first_alert_published']:.2f} s ({r['alert_type']} {r['alert_peer']})")
            setup = env.setup_s

    res = {"board": args.board, "profile": "fast", "repeats": args.repeats, "lab_setup_s": round(setup, 3),
           "runs": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()} for r in runs]}
    for key, _ in KEYS:
        res[key] = B.summary([r.get(key) for r in runs])
    proc = [r["first_alert_published"] - r["first_security_message"] for r in runs]
    res["message_to_alert_published"] = B.summary(proc)
    rows = [B.row(label, res[key], "s", digits=3) for key, label in KEYS]
    rows.append(B.row("first security message → alert published (back end)", proc, "ms", scale=1e3, digits=1))
    rows.append(B.row("lab + back end setup (once, not in the figures above)", value=round(setup, 2), unit="s"))
    fm, fa = res["first_security_message"], res["first_alert_published"]
    B.emit("first_alert", TITLE,
           workload=(f"{args.repeats} devices in turn in one lab with the back end (feed: 203.0.113.0/24, "
                     "2001:db8:bad::/48); attacker 203.0.113.66 sends 2 UDP + 1 ICMP echo as soon as the device "
                     "has a lease and the module is enabled; times from QEMU spawn"),
           rerun=f".venv/bin/python bench/bench_first_alert.py --repeats {args.repeats}",
           rows=rows, results=res,
           headline=(f"first security message {fm['median']:.2f} s, first alert {fa['median']:.2f} s after QEMU "
                     f"start (median of {args.repeats}; fast profile: first collection 2 s after enable)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
