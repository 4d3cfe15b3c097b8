"""Bounded retries of flaky infrastructure steps, visible in the log.

A lab or a device that could not be set up (a port taken, a namespace race,
QEMU failing to start under load) is retried up to HARNESS_INFRA_RETRIES times
(default 1); each retry is logged as a warning with the error. A device or
test failure is never retried.
"""

from __future__ import annotations

import os

from robot.api import logger

from ..errors import InfrastructureError


def infra_retries() -> int:
    try:
        return max(0, int(os.environ.get("HARNESS_INFRA_RETRIES", "1")))
    except ValueError:
        return 1


def with_infra_retries(what: str, attempt, undo):
    """Run ``attempt()``; on InfrastructureError run ``undo()`` and try again (bounded)."""
    tries = infra_retries() + 1
    for n in range(1, tries + 1):
        try:
            return attempt()
        except InfrastructureError as exc:
            undo()
            if n == tries:
                raise
            logger.warn(f"infrastructure error while {what} (attempt {n} of {tries}), retrying: {exc}")
