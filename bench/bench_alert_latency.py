"""Alert latency: last malicious packet → alert, against the collection interval.

Workload
--------
One privileged lab with the back end (feed: 203.0.113.0/24, 2001:db8:bad::/48) and one device
(reference firmware, ``fast`` profile; its security module sends a NetworkActivity event every
10 s — the collection interval, read back from the messages). After the module's first
message, ``--samples`` bursts (default 6), one per collection window: each from a new
attacker lab host in 203.0.113.0/24 (so each raises its own alert: the back end deduplicates
per device and peer), two UDP datagrams to the device's echo port (and the echoes back).
Burst *i* starts at a different offset into its window (spread evenly over 0–9 s, in shuffled
order), measured from the arrival of the message that closed the previous window, so the
samples cover the window's phase.

Per burst: the **last malicious packet** is the device's echo of the last datagram, timed
on the host clock as it arrives at the attacker's socket (a socket in the lab namespace, made
with ``harness.lab.lab.in_namespace``; the device pcap's timestamps are QEMU's virtual clock
plus a whole-second start time, too coarse here); the **alert** is the
``IoT_SuspiciousIPCommunication`` record for that peer on ``lab/alerts/<device>`` in the hub
recording (recorder receive time). Split into: last packet → the security message carrying
the evidence reaches the hub (waiting for the window to close: 0–10 s by design), and that
message → alert published (the back end's own latency).

Rerun: ``.venv/bin/python bench/bench_alert_latency.py [--samples 6]``
"""

from __future__ import annotations

import argparse
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

import _benchlib as B

from harness.secmsg import decode  # noqa: E402
from harness.lab.lab import in_namespace  # noqa: E402

DEVICE = "lat-1"
TITLE = "Alert latency: last malicious packet → alert"


def udp_burst(lab, src: str, dst: str, count: int = 2, port: int = 7) -> tuple[float, float, int]:
    """``count`` UDP datagrams from lab host ``src`` to the device's echo port, each echo awaited;
    returns (time of the first send, time the last echo arrived (or the last send), echoes)."""
    def make() -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.settimeout(2.0)
        return s

    sock = in_namespace(lab.ns.name, make)  # a socket on the lab network, usable from this thread
    echoes = 0
    try:
        t_first = time.time()
        for _ in range(count):
            sock.sendto(b"bench-alert-latency", (dst, port))
            try:
                sock.recvfrom(2048)
                echoes += 1
            except socket.timeout:
                pass
        t_last = time.time()
    finally:
        sock.close()
    return t_first, t_last, echoes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--board", default="mps2-an385")
    args = ap.parse_args(argv)
    B.install_signal_handlers()
    B.skip_unless_privileged_lab("alert_latency", TITLE, ".venv/bin/python bench/bench_alert_latency.py")

    samples = []
    interval = None
    with tempfile.TemporaryDirectory(prefix="bench-lat-") as tmp, \
            B.LabWithBackend("bench-lat", Path(tmp) / "lab") as env:
        lab, rec = env.lab, env.lab.hub.recorder
        dev = lab.start_device(DEVICE, board=args.board, profile="fast")
        dev.wait_for_prompt()
        dev_ip = lab.wait_for_ipv4(DEVICE)
        last = rec.wait_for(30, kind="d2c", device_id=DEVICE, security=True)[0]
        offsets = [(i + 0.5) / args.samples * 9.0 for i in range(args.samples)]
        random.Random(8).shuffle(offsets)
        bursts = []
        for i, offset in enumerate(offsets):
            host = lab.add_host(f"atk{i + 1}", "malicious")
            # the message that closes the current window (the first window after enable is shorter:
            # skipped); bursts go one window apart
            last = rec.wait_for(25, since=last.seq, kind="d2c", device_id=DEVICE, security=True)[0]
            time.sleep(max(0.0, last.t + offset - time.time()))
            t_first, t_last, echoes = udp_burst(lab, host.ipv4, dev_ip)
            bursts.append((host, offset, t_first, t_last, echoes))
            B.log(f"burst {i + 1}/{args.samples} from {host.ipv4} at +{offset:.2f} s into the window")
        deadline = time.monotonic() + 40
        for host, offset, t_first, last_pkt, echoes in bursts:
            alert = None
            while alert is None and time.monotonic() < deadline:
                alert = next((r for r in rec.find(kind="alert", device_id=DEVICE)
                              if (r.event or {}).get("peer") == host.ipv4), None)
                if alert is None:
                    time.sleep(0.1)
            if alert is None:
                raise RuntimeError(f"no alert for {host.ipv4} within the wait")
            seq = (alert.event.get("evidence") or {}).get("record_seq")
            carrier = rec.records[seq - 1] if seq else None
            if carrier is not None and interval is None:
                msg = decode(carrier.payload)
                interval = next((e.collection_interval for e in msg.events
                                 if e.payload_type.name == "NETWORK_ACTIVITY"), None)
            samples.append({
                "attacker": host.ipv4, "offset_in_window_s": round(offset, 3),
                "burst_s": round(last_pkt - t_first, 4), "echoes": echoes,
                "latency_s": round(alert.t - last_pkt, 4),
                "packet_to_message_s": round(carrier.t - last_pkt, 4) if carrier else None,
                "message_to_alert_s": round(alert.t - carrier.t, 4) if carrier else None,
                "carrier_seq": seq,
                "alert_type": alert.event.get("type")})
            B.log(f"{host.ipv4}: last packet → alert {samples[-1]['latency_s']:.2f} s")

    interval = interval or 10
    lat = [s["latency_s"] for s in samples]
    wait = [s["packet_to_message_s"] for s in samples]
    be = [s["message_to_alert_s"] for s in samples]
    res = {"board": args.board, "collection_interval_s": interval, "samples": samples,
           "latency_s": B.summary(lat), "packet_to_message_s": B.summary(wait), "message_to_alert_s": B.summary(be)}
    resid = [s["latency_s"] - (interval - s["offset_in_window_s"]) for s in samples]
    res["latency_minus_window_rest_s"] = B.summary(resid)
    res["latency_over_interval"] = {k: B.ratio(res["latency_s"][k], interval, 3) for k in ("min", "median", "max")}
    rows = [
        B.row("last malicious packet → alert on lab/alerts", lat, "s", digits=3,
              note=f"bursts spread over the window phase; interval {interval} s"),
        B.row("  of which: packet → security message at the hub", wait, "s", digits=3,
              note="waiting for the window to close"),
        B.row("  of which: message → alert published (back end)", be, "ms", scale=1e3, digits=1),
        B.row("latency − rest of the window (interval − burst offset)", resid, "ms", scale=1e3, digits=1,
              note="what the testbed adds on top of the module's schedule"),
        B.row("latency / collection interval", res["latency_over_interval"], "×", digits=3,
              note="≤ 1 + (send + back end)/interval expected"),
        B.row("collection interval (from the messages)", value=interval, unit="s"),
    ]
    lm = res["latency_s"]
    B.emit("alert_latency", TITLE,
           workload=(f"one fast-profile device in a lab with the back end; {args.samples} UDP bursts from distinct "
                     "attackers in 203.0.113.0/24, one per collection window at evenly spread offsets; packet times "
                     "as the attacker receives the echoes, alert times from the hub recording"),
           rerun=f".venv/bin/python bench/bench_alert_latency.py --samples {args.samples}",
           rows=rows, results=res,
           headline=(f"last packet → alert {lm['min']:.2f} / {lm['median']:.2f} / {lm['max']:.2f} s (min/median/max) "
                     f"against a {interval} s collection interval; back end adds "
                     f"{res['message_to_alert_s']['median'] * 1e3:.0f} ms (median)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
