"""Error taxonomy shared by every part of the harness.

Two kinds of failure must never be confused in a report:
- InfrastructureError: the testbed itself could not do its job (QEMU would not
  start, the broker or a namespace could not be set up, a port was taken).
  Robot marks these tests with the tag ``infrastructure-error`` and the runner
  exits with a distinct code.
- everything else that fails a test is a test failure (the device misbehaved).

InputError is for bad user input (wrong board name, missing or corrupt image,
malformed file): it names the file/field and what is wrong.
"""


class HarnessError(Exception):
    """Base of all harness errors."""


class InputError(HarnessError):
    """Bad input given to the harness (file, name, value); names what is wrong."""


class InfrastructureError(HarnessError):
    """The testbed could not provide what the test needs (not a device failure)."""


class DeviceFailure(HarnessError, AssertionError):
    """The device under test did something a test treats as failure (e.g. a fault banner)."""


class WaitTimeout(HarnessError, AssertionError):
    """A wait for console output or a hub message ran out of time."""
