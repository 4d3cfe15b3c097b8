"""Timeouts that survive load (as Zephyr's twister does): when QEMU waited for a CPU for a real
share of a wait, the wait is extended by that much once, and the extension is logged."""

from __future__ import annotations

from typing import Callable

from .errors import WaitTimeout

STARVED_SHARE = 0.2


def wait_with_slack(wait: Callable[[float], object], timeout: float, starvation: Callable[[], float] | None,
                    log: Callable[[str], None], what: str):
    """``wait(t)`` raises WaitTimeout after t seconds; ``starvation()`` is QEMU's cumulative CPU wait."""
    before = starvation() if starvation else 0.0
    try:
        return wait(timeout)
    except WaitTimeout:
        if starvation is None:
            raise
        starved = starvation() - before
        if starved <= STARVED_SHARE * timeout:
            raise
        extension = min(starved, timeout)
        log(f"QEMU was starved of CPU for {starved:.2f} s during a {timeout:.1f} s wait for {what}; "
            f"extending the wait by {extension:.2f} s")
        return wait(extension)
