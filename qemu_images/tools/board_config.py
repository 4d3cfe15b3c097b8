#!/usr/bin/env python3
"""Turn a target file into what the firmware build needs: board.h, memory.ld, cflags.

Usage: board_config.py BOARD OUTDIR   (BOARD is a name in targets/ or a path)
The firmware never hard-codes a board fact; it includes the generated board.h.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from harness.targets import load_target  # noqa: E402


def main() -> int:
    board, outdir = sys.argv[1], Path(sys.argv[2])
    t = load_target(board)
    outdir.mkdir(parents=True, exist_ok=True)
    header = f"""/* Generated from {t.path.name} by qemu_images/tools/board_config.py: do not edit. */
#ifndef BOARD_H
#define BOARD_H
#define BOARD_NAME "{t.name}"
#define BOARD_CPU "{t.qemu_cpu}"
#define BOARD_CLOCK_HZ {t.clock_hz}u
#define BOARD_UART0_BASE 0x{t.uart0_base:08X}u
#define BOARD_UART0_RX_IRQ {t.uart0_rx_irq}
#define BOARD_UART0_TX_IRQ {t.uart0_tx_irq}
#define BOARD_NIC_BASE 0x{t.nic_base:08X}u
#define BOARD_NIC_IRQ {t.nic_irq}
#define BOARD_CONFIG_BLOCK 0x{t.config_block:08X}u
#define BOARD_CONFIG_BLOCK_SIZE 0x{t.config_block_size:X}u
#define BOARD_CA_BLOCK 0x{t.ca_block:08X}u
#define BOARD_CA_BLOCK_SIZE 0x{t.ca_block_size:X}u
#endif
"""
    memory = f"""/* Generated from {t.path.name}: do not edit. */
MEMORY
{{
  CODE (rwx) : ORIGIN = 0x{t.code_base:08X}, LENGTH = 0x{t.code_size:X}
  RAM (rwx)  : ORIGIN = 0x{t.ram_base:08X}, LENGTH = 0x{t.ram_size:X}
}}
"""
    _write(outdir / "board.h", header)
    _write(outdir / "memory.ld", memory)
    _write(outdir / "cflags", " ".join(t.gcc_flags) + "\n")
    return 0


def _write(path: Path, text: str) -> None:
    # keep mtimes stable when nothing changed, so make does not rebuild
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
