import pytest

from harness.secmsg import DecodeError, SecurityMessage, decode, vectors
from harness.secmsg.decode import INTERNAL_ERROR_PREFIX


@pytest.fixture(scope="session")
def canonical_buffers():
    return {name: vectors.build(spec) for name, spec in vectors.CANONICAL.items()}


def decode_or_error(buf):
    """Decode; return the message or the DecodeError. Anything else fails the test,
    and so does a DecodeError that reports a bug in the decoder itself."""
    try:
        msg = decode(buf)
    except DecodeError as exc:
        assert not str(exc).startswith(INTERNAL_ERROR_PREFIX), str(exc)
        assert str(exc), "DecodeError without a message"
        return exc
    assert isinstance(msg, SecurityMessage)
    return msg
