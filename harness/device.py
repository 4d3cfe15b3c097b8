"""One emulated device: a QEMU instance with its instance directory, QMP and console.

Lifecycle (labgrid's, made explicit): check the image → create the runtime dir
(sockets, pid) and the artifacts dir (logs, pcap, command line) → start QEMU
paused (-S) → attach QMP and the console reader → QMP ``cont``, so no early
output is lost → … → stop: QMP ``quit``, then SIGTERM, then SIGKILL of the
process group; the runtime dir is always removed, the artifacts dir is kept
or removed by policy (kept on failure by default).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
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
                 extra_qemu_args: list[str] | tuple = (), log=None):
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

    # -- command line -----------------------------------------------------
    def qemu_argv(self) -> list[str]:
        rt, art, t = self.runtime_dir, self.artifacts_dir, self.target
        argv = [
            QEMU, "-name", f"{self.name},debug-threads=on",
            "-machine", t.machine, "-cpu", t.qemu_cpu,
            "-nodefaults", "-no-user-config", "-display", "none",
            "-chardev", f"socket,id=con0,path={rt}/console.sock,server=on,wait=off,"
                        f"logfile={art}/console.raw.log,logappend=on",
            "-serial", "chardev:con0",
            "-qmp", f"unix:{rt}/qmp.sock,server=on,wait=off",
            "-semihosting-config", "enable=on,target=native",
            "-kernel", str(self.image_path),
            "-device", f"loader,file={art}/config.bin,addr=0x{t.config_block:08x},force-raw=on",
            "-pidfile", f"{rt}/qemu.pid",
            "-S",
        ]
        if self.network is None:
            argv += ["-nic", "none"]  # never QEMU's default (unrestricted) user network
        else:
            argv += ["-netdev", ",".join(self.network.netdev_args("n0")),
                     "-net", f"nic,netdev=n0,model={t.nic_model},macaddr={self.config.mac}",
                     "-object", f"filter-dump,id=dump0,netdev=n0,file={art}/device.pcap"]
        return argv + self.extra_qemu_args

    # -- lifecycle --------------------------------------------------------
    def start(self) -> "Device":
        if self.proc is not None:
            raise InputError(f"{self.name}: already started")
        self.image = check_image(self.image_path, self.target)  # bad input: nothing created yet
        if self.network is not None:
            self.config.mac = self.network.mac
        block = self.config.to_block(self.target.config_block_size)
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
        self.console = Console(self.runtime_dir / "console.sock", self.console_log, name=self.name,
                               describe_exit=self._describe_exit,
                               starvation=lambda: procs.runqueue_wait_seconds(self.proc.pid), log=self._log)
        self.console.annotate = self._annotate_failure
        self.console.attach()
        self.qmp.execute("cont")
        # labgrid's rule: QEMU that dies right after start is an infrastructure failure
        time.sleep(0.05)
        if self.proc.poll() is not None and not self.console.lines:
            self._raise_early_exit("right after start")

    def _write_provenance(self, argv: list[str]) -> None:
        info = {"name": self.name, "board": self.target.name, "target_file": str(self.target.path),
                "image": self.image.to_dict() if self.image else None, "qemu_argv": argv,
                "qemu_version": qemu_version(), "config": self.config.to_dict()}
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
        self.qmp.execute("system_reset")

    def set_link(self, up: bool) -> None:
        self._require_running("set_link")
        self.qmp.execute("set_link", name="n0", up=bool(up))

    def _require_running(self, what: str) -> None:
        if not self.running:
            raise DeviceFailure(f"{self.name}: cannot {what}: {self._describe_exit()}")

    def wait_for_exit(self, timeout: float) -> int:
        """Wait for QEMU to end by itself (e.g. semihosting exit); returns its exit code."""
        if self.proc is None:
            raise InputError(f"{self.name}: not started")
        try:
            return self.proc.wait(timeout)
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
            try:
                self.qmp.execute("quit", timeout=2.0)
            except QMPError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(2.0)
            except subprocess.TimeoutExpired:
                pass
            procs.stop_process(self.proc)
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
        if self.keep == "never" or (self.keep == "on-failure" and not failed):
            shutil.rmtree(self.artifacts_dir, ignore_errors=True)

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
