"""Where a keyword runs: Robot's output dir, suite and test, and the artifacts dir per test."""

from __future__ import annotations

import os
import re
from pathlib import Path

from robot.libraries.BuiltIn import BuiltIn, RobotNotRunningError


def _var(name: str, default=None):
    try:
        return BuiltIn().get_variable_value(name, default)
    except RobotNotRunningError:
        return default


def safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:80] or "x"


def output_dir() -> Path:
    return Path(_var("${OUTPUT DIR}", os.getcwd()))


def log_root() -> Path:
    """Directory of the final (merged) log: ${LOG_ROOT} under the runner, else the output dir."""
    return Path(_var("${LOG_ROOT}", None) or output_dir())


def artifacts_dir(*parts: str) -> Path:
    """Per-test artifacts: ${ARTIFACTS_ROOT} (shared by all pabot workers) or <output dir>/artifacts."""
    root = Path(_var("${ARTIFACTS_ROOT}", None) or output_dir() / "artifacts")
    suite = _var("${SUITE NAME}", "suite")
    test = _var("${TEST NAME}", None) or "suite-setup"
    return root / safe_name(suite) / safe_name(test) / Path(*map(safe_name, parts))


def worker_index() -> int:
    """pabot worker index (0 when not under pabot): derive names and ids from it."""
    value = _var("${PABOTQUEUEINDEX}", None) or os.environ.get("PABOTQUEUEINDEX")
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def variable(name: str, default=None):
    return _var(name, default)


def link(path: Path, label: str) -> str:
    """An HTML link to an artifact, relative to the log file."""
    try:
        rel = os.path.relpath(path, log_root())
    except ValueError:
        rel = str(path)
    return f'<a href="{rel}">{label}</a>'
