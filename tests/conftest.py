import os
import shutil
import subprocess
from pathlib import Path

import pytest

from harness import reaper
from harness.device import reference_image

REPO = Path(__file__).resolve().parent.parent


def qemu_pids_of_this_run(pid: int | None = None) -> list[int]:
    """QEMU and lab processes whose command line points into this process's runtime dirs."""
    marker = f"{reaper.PREFIX}{pid or os.getpid()}-"
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd:
            pids.append(int(proc.name))
    return pids


def runtime_dirs_of_this_run(pid: int | None = None) -> list[Path]:
    return sorted(reaper.RUNTIME_ROOT.glob(f"{reaper.PREFIX}{pid or os.getpid()}-*"))


def namespaces_of_this_run(pid: int | None = None) -> list[str]:
    from harness.cleanup import list_namespaces
    return [n for n in list_namespaces() if n.startswith(f"{reaper.PREFIX}{pid or os.getpid()}-")]


@pytest.fixture(autouse=True)
def nothing_left_behind():
    """Every test must leave no registered cleanup, QEMU process or runtime dir behind."""
    yield
    pending = reaper.pending()
    reaper.cleanup_all()
    assert not pending, f"test left resources registered: {pending}"
    assert not qemu_pids_of_this_run(), "QEMU or lab processes left running"
    assert not runtime_dirs_of_this_run(), "runtime dirs left behind"
    assert not namespaces_of_this_run(), "lab namespaces left behind"


@pytest.fixture
def artifacts(tmp_path):
    return tmp_path / "artifacts"


def require_lab():
    from harness.lab import privileged_lab_available
    ok, why = privileged_lab_available()
    if not ok:
        pytest.skip(f"privileged lab not available: {why}")


def require_image(board="mps2-an385", profile="fast") -> Path:
    image = reference_image(board, profile)
    if not image.exists():
        pytest.skip(f"reference image {image} not built (run `make images`)")
    if not shutil.which("qemu-system-arm"):
        pytest.skip("qemu-system-arm is not installed (run `make setup`)")
    return image
