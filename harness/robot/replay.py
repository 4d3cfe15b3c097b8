"""Record/replay keywords: save a recorded device's bundle, replay it without the
lab, compare consoles and security messages, find the fault (docs/reproduce.md).

Mixin ``ReplayKeywords`` of the Testbed library; it uses the device and lab
registries of DeviceKeywords/LabKeywords.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from robot.api import logger
from robot.api.deco import keyword

from ..errors import DeviceFailure, InputError
from . import context


def _bool(value) -> bool:
    return str(value).lower() not in ("false", "0", "no", "none", "")


def _fault_dict(fault: dict | None, where: str) -> dict:
    if fault is None:
        raise DeviceFailure(f"{where}: no HardFault banner on the console")
    loc = fault.get("pc_location") or {}
    return {"pc": f"0x{fault['pc']:08x}", "function": loc.get("function"), "file": loc.get("file"),
            "line": loc.get("line"), "where": loc.get("text"),
            "cfsr": f"0x{fault['registers'].get('CFSR', 0):08x}", "cfsr_bits": fault.get("cfsr_bits", [])}


class ReplayKeywords:
    """Keywords to bundle recorded runs, replay them and check the replay."""

    def _replay_results(self) -> dict:
        if not hasattr(self, "_replays"):
            self._replays = {}
        return self._replays

    def _replay(self, name: str | None):
        results = self._replay_results()
        key = name or "last"
        if key not in results:
            raise InputError(f"no replay named {key!r} (replays: {', '.join(results) or 'none'}; "
                             "run Replay Bundle first)")
        return results[key]

    @keyword
    def save_device_bundle(self, device: str | None = None, path: str | None = None, archive=False) -> str:
        """Stop a recorded device (started with ``record=True`` or ``${RECORD}``) and save its run as a
        replay bundle: ``path`` or ``<test artifacts>/bundle-<device>``; with ``archive`` also as
        ``.tar.gz``. Returns the bundle directory (or the archive)."""
        dev = self._device(device)
        if not dev.recording:
            raise InputError(f"{dev.name} was not recorded: start it with record=True (or set ${{RECORD}})")
        dest = Path(path) if path else context.artifacts_dir(f"bundle-{dev.name}")
        dev.bundle_dir = dest
        self._stop_devices([dev.name], failed=False)  # a lab device gets its hub slice first
        if dev.bundle_path is None:
            raise DeviceFailure(f"{dev.name}: the bundle could not be written to {dest} (see the log)")
        from ..replay.bundle import archive_bundle, load_bundle
        bundle = load_bundle(dest)
        logger.info(bundle.summary())
        logger.info("bundle: " + context.link(dest / "manifest.json", str(dest)), html=True)
        if _bool(archive):
            out = archive_bundle(dest)
            logger.info(f"archive: {out} ({out.stat().st_size} bytes)")
            return str(out)
        return str(dest)

    @keyword
    def bundle_should_be_valid(self, bundle: str) -> dict:
        """Load and validate a bundle (directory or archive); returns its manifest."""
        from ..replay.bundle import load_bundle
        b = load_bundle(bundle)
        try:
            logger.info(b.summary())
            return b.manifest
        finally:
            b.cleanup()

    @keyword
    def replay_bundle(self, bundle: str, name: str | None = None, timeout=None, gdb=None) -> dict:
        """Replay a bundle with no lab, broker or traffic (QEMU rr=replay); returns a summary
        (``identical``, ``difference``, ``publishes``, ``fault``, ...). The later keywords check it
        (``name`` tells several replays apart)."""
        from ..replay.bundle import load_bundle
        from ..replay.replay import replay_bundle
        unpack = context.artifacts_dir(f"unpacked-{name or Path(bundle).name.split('.')[0]}")
        b = load_bundle(bundle, extract_to=unpack if Path(bundle).is_file() else None)
        workdir = context.artifacts_dir(f"replay-{name or b.name}")

        def started(dev):
            if gdb:
                logger.console(f"\nreplay of {b.name} waits for the debugger: {shlex.join(dev.gdb_command())}")

        result = replay_bundle(b, workdir, gdb=gdb or None, timeout=float(timeout) if timeout else None,
                               log=logger.info, on_started=started)
        self._replay_results()[name or "last"] = result
        if name:
            self._replay_results()["last"] = result
        logger.info(result.summary())
        logger.info("replay artifacts: " + context.link(workdir / "console.log", str(workdir)), html=True)
        return result.to_dict()

    @keyword
    def replayed_console_should_match(self, replay: str | None = None) -> None:
        """Fail unless the replayed console is byte-identical to the recorded one (first difference shown)."""
        from ..replay.replay import check_replay
        check_replay(self._replay(replay))

    @keyword
    def replayed_console(self, replay: str | None = None) -> str:
        return "\n".join(self._replay(replay).console_lines())

    @keyword
    def replayed_security_messages(self, replay: str | None = None) -> list:
        """The security messages the firmware sent during the replay (re-extracted from the replay's
        frames and decoded), as dictionaries: ``topic``, ``payload_len``, ``message`` (decoded)."""
        result = self._replay(replay)
        for note in result.notes:
            logger.warn(f"replay: {note}")
        msgs = [p.to_dict() for p in result.security_messages]
        logger.info(f"{len(msgs)} security messages re-extracted from the replay")
        return msgs

    @keyword
    def replayed_security_messages_should_match_hub_recording(self, replay: str | None = None) -> int:
        """Every security message the hub recorded (the bundle's hub.jsonl) must come out of the replay,
        in order and byte for byte; returns how many."""
        from ..replay.replay import bundle_hub_publishes, compare_with_hub
        result = self._replay(replay)
        problems = compare_with_hub(result)
        if problems:
            raise DeviceFailure("replayed security messages differ from the hub recording: " + "; ".join(problems))
        n = len(bundle_hub_publishes(result.bundle))
        extra = len([p for p in result.security_messages if not p.dup]) - n
        logger.info(f"{n} security messages identical to the hub's" +
                    (f"; {extra} more sent after the hub's slice was taken" if extra > 0 else ""))
        return n

    @keyword
    def bundle_security_messages(self, bundle: str) -> list:
        """The security messages of the bundle's hub recording (hub.jsonl records)."""
        from ..replay.bundle import load_bundle
        from ..replay.replay import bundle_hub_publishes
        b = load_bundle(bundle)
        try:
            return bundle_hub_publishes(b)
        finally:
            b.cleanup()

    @keyword
    def fault_pc_of_bundle(self, bundle: str) -> dict:
        """The HardFault of a recorded run (its console): ``pc``, ``function``, ``file``, ``line``,
        ``where`` (resolved with the bundle's image), ``cfsr``."""
        from ..replay.bundle import load_bundle
        from ..replay.replay import bundle_fault
        b = load_bundle(bundle)
        try:
            info = _fault_dict(bundle_fault(b), f"bundle {bundle}")
        finally:
            b.cleanup()
        logger.info(f"recorded fault: {info}")
        return info

    @keyword
    def fault_pc_of_replay(self, replay: str | None = None) -> dict:
        """The HardFault the replay reproduced (same fields as Fault PC Of Bundle)."""
        result = self._replay(replay)
        info = _fault_dict(result.fault, f"replay of {result.bundle.root}")
        logger.info(f"replayed fault: {info}")
        return info

    @keyword
    def device_gdb_command(self, device: str | None = None) -> str:
        """The gdb-multiarch command line for a device started with the gdb stub."""
        return shlex.join(self._device(device).gdb_command())


def __getattr__(name):
    """``ReplayTestbed``: the Testbed library with these keywords, for suites that need them before
    ReplayKeywords is part of Testbed itself (then it is Testbed)."""
    if name == "ReplayTestbed":
        from .library import Testbed
        if issubclass(Testbed, ReplayKeywords):
            return Testbed
        cls = type("ReplayTestbed", (Testbed, ReplayKeywords), {"__doc__": Testbed.__doc__})
        globals()["ReplayTestbed"] = cls
        return cls
    raise AttributeError(name)
