"""Read-only access to what Crossplane observed.

That is the composite, the composed resources and the required (extra) resources.

Protobuf Structs are converted to dicts lazily, once per resource, because the
conversion is the most expensive thing a reconcile does and most calls only
need a few resources. Accessors never mutate the request (reading a missing
key of a Struct would insert it).
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any

from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import struct_pb2


def _value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return {k: _value(v) for k, v in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_value(v) for v in value.list_value.values]
    if kind == "number_value":
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None


def struct_to_dict(struct: struct_pb2.Struct) -> dict:
    """A Struct as plain Python data.

    Unlike `json_format.MessageToDict` (what the SDK uses), it accepts every
    number a Struct can hold, infinity and NaN included, so a hostile value
    becomes a validation error that names its field instead of a crash.
    """
    return {k: _value(v) for k, v in struct.fields.items()}


def dig(obj: Any, *path: str) -> Any:
    """Follow `path` through nested dicts; None as soon as a step is missing."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def condition(obj: dict | None, typ: str) -> dict | None:
    """The condition of type `typ` in `obj.status.conditions`, or None."""
    for cond in dig(obj, "status", "conditions") or ():
        if isinstance(cond, dict) and cond.get("type") == typ:
            return cond
    return None


def decode_secret_value(data: Any, key: str) -> str | None:
    """A Secret `data` value as text, or None when absent or not valid base64 UTF-8."""
    if not isinstance(data, dict) or not isinstance(data.get(key), str):
        return None
    try:
        return base64.b64decode(data[key], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


class Observed:
    """The observed state of one RunFunctionRequest."""

    def __init__(self, req: fnv1.RunFunctionRequest):
        self._req = req

    @functools.cached_property
    def composite(self) -> dict:
        """The composite resource (XR) as a dict."""
        return struct_to_dict(self._req.observed.composite.resource)

    @functools.cached_property
    def _resources(self) -> dict[str, dict]:
        return {}

    def has(self, key: str) -> bool:
        """Whether a composed resource with this key exists."""
        return key in self._req.observed.resources

    def keys(self) -> list[str]:
        """Keys of every observed composed resource."""
        return sorted(self._req.observed.resources.keys())

    def get(self, key: str) -> dict | None:
        """An observed composed resource (an Object or a Release) as a dict."""
        if key not in self._req.observed.resources:
            return None
        if key not in self._resources:
            self._resources[key] = struct_to_dict(self._req.observed.resources[key].resource)
        return self._resources[key]

    def is_ready(self, key: str) -> bool:
        """Whether a composed resource reports Ready=True."""
        cond = condition(self.get(key), "Ready")
        return cond is not None and cond.get("status") == "True"

    def manifest(self, key: str) -> dict | None:
        """What we asked provider-kubernetes to apply (`spec.forProvider.manifest`)."""
        value = dig(self.get(key), "spec", "forProvider", "manifest")
        return value if isinstance(value, dict) else None

    def live(self, key: str) -> dict | None:
        """The object as provider-kubernetes last saw it (`status.atProvider.manifest`)."""
        value = dig(self.get(key), "status", "atProvider", "manifest")
        return value if isinstance(value, dict) else None

    def required(self, name: str) -> list[dict] | None:
        """A required (extra) resource set; None while Crossplane has not resolved it yet.

        Crossplane 2.x answers in `required_resources`, 1.20 in `extra_resources`;
        both are read.
        """
        for field in (self._req.required_resources, self._req.extra_resources):
            if name in field:
                return [struct_to_dict(item.resource) for item in field[name].items]
        return None
