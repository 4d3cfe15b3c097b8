"""Replay a bundle: same image, config block, icount and replay log, with no lab,
broker or traffic. QEMU runs with ``rr=replay``; the device's netdev is an
unconnected hub port behind ``filter-replay`` (which drops everything live and
injects the logged frames), so nothing leaves the machine. The replay ends when
QEMU reaches the end of the log (it exits by itself, as the recording did).

Checks: the console bytes (QEMU's chardev logfile) must equal the recorded ones;
the security messages are re-extracted from the replay's own pcap (the guest's
outbound frames to the hub port: TCP reassembly, MQTT PUBLISH, harness.secmsg), or,
for a recording over MQTT/TLS, from the plaintext the replayed firmware hands its TLS
library (tlstap.py: a gdb breakpoint, which does not change the replay).
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import DeviceFailure
from ..faults import fault_info
from .bundle import Bundle, load_bundle
from .pcap import Published, extract_publishes
from .tlstap import DEFAULT_SYMBOL, TlsTap, has_symbol, tap_publishes

SLOWEST_REPLAY = 3.0  # a replay gets this many times the recorded duration, plus MIN_TIMEOUT
MIN_TIMEOUT = 30.0


class ReplayNetwork:
    """The device's NIC on a hub with no other port: frames come only from the replay log."""

    netns = None

    def __init__(self, mac: str):
        self.mac = mac

    def netdev_args(self, netdev_id: str) -> list[str]:
        return [f"hubport,id={netdev_id},hubid=0"]

    def detach(self) -> None:
        pass


def first_difference(recorded: bytes, replayed: bytes) -> str | None:
    """None when identical, else where and how the replayed console first differs."""
    if recorded == replayed:
        return None
    n = min(len(recorded), len(replayed))
    i = next((k for k in range(n) if recorded[k] != replayed[k]), n)
    line_no = recorded.count(b"\n", 0, i) + 1
    start = recorded.rfind(b"\n", 0, i) + 1

    def line_at(data: bytes) -> str:
        end = data.find(b"\n", start)
        return repr(data[start:end if end >= 0 else len(data)].decode("utf-8", errors="replace"))

    if i == n:
        longer, which = (recorded, "recording") if len(recorded) > len(replayed) else (replayed, "replay")
        return (f"{'replay' if which == 'recording' else 'recording'} ends at byte {n} (line {line_no}); the "
                f"{which} goes on for {len(longer) - n} more bytes: "
                f"{longer[n:n + 80].decode('utf-8', errors='replace')!r}")
    return (f"first difference at byte {i} (line {line_no}, column {i - start + 1}):\n"
            f"  recorded: {line_at(recorded)}\n  replayed: {line_at(replayed)}")


@dataclass
class ReplayResult:
    bundle: Bundle
    workdir: Path
    console: bytes
    identical: bool
    difference: str | None
    exit_code: int | None
    ended: str  # "end of the replay log" | "timeout" | "stopped"
    wall_s: float
    publishes: list[Published] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    fault: dict | None = None
    qemu_argv: list[str] = field(default_factory=list)

    @property
    def security_messages(self) -> list[Published]:
        return [p for p in self.publishes if p.security]

    def console_lines(self) -> list[str]:
        return self.console.decode("utf-8", errors="replace").replace("\r", "").split("\n")

    def summary(self) -> str:
        lines = [f"replayed {self.bundle.name} ({self.bundle.board}) from {self.bundle.root} in {self.wall_s:.1f} s "
                 f"({self.ended}, QEMU exit code {self.exit_code})",
                 f"console: {len(self.console)} bytes, "
                 + ("byte-identical to the recording" if self.identical else f"DIFFERS: {self.difference}")]
        if self.bundle.networked:
            sec = self.security_messages
            lines.append(f"MQTT PUBLISH packets re-extracted: {len(self.publishes)}, security messages: {len(sec)}")
            for p in sec:
                if p.message is not None:
                    kinds = ", ".join(e.payload_type.name for e in p.message.events)
                    lines.append(f"  #{self.publishes.index(p)} {len(p.payload)} B, {len(p.message.events)} "
                                 f"events ({kinds})")
                else:
                    lines.append(f"  #{self.publishes.index(p)} {len(p.payload)} B: {p.error}")
        for note in self.notes:
            lines.append(f"note: {note}")
        if self.fault:
            lines.append("fault reproduced: " + describe(self.fault))
        lines.append(f"replay artifacts: {self.workdir}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"bundle": str(self.bundle.root), "workdir": str(self.workdir), "identical": self.identical,
                "difference": self.difference, "exit_code": self.exit_code, "ended": self.ended,
                "wall_s": round(self.wall_s, 3), "console_bytes": len(self.console),
                "publishes": [p.to_dict() for p in self.publishes], "notes": self.notes,
                "fault": fault_to_dict(self.fault)}


def describe(fault: dict) -> str:
    text = f"PC=0x{fault['pc']:08x}"
    if fault.get("pc_location"):
        text += f" in {fault['pc_location']['text']}"
    return text


def fault_to_dict(fault: dict | None) -> dict | None:
    if fault is None:
        return None
    d = dict(fault)
    d["registers"] = {k: f"0x{v:08x}" for k, v in fault["registers"].items()}
    d["pc"] = f"0x{fault['pc']:08x}"
    return d


def console_fault(console: bytes, elf: Path | None) -> dict | None:
    text = console.decode("utf-8", errors="replace").replace("\r", "")
    start = text.find("*** HARDFAULT ***")
    if start < 0:
        return None
    return fault_info(text[start:].split("\n")[:12], elf)


def bundle_fault(bundle: Bundle) -> dict | None:
    """The fault banner of the recorded console (PC resolved with the bundle's image)."""
    return console_fault(bundle.console_bytes, bundle.image if bundle.manifest["image"].get("has_symbols") else None)


def bundle_hub_publishes(bundle: Bundle) -> list[dict]:
    """The device's security messages as the hub recorded them (bundle's hub.jsonl)."""
    from ..hub.recording import read_recording
    from ..secmsg.model import SECURITY_INTERFACE_ID

    hub = bundle.part("hub")
    if hub is None:
        return []
    return [json.loads(r.to_json()) for r in read_recording(hub)
            if r.kind in ("d2c", "d2c_module") and r.properties.get("$.ifid") == SECURITY_INTERFACE_ID]


def compare_with_hub(result: ReplayResult) -> list[str]:
    """Problems found comparing the replay's security messages with the hub recording
    (empty: every recorded message came out of the replay, in order, byte for byte)."""
    import base64
    hub = [base64.b64decode(r["payload_b64"]) for r in bundle_hub_publishes(result.bundle)]
    replayed = [p.payload for p in result.security_messages if not p.dup]
    problems = []
    if not hub:
        problems.append("the bundle's hub recording has no security messages")
    for i, payload in enumerate(hub):
        if i >= len(replayed):
            problems.append(f"hub message {i + 1} of {len(hub)} was not re-extracted from the replay "
                            f"(only {len(replayed)})")
            break
        if replayed[i] != payload:
            problems.append(f"security message {i + 1} differs: hub {len(payload)} B, replay {len(replayed[i])} B")
            break
    return problems


def replay_argv_extras(bundle: Bundle) -> list[str]:
    """The recording's extra QEMU arguments, with input files pointing into the bundle."""
    inputs = bundle.inputs()
    out = []
    for arg in bundle.manifest["qemu"].get("extra_args", []):
        for orig, copy in inputs.items():
            arg = arg.replace(orig, str(copy))
        out.append(arg)
    return out


def replay_device(bundle: Bundle, workdir: Path, gdb=None, log=None):
    """A Device that replays ``bundle`` (not started)."""
    from ..devconfig import DeviceConfig
    from ..device import Device

    m = bundle.manifest
    cfg = DeviceConfig(device_id=bundle.name)
    cfg.mac = m["device"].get("mac") or cfg.mac
    if m.get("seed"):
        cfg.seed = m["seed"]
    network = ReplayNetwork(cfg.mac) if bundle.networked else None
    dev = Device(bundle.target, bundle.image, name=bundle.name, artifacts_dir=workdir, config=cfg,
                 network=network, keep="always", extra_qemu_args=replay_argv_extras(bundle), log=log,
                 gdb=gdb, icount_shift=bundle.icount_shift, replay_log=bundle.part("replay_log"),
                 config_block=bundle.config_block)
    art = m["qemu"].get("artifacts_dir")
    for orig, copy in bundle.inputs().items():
        if art and Path(orig).parent == Path(art):
            dev.input_files[Path(orig).name] = copy
    return dev


def _replay_icount(dev) -> int | None:
    try:
        return int(dev.qmp.execute("query-replay", timeout=2.0)["icount"])
    except Exception:  # QEMU exiting, or busy: just poll again
        return None


def _wait_for_end(dev, bundle: Bundle, timeout: float | None, interactive: bool = False, tap=None) -> str:
    """Until QEMU exits at the end of the log, or reaches the recording's last instruction
    (a guest halted for good, e.g. after a fault, never reaches the logged shutdown), or the
    TLS tap's gdb (which drives the guest) is gone."""
    end = bundle.manifest["record"].get("end_icount")
    recorded = len(bundle.console_bytes)
    deadline = time.monotonic() + timeout if timeout else None
    last, still_since = None, time.monotonic()
    # host resets (QMP system_reset) are requested again one by one: QEMU holds a reset request
    # until the replay reaches the reset checkpoint the recording logged for it
    resets = sum(1 for a in bundle.manifest["device"].get("host_actions", []) if a.get("action") == "system_reset")
    asked = 0
    while True:
        done = sum(1 for e in dev.qmp.events if e.get("event") == "RESET"
                   and (e.get("data") or {}).get("reason") == "host-qmp-system-reset")
        if asked < resets and asked == done:
            try:
                dev.qmp.execute("system_reset", timeout=2.0)
                asked += 1
            except Exception:
                pass
        try:
            dev.proc.wait(0.2)
            return "end of the replay log"
        except subprocess.TimeoutExpired:
            pass
        if deadline is not None and time.monotonic() > deadline:
            return "timeout"
        if tap is not None and not tap.running:
            time.sleep(0.5)  # QEMU quitting at the end of the log ends gdb too: let it be seen first
            if dev.proc.poll() is None:
                return "the TLS tap's gdb exited before the end of the replay"
        icount = _replay_icount(dev)
        if icount is None:
            continue
        if end is not None and icount >= end:
            time.sleep(0.2)  # let the chardev and the dump flush
            return "end of the recording (last instruction reached)"
        if icount != last:
            last, still_since = icount, time.monotonic()
        elif end is None and time.monotonic() - still_since > 3.0 and not interactive:
            raw = dev.artifacts_dir / "console.raw.log"
            if raw.exists() and raw.stat().st_size >= recorded:
                return "guest idle for good after the recorded output"


def replay_bundle(bundle, workdir=None, gdb=None, timeout: float | None = None, log=None,
                  on_started=None, tls_symbol: str = DEFAULT_SYMBOL) -> ReplayResult:
    """Replay a bundle (directory, archive or loaded Bundle) and check it.

    ``gdb``: start with the gdb stub (see Device); QEMU then waits at reset for the debugger and
    ``timeout`` defaults to none. ``on_started(device)`` runs once QEMU is up (e.g. print the gdb
    command). A recording over MQTT/TLS is replayed under the TLS plaintext tap (tlstap.py, a gdb
    breakpoint on ``tls_symbol``) unless ``gdb`` is given. Raises InputError for a bad bundle;
    returns the result even when consoles differ.
    """
    from ..device import qemu_version

    b = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    log = log or (lambda msg: None)
    recorded_qemu = b.manifest["qemu"].get("version")
    if recorded_qemu and recorded_qemu != qemu_version():
        log(f"warning: recorded with QEMU {recorded_qemu}, replaying with {qemu_version()}: a replay log is only "
            "guaranteed to replay on the same QEMU version")
    for action in b.manifest["device"].get("host_actions", []):
        if action.get("action") != "system_reset":  # resets are requested again (see _wait_for_end)
            log(f"warning: the recording had a host action ({action}) the replay log does not contain; "
                "the replay diverges from there")
    cfg = b.manifest.get("config", {})
    tls = b.networked and cfg.get("transport") == "mqtts"
    notes, tap = [], None
    interactive = gdb is not None
    if tls:
        if gdb is not None:
            notes.append("transport mqtts and --gdb: the TLS plaintext tap needs the gdb stub, so the security "
                         "messages are not re-extracted in this replay")
        elif not b.manifest["image"].get("has_symbols") or not has_symbol(b.image, tls_symbol):
            notes.append(f"transport mqtts: the image has no symbol {tls_symbol!r} to tap the TLS plaintext at, "
                         "so the security messages cannot be re-extracted (the frames are encrypted)")
        else:
            gdb = "unix"
            user_log = log
            log = lambda msg: "for the debugger" in msg or user_log(msg)  # noqa: E731 -- the tap attaches
    workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"replay-{b.name}-"))
    if timeout is None and not interactive:
        recorded = b.manifest["record"].get("duration_s") or 0
        timeout = MIN_TIMEOUT + SLOWEST_REPLAY * float(recorded)
    dev = replay_device(b, workdir, gdb=gdb, log=log)
    t0 = time.monotonic()
    ended = "stopped"
    try:
        dev.start()
        if gdb is not None and not interactive:
            tap = TlsTap(dev, workdir, tls_symbol)
            tap.start()
        if on_started is not None:
            on_started(dev)
        ended = _wait_for_end(dev, b, timeout, interactive, tap)
    finally:
        dev.stop(failed=False)
        if tap is not None:
            tap.stop()
    wall = time.monotonic() - t0
    console = (workdir / "console.raw.log").read_bytes() if (workdir / "console.raw.log").exists() else b""
    diff = first_difference(b.console_bytes, console)
    result = ReplayResult(b, workdir, console, diff is None, diff, dev.exit_code, ended, wall,
                          qemu_argv=(workdir / "qemu.cmdline").read_text().strip().split(" ")
                          if (workdir / "qemu.cmdline").exists() else [], notes=notes)
    if ended == "timeout":
        result.notes.append(f"the replay had not reached the end of the log after {timeout:.0f} s")
    stderr = (workdir / "qemu.stderr.log").read_text(errors="replace").strip() \
        if (workdir / "qemu.stderr.log").exists() else ""
    for line in stderr.splitlines():
        if "replay" in line.lower() or "error" in line.lower():
            result.notes.append(f"QEMU: {line}")
    if tap is not None:
        result.publishes, tap_notes = tap_publishes(tap.out, b.icount_shift)
        result.notes.append(f"transport mqtts: MQTT re-extracted from the plaintext the replayed firmware passed "
                            f"to {tls_symbol} (gdb tap, {tap.out.name})")
        result.notes += tap_notes + tap.problems()
    elif b.networked and not tls and (workdir / "device.pcap").exists():
        result.publishes, pcap_notes = extract_publishes(workdir / "device.pcap", int(cfg.get("hub_port") or 1883),
                                                         b.manifest["device"].get("mac"))
        result.notes += pcap_notes
    result.fault = console_fault(console, b.image if b.manifest["image"].get("has_symbols") else None)
    return result


def check_replay(result: ReplayResult) -> None:
    """Raise DeviceFailure unless the replayed console is byte-identical to the recorded one."""
    if not result.identical:
        raise DeviceFailure(f"replay of {result.bundle.root} is not identical to the recording: {result.difference}"
                            f"\n  replay artifacts: {result.workdir}")
