"""Start and stop child processes the way the testbed needs them.

Every child gets its own process group (so a stop reaches its helpers too),
dies with the harness (PR_SET_PDEATHSIG) so an abrupt harness death leaves
nothing running, and can be placed in a lab network namespace before exec.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from pathlib import Path

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
_CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")


def _preexec(netns_fd: int | None):
    def run() -> None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if netns_fd is not None and _libc.setns(netns_fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns into lab namespace failed: {os.strerror(err)}")

    return run


def spawn(argv: list[str], *, netns: str | None = None, stdout=None, stderr=None, cwd=None,
          env=None, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    """Start argv in a new session (own process group), optionally inside netns."""
    fd = None
    if netns is not None:
        fd = os.open(NETNS_DIR / netns, os.O_RDONLY)
    try:
        return subprocess.Popen(
            argv, stdin=stdin, stdout=stdout, stderr=stderr, cwd=cwd, env=env,
            start_new_session=True, preexec_fn=_preexec(fd), close_fds=True,
        )
    finally:
        if fd is not None:
            os.close(fd)


def run(argv: list[str], *, netns: str | None = None, timeout: float = 30.0, check: bool = True,
        input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run a short command to completion (in netns if given); returns the CompletedProcess."""
    proc = spawn(argv, netns=netns, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                 stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
    try:
        out, err = proc.communicate(input=input, timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process(proc, term_timeout=1.0)
        raise
    result = subprocess.CompletedProcess(argv, proc.returncode, out, err)
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv, out, err)
    return result


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        proc.send_signal(sig)


def stop_process(proc: subprocess.Popen, term_timeout: float = 3.0, kill_timeout: float = 3.0) -> int | None:
    """SIGTERM the process group, then SIGKILL it; returns the exit code."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(term_timeout)
        except subprocess.TimeoutExpired:
            pass
    # also reap helpers left in the group after the leader exited
    _signal_group(proc, signal.SIGKILL)
    try:
        proc.wait(kill_timeout)
    except subprocess.TimeoutExpired:
        pass
    return proc.returncode


def runqueue_wait_seconds(pid: int) -> float:
    """Total time the process's threads waited for a CPU (from /proc schedstat)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                fields = (task / "schedstat").read_text().split()
                total += int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    except OSError:
        return 0.0
    return total / 1e9


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def connect_unix(path, timeout: float):
    """Connect to a unix socket a child is about to create (retrying until ``timeout``);
    raises OSError with the last error."""
    import socket

    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(str(path))
            return s
        except OSError:
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def wait_for_path(path: Path, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """Wait until path exists; False on timeout or when proc exited first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.01)
    return path.exists()
