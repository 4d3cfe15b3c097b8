"""Make a HardFault banner useful: pull out PC/LR and resolve them to
function and source line with addr2line when the ELF has symbols."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ADDR2LINE = shutil.which("arm-none-eabi-addr2line") or "arm-none-eabi-addr2line"
_REG = re.compile(r"\b(PC|LR|CFSR|HFSR|MMFAR|BFAR|SP|xPSR|EXC_RETURN)=0x([0-9a-fA-F]{8})")


def parse_fault(lines: list[str]) -> dict[str, int]:
    regs: dict[str, int] = {}
    for line in lines:
        for name, value in _REG.findall(line):
            regs.setdefault(name, int(value, 16))
    return regs


def resolve(elf: Path, addr: int) -> str | None:
    """'function at file:line' for an address, or None when unknown."""
    try:
        out = subprocess.run([ADDR2LINE, "-f", "-C", "-e", str(elf), hex(addr & ~1)],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.strip().splitlines()
    if len(parts) < 2 or parts[0] == "??" or parts[1].startswith("??"):
        return None
    return f"{parts[0]} at {parts[1]}"


def describe_fault(lines: list[str], elf: Path | None) -> str:
    regs = parse_fault(lines)
    if "PC" not in regs:
        return ""
    text = f"fault at PC=0x{regs['PC']:08x}"
    if elf is not None:
        where = resolve(elf, regs["PC"])
        if where:
            text += f" in {where}"
        if "LR" in regs:
            caller = resolve(elf, regs["LR"])
            if caller:
                text += f" (called from {caller})"
    return text
