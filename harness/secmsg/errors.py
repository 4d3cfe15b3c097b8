"""Errors raised by the security-message decoder and its tooling."""

from harness.errors import InfrastructureError, InputError


class DecodeError(InputError):
    """A payload is not a valid security message; the message says what is wrong and where."""


class LegacyJsonPreview(DecodeError):
    """The payload is the pre-NetX Duo 6.1 JSON preview format, not a FlatBuffers message.

    ``agent_version``, ``agent_id``, ``schema_version`` and ``event_count`` hold what the
    JSON carried (None when absent), so a report can name the firmware generation.
    """

    def __init__(self, message, *, agent_version=None, agent_id=None,
                 schema_version=None, event_count=None):
        super().__init__(message)
        self.agent_version = agent_version
        self.agent_id = agent_id
        self.schema_version = schema_version
        self.event_count = event_count


class SpecError(InputError):
    """A test-vector description (spec dict or text form) is malformed; names the field."""


class SchemaCompileError(InfrastructureError):
    """The FlatBuffers Python code could not be generated (flatc missing or failing)."""
