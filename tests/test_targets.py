import pytest

from harness.errors import InputError
from harness.targets import list_targets, load_target, parse_target_file

GOOD = (open(load_target("mps2-an385").path).read())


def test_all_three_boards_load():
    assert {"mps2-an385", "mps2-an386", "mps2-an500"} <= set(list_targets())
    an385, an386, an500 = (load_target(b) for b in ("mps2-an385", "mps2-an386", "mps2-an500"))
    assert (an385.qemu_cpu, an386.qemu_cpu, an500.qemu_cpu) == ("cortex-m3", "cortex-m4", "cortex-m7")
    assert an385.nic_base == 0x40200000 and an500.nic_base == 0xA0000000
    assert all(t.uart0_base == 0x40004000 and t.nic_irq == 13 for t in (an385, an386, an500))
    assert an385.timeouts.boot > 0


def test_unknown_board_names_known_ones():
    with pytest.raises(InputError, match=r"unknown board 'mps2-an999'.*mps2-an385"):
        load_target("mps2-an999")


def write(tmp_path, text, name="mps2-an385.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("section,key", [("nic", "base"), ("uart0", "base"), ("qemu", "cpu"),
                                         ("timeouts", "boot"), ("memory", "config_block")])
def test_missing_field_is_named(tmp_path, section, key):
    lines, in_section = [], None
    for line in GOOD.splitlines():
        if line.startswith("["):
            in_section = line.strip("[]")
        if in_section == section and line.startswith(f"{key} ="):
            continue
        lines.append(line)
    with pytest.raises(InputError, match=rf"field '{section}\.{key}' is missing"):
        parse_target_file(write(tmp_path, "\n".join(lines)))


def test_wrong_type_is_named(tmp_path):
    bad = GOOD.replace("irq = 13", 'irq = "thirteen"')
    with pytest.raises(InputError, match=r"field 'nic\.irq' must be a non-negative integer"):
        parse_target_file(write(tmp_path, bad))


def test_missing_section_is_named(tmp_path):
    head, rest = GOOD.split("[nic]")
    bad = head + "[timeouts]" + rest.split("[timeouts]")[1]
    with pytest.raises(InputError, match=r"section \[nic\] is missing"):
        parse_target_file(write(tmp_path, bad))


def test_unsupported_nic(tmp_path):
    with pytest.raises(InputError, match=r"field 'nic\.model' is 'e1000'"):
        parse_target_file(write(tmp_path, GOOD.replace('model = "lan9118"', 'model = "e1000"')))


def test_not_toml(tmp_path):
    with pytest.raises(InputError, match="not valid TOML"):
        parse_target_file(write(tmp_path, "[board\nname="))


def test_name_must_match_file(tmp_path):
    with pytest.raises(InputError, match="file is named other.toml"):
        parse_target_file(write(tmp_path, GOOD, name="other.toml"))


def test_firmware_build_reads_the_same_file(tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    tool = Path(__file__).resolve().parent.parent / "qemu_images" / "tools" / "board_config.py"
    subprocess.run([sys.executable, str(tool), "mps2-an500", str(tmp_path)], check=True)
    header = (tmp_path / "board.h").read_text()
    assert "#define BOARD_NIC_BASE 0xA0000000u" in header
    assert "ORIGIN = 0x20000000" in (tmp_path / "memory.ld").read_text()
    assert (tmp_path / "cflags").read_text().split()[0] == "-mcpu=cortex-m7"
