"""Firmware footprint: the security module alone and the whole image, per board, beside
the real module's published figures; bytes per connection record on the wire.

Workload
--------
* **Images** (built by ``make images``): ``arm-none-eabi-size`` of
  ``qemu_images/build/<board>/refdev-{real,fast,nosecmod}.elf`` (text, data, bss).
* **Module alone**: ``arm-none-eabi-size -t`` of the module's library as the firmware build
  made it (``build/<board>/secmod-real/libsecmod.a``: default configuration, 64 IPv4 + 64
  IPv6 records), and what linking it adds to the image (``refdev-real`` − ``refdev-nosecmod``:
  the module after ``--gc-sections`` plus its glue and network hooks).
* **Module with a 4-entry cache**, the configuration of the real module's published figures:
  ``make -C qemu_images/secmod footprint`` with ``-DSECMOD_MAX_IPV4_RECORDS=4
  -DSECMOD_MAX_IPV6_RECORDS=4`` and the board's CPU flags, built into a temporary directory.
  ROM = text + data, RAM = data + bss. Published (Azure RTOS NetX Duo security module,
  arm-gcc, 4-entry cache): ROM 13 KB, RAM 4 KB.
* **Bytes per record on the wire**: messages with one NetworkActivity event of N and N+1
  records (N = 1..63; TCP records with both ports and both byte counters set — the common
  case; and the mix of TCP/UDP/ICMP of the capacity vector), IPv4 and IPv6 separately,
  encoded by the module's own serializer (the host build of ``secmod_encode``, same sources
  as the firmware; ``make -C qemu_images/secmod host-tools`` with its output redirected to a
  temporary directory) and by the harness's reference builder (``harness.secmsg.vectors.build``).
  The per-record size is size(N+1) − size(N) (min/median/max: alignment padding makes it vary)
  and the slope (size(64) − size(1)) / 63. Published: about 36 B per IPv4 and 60 B per IPv6 record.
  Sizes are deterministic: one run, no repeats.

Rerun: ``.venv/bin/python bench/bench_footprint.py [--boards mps2-an385,...]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _benchlib as B

from harness.secmsg import decode, vectors  # noqa: E402
from harness.targets import load_target  # noqa: E402

BUILD = B.REPO / "qemu_images" / "build"
SECMOD = B.REPO / "qemu_images" / "secmod"
SIZE = "arm-none-eabi-size"
PUBLISHED = {"rom_kib": 13, "ram_kib": 4, "cache_entries": 4, "ipv4_record_bytes": 36, "ipv6_record_bytes": 60}
FOUR = "-DSECMOD_MAX_IPV4_RECORDS=4 -DSECMOD_MAX_IPV6_RECORDS=4"


def size_of(path: Path, total: bool = False) -> dict | None:
    if not path.exists():
        return None
    out = subprocess.run([SIZE] + (["-t"] if total else []) + [str(path)], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    line = next(ln for ln in out if "(TOTALS)" in ln) if total else out[1]
    text, data, bss = (int(x) for x in line.split()[:3])
    return {"text": text, "data": data, "bss": bss, "rom": text + data, "ram": data + bss}


def four_entry_build(board: str, tmp: Path) -> dict:
    flags = " ".join(load_target(board).gcc_flags)
    out = subprocess.run(["make", "-s", "-C", str(SECMOD), "footprint", "PROFILE=real", f"CPU_FLAGS={flags}",
                          f"OUT={tmp / ('secmod4-' + board)}", f"EXTRA_CFLAGS={FOUR}"],
                         capture_output=True, text=True, check=True).stdout
    line = next(ln for ln in out.splitlines() if "(TOTALS)" in ln)
    text, data, bss = (int(x) for x in line.split()[:3])
    return {"text": text, "data": data, "bss": bss, "rom": text + data, "ram": data + bss}


# ---- bytes per record ---------------------------------------------------------------------------
def _records(version: int, n: int, mix: bool) -> list[dict]:
    recs = []
    for i in range(n):
        proto = ("TCP", "UDP", "ICMP")[i % 3] if mix else "TCP"
        local = "192.0.2.10" if version == 4 else "2001:db8:1::10"
        remote = f"198.51.100.{i + 1}" if version == 4 else f"2001:db8:100::{i + 1:x}"
        ports = {} if proto == "ICMP" else {"local_port": 49152 + i, "remote_port": 1024 + 7 * i}
        recs.append({"local_address": local, "remote_address": remote, **ports, "bytes_in": 100 + 37 * i,
                     "bytes_out": 60 + 11 * i, "protocol": proto})
    return recs


def _spec(version: int, n: int, mix: bool) -> dict:
    spec = vectors.canonical("network_v4")
    payload = spec["events"][0]["payload"]
    payload["ipv4"] = _records(4, n, mix) if version == 4 else []
    payload["ipv6"] = _records(6, n, mix) if version == 6 else []
    return spec


class ModuleEncoder:
    """The module's serializer on the host (secmod_encode), built into a temporary directory."""

    def __init__(self, tmp: Path):
        self.tool = tmp / "secmod_encode"
        self.tmp = tmp
        subprocess.run(["make", "-s", "-C", str(SECMOD), "host-tools", f"TOOL={self.tool}"], check=True,
                       capture_output=True, text=True)

    def __call__(self, spec: dict) -> bytes:
        src, dst = self.tmp / "in.txt", self.tmp / "out.bin"
        src.write_text(vectors.to_text(spec))
        subprocess.run([str(self.tool), str(src), str(dst)], check=True, capture_output=True)
        return dst.read_bytes()


def per_record(encode, version: int, mix: bool) -> dict:
    sizes = {}
    for n in range(1, 65):
        data = encode(_spec(version, n, mix))
        sizes[n] = len(data)
    msg = decode(data)  # the largest one decodes to the records it was built from
    assert sum(1 for _ in msg.records()) == 64, "encoder lost records"
    deltas = [sizes[n + 1] - sizes[n] for n in range(1, 64)]
    return {"deltas": B.summary(deltas, 2), "slope": round((sizes[64] - sizes[1]) / 63, 2),
            "size_1": sizes[1], "size_64": sizes[64]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--boards", default="", help="comma-separated (default: every board with built images)")
    args = ap.parse_args(argv)
    if not shutil.which(SIZE):
        raise SystemExit(f"{SIZE} not found (make setup)")

    boards = [b for b in args.boards.split(",") if b] or sorted(p.name for p in BUILD.iterdir()
                                                               if (p / "refdev-real.elf").exists())
    res: dict = {"published": PUBLISHED, "boards": {}}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-fp-") as tmp:
        tmp = Path(tmp)
        for board in boards:
            d = BUILD / board
            b = {p: size_of(d / f"refdev-{p}.elf") for p in ("real", "fast", "nosecmod")}
            b["secmod_lib_real"] = size_of(d / "secmod-real" / "libsecmod.a", total=True)
            if b["real"] and b["nosecmod"]:
                b["secmod_linked_delta"] = {k: b["real"][k] - b["nosecmod"][k] for k in b["real"]}
            b["secmod_lib_4entry"] = four_entry_build(board, tmp)
            res["boards"][board] = b
            B.log(f"{board}: image {b['real']}, module 4-entry {b['secmod_lib_4entry']}")

            def fmt(s):
                return f"text {s['text']}, data {s['data']}, bss {s['bss']}" if s else "not built"
            rows.append(B.row(f"{board}: whole image (refdev-real) ROM / RAM",
                              value=f"{b['real']['rom']} / {b['real']['ram']}" if b["real"] else "-", unit="B",
                              note=fmt(b["real"]) + (f"; nosecmod image ROM {b['nosecmod']['rom']}, RAM "
                                                     f"{b['nosecmod']['ram']}" if b["nosecmod"] else "")))
            lib = b["secmod_lib_real"]
            rows.append(B.row(f"{board}: module library, 64+64 records, ROM / RAM",
                              value=f"{lib['rom']} / {lib['ram']}" if lib else "-", unit="B", note=fmt(lib)))
            if b.get("secmod_linked_delta"):
                dl = b["secmod_linked_delta"]
                rows.append(B.row(f"{board}: module as linked (real − nosecmod image) ROM / RAM",
                                  value=f"{dl['rom']} / {dl['ram']}", unit="B", note=fmt(dl) + "; with glue and hooks"))
            f4 = b["secmod_lib_4entry"]
            rows.append(B.row(f"{board}: module library, 4-entry cache, ROM / RAM",
                              value=f"{f4['rom']} / {f4['ram']}", unit="B",
                              note=f"{fmt(f4)}; {f4['rom'] / 1024:.1f} KiB / {f4['ram'] / 1024:.1f} KiB vs published "
                                   f"{PUBLISHED['rom_kib']} KB / {PUBLISHED['ram_kib']} KB "
                                   f"({f4['rom'] / (PUBLISHED['rom_kib'] * 1024):.2f}× / "
                                   f"{f4['ram'] / (PUBLISHED['ram_kib'] * 1024):.2f}×)"))

        module = ModuleEncoder(tmp)
        wire = {}
        for enc_name, enc in (("module", module), ("reference", vectors.build)):
            for version in (4, 6):
                for mix in (False, True):
                    key = f"{enc_name}_ipv{version}_{'mixed' if mix else 'tcp'}"
                    wire[key] = per_record(enc, version, mix)
        res["wire_bytes_per_record"] = wire
        for version in (4, 6):
            for mix in (False, True):
                m = wire[f"module_ipv{version}_{'mixed' if mix else 'tcp'}"]
                r = wire[f"reference_ipv{version}_{'mixed' if mix else 'tcp'}"]
                pub = PUBLISHED[f"ipv{version}_record_bytes"]
                rows.append({"metric": f"IPv{version} record on the wire, {'TCP/UDP/ICMP mix' if mix else 'TCP'}"
                                       f" (module serializer)", "unit": "B",
                             "min": m["deltas"]["min"], "median": m["deltas"]["median"], "max": m["deltas"]["max"],
                             "n": m["deltas"]["n"],
                             "note": f"slope {m['slope']} B/record; reference builder slope {r['slope']}; "
                                     f"published ≈ {pub} B"})
    a385 = res["boards"].get("mps2-an385") or next(iter(res["boards"].values()))
    f4 = a385["secmod_lib_4entry"]
    m4, m6 = wire["module_ipv4_tcp"]["slope"], wire["module_ipv6_tcp"]["slope"]
    B.emit("footprint", "Firmware footprint and bytes per record",
           workload=("arm-none-eabi-size of the built images and of libsecmod.a per board; the module rebuilt with a "
                     "4-entry cache (published figures' configuration); messages of 1..64 records encoded by the "
                     "module's serializer and the reference builder"),
           rerun=".venv/bin/python bench/bench_footprint.py", rows=rows, results=res,
           headline=(f"module with a 4-entry cache: ROM {f4['rom'] / 1024:.1f} KiB / RAM {f4['ram'] / 1024:.1f} KiB "
                     f"(published 13 KB / 4 KB); whole image (an385, real) ROM {a385['real']['rom'] / 1024:.0f} KiB; "
                     f"{m4:g} B per IPv4 and {m6:g} B per IPv6 TCP record on the wire (published ≈ 36 / 60)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
