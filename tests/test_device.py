"""Device lifecycle, early-exit detection and bad inputs."""

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness import device as device_mod
from harness.device import Device
from harness.errors import DeviceFailure, InfrastructureError, InputError, WaitTimeout

from .conftest import REPO, require_image

pytestmark = pytest.mark.qemu


def test_boot_run_and_clean_stop(artifacts):
    require_image()
    dev = Device("mps2-an385", name="life", artifacts_dir=artifacts / "life")
    dev.start()
    assert dev.console.wait_for_line("refdev boot:", 10).line.startswith("refdev boot: board=mps2-an385")
    dev.wait_for_prompt()
    assert dev.run_command("version")[0].startswith("refdev ")
    pid, runtime = dev.proc.pid, dev.runtime_dir
    assert (runtime / "qmp.sock").exists()
    assert (dev.artifacts_dir / "qemu.cmdline").read_text().count("-nic none") == 1
    dev.stop()
    assert not Path(f"/proc/{pid}").exists() or dev.proc.returncode is not None
    assert not runtime.exists(), "runtime dir must always be removed"
    assert not dev.artifacts_dir.exists(), "artifacts of a passing run are removed by default"


def test_artifacts_kept_on_failure(artifacts):
    require_image()
    with pytest.raises(WaitTimeout, match=r"(?s)waiting for line 'never printed'.*last console lines.*refdev boot"):
        with Device("mps2-an385", name="failing", artifacts_dir=artifacts / "failing") as dev:
            dev.console.wait_for_line("never printed", 1.0)
    assert (artifacts / "failing" / "console.log").read_text().count("refdev boot:") == 1
    assert (artifacts / "failing" / "console.raw.log").exists()
    assert (artifacts / "failing" / "provenance.json").exists()


def test_console_log_has_output_from_the_first_instruction(artifacts):
    """QEMU starts paused and continues only once the reader is attached."""
    require_image()
    with Device("mps2-an385", name="early", artifacts_dir=artifacts / "early", keep="always") as dev:
        dev.wait_for_prompt(10)
        first = dev.console.lines[0].text if dev.console.lines[0].text else dev.console.lines[1].text
        assert first.startswith("refdev boot:")


def test_early_qemu_exit_is_an_infrastructure_error(artifacts):
    require_image()
    dev = Device("mps2-an385", name="early-exit", artifacts_dir=artifacts / "ee",
                 extra_qemu_args=["-device", "no-such-device"])
    with pytest.raises(InfrastructureError, match=r"QEMU exited \(code 1\).*no-such-device"):
        dev.start()
    assert dev.runtime_dir is not None and not dev.runtime_dir.exists()


def test_missing_qemu_binary_is_an_infrastructure_error(artifacts, monkeypatch):
    require_image()
    monkeypatch.setattr(device_mod, "QEMU", "/nonexistent/qemu-system-arm")
    with pytest.raises(InfrastructureError, match="QEMU would not start"):
        Device("mps2-an385", name="noqemu", artifacts_dir=artifacts / "nq").start()


def test_unknown_board():
    with pytest.raises(InputError, match="unknown board 'mps2-an123'"):
        Device("mps2-an123")


def test_missing_image(artifacts):
    dev = Device("mps2-an385", "/nonexistent/fw.elf", artifacts_dir=artifacts / "m")
    with pytest.raises(InputError, match="firmware image /nonexistent/fw.elf does not exist"):
        dev.start()
    assert dev.proc is None and not (artifacts / "m").exists()


def test_not_an_elf(artifacts, tmp_path):
    bad = tmp_path / "fw.bin"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(InputError, match="is not an ELF file"):
        Device("mps2-an385", bad, artifacts_dir=artifacts / "n").start()


def test_corrupt_elf(artifacts, tmp_path):
    image = require_image()
    bad = tmp_path / "truncated.elf"
    bad.write_bytes(image.read_bytes()[:200])
    with pytest.raises(InputError, match="corrupt ELF|no loadable segments|no vector table"):
        Device("mps2-an385", bad, artifacts_dir=artifacts / "c").start()


def test_elf_for_wrong_architecture(artifacts):
    host_elf = Path(shutil.which("true")).resolve()
    with pytest.raises(InputError, match=r"ELF for EM_(X86_64|AARCH64|386).*not for 32-bit ARM"):
        Device("mps2-an385", host_elf, artifacts_dir=artifacts / "w").start()


def test_semihosting_exit_code(artifacts):
    require_image()
    with Device("mps2-an500", name="exit", artifacts_dir=artifacts / "x") as dev:
        dev.wait_for_prompt(10)
        dev.console.write_line("exit 7")
        assert dev.wait_for_exit(10) == 7


def test_fault_banner_fails_waits_and_names_the_line(artifacts):
    require_image()
    with Device("mps2-an386", name="fault", artifacts_dir=artifacts / "f") as dev:
        dev.wait_for_prompt(10)
        with pytest.raises(DeviceFailure, match=r"(?s)fault_trigger_undefined_instruction at .*cmds_sys\.c:\d+"
                                                 r".*HARDFAULT.*CFSR=0x"):
            dev.run_command("fault")


HARNESS_SCRIPT = textwrap.dedent("""
    import sys, time
    from harness import reaper
    from harness.device import Device
    reaper.install_signal_handlers()
    dev = Device("mps2-an385", name="sig", artifacts_dir=sys.argv[1])
    dev.start()
    dev.wait_for_prompt(10)
    print(dev.proc.pid, dev.runtime_dir, flush=True)
    time.sleep(60)
""")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_harness_killed_leaves_nothing_running(tmp_path, sig):
    require_image()
    proc = subprocess.Popen([sys.executable, "-c", HARNESS_SCRIPT, str(tmp_path / "art")], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().split()
        assert line, "harness script did not start a device"
        qemu_pid, runtime = int(line[0]), Path(line[1])
        assert Path(f"/proc/{qemu_pid}").exists()
        proc.send_signal(sig)
        proc.wait(15)
        deadline = time.monotonic() + 5
        while Path(f"/proc/{qemu_pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not Path(f"/proc/{qemu_pid}").exists(), f"QEMU survived {sig!r} to the harness"
        if sig != signal.SIGKILL:
            assert not runtime.exists(), "runtime dir left behind"
        else:
            # nothing ran in the harness: QEMU died with it (PDEATHSIG); the stale dir is for clean-lab
            from harness.cleanup import clean_stale
            clean_stale()
            assert not runtime.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
