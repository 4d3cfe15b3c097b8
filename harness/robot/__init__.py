"""Robot Framework keyword library of the testbed: ``Library    harness.robot.Testbed``."""

from .library import Testbed

__all__ = ["Testbed"]
