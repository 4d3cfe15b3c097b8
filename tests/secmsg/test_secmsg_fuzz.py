"""Property tests: random and mutated buffers decode to a message or a DecodeError, fast."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.secmsg import DecodeError, render_html, render_text, vectors

from .conftest import decode_or_error

BUFFERS = {name: vectors.build(spec) for name, spec in vectors.CANONICAL.items()}
FUZZ = settings(deadline=250, max_examples=1000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def _check(buf):
    result = decode_or_error(buf)
    if not isinstance(result, DecodeError):
        json.dumps(result.to_dict())
        render_text(result)
        render_html(result)
    return result


@FUZZ
@given(st.binary(max_size=700))
def test_random_bytes(buf):
    _check(buf)


@FUZZ
@given(st.integers(min_value=0, max_value=2**32 - 1), st.binary(max_size=300))
def test_random_bytes_behind_plausible_root(root, tail):
    _check((root % 64).to_bytes(4, "little") + tail)


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(BUFFERS)))
    buf = bytearray(BUFFERS[name])
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["set", "word", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(buf) - 1, 0)))
        if kind == "set" and buf:
            buf[pos] = draw(st.integers(0, 255))
        elif kind == "word" and len(buf) >= 4:
            pos = min(pos - pos % 4, len(buf) - 4)
            buf[pos:pos + 4] = draw(st.sampled_from(
                [0, 1, 4, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFC, len(buf),
                 draw(st.integers(0, 2**32 - 1))])).to_bytes(4, "little")
        elif kind == "insert":
            buf[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete" and buf:
            del buf[pos:pos + draw(st.integers(1, 8))]
        elif kind == "truncate":
            del buf[pos:]
    return bytes(buf)


@FUZZ
@given(mutated())
def test_mutated_valid_buffers(buf):
    _check(buf)
