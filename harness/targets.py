"""Board facts as data: one TOML file per board in ``targets/``.

The harness and the firmware build (qemu_images/tools/board_config.py) both read
targets through this module, so a board fact is written exactly once.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGETS_DIR = Path(os.environ.get("HARNESS_TARGETS_DIR", REPO_ROOT / "targets"))
DEFAULT_BOARD = "mps2-an385"


@dataclass(frozen=True)
class Timeouts:
    boot: float
    prompt: float
    command: float
    network: float


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    path: Path
    machine: str
    qemu_cpu: str
    gcc_flags: tuple[str, ...]
    clock_hz: int
    code_base: int
    code_size: int
    ram_base: int
    ram_size: int
    config_block: int
    config_block_size: int
    uart0_base: int
    uart0_rx_irq: int
    uart0_tx_irq: int
    nic_model: str
    nic_base: int
    nic_irq: int
    timeouts: Timeouts = field(compare=False)
    # optional: where the harness loads the lab's trust anchors (0/0: the board has none)
    ca_block: int = 0
    ca_block_size: int = 0

    def contains_code_or_ram(self, addr: int, size: int) -> bool:
        """True when [addr, addr+size) lies inside the board's code or RAM region."""
        end = addr + size
        return (self.code_base <= addr and end <= self.code_base + self.code_size) or (
            self.ram_base <= addr and end <= self.config_block + self.config_block_size
        )


# (section, key, kind, attribute); kind: str, int, float, strlist
_SCHEMA: list[tuple[str, str, str, str]] = [
    ("board", "name", "str", "name"),
    ("board", "description", "str", "description"),
    ("qemu", "machine", "str", "machine"),
    ("qemu", "cpu", "str", "qemu_cpu"),
    ("cpu", "gcc_flags", "strlist", "gcc_flags"),
    ("cpu", "clock_hz", "int", "clock_hz"),
    ("memory", "code_base", "int", "code_base"),
    ("memory", "code_size", "int", "code_size"),
    ("memory", "ram_base", "int", "ram_base"),
    ("memory", "ram_size", "int", "ram_size"),
    ("memory", "config_block", "int", "config_block"),
    ("memory", "config_block_size", "int", "config_block_size"),
    ("uart0", "base", "int", "uart0_base"),
    ("uart0", "rx_irq", "int", "uart0_rx_irq"),
    ("uart0", "tx_irq", "int", "uart0_tx_irq"),
    ("nic", "model", "str", "nic_model"),
    ("nic", "base", "int", "nic_base"),
    ("nic", "irq", "int", "nic_irq"),
]
# optional fields: (section, key, kind, attribute, default)
_OPTIONAL: list[tuple[str, str, str, str, object]] = [
    ("memory", "ca_block", "int", "ca_block", 0),
    ("memory", "ca_block_size", "int", "ca_block_size", 0),
]
_TIMEOUT_KEYS = ("boot", "prompt", "command", "network")
_SUPPORTED_NICS = ("lan9118",)


def _field(data: dict, path: Path, section: str, key: str, kind: str):
    where = f"{path}: field '{section}.{key}'"
    sect = data.get(section)
    if not isinstance(sect, dict):
        raise InputError(f"{path}: section [{section}] is missing (needed for '{section}.{key}')")
    if key not in sect:
        raise InputError(f"{where} is missing")
    value = sect[key]
    if kind == "str":
        if not isinstance(value, str) or not value:
            raise InputError(f"{where} must be a non-empty string, got {value!r}")
    elif kind == "int":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise InputError(f"{where} must be a non-negative integer, got {value!r}")
    elif kind == "float":
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise InputError(f"{where} must be a positive number of seconds, got {value!r}")
        value = float(value)
    elif kind == "strlist":
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise InputError(f"{where} must be a non-empty list of strings, got {value!r}")
        value = tuple(value)
    return value


def parse_target_file(path: Path) -> Target:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"target file {path} does not exist") from None
    except OSError as exc:
        raise InputError(f"target file {path} cannot be read: {exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    values = {attr: _field(data, path, s, k, kind) for s, k, kind, attr in _SCHEMA}
    for s, k, kind, attr, default in _OPTIONAL:
        present = isinstance(data.get(s), dict) and k in data[s]
        values[attr] = _field(data, path, s, k, kind) if present else default
    timeouts = Timeouts(**{k: _field(data, path, "timeouts", k, "float") for k in _TIMEOUT_KEYS})
    if values["nic_model"] not in _SUPPORTED_NICS:
        raise InputError(
            f"{path}: field 'nic.model' is {values['nic_model']!r}; supported: {', '.join(_SUPPORTED_NICS)}"
        )
    if values["name"] != path.stem:
        raise InputError(f"{path}: field 'board.name' is {values['name']!r} but the file is named {path.name}")
    if not (values["ram_base"] + values["ram_size"] <= values["config_block"]):
        raise InputError(f"{path}: field 'memory.config_block' overlaps the firmware RAM region")
    if bool(values["ca_block"]) != bool(values["ca_block_size"]):
        raise InputError(f"{path}: fields 'memory.ca_block' and 'memory.ca_block_size' go together")
    if values["ca_block_size"]:
        if values["ram_base"] + values["ram_size"] > values["ca_block"]:
            raise InputError(f"{path}: field 'memory.ca_block' overlaps the firmware RAM region "
                             "(shrink memory.ram_size)")
        if values["ca_block"] + values["ca_block_size"] > values["config_block"]:
            raise InputError(f"{path}: field 'memory.ca_block' overlaps the config block")
    return Target(path=path, timeouts=timeouts, **values)


def list_targets() -> list[str]:
    return sorted(p.stem for p in TARGETS_DIR.glob("*.toml"))


def load_target(name_or_path: str | os.PathLike) -> Target:
    """Load a board by name (``mps2-an385``) or by path to a target file."""
    text = str(name_or_path)
    if text.endswith(".toml") or os.sep in text:
        return parse_target_file(Path(text))
    path = TARGETS_DIR / f"{text}.toml"
    if not path.exists():
        known = ", ".join(list_targets()) or "none"
        raise InputError(f"unknown board {text!r}: no {path.name} in {TARGETS_DIR} (known boards: {known})")
    return parse_target_file(path)
