"""One emulated device: a QEMU instance with its instance directory, QMP and console.

Lifecycle (labgrid's, made explicit): check the image → create the runtime dir
(sockets, pid) and the artifacts dir (logs, pcap, command line) → start QEMU
paused (-S) → attach QMP and the console reader → QMP ``cont``, so no early
output is lost → … → stop: QMP ``quit``, then SIGTERM, then SIGKILL of the
process group; the runtime dir is always removed, the artifacts dir is kept
or removed by policy (kept on failure by default).

Record/replay and debugging (docs/reproduce.md): ``record=`` runs QEMU with
deterministic execution (``-icount shift=N,rr=record``) and a ``filter-replay``
on the network, so the run can be replayed instruction for instruction from a
bundle (harness.replay); ``gdb=`` adds QEMU's gdb stub (Unix socket or a local
TCP port) and leaves the device stopped at reset until the debugger continues.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import socket
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import procs, reaper
from .console import Console
from .devconfig import DeviceConfig
from .errors import DeviceFailure, InfrastructureError, InputError
from .image import ImageInfo, check_image
from .qmp import QMP, QMPError
from .targets import REPO_ROOT, Target, load_target

QEMU = os.environ.get("HARNESS_QEMU", "qemu-system-arm")
ARTIFACTS_ROOT = Path(os.environ.get("HARNESS_ARTIFACTS", REPO_ROOT / "artifacts"))
KEEP_POLICIES = ("on-failure", "always", "never")
PROMPT = "refdev> "
IMAGES_DIR = REPO_ROOT / "qemu_images" / "build"

# Record/replay: every instruction takes 2**RECORD_SHIFT ns of virtual time (shift 3: a 125 MIPS
# guest, about what TCG runs this firmware at, so busy stretches keep guest and host time close);
# sleep=on (QEMU's default) lets an idle guest's clock follow the host clock, so networked runs
# against a live lab keep working (measured in bench/bench_record.py, docs/reproduce.md).
RECORD_SHIFT = int(os.environ.get("HARNESS_ICOUNT_SHIFT", "3"))
REPLAY_LOG = "replay.rr"
_record_default: ContextVar = ContextVar("harness_record_default", default=None)


@contextmanager
def recording_default(record):
    """Devices created inside this block without an explicit ``record=`` use ``record``
    (how the Robot keywords pass ``${RECORD}`` through code that builds devices for them)."""
    token = _record_default.set(record)
    try:
        yield
    finally:
        _record_default.reset(token)


def _record_setting(record):
    """Normalise record=: None/False → off, True → on (bundle kept on failure), a path → on and
    the run's bundle saved there when the device stops."""
    if record is None:
        record = _record_default.get()
    if record is None:
        record = os.environ.get("HARNESS_RECORD") or None
    if isinstance(record, str):
        low = record.strip().lower()
        if low in ("", "0", "false", "no", "off", "none"):
            return False, None
        if low in ("1", "true", "yes", "on"):
            return True, None
        return True, Path(record)
    if isinstance(record, os.PathLike):
        return True, Path(record)
    return bool(record), None


def free_local_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def reference_image(board: str, profile: str = "real") -> Path:
    """Path of the reference firmware for a board and profile (built by `make images`)."""
    return IMAGES_DIR / board / f"refdev-{profile}.elf"


class NetworkAttachment(Protocol):
    """What a network gives a device: QEMU -netdev options and the namespace QEMU runs in."""

    netns: str | None
    mac: str

    def netdev_args(self, netdev_id: str) -> list[str]: ...

    def detach(self) -> None: ...


@dataclass
class ExitInfo:
    code: int | None
    stderr: str


class Device:
    def __init__(self, board: str | Target, image=None, *, name: str = "dev", profile: str = "fast",
                 artifacts_dir: Path | None = None, config: DeviceConfig | None = None,
                 network: NetworkAttachment | None = None, keep: str | None = None,
                 extra_qemu_args: list[str] | tuple = (), log=None, record=None, gdb=None,
                 icount_shift: int | None = None, replay_log: Path | None = None,
                 config_block: bytes | None = None):
        self.target = board if isinstance(board, Target) else load_target(board)
        self.image_path = Path(image) if image else reference_image(self.target.name, profile)
        self.name = name
        self.config = config or DeviceConfig(device_id=name)
        self.network = network
        self.keep = keep or os.environ.get("HARNESS_KEEP_ARTIFACTS", "on-failure")
        if self.keep not in KEEP_POLICIES:
            raise InputError(f"keep policy {self.keep!r}: use one of {', '.join(KEEP_POLICIES)}")
        self.artifacts_dir = Path(artifacts_dir) if artifacts_dir else ARTIFACTS_ROOT / "devices" / name
        self.extra_qemu_args = list(extra_qemu_args)
        self._log = log or (lambda msg: None)
        self.image: ImageInfo | None = None
        self.runtime_dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.qmp: QMP | None = None
        self.console: Console | None = None
        self._token: int | None = None
        self._stderr_file = None
        self.started_at: float | None = None
        self.stopped = False
        # record/replay and gdb (docs/reproduce.md)
        self.replay_log = Path(replay_log) if replay_log else None  # rr=replay from this log
        self.recording, self.bundle_dir = (False, None) if self.replay_log else _record_setting(record)
        self.icount_shift = RECORD_SHIFT if icount_shift is None else int(icount_shift)
        if not 0 <= self.icount_shift <= 10:
            raise InputError(f"icount shift {self.icount_shift}: use 0..10")
        self.gdb = self._gdb_setting(gdb)
        self._config_block = config_block  # exact bytes (replay); default: built from config
        self.host_actions: list[dict] = []  # QMP actions during a recording (not in the replay log)
        self.bundle_path: Path | None = None  # set when stop() wrote a bundle
        self.exit_code: int | None = None
        self.record_end_icount: int | None = None
        self.input_files: dict[str, Path] = {}  # copied into the artifacts dir before QEMU starts (replay)

    # -- paths ------------------------------------------------------------
    @property
    def console_log(self) -> Path:
        return self.artifacts_dir / "console.log"

    @property
    def pcap(self) -> Path:
        return self.artifacts_dir / "device.pcap"

    @property
    def stderr_log(self) -> Path:
        return self.artifacts_dir / "qemu.stderr.log"

    @property
    def rr_log(self) -> Path | None:
        """The replay log being written (record) or read (replay); None otherwise."""
        if self.replay_log is not None:
            return self.replay_log
        return self.artifacts_dir / REPLAY_LOG if self.recording else None

    # -- gdb stub ---------------------------------------------------------
    @staticmethod
    def _gdb_setting(gdb):
        """None/False: no stub; True/"unix": Unix socket in the runtime dir; "tcp" or 0: a free
        127.0.0.1 port; an int (or "tcp:PORT"): that port; "unix:PATH": that socket path."""
        if gdb in (None, False, "", "0", "false", "False", "no", "none", "None"):
            return None
        if gdb is True or gdb in ("1", "true", "True", "yes", "unix"):
            return ("unix", None)
        if isinstance(gdb, int):
            return ("tcp", gdb or None)
        text = str(gdb)
        if text == "tcp":
            return ("tcp", None)
        if text.startswith("tcp:"):
            port = text.rsplit(":", 1)[1]
            if not port.isdigit():
                raise InputError(f"gdb={gdb!r}: use tcp:PORT")
            return ("tcp", int(port) or None)
        if text.isdigit():
            return ("tcp", int(text) or None)
        if text.startswith("unix:"):
            return ("unix", Path(text[5:]))
        raise InputError(f"gdb={gdb!r}: use True, 'unix', 'unix:PATH', 'tcp', 'tcp:PORT' or a port number")

    @property
    def gdb_endpoint(self) -> str | None:
        """What ``target remote`` takes: ``/path/to/gdb.sock`` or ``127.0.0.1:PORT``."""
        if self.gdb is None:
            return None
        kind, where = self.gdb
        if kind == "unix":
            if where is None:
                if self.runtime_dir is None:
                    return None
                where = self.runtime_dir / "gdb.sock"
            return str(where)
        return f"127.0.0.1:{where}" if where else None

    def gdb_command(self, extra: list[str] | tuple = ()) -> list[str]:
        """The exact gdb-multiarch command line that attaches to this device's stub."""
        if self.gdb is None:
            raise InputError(f"{self.name}: started without gdb=; nothing to attach to")
        return gdb_command(self.image_path, self.gdb_endpoint,
                           netns=self.network.netns if self.network is not None and self.gdb[0] == "tcp"
                           else None, extra=extra)

    # -- command line -----------------------------------------------------
    def qemu_argv(self) -> list[str]:
        rt, art, t = self.runtime_dir, self.artifacts_dir, self.target
        if self.rr_log is not None:  # a FIFO pair: see harness/replay/rrconsole.py for why
            chardev = f"pipe,id=con0,path={rt}/console"
        else:
            chardev = f"socket,id=con0,path={rt}/console.sock,server=on,wait=off"
        argv = [
            QEMU, "-name", f"{self.name},debug-threads=on",
            "-machine", t.machine, "-cpu", t.qemu_cpu,
            "-nodefaults", "-no-user-config", "-display", "none",
            "-chardev", f"{chardev},logfile={art}/console.raw.log,logappend=on",
            "-serial", "chardev:con0",
            "-qmp", f"unix:{rt}/qmp.sock,server=on,wait=off",
            "-semihosting-config", "enable=on,target=native",
            "-kernel", str(self.image_path),
            "-device", f"loader,file={art}/config.bin,addr=0x{t.config_block:08x},force-raw=on",
            "-pidfile", f"{rt}/qemu.pid",
            "-S",
        ]
        rr = self.rr_log
        if rr is not None:
            mode = "replay" if self.replay_log is not None else "record"
            argv += ["-icount", f"shift={self.icount_shift},rr={mode},rrfile={rr}"]
        if self.network is None:
            argv += ["-nic", "none"]  # never QEMU's default (unrestricted) user network
        else:
            argv += ["-netdev", ",".join(self.network.netdev_args("n0")),
                     "-net", f"nic,netdev=n0,model={t.nic_model},macaddr={self.config.mac}"]
            if rr is not None:
                # before the dump: in replay it drops everything live and injects the logged frames,
                # which then pass the dump (and the guest's own frames pass the dump before it)
                argv += ["-object", "filter-replay,id=replay0,netdev=n0"]
            argv += ["-object", f"filter-dump,id=dump0,netdev=n0,file={art}/device.pcap"]
        if self.gdb is not None:
            kind, where = self.gdb
            if kind == "unix":
                argv += ["-gdb", f"unix:{where or rt / 'gdb.sock'},server=on,wait=off"]
            else:
                argv += ["-gdb", f"tcp:127.0.0.1:{where}"]
        return argv + self.extra_qemu_args

    # -- lifecycle --------------------------------------------------------
    def start(self) -> "Device":
        if self.proc is not None:
            raise InputError(f"{self.name}: already started")
        self.image = check_image(self.image_path, self.target)  # bad input: nothing created yet
        if self.network is not None:
            self.config.mac = self.network.mac
        if self._config_block is not None:
            block = self._config_block
        else:
            block = self.config.to_block(self.target.config_block_size)
        if self.gdb is not None and self.gdb[0] == "tcp" and not self.gdb[1]:
            self.gdb = ("tcp", free_local_port())
        self._token = reaper.register(f"device {self.name}", lambda: self.stop(failed=True))
        try:
            self._start(block)
        except BaseException:
            self.stop(failed=True)
            raise
        return self

    def _start(self, block: bytes) -> None:
        if self.artifacts_dir.exists():
            shutil.rmtree(self.artifacts_dir)
        self.artifacts_dir.mkdir(parents=True)
        self.runtime_dir = reaper.make_runtime_dir(self.name)
        (self.artifacts_dir / "config.bin").write_bytes(block)
        for name, src in self.input_files.items():
            shutil.copyfile(src, self.artifacts_dir / name)
        if self.rr_log is not None:
            from .replay.rrconsole import make_fifos
            make_fifos(self.runtime_dir / "console")
        argv = self.qemu_argv()
        (self.artifacts_dir / "qemu.cmdline").write_text(shlex.join(argv) + "\n")
        self._write_provenance(argv)
        self._stderr_file = open(self.stderr_log, "wb")
        netns = self.network.netns if self.network is not None else None
        try:
            self.proc = procs.spawn(argv, netns=netns, stdout=self._stderr_file, stderr=subprocess.STDOUT)
        except OSError as exc:
            raise InfrastructureError(f"{self.name}: QEMU would not start ({QEMU}): {exc}") from exc
        self.started_at = time.monotonic()
        if not procs.wait_for_path(self.runtime_dir / "qmp.sock", 10.0, self.proc):
            self._raise_early_exit("before its QMP socket appeared")
        self.qmp = QMP(self.runtime_dir / "qmp.sock")
        try:
            self.qmp.connect()
        except QMPError:
            self._raise_early_exit("while QMP was connecting")
        console_args = dict(name=self.name, describe_exit=self._describe_exit,
                            starvation=lambda: procs.runqueue_wait_seconds(self.proc.pid), log=self._log)
        if self.rr_log is not None:
            from .replay.rrconsole import RRConsole  # FIFOs, paced input (docs/reproduce.md)
            self.console = RRConsole(self.runtime_dir / "console", self.console_log, paced=self.recording,
                                     prompt=PROMPT, **console_args)
        else:
            self.console = Console(self.runtime_dir / "console.sock", self.console_log, **console_args)
        self.console.annotate = self._annotate_failure
        self.console.attach()
        if self.gdb is not None:
            # stopped at reset: the debugger's `continue` starts the CPU
            self._log(f"{self.name}: paused at reset for the debugger: {shlex.join(self.gdb_command())}")
            return
        self.qmp.execute("cont")
        # labgrid's rule: QEMU that dies right after start is an infrastructure failure
        time.sleep(0.05)
        if self.proc.poll() is not None and not self.console.lines:
            self._raise_early_exit("right after start")

    def _write_provenance(self, argv: list[str]) -> None:
        info = {"name": self.name, "board": self.target.name, "target_file": str(self.target.path),
                "image": self.image.to_dict() if self.image else None, "qemu_argv": argv,
                "qemu_version": qemu_version(), "config": self.config.to_dict()}
        if self.rr_log is not None:
            info["record_replay"] = {"mode": "replay" if self.replay_log else "record",
                                     "icount_shift": self.icount_shift, "log": str(self.rr_log)}
        (self.artifacts_dir / "provenance.json").write_text(json.dumps(info, indent=2) + "\n")

    def _stderr_text(self) -> str:
        try:
            if self._stderr_file is not None:
                self._stderr_file.flush()
            return self.stderr_log.read_text(errors="replace").strip()
        except OSError:
            return ""

    def _raise_early_exit(self, when: str) -> None:
        code = self.proc.poll() if self.proc else None
        if code is None and self.proc is not None:
            try:
                code = self.proc.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
        raise InfrastructureError(f"{self.name}: QEMU exited (code {code}) {when}: {self._stderr_text() or 'no stderr'}"
                                  f"\n  command line: {self.artifacts_dir / 'qemu.cmdline'}")

    def _describe_exit(self) -> str:
        code = self.proc.poll() if self.proc else None
        if code is None:
            return "console closed"
        stderr = self._stderr_text()
        return f"QEMU exited with code {code}" + (f" ({stderr.splitlines()[-1]})" if stderr else "")

    def _annotate_failure(self, lines: list[str]) -> str:
        from .faults import describe_fault
        return describe_fault(lines, self.image_path if self.image and self.image.has_symbols else None)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def reset(self) -> None:
        self._require_running("reset")
        self._note_host_action("system_reset")
        self.qmp.execute("system_reset")

    def set_link(self, up: bool) -> None:
        self._require_running("set_link")
        self._note_host_action("set_link", up=bool(up))
        self.qmp.execute("set_link", name="n0", up=bool(up))

    def _note_host_action(self, action: str, **args) -> None:
        """QMP actions change the guest from outside the replay log: the bundle lists them; a replay
        requests resets again (QEMU holds them until the logged reset point), set_link it cannot."""
        if self.recording:
            self.host_actions.append({"action": action, **args,
                                      "t": round(time.monotonic() - (self.started_at or 0), 3)})
            if action != "system_reset":
                self._log(f"{self.name}: {action} during a recording is not in the replay log; "
                          "a replay diverges from here (docs/reproduce.md)")

    def _require_running(self, what: str) -> None:
        if not self.running:
            raise DeviceFailure(f"{self.name}: cannot {what}: {self._describe_exit()}")

    def wait_for_exit(self, timeout: float) -> int:
        """Wait for QEMU to end by itself (e.g. semihosting exit); returns its exit code."""
        if self.proc is None:
            raise InputError(f"{self.name}: not started")
        try:
            self.exit_code = self.proc.wait(timeout)
            return self.exit_code
        except subprocess.TimeoutExpired:
            raise DeviceFailure(f"{self.name}: QEMU still running {timeout:.1f} s later") from None

    def stop(self, failed: bool = False) -> None:
        """Stop QEMU and clean up; keeps artifacts per policy. Safe to call twice."""
        if self.stopped:
            return
        self.stopped = True
        if self._token is not None:
            reaper.unregister(self._token)
        if self.proc is not None and self.proc.poll() is None and self.qmp is not None:
            if self.recording:
                try:  # where the recording ends: a replay stops there (a halted guest never gets further)
                    self.record_end_icount = int(self.qmp.execute("query-replay", timeout=2.0)["icount"])
                except (QMPError, KeyError, TypeError, ValueError):
                    pass
            try:
                self.qmp.execute("quit", timeout=2.0)
            except QMPError:
                pass
        if self.proc is not None:
            try:
                # a replay log is finalised at exit: give a recording QEMU time to write it
                self.proc.wait(10.0 if self.recording else 2.0)
            except subprocess.TimeoutExpired:
                pass
            procs.stop_process(self.proc)
            self.exit_code = self.proc.returncode
        if self.console is not None:
            self.console.close()
        if self.qmp is not None:
            self.qmp.close()
        if self._stderr_file is not None:
            self._stderr_file.close()
        if self.network is not None:
            self.network.detach()
        if self.runtime_dir is not None:
            reaper.remove_dir(self.runtime_dir)
        if self.recording and self.proc is not None and (failed or self.bundle_dir is not None
                                                          or self.keep == "always"):
            self._save_bundle(failed)
        if self.keep == "never" or (self.keep == "on-failure" and not failed):
            shutil.rmtree(self.artifacts_dir, ignore_errors=True)

    def _save_bundle(self, failed: bool) -> None:
        """Write the recorded run as a bundle (bundle_dir, else <artifacts>/bundle); never raises."""
        from .replay.bundle import write_bundle
        dest = self.bundle_dir or self.artifacts_dir / "bundle"
        try:
            self.bundle_path = write_bundle(self, dest, failed=failed)
            self._log(f"{self.name}: replay bundle {self.bundle_path}")
        except Exception as exc:  # a failing test must still report its own failure
            self._log(f"{self.name}: could not write the replay bundle to {dest}: {exc}")

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        self.stop(failed=exc_type is not None)

    # -- shell helpers ----------------------------------------------------
    def wait_for_prompt(self, timeout: float | None = None):
        return self.console.wait_for_prompt(PROMPT, timeout or self.target.timeouts.prompt)

    def run_command(self, command: str, timeout: float | None = None) -> list[str]:
        """Type a shell command, wait for the next prompt; returns the output lines."""
        timeout = timeout or self.target.timeouts.command
        self.console.write_line(command, wait_for_echo=True, timeout=timeout)
        mark = self.console.cursor
        self.console.wait_for_prompt(PROMPT, timeout)
        out = self.console.output_since(mark)
        return [line for line in out if not line.startswith(PROMPT)]


GDB = os.environ.get("HARNESS_GDB", "gdb-multiarch")


def gdb_command(elf, endpoint: str | None, netns: str | None = None, extra: list[str] | tuple = ()) -> list[str]:
    """gdb-multiarch with the image's ELF, attached to a QEMU gdb stub (``target remote``)."""
    if endpoint is None:
        raise InputError("the gdb stub has no address yet (start the device first)")
    # gdb 13 (Debian bookworm) cannot connect to a Unix socket itself: netcat-openbsd relays
    where = endpoint if endpoint.startswith("127.0.0.1:") else f"| nc -U {shlex.quote(endpoint)}"
    argv = [GDB, "-q", str(elf), "-ex", "set architecture arm", "-ex", f"target remote {where}"]
    for cmd in extra:
        argv += ["-ex", cmd]
    if netns:  # QEMU listens inside the lab's network namespace
        argv = ["ip", "netns", "exec", netns] + argv
    return argv


_QEMU_VERSION: str | None = None


def qemu_version() -> str:
    global _QEMU_VERSION
    if _QEMU_VERSION is None:
        try:
            out = subprocess.run([QEMU, "--version"], capture_output=True, text=True, timeout=10).stdout
            m = re.search(r"version (\S+)", out)
            _QEMU_VERSION = m.group(1) if m else out.strip()
        except (OSError, subprocess.TimeoutExpired):
            _QEMU_VERSION = "unknown"
    return _QEMU_VERSION
