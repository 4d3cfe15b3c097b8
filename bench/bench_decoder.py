"""Throughput of the security-message decoder (harness.secmsg.decode).

Workload
--------
Two payloads from harness.secmsg.vectors.CANONICAL, built once before timing:

* ``capacity_64_64``: one NetworkActivity event with the module's maximum of
  64 IPv4 + 64 IPv6 connection records (~6.5 KB), the largest message a device
  with default settings sends;
* ``heartbeat_only``: a single Heartbeat event (~130 B), the smallest message.

For each payload, ``repeats`` timed runs each decode the payload ``number`` times
in a loop (full decode: JSON sniffing, structural verification, reading with the
flatc-generated accessors, building the dataclasses). One untimed warm-up decode
first generates/imports the accessors. Reported per payload: payload size, and
messages decoded per second as min / median / max over the repeats, plus the
per-message latency at the median.

Output: one JSON object on stdout, ``{"name": "decoder", "results": {...}}``.

Usage: ``python bench/bench_decoder.py [--repeats 7] [--seconds 0.3]``
(``--seconds`` is the target duration of one timed run; ``number`` is calibrated
from it).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time

from harness.secmsg import decode, vectors

WORKLOADS = ("capacity_64_64", "heartbeat_only")


def _calibrate(payload: bytes, seconds: float) -> int:
    number = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(number):
            decode(payload)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds / 4 or number >= 1 << 20:
            return max(1, int(number * seconds / max(elapsed, 1e-9)))
        number *= 4


def bench(name: str, repeats: int, seconds: float) -> dict:
    payload = vectors.build(vectors.CANONICAL[name])
    msg = decode(payload)  # warm-up (generates/imports the accessors)
    number = _calibrate(payload, seconds)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            decode(payload)
        rates.append(number / (time.perf_counter() - t0))
    median = statistics.median(rates)
    return {
        "payload_bytes": len(payload),
        "events": len(msg.events),
        "records": sum(1 for _ in msg.records()),
        "decodes_per_run": number,
        "repeats": repeats,
        "msgs_per_s": {"min": round(min(rates), 1), "median": round(median, 1),
                       "max": round(max(rates), 1)},
        "us_per_msg_median": round(1e6 / median, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seconds", type=float, default=0.3,
                        help="target duration of one timed run")
    args = parser.parse_args(argv)
    results = {name: bench(name, args.repeats, args.seconds) for name in WORKLOADS}
    json.dump({"name": "decoder", "results": results,
               "python": platform.python_version()}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
