"""Record a short run, replay it byte-identically, and debug devices with gdb."""

import shlex
import shutil
import subprocess

import pytest

from harness.device import Device, gdb_command
from harness.errors import DeviceFailure
from harness.replay.bundle import load_bundle
from harness.replay.replay import bundle_fault, replay_bundle

from .conftest import require_image

pytestmark = pytest.mark.qemu
GDB_TIMEOUT = 60


def _gdb_batch(cmd: list[str]) -> subprocess.CompletedProcess:
    if not shutil.which(cmd[0]):
        pytest.skip(f"{cmd[0]} is not installed (make setup)")
    argv = [cmd[0], "-batch", "-nx"] + cmd[1:]
    return subprocess.run(argv, capture_output=True, text=True, timeout=GDB_TIMEOUT)


def test_recording_off_leaves_the_command_line_alone(artifacts):
    require_image()
    with Device("mps2-an385", name="plain", artifacts_dir=artifacts / "plain", keep="always") as dev:
        dev.wait_for_prompt(10)
    cmd = (artifacts / "plain" / "qemu.cmdline").read_text()
    assert "-icount" not in cmd and "filter-replay" not in cmd and "-gdb" not in cmd
    assert "socket,id=con0" in cmd and not (artifacts / "plain" / "replay.rr").exists()


def test_failed_boot_recording_replays_byte_identically(artifacts):
    """A recorded run that fails keeps its bundle; the replay's console is byte-identical."""
    require_image()
    dev = Device("mps2-an385", name="rec", artifacts_dir=artifacts / "rec", record=True)
    with pytest.raises(DeviceFailure):
        with dev:
            dev.wait_for_prompt(10)
            assert dev.run_command("version")[0].startswith("refdev ")
            dev.run_command("help")  # a burst of output: must not break the replay (see rrconsole.py)
            dev.reset()  # a host reset: the replay requests it again, QEMU applies it at the logged point
            dev.console.wait_for_line("refdev boot:", 10)
            dev.wait_for_prompt(10)
            raise DeviceFailure("the test fails here")
    cmd = (artifacts / "rec" / "qemu.cmdline").read_text()
    assert "-icount shift=3,rr=record,rrfile=" in cmd and "pipe,id=con0" in cmd
    bundle = load_bundle(artifacts / "rec" / "bundle")
    assert bundle.manifest["device"]["failed"] is True
    assert bundle.manifest["record"]["end_icount"] > 0
    assert b"refdev> version" in bundle.console_bytes and bundle.console_bytes.count(b"refdev boot:") == 2
    assert [a["action"] for a in bundle.manifest["device"]["host_actions"]] == ["system_reset"]
    result = replay_bundle(bundle, artifacts / "replay")
    assert result.identical, result.difference
    assert result.console == bundle.console_bytes
    assert "-icount shift=3,rr=replay" in " ".join(result.qemu_argv)


def test_gdb_breaks_at_main(artifacts):
    image = require_image()
    with Device("mps2-an385", name="dbg", artifacts_dir=artifacts / "dbg", gdb=True) as dev:
        cmd = dev.gdb_command(["break main", "continue", "info registers pc", "kill"])
        assert cmd[:3] == ["gdb-multiarch", "-q", str(image)]
        assert f"target remote | nc -U {dev.runtime_dir}/gdb.sock" in cmd
        assert not dev.console.lines, "with gdb the CPU waits at reset for the debugger"
        out = _gdb_batch(cmd)
        assert "Breakpoint 1, main () at src/main.c" in out.stdout, out.stdout + out.stderr
        assert "<main>" in out.stdout


def test_gdb_command_for_a_tcp_stub():
    cmd = gdb_command("/x/fw.elf", "127.0.0.1:4321", extra=["break main"])
    assert shlex.join(cmd) == ("gdb-multiarch -q /x/fw.elf -ex 'set architecture arm' "
                               "-ex 'target remote 127.0.0.1:4321' -ex 'break main'")
    dev = Device("mps2-an385", name="tcp", gdb="tcp:4321")
    assert dev.gdb == ("tcp", 4321)
    assert gdb_command("/x/fw.elf", "127.0.0.1:1", netns="lab1")[:4] == ["ip", "netns", "exec", "lab1"]


def test_fault_replays_and_gdb_breaks_at_the_faulting_instruction(artifacts):
    require_image()
    dev = Device("mps2-an385", name="flt", artifacts_dir=artifacts / "flt", record=artifacts / "bundle")
    dev.start()
    try:
        dev.wait_for_prompt(10)
        with pytest.raises(DeviceFailure, match=r"fault at PC=0x[0-9a-f]{8} in fault_trigger_undefined_instruction"):
            dev.run_command("fault")
    finally:
        dev.stop()
    bundle = load_bundle(artifacts / "bundle")
    fault = bundle_fault(bundle)
    assert fault["pc_location"]["function"] == "fault_trigger_undefined_instruction"
    seen = {}

    def debug(replaying):
        seen["gdb"] = _gdb_batch(replaying.gdb_command([f"break *0x{fault['pc']:x}", "continue", "bt", "detach"]))

    result = replay_bundle(bundle, artifacts / "replay", gdb=True, on_started=debug, timeout=GDB_TIMEOUT)
    out = seen["gdb"].stdout
    assert "Breakpoint 1, fault_trigger_undefined_instruction () at src/cmds_sys.c" in out, out + seen["gdb"].stderr
    assert "in cmd_fault" in out
    assert result.identical, result.difference
    assert result.fault["pc"] == fault["pc"]
    assert result.fault["pc_location"] == fault["pc_location"]
