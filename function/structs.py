"""Protobuf Structs to plain Python data and back, fast and exactly as the SDK does.

Crossplane sends every resource as a `google.protobuf.Struct` and takes every
desired resource back as one; converting between Structs and dicts was most of
what a steady-state call cost (the profile in docs/PERFORMANCE.md). Two things
make it cheaper here:

- Reading: one type dispatch per value, in a loop rather than a call per value,
  and `lookup` walks a Struct to the one field a caller needs (a Ready
  condition, an Object's manifest) so the rest is never converted.
- Writing: values are set straight into a fresh message by their Python type,
  instead of through `Struct.update`'s chain of isinstance checks, clears and
  map look-ups.

Both give exactly what the SDK's own path gives. Anything that is not plain
JSON data (a subclass of str, int or dict, a Struct inside a dict, a key that
is not a string, a number a double cannot hold) is handed to `Struct.update`,
so it succeeds or fails exactly as it did before; tests/test_function_structs.py checks
both directions against `Struct.update` and `json_format` for every kind of
JSON value, edge numbers included.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

_STRUCT = "struct_value"
_LIST = "list_value"
_STRING = "string_value"
_NUMBER = "number_value"
_BOOL = "bool_value"


def _list(values: Any) -> list:
    out = []
    append = out.append
    for value in values:
        kind = value.WhichOneof("kind")
        if kind == _STRING:
            append(value.string_value)
        elif kind == _STRUCT:
            append(to_dict(value.struct_value))
        elif kind == _LIST:
            append(_list(value.list_value.values))
        elif kind == _NUMBER:
            append(value.number_value)
        elif kind == _BOOL:
            append(value.bool_value)
        else:  # null_value, or a Value with nothing set
            append(None)
    return out


def to_dict(struct: struct_pb2.Struct) -> dict:
    """A Struct as plain Python data: numbers as floats, null (or unset) as None.

    Unlike `json_format.MessageToDict` (what the SDK uses), it accepts every
    number a Struct can hold, infinity and NaN included, so a hostile value
    becomes a validation error that names its field instead of a crash.
    """
    out = {}
    for key, value in struct.fields.items():
        kind = value.WhichOneof("kind")
        if kind == _STRING:
            out[key] = value.string_value
        elif kind == _STRUCT:
            out[key] = to_dict(value.struct_value)
        elif kind == _LIST:
            out[key] = _list(value.list_value.values)
        elif kind == _NUMBER:
            out[key] = value.number_value
        elif kind == _BOOL:
            out[key] = value.bool_value
        else:
            out[key] = None
    return out


def to_python(value: struct_pb2.Value) -> Any:
    """One Value as plain Python data (see `to_dict`)."""
    return _list((value,))[0]


def lookup(struct: struct_pb2.Struct, *path: str) -> struct_pb2.Value | None:
    """The Value at `path` through nested Structs, or None as soon as a step is missing or not an object.

    It never inserts anything: indexing a Struct's map with a missing key
    would add the key to the request.
    """
    value = None
    for key in path:
        if value is not None:
            if value.WhichOneof("kind") != _STRUCT:
                return None
            struct = value.struct_value
        fields = struct.fields
        if key not in fields:
            return None
        value = fields[key]
    return value


class _NotPlain(Exception):  # noqa: N818 - a signal, not an error
    """A value the fast path leaves to the SDK."""


def _set(message: struct_pb2.Value, value: Any) -> None:
    """Set `value` into a fresh (empty) Value message.

    Strings, the most common leaves, are set inline by the loops below rather
    than through a call each.
    """
    kind = type(value)
    if kind is str:
        message.string_value = value
    elif kind is dict:
        _set_struct(message.struct_value, value)
    elif value is None:
        message.null_value = struct_pb2.NULL_VALUE
    elif kind is bool:
        message.bool_value = value
    elif kind is list or kind is tuple:
        _set_list(message.list_value, value)
    elif kind is float or kind is int:
        message.number_value = value
    else:
        raise _NotPlain


def _set_struct(struct: struct_pb2.Struct, value: dict) -> None:
    if not value:
        struct.SetInParent()
    fields = struct.fields
    for key, item in value.items():
        if type(key) is not str:
            raise _NotPlain
        if type(item) is str:
            fields[key].string_value = item
        else:
            _set(fields[key], item)


def _set_list(list_value: struct_pb2.ListValue, value: list | tuple) -> None:
    if not value:
        list_value.SetInParent()
    add = list_value.values.add
    for item in value:
        if type(item) is str:
            add().string_value = item
        else:
            _set(add(), item)


def update(struct: struct_pb2.Struct, data: dict) -> None:
    """`struct.update(data)`, faster: each top-level key of `data` replaces the one in `struct`."""
    fields = struct.fields
    try:
        for key, value in data.items():
            if type(key) is not str:
                raise _NotPlain
            if key in fields:
                fields[key].Clear()
            _set(fields[key], value)
    except Exception:  # anything unusual is redone (or refused) by the SDK, exactly as before
        # Every top-level key written so far is written again, whole, by the
        # SDK (it clears each value it sets), so no partial value survives.
        struct.update(data)
