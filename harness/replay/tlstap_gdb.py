"""Runs inside gdb-multiarch (``-x``), never imported by the harness: the TLS plaintext tap.

A replayed device that used MQTT over TLS has only ciphertext in its frames. This script
sits on the replayed device's gdb stub, breaks at the entry of the TLS library's write
function (``mbedtls_ssl_write(ctx, buf, len)`` by default: r0, r1, r2 under the AAPCS),
copies the plaintext, runs to the caller's return address to read how much was accepted
(r0: bytes written, or a negative error such as WANT_WRITE, after which the caller retries
the same bytes), and appends one JSON line per call. Breakpoints do not change a replay:
the guest executes the same instructions with the same inputs.

Settings come from the environment: TLSTAP_OUT (JSON lines file), TLSTAP_SYMBOL (function),
TLSTAP_ICOUNT (1: add QEMU's replay instruction count to each record, via ``monitor``).
"""

import json
import os
import re

import gdb  # noqa: F401 -- provided by gdb's embedded Python


MAX_WRITE = 1 << 20  # a TLS write is far smaller; beyond this the breakpoint is on the wrong function


def reg(name: str) -> int:
    return int(gdb.parse_and_eval(f"(unsigned int)${name}"))


def signed32(v: int) -> int:
    return v - (1 << 32) if v & 0x80000000 else v


def icount() -> int | None:
    try:
        text = gdb.execute("monitor info replay", to_string=True)
    except gdb.error:
        return None
    m = re.search(r"instruction count = (\d+)", text)
    return int(m.group(1)) if m else None


def resume() -> bool:
    """Continue the guest; False once the remote is gone (QEMU quit at the end of the replay)."""
    try:
        gdb.execute("continue", to_string=True)
        reg("pc")
        return True
    except gdb.error:
        return False


def main() -> None:
    out_path = os.environ["TLSTAP_OUT"]
    symbol = os.environ.get("TLSTAP_SYMBOL", "mbedtls_ssl_write")
    want_icount = os.environ.get("TLSTAP_ICOUNT") == "1"
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    try:
        reg("pc")
    except gdb.error as exc:
        raise SystemExit(f"tlstap: not attached to the device: {exc}")
    # at the first instruction, before the prologue moves the arguments
    entry = gdb.Breakpoint(f"*{symbol}", internal=True)
    entry_pc = int(gdb.parse_and_eval(f"(unsigned int)&{symbol}")) & ~1
    if not entry.is_valid():
        raise SystemExit(f"tlstap: cannot break at {symbol}")
    calls = 0
    with open(out_path, "a", encoding="utf-8") as out:
        out.write(json.dumps({"tap": symbol, "entry": entry_pc}) + "\n")
        out.flush()
        while resume():
            if reg("pc") & ~1 != entry_pc:
                continue
            ctx, buf, length, lr = reg("r0"), reg("r1"), reg("r2"), reg("lr")
            if length > MAX_WRITE:  # not the function we think (wrong symbol): do not read gigabytes
                out.write(json.dumps({"ctx": ctx, "len": length, "ret": None, "icount": None, "data": "",
                                      "error": f"length {length} > {MAX_WRITE}: not a TLS write?"}) + "\n")
                out.flush()
                continue
            data = bytes(gdb.selected_inferior().read_memory(buf, length)) if length else b""
            at = icount() if want_icount else None
            back_pc = lr & ~1
            back = gdb.Breakpoint(f"*{back_pc:#x}", internal=True, temporary=True)
            alive = resume()
            while alive and reg("pc") & ~1 != back_pc:  # the entry again before returning: not expected
                alive = resume()
            if not alive:  # the replay ended inside the call
                out.write(json.dumps({"ctx": ctx, "len": length, "ret": None, "icount": at,
                                      "data": data.hex()}) + "\n")
                break
            if back.is_valid():
                back.delete()
            ret = signed32(reg("r0"))
            accepted = data[:ret] if ret > 0 else b""
            out.write(json.dumps({"ctx": ctx, "len": length, "ret": ret, "icount": at,
                                  "data": accepted.hex()}) + "\n")
            out.flush()
            calls += 1
    print(f"tlstap: {calls} calls of {symbol} recorded to {out_path}")


main()
