"""Check a firmware image before QEMU sees it: exists, is a little-endian
32-bit ARM ELF, loads inside the board's memory, and has a vector table.
Provenance (size, SHA-256) comes from here too."""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from .errors import InputError
from .targets import Target

_EM_ARM = "EM_ARM"


@dataclass(frozen=True)
class ImageInfo:
    path: Path
    size: int
    sha256: str
    entry: int
    initial_sp: int
    reset_vector: int
    has_symbols: bool

    def to_dict(self) -> dict:
        return {"path": str(self.path), "size": self.size, "sha256": self.sha256, "entry": hex(self.entry),
                "initial_sp": hex(self.initial_sp), "reset_vector": hex(self.reset_vector),
                "has_symbols": self.has_symbols}


def check_image(path, target: Target) -> ImageInfo:
    path = Path(path)
    if not path.exists():
        raise InputError(f"firmware image {path} does not exist")
    if not path.is_file():
        raise InputError(f"firmware image {path} is not a regular file")
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        raise InputError(f"firmware image {path} is not an ELF file (first bytes {data[:4]!r}); "
                         "give the .elf the build produced")
    try:
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            machine = elf["e_machine"]
            if elf.elfclass != 32 or machine != _EM_ARM:
                raise InputError(f"firmware image {path} is an ELF for {machine} ({elf.elfclass}-bit), "
                                 f"not for 32-bit ARM: board {target.name} has a {target.qemu_cpu}")
            if not elf.little_endian:
                raise InputError(f"firmware image {path} is big-endian; {target.name} is little-endian")
            segments = [s for s in elf.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_filesz"] > 0]
            if not segments:
                raise InputError(f"firmware image {path} has no loadable segments")
            vectors = None
            for seg in segments:
                addr, size = seg["p_paddr"], seg["p_memsz"]
                if not target.contains_code_or_ram(addr, size):
                    raise InputError(
                        f"firmware image {path}: segment at 0x{addr:08x} (+0x{size:x}) lies outside "
                        f"{target.name}'s memory (code 0x{target.code_base:08x}+0x{target.code_size:x}, "
                        f"RAM 0x{target.ram_base:08x})")
                if addr <= target.code_base < addr + seg["p_filesz"]:
                    off = target.code_base - addr
                    vectors = seg.data()[off:off + 8]
            if vectors is None or len(vectors) < 8:
                raise InputError(f"firmware image {path} has no vector table at 0x{target.code_base:08x} "
                                 "(the Cortex-M boot address)")
            sp, reset = struct.unpack("<II", vectors)
            if not reset & 1 or not target.contains_code_or_ram(reset & ~1, 2):
                raise InputError(f"firmware image {path}: reset vector 0x{reset:08x} is not a Thumb address "
                                 f"inside {target.name}'s memory")
            has_symbols = elf.get_section_by_name(".symtab") is not None
            entry = elf["e_entry"]
    except ELFError as exc:
        raise InputError(f"firmware image {path} is a corrupt ELF: {exc}") from None
    except (struct.error, ValueError, IndexError) as exc:
        raise InputError(f"firmware image {path} is a corrupt ELF: {exc}") from None
    return ImageInfo(path=path.resolve(), size=len(data), sha256=hashlib.sha256(data).hexdigest(), entry=entry,
                     initial_sp=sp, reset_vector=reset, has_symbols=has_symbols)
