"""The Testbed library: keyword groups plus a listener that stops what each
test started (keeping artifacts when it failed) and marks infrastructure
failures so they are reported apart from test failures."""

from __future__ import annotations

import functools

from robot.api import logger

from ..errors import InfrastructureError
from . import context
from .backend import BackendKeywords
from .devices import DeviceKeywords
from .faults import FaultKeywords
from .hubfidelity import HubKeywords
from .labs import LabKeywords
from .replay import ReplayKeywords
from .secmod import SecmodKeywords
from .traffic import TrafficKeywords

INFRA_TAG = "infrastructure-error"


def _prune_empty(path) -> None:
    """Remove a passing test's artifacts dir (and its suite dir) once nothing is left in it."""
    for p in (path, path.parent):
        try:
            p.rmdir()
        except OSError:
            return
INFRA_PREFIX = "INFRASTRUCTURE ERROR: "


class InfrastructureFailure(RuntimeError):
    ROBOT_CONTINUE_ON_FAILURE = False


class _Listener:
    ROBOT_LISTENER_API_VERSION = 3

    def __init__(self, lib: "Testbed"):
        self.lib = lib

    def start_test(self, data, result):
        self.lib._in_test = True
        self.lib._test_devices = []
        self.lib._test_labs = []
        self.lib._infra_error = None

    def end_test(self, data, result):
        failed = not result.passed
        self.lib._end_test_resources(failed)
        self.lib._in_test = False
        if self.lib._infra_error is not None and failed:
            result.tags.add(INFRA_TAG)

    def end_suite(self, data, result):
        self.lib._end_suite_resources(not result.passed)


class Testbed(DeviceKeywords, LabKeywords, SecmodKeywords, TrafficKeywords, BackendKeywords, ReplayKeywords,
              HubKeywords, FaultKeywords):
    """Keywords to boot devices in QEMU, talk to their console, and (as the
    testbed grows) run labs, the hub, the back end and traffic."""

    ROBOT_LIBRARY_SCOPE = "SUITE"
    ROBOT_AUTO_KEYWORDS = False
    ROBOT_LIBRARY_DOC_FORMAT = "reST"

    def __init__(self):
        DeviceKeywords.__init__(self)
        LabKeywords.__init__(self)
        BackendKeywords.__init__(self)
        self._infra_error = None
        self.ROBOT_LIBRARY_LISTENER = _Listener(self)

    def _end_test_resources(self, failed: bool) -> None:
        self._stop_devices(list(self._test_devices), failed)
        self._test_devices = []
        self._stop_labs(list(self._test_labs), failed)
        self._test_labs = []
        if not failed:
            _prune_empty(context.artifacts_dir())

    def _end_suite_resources(self, failed: bool) -> None:
        self._stop_devices(list(self.devices), failed)
        self._stop_labs(list(self.labs), failed)

    def __getattribute__(self, name):
        attr = object.__getattribute__(self, name)
        if name.startswith("_") or not callable(attr) or not hasattr(attr, "robot_name"):
            return attr

        @functools.wraps(attr)
        def keyword_call(*args, **kwargs):
            try:
                return attr(*args, **kwargs)
            except InfrastructureError as exc:
                object.__setattr__(self, "_infra_error", exc)
                logger.error(f"{INFRA_PREFIX}{exc}")
                raise InfrastructureFailure(f"{INFRA_PREFIX}{exc}") from exc

        return keyword_call
