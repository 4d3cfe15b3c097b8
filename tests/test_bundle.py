"""Replay bundles: format, validation errors, archives; pcap → MQTT → security messages;
console comparison; fault banner resolution. No QEMU needed here."""

import json
import struct
import tarfile
from pathlib import Path

import pytest

from harness.device import reference_image
from harness.errors import InputError
from harness.faults import describe_fault, fault_info
from harness.replay.bundle import archive_bundle, load_bundle, make_bundle, sha256_file
from harness.replay.pcap import extract_publishes
from harness.replay.replay import first_difference
from harness.targets import load_target

from .conftest import require_image


@pytest.fixture
def bundle_dir(tmp_path):
    image = require_image()
    src = tmp_path / "src"
    src.mkdir()
    (src / "config.bin").write_bytes(b"RTLCFG1\ndevice_id=b1\n\x00")
    (src / "replay.rr").write_bytes(b"\x02\xe0\x02\x00" + bytes(100))
    (src / "console.raw.log").write_bytes(b"\r\nrefdev boot: board=mps2-an385\r\nrefdev> ")
    (src / "qemu.cmdline").write_text("qemu-system-arm -machine mps2-an385\n")
    (src / "hub.jsonl").write_text(json.dumps({"seq": 1, "t": 1.0, "topic": "lab/alerts/b1", "kind": "alert",
                                               "device_id": "b1"}) + "\n")
    files = {"image": image, "target": load_target("mps2-an385").path, "config": src / "config.bin",
             "replay_log": src / "replay.rr", "console_raw": src / "console.raw.log",
             "cmdline": src / "qemu.cmdline", "hub": src / "hub.jsonl", "pcap": src / "absent.pcap"}
    return make_bundle(tmp_path / "bundle", files, device={"name": "b1", "board": "mps2-an385",
                                                           "mac": "52:54:00:12:34:56", "network": None},
                       qemu={"version": "7.2", "argv": [], "icount_shift": 3, "extra_args": []},
                       config={"seed": "ab" * 32}, record={"duration_s": 1.0})


def _rewrite_manifest(root: Path, edit) -> None:
    m = json.loads((root / "manifest.json").read_text())
    edit(m)
    (root / "manifest.json").write_text(json.dumps(m))


def test_bundle_is_self_describing(bundle_dir):
    b = load_bundle(bundle_dir)
    m = b.manifest
    assert m["format"] == "harness-replay-bundle" and m["format_version"] == 1
    assert m["image"]["sha256"] == sha256_file(reference_image("mps2-an385", "fast"))
    assert m["seed"] == "ab" * 32 and m["qemu"]["icount_shift"] == 3
    assert set(m["parts"]) >= {"image", "target", "config", "replay_log", "console_raw", "cmdline", "hub", "alerts"}
    assert "pcap" not in m["parts"]  # optional parts that did not exist are left out
    assert (bundle_dir / "mps2-an385.toml").exists() and b.target.name == "mps2-an385"
    assert b.console_bytes.endswith(b"refdev> ")
    for role, entry in m["parts"].items():
        assert sha256_file(bundle_dir / entry["file"]) == entry["sha256"], role


def test_archive_round_trip(bundle_dir):
    archive = archive_bundle(bundle_dir)
    assert archive.name == "bundle.tar.gz"
    b = load_bundle(archive)
    try:
        assert b.root != bundle_dir and b.manifest == load_bundle(bundle_dir).manifest
    finally:
        b.cleanup()
    assert not b.root.exists()


@pytest.mark.parametrize("role,file", [("replay_log", "replay.rr"), ("image", "image.elf"),
                                       ("console_raw", "console.raw.log"), ("target", "mps2-an385.toml")])
def test_missing_part_is_named(bundle_dir, role, file):
    (bundle_dir / file).unlink()
    with pytest.raises(InputError, match=rf"part '{role}' \({file}\) is missing"):
        load_bundle(bundle_dir)


def test_checksum_mismatch_is_named(bundle_dir):
    with open(bundle_dir / "console.raw.log", "ab") as fh:
        fh.write(b"tampered")
    with pytest.raises(InputError, match=r"part 'console_raw' \(console.raw.log\) is corrupt: SHA-256"):
        load_bundle(bundle_dir)


def test_corrupt_manifest(bundle_dir):
    (bundle_dir / "manifest.json").write_text('{"format": "harness-replay-bundle", ')
    with pytest.raises(InputError, match=r"manifest.json is corrupt"):
        load_bundle(bundle_dir)
    (bundle_dir / "manifest.json").unlink()
    with pytest.raises(InputError, match=r"part 'manifest.json' is missing"):
        load_bundle(bundle_dir)


def test_manifest_without_a_required_part(bundle_dir):
    _rewrite_manifest(bundle_dir, lambda m: m["parts"].pop("config"))
    with pytest.raises(InputError, match=r"part 'config' is missing from manifest.json"):
        load_bundle(bundle_dir)


def test_manifest_with_a_bad_field(bundle_dir):
    _rewrite_manifest(bundle_dir, lambda m: m.pop("qemu"))
    with pytest.raises(InputError, match=r"manifest.json is corrupt: field 'qemu'"):
        load_bundle(bundle_dir)
    _rewrite_manifest(bundle_dir, lambda m: m.update(qemu={"icount_shift": 3}, format_version=99))
    with pytest.raises(InputError, match=r"format version 99 is not supported"):
        load_bundle(bundle_dir)


def test_wrong_image(bundle_dir):
    other = reference_image("mps2-an385", "nosecmod")
    if not other.exists():
        pytest.skip("nosecmod image not built")
    # another image with consistent part checksums is still not the image the run used
    (bundle_dir / "image.elf").write_bytes(other.read_bytes())
    _rewrite_manifest(bundle_dir, lambda m: m["parts"]["image"].update(sha256=sha256_file(other),
                                                                       size=other.stat().st_size))
    with pytest.raises(InputError, match=r"part 'image' \(image.elf\) is the wrong image"):
        load_bundle(bundle_dir)
    # and an image that is no ELF at all, with matching checksums everywhere
    (bundle_dir / "image.elf").write_bytes(b"not an elf")
    digest = sha256_file(bundle_dir / "image.elf")
    _rewrite_manifest(bundle_dir, lambda m: (m["parts"]["image"].update(sha256=digest, size=10),
                                             m["image"].update(sha256=digest)))
    with pytest.raises(InputError, match=r"part 'image' \(image.elf\) is the wrong image: .*not an ELF"):
        load_bundle(bundle_dir)


def test_archive_with_unsafe_member_is_refused(tmp_path, bundle_dir):
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        tar.add(bundle_dir / "manifest.json", arcname="../escape.json")
    with pytest.raises(InputError, match=r"refusing member '../escape.json'"):
        load_bundle(bad)
    (tmp_path / "junk.tar.gz").write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(InputError, match=r"junk.tar.gz"):
        load_bundle(tmp_path / "junk.tar.gz")
    with pytest.raises(InputError, match=r"does not exist"):
        load_bundle(tmp_path / "nope")


# -- console comparison -----------------------------------------------------------
def test_first_difference():
    assert first_difference(b"a\nbc\n", b"a\nbc\n") is None
    diff = first_difference(b"line1\nsettings\n", b"line1\nsettingss\n")
    assert "byte 14 (line 2, column 9)" in diff and "'settings'" in diff and "'settingss'" in diff
    assert "replay ends at byte 3" in first_difference(b"abcdef", b"abc")


# -- pcap -> TCP -> MQTT -> security message -----------------------------------------
def _frame(src_mac, seq, payload, flags=0x18, sport=49153, dport=1883):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 8192, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     bytes([192, 0, 2, 100]), bytes([192, 0, 2, 1])) + tcp
    return bytes.fromhex("020000000001") + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00" + ip


def _pcap(path, frames):
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
    for i, f in enumerate(frames):
        out += struct.pack("<IIII", 100 + i, 0, len(f), len(f)) + f
    path.write_bytes(out)


def test_security_messages_come_back_out_of_a_pcap(tmp_path):
    from harness.hub.mqtt_packets import Packet, Publish, build_connect, build_publish
    from harness.secmsg import vectors

    payload = vectors.build(vectors.CANONICAL["heartbeat_only"])
    topic = ("devices/dev-1/messages/events/%24.ifid=urn%3Aazureiot%3ASecurity%3ASecurityAgent%3A1"
             "&%24.ifname=Security&%24.ct=application%2Fjson&%24.ce=utf-8")
    stream = (build_connect("dev-1", "hub.lab/dev-1", 60, True).encode()
              + build_publish(Publish(topic, 1, False, False, 7, payload)).encode()
              + build_publish(Publish("devices/dev-1/messages/events/", 0, False, False, None, b"{}")).encode())
    mac, isn = "52:54:00:00:00:01", 1000
    cut = len(stream) // 2
    frames = [_frame(mac, isn, b"", flags=0x02),
              _frame(mac, isn + 1 + cut, stream[cut:]),       # out of order
              _frame(mac, isn + 1, stream[:cut]),
              _frame(mac, isn + 1, stream[:cut]),             # a retransmission
              _frame("52:54:00:00:00:99", isn + 1, stream)]   # another device: ignored
    _pcap(tmp_path / "d.pcap", frames)
    pubs, notes = extract_publishes(tmp_path / "d.pcap", 1883, mac)
    assert notes == []
    assert [p.security for p in pubs] == [True, False]
    sec = pubs[0]
    assert sec.payload == payload and sec.packet_id == 7 and sec.device_id == "dev-1"
    assert sec.message is not None and sec.message.events[0].payload_type.name == "HEARTBEAT"


# -- fault banner -------------------------------------------------------------------
BANNER = """*** HARDFAULT ***
PC=0x{pc:08x} LR=0x{lr:08x} xPSR=0x61000000
R0=0x0000000a R1=0x00024385 R2=0x00000000 R3=0x6572000a R12=0x01010101
CFSR=0x00010000 HFSR=0x40000000 MMFAR=0x00000000 BFAR=0x00000000
EXC_RETURN=0xfffffff9 SP=0x203fcf48 ICSR=0x00000803
*** END HARDFAULT ***"""


def test_fault_banner_resolves_pc_and_caller():
    image = require_image()
    from elftools.elf.elffile import ELFFile
    with open(image, "rb") as fh:
        symtab = ELFFile(fh).get_section_by_name(".symtab")
        pc = next(s for s in symtab.iter_symbols() if s.name == "fault_trigger_undefined_instruction")["st_value"]
        lr = next(s for s in symtab.iter_symbols() if s.name == "cmd_fault")["st_value"] + 8
    lines = BANNER.format(pc=pc & ~1, lr=lr | 1).splitlines()
    info = fault_info(lines, image)
    assert info["pc_location"]["function"] == "fault_trigger_undefined_instruction"
    assert info["pc_location"]["file"].endswith("cmds_sys.c") and info["pc_location"]["line"]
    assert info["lr_location"]["function"] == "cmd_fault"
    assert info["cfsr_bits"] == ["UNDEFINSTR"] and info["hfsr_bits"] == ["FORCED"]
    assert info["registers"]["R12"] == 0x01010101 and info["registers"]["EXC_RETURN"] == 0xFFFFFFF9
    text = describe_fault(lines, image)
    assert "in fault_trigger_undefined_instruction at " in text and "(called from cmd_fault at " in text
    assert "CFSR=0x00010000 UNDEFINSTR" in text and "stacked frame R0=0x0000000a" in text
    assert describe_fault(["no banner"], image) == ""
