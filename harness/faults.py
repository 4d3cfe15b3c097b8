"""Make a HardFault banner useful: pull out the registers (PC, LR, the stacked
frame, the fault status and address registers), decode CFSR/HFSR, and resolve
PC and LR to function and source line with addr2line when the ELF has symbols.

The reference firmware's banner (qemu_images/src/fault.c)::

    *** HARDFAULT ***
    PC=0x... LR=0x... xPSR=0x...
    R0=0x... R1=0x... R2=0x... R3=0x... R12=0x...
    CFSR=0x... HFSR=0x... MMFAR=0x... BFAR=0x...
    EXC_RETURN=0x... SP=0x... ICSR=0x...
    *** END HARDFAULT ***

PC, LR, xPSR and R0-R3, R12 are the frame the core stacked on exception entry
(PC: the faulting instruction; LR: the faulting function's return address).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ADDR2LINE = shutil.which("arm-none-eabi-addr2line") or "arm-none-eabi-addr2line"
REGISTERS = ("PC", "LR", "xPSR", "R0", "R1", "R2", "R3", "R12", "CFSR", "HFSR", "MMFAR", "BFAR", "EXC_RETURN",
             "SP", "ICSR")
_REG = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(REGISTERS) + r")=0x([0-9a-fA-F]{8})")
STACKED_FRAME = ("R0", "R1", "R2", "R3", "R12", "LR", "PC", "xPSR")

_CFSR_BITS = {0: "IACCVIOL", 1: "DACCVIOL", 3: "MUNSTKERR", 4: "MSTKERR", 5: "MLSPERR", 7: "MMARVALID",
              8: "IBUSERR", 9: "PRECISERR", 10: "IMPRECISERR", 11: "UNSTKERR", 12: "STKERR", 13: "LSPERR",
              15: "BFARVALID", 16: "UNDEFINSTR", 17: "INVSTATE", 18: "INVPC", 19: "NOCP", 24: "UNALIGNED",
              25: "DIVBYZERO"}
_HFSR_BITS = {1: "VECTTBL", 30: "FORCED", 31: "DEBUGEVT"}


def parse_fault(lines: list[str]) -> dict[str, int]:
    """Registers of the first fault banner in ``lines`` (name -> value)."""
    regs: dict[str, int] = {}
    for line in lines:
        for name, value in _REG.findall(line):
            regs.setdefault(name, int(value, 16))
    return regs


def decode_bits(value: int, names: dict[int, str]) -> list[str]:
    return [name for bit, name in sorted(names.items()) if value >> bit & 1]


def locate(elf: Path, addr: int) -> dict | None:
    """{function, file, line} of an address (addr2line), or None when unknown."""
    try:
        out = subprocess.run([ADDR2LINE, "-f", "-C", "-e", str(elf), hex(addr & ~1)],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.strip().splitlines()
    if len(parts) < 2 or parts[0] == "??" or parts[1].startswith("??"):
        return None
    where = parts[1].split(" (discriminator")[0]
    file, _, line = where.rpartition(":")
    return {"function": parts[0], "file": file, "line": int(line) if line.isdigit() else None,
            "text": f"{parts[0]} at {where}"}


def resolve(elf: Path, addr: int) -> str | None:
    """'function at file:line' for an address, or None when unknown."""
    loc = locate(elf, addr)
    return loc["text"] if loc else None


def fault_info(lines: list[str], elf: Path | None) -> dict | None:
    """Everything about the first fault banner in ``lines``: registers, decoded status
    registers and (with an ELF that has symbols) where PC and LR are. None: no banner."""
    regs = parse_fault(lines)
    if "PC" not in regs:
        return None
    info = {"registers": regs, "pc": regs["PC"],
            "cfsr_bits": decode_bits(regs.get("CFSR", 0), _CFSR_BITS),
            "hfsr_bits": decode_bits(regs.get("HFSR", 0), _HFSR_BITS),
            "pc_location": None, "lr_location": None}
    if elf is not None:
        info["pc_location"] = locate(elf, regs["PC"])
        if "LR" in regs and regs["LR"] < 0xFFFFFFE0:  # not an EXC_RETURN value
            # LR is the return address: the call is the instruction before it (as gdb's backtrace shows)
            info["lr_location"] = locate(elf, max((regs["LR"] & ~1) - 2, 0))
    return info


def describe_fault(lines: list[str], elf: Path | None) -> str:
    info = fault_info(lines, elf)
    if info is None:
        return ""
    regs = info["registers"]
    text = f"fault at PC=0x{regs['PC']:08x}"
    if info["pc_location"]:
        text += f" in {info['pc_location']['text']}"
    if info["lr_location"]:
        text += f" (called from {info['lr_location']['text']})"
    status = []
    for name, bits in (("CFSR", info["cfsr_bits"]), ("HFSR", info["hfsr_bits"])):
        if name in regs:
            status.append(f"{name}=0x{regs[name]:08x}" + (f" {'|'.join(bits)}" if bits else ""))
    for name, valid in (("MMFAR", "MMARVALID"), ("BFAR", "BFARVALID")):
        if name in regs and valid in info["cfsr_bits"]:
            status.append(f"{name}=0x{regs[name]:08x}")
    if status:
        text += "; " + ", ".join(status)
    frame = [f"{r}=0x{regs[r]:08x}" for r in STACKED_FRAME if r in regs]
    if frame:
        text += "; stacked frame " + " ".join(frame)
    return text
