"""Per-run entropy: the seed in the config block drives the reference firmware's ephemeral
ports and TCP initial sequence numbers. Same seed → the same first hub connection (port
and ISN, seen in the device's pcap); another seed → another; a reset of the same instance
→ another too (the firmware counts boots in RAM that survives a reset), so a quick reboot
does not collide with the hub's stale connection."""

import struct
import time

import pytest

from harness.devconfig import DeviceConfig

from .conftest import require_image, require_lab

SEED_A = "a5" * 32
SEED_B = "5a" * 32


def tcp_syns(pcap_path, dst_port: int) -> list[tuple[int, int]]:
    """(source port, sequence number) of every IPv4 TCP SYN (without ACK) to ``dst_port`` in a pcap."""
    data = pcap_path.read_bytes()
    magic = struct.unpack_from("<I", data, 0)[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, out = 24, []
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack_from(endian + "IIII", data, off)
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        tcp = frame[14 + ihl:]
        sport, dport, seq = struct.unpack_from("!HHI", tcp, 0)
        flags = tcp[13]
        if dport == dst_port and flags & 0x02 and not flags & 0x10:
            out.append((sport, seq))
    return out


def first_hub_syn(dev, timeout=20.0) -> tuple[int, int]:
    dev.console.wait_for_line("hub: connected", timeout)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the pcap is written by QEMU as frames pass
        syns = tcp_syns(dev.pcap, 1883)
        if syns:
            return syns[0]
        time.sleep(0.1)
    raise AssertionError(f"no SYN to the hub in {dev.pcap}")


def test_seed_controls_ports_and_isns(tmp_path):
    require_lab()
    require_image(profile="nosecmod")
    from harness.lab.lab import Lab

    with Lab("entropy", artifacts_dir=tmp_path / "art", pki_dir=tmp_path / "pki") as lab:
        seen = {}
        for run, seed in (("a1", SEED_A), ("a2", SEED_A), ("b", SEED_B)):
            # static addressing, no IPv6, no security module: nothing but the seed decides the sequence
            cfg = lab.device_config("ent-dev", static=True, ipv6="off", transport="mqtt", telemetry_interval=0,
                                    seed=seed)
            dev = lab.start_device("ent-dev", profile="nosecmod", config=cfg, artifacts_dir=tmp_path / run)
            seen[run] = first_hub_syn(dev)
            out = "\n".join(dev.run_command("config"))
            assert "seed=(set) boot=0" in out
            if run == "b":
                # a reset of the same instance (same config block, same seed): a new sequence
                dev.reset()
                dev.console.wait_for_line("hub: connected", 20)
                time.sleep(0.5)
                seen["b-reset"] = tcp_syns(dev.pcap, 1883)[-1]
                assert "boot=1" in "\n".join(dev.run_command("config"))
            lab.stop_device("ent-dev")
        assert seen["a1"] == seen["a2"], f"same seed, different first connection: {seen}"
        assert seen["a1"][0] != seen["b"][0] and seen["a1"][1] != seen["b"][1], seen
        assert seen["b-reset"][0] != seen["b"][0] and seen["b-reset"][1] != seen["b"][1], seen


def test_seed_is_validated_and_written():
    cfg = DeviceConfig(seed=SEED_A)
    assert f"seed={SEED_A}\n".encode() in cfg.to_block(4096)
    assert DeviceConfig().seed != DeviceConfig().seed  # a fresh one per run unless given
    with pytest.raises(Exception, match="64 hex digits"):
        DeviceConfig(seed="xyz").to_block(4096)
