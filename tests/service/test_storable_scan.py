"""The byte scan that lets a body skip the walk over its values (bodies.surely_storable)
never passes a body the walk would refuse."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobledger.domain import errors
from jobledger.application import bodies

SMALL = bodies.Limits(depth=3, string=40, array=30)  # small enough for generated bodies to break


class Token(str):
    """A number written as is (json.dumps cannot write 1e400)."""


NUMBERS = st.sampled_from(["1e400", "-2E+999", "1e-400", "9" * 19, "-9223372036854775809", "1e99", "123.5e12"])
SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=50) | NUMBERS.map(Token)
)
VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=35) | st.dictionaries(st.text(max_size=45), inner, max_size=35),
    max_leaves=60,
)


def encode(value) -> str:
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(map(encode, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def walk_refuses(body, limits: bodies.Limits) -> bool:
    try:
        bodies._check_storable(body, limits)
    except errors.InvalidCommand:
        return True
    return False


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(VALUES)
def test_a_body_the_scan_passes_is_one_the_walk_passes(value):
    raw = ('{"result":' + encode(value) + "}").encode()
    body = bodies.CompleteBody.model_validate_json(raw)
    assert not (bodies.surely_storable(raw, SMALL) and walk_refuses(body, SMALL))


@pytest.mark.parametrize(
    "result",
    ['"a\\u0000b"', "12345678901234567890", "1e400", '{"k\\u0000": 1}', '"' + "x" * 41 + '"', "[[[[1]]]]",
     "[" + ",".join("1" * 31) + "]", "NaN", "-Infinity"],
)
def test_each_kind_of_unstorable_value_is_walked_and_refused(result):
    raw = ('{"result":' + result + "}").encode()
    assert not bodies.surely_storable(raw, SMALL)
    with pytest.raises(errors.InvalidCommand):
        bodies.parse_body(bodies.CompleteBody, raw, SMALL)


def test_an_ordinary_body_is_not_walked():
    raw = b'{"percent":50,"message":"half way","details":{"n":1},"lease_token":"abc"}'
    assert bodies.surely_storable(raw, bodies.DEFAULT_LIMITS)
