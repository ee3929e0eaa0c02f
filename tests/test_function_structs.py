"""function.structs gives exactly what the SDK's own conversions give, for every JSON value.

Writing is compared with `Struct.update` (what the SDK and function-tau used
before) byte for byte, failures included; reading with `json_format` (the
SDK's `resource.struct_to_dict`) wherever json_format can read at all, and
with the value written wherever it cannot (infinity, NaN).
"""

from __future__ import annotations

import enum
import json
import math

import pytest
from google.protobuf import json_format, struct_pb2
from hypothesis import given, settings
from hypothesis import strategies as st

from function import structs

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()  # unbounded: some are too large for a double, and must fail alike
    | st.integers(-(2**63), 2**63)
    | st.floats()  # NaN and the infinities included
    | st.text()  # surrogates included: UTF-8 cannot encode them, and both paths must refuse them alike
)
KEYS = st.text(max_size=12)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=40,
)
OBJECTS = st.dictionaries(KEYS, JSON, max_size=6)

EDGE_NUMBERS = [
    0, -0.0, 1, -1, 2**53, 2**53 + 1, 2**63, -(2**63) - 1, 10**308, 2**1023 * 2 - 1, 10**400, -(10**400),
    1.5, 1e-320, 5e-324, 1.7976931348623157e308, float("inf"), float("-inf"), float("nan"),
]  # fmt: skip


def _outcome(action) -> tuple[str, object]:
    try:
        return "ok", action()
    except Exception as exc:  # the kind of failure is what is compared
        return "raised", type(exc)


def _written(data: dict, start: dict | None = None, *, fast: bool = True):
    struct = struct_pb2.Struct()
    if start:
        struct.update(start)

    def write():
        if fast:
            structs.update(struct, data)
        else:
            struct.update(data)
        return struct.SerializeToString(deterministic=True)

    return _outcome(write), struct.SerializeToString(deterministic=True)


def _same(a: object, b: object) -> bool:
    """Equal, and of the same JSON type (True is not 1, 1.0 is 1)."""
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return (math.isnan(a) and math.isnan(b)) or float(a) == float(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@settings(max_examples=400, deadline=None)
@given(OBJECTS)
def test_writing_gives_what_struct_update_gives(data):
    assert _written(data) == _written(data, fast=False)


@settings(max_examples=200, deadline=None)
@given(OBJECTS, OBJECTS)
def test_writing_over_an_existing_struct_replaces_each_top_level_key_like_struct_update(start, data):
    assert _written(data, start) == _written(data, start, fast=False)


@pytest.mark.parametrize("number", EDGE_NUMBERS, ids=repr)
def test_edge_numbers_are_written_like_struct_update(number):
    data = {"n": number, "list": [number], "nested": {"n": number}}
    assert _written(data) == _written(data, fast=False)


class Color(enum.IntEnum):
    RED = 1


class Name(str):
    pass


@pytest.mark.parametrize(
    "data",
    [
        {"enum": Color.RED},  # an int subclass: the SDK's path takes it
        {"name": Name("x"), "nested": {"k": Name("y")}},
        {Name("key"): "value"},
        {"set": {1, 2}},  # not JSON: both refuse it
        {1: "a number as a key"},
        {"nested": {"ok": "yes", "bad": object()}},
        {"surrogate": "\ud800"},
        {"struct": struct_pb2.Struct()},
        {"tuple": (1, "two", None)},
        {"empty": {}, "none": [], "deep": {"a": {"b": {}}}},
    ],
    ids=repr,
)
def test_values_that_are_not_plain_json_are_left_to_the_sdk(data):
    assert _written(data) == _written(data, fast=False)


@settings(max_examples=400, deadline=None)
@given(OBJECTS)
def test_reading_gives_what_json_format_gives(data):
    struct = struct_pb2.Struct()
    try:
        struct.update(data)
    except Exception:  # not representable: nothing to read
        return
    converted = structs.to_dict(struct)
    try:
        expected = json_format.MessageToDict(struct, preserving_proto_field_name=True)
    except ValueError:
        expected = None  # infinity or NaN, which json_format refuses and structs reads as floats
    if expected is not None:
        assert _same(converted, expected)
    # Either way, what was written is read back (numbers as floats).
    assert _same(converted, json.loads(json.dumps(data))) or _has_nan_or_inf(data)


def _has_nan_or_inf(value: object) -> bool:
    if isinstance(value, float):
        return math.isnan(value) or math.isinf(value)
    if isinstance(value, dict):
        return any(_has_nan_or_inf(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_nan_or_inf(v) for v in value)
    return False


@pytest.mark.parametrize("number", [float("inf"), float("-inf"), float("nan"), 1e308, -0.0, 2.0**53 + 2])
def test_reading_keeps_every_number_a_struct_can_hold(number):
    struct = struct_pb2.Struct()
    struct.update({"n": number, "l": [number]})
    converted = structs.to_dict(struct)
    assert _same(converted, {"n": number, "l": [number]})
    assert math.copysign(1, converted["n"]) == math.copysign(1, number)


def test_an_unset_value_reads_as_none_like_null():
    struct = struct_pb2.Struct()
    struct.fields["unset"].SetInParent()
    struct.fields["null"].null_value = struct_pb2.NULL_VALUE
    struct.fields["list"].list_value.values.add()
    assert structs.to_dict(struct) == {"unset": None, "null": None, "list": [None]}
    assert structs.to_python(struct.fields["unset"]) is None


LOOKUPS = [
    (("a", "b", "c"), 1.0),
    (("a", "b"), {"c": 1.0}),
    (("a", "missing"), None),
    (("a", "b", "c", "d"), None),  # through a number
    (("text", "x"), None),  # through a string
    (("list", "0"), None),  # lists are not walked
    (("missing",), None),
    ((), None),
]


@pytest.mark.parametrize(("path", "want"), LOOKUPS, ids=[".".join(p) or "empty" for p, _ in LOOKUPS])
def test_lookup_walks_objects_only_and_never_inserts(path, want):
    struct = struct_pb2.Struct()
    struct.update({"a": {"b": {"c": 1}}, "text": "x", "list": [{"0": 1}]})
    before = struct.SerializeToString(deterministic=True)
    found = structs.lookup(struct, *path)
    assert (None if found is None else structs.to_python(found)) == want
    assert struct.SerializeToString(deterministic=True) == before
