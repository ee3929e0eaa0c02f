"""Read-only access to what Crossplane observed.

The composite, the composed resources and the required (extra) resources.
Protobuf Structs are converted to dicts lazily, because the conversion is the
most expensive thing a reconcile does: a composed resource is converted whole
only when asked for whole (`get`); readiness, the manifest we composed and the
live object are read by walking the Struct to that one field, and only that
field is converted (once per call). Accessors never mutate the request
(reading a missing key of a Struct would insert it).
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Mapping
from typing import Any

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import structs


def dig(obj: Any, *path: str) -> Any:
    """Follow `path` through nested dicts; None as soon as a step is missing."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def as_int(value: object) -> int | None:
    """A count as Kubernetes writes it, or None: protobuf Structs carry every number as a float."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


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


def _string_at(struct: Any, *path: str) -> str | None:
    """The string at `path` in a protobuf Struct, read without converting the Struct (None if absent)."""
    value = structs.lookup(struct, *path)
    return value.string_value if value is not None and value.WhichOneof("kind") == "string_value" else None


Asked = tuple[str | None, str | None, tuple[tuple[str, str], ...]]


def _is(struct: Any, asked: Asked) -> bool:
    """Whether a fetched object is one asked for: its name (or labels), and its namespace for a namespaced one."""
    name, namespace, labels = asked
    if name is not None and _string_at(struct, "metadata", "name") != name:
        return False
    if any(_string_at(struct, "metadata", "labels", key) != value for key, value in labels):
        return False
    return namespace is None or _string_at(struct, "metadata", "namespace") == namespace


class Observed:
    """The observed state of one RunFunctionRequest."""

    def __init__(self, req: fnv1.RunFunctionRequest):
        self._req = req

    @functools.cached_property
    def composite(self) -> dict:
        """The composite resource (XR) as a dict."""
        return structs.to_dict(self._req.observed.composite.resource)

    @functools.cached_property
    def _resources(self) -> dict[str, dict]:
        return {}

    @functools.cached_property
    def _objects(self) -> dict[tuple[str, ...], dict | None]:
        return {}

    def has(self, key: str) -> bool:
        """Whether a composed resource with this key exists."""
        return key in self._req.observed.resources

    def get(self, key: str) -> dict | None:
        """An observed composed resource (an Object or a Release) as a dict."""
        if key not in self._req.observed.resources:
            return None
        if key not in self._resources:
            self._resources[key] = structs.to_dict(self._req.observed.resources[key].resource)
        return self._resources[key]

    def is_ready(self, key: str) -> bool:
        """Whether a composed resource reports Ready=True (its first condition of type Ready)."""
        resources = self._req.observed.resources
        if key not in resources:
            return False
        conditions = structs.lookup(resources[key].resource, "status", "conditions")
        if conditions is None or conditions.WhichOneof("kind") in (None, "null_value"):
            return False
        if conditions.WhichOneof("kind") != "list_value":
            # Not a list: whatever the dict-based reading makes of it, this does too.
            cond = condition(self.get(key), "Ready")
            return cond is not None and cond.get("status") == "True"
        for item in conditions.list_value.values:
            if item.WhichOneof("kind") != "struct_value":
                continue
            typ = structs.lookup(item.struct_value, "type")
            if typ is not None and typ.WhichOneof("kind") == "string_value" and typ.string_value == "Ready":
                status = structs.lookup(item.struct_value, "status")
                return (
                    status is not None and status.WhichOneof("kind") == "string_value" and status.string_value == "True"
                )
        return False

    def sync_failure(self, key: str) -> str | None:
        """Why the provider could not apply a composed resource: its `Synced=False` message, else None."""
        resources = self._req.observed.resources
        value = structs.lookup(resources[key].resource, "status", "conditions") if key in resources else None
        cond = condition({"status": {"conditions": structs.to_python(value)}}, "Synced") if value is not None else None
        if cond is None or cond.get("status") != "False":
            return None
        for field in ("message", "reason"):
            text = cond.get(field)
            if isinstance(text, str) and text.strip():
                return text
        return "not synced"

    def _object(self, key: str, *path: str) -> dict | None:
        """The object at `path` in a composed resource, converted alone and once; None if absent or not an object."""
        cache_key = (key, *path)
        if cache_key not in self._objects:
            resources = self._req.observed.resources
            value = structs.lookup(resources[key].resource, *path) if key in resources else None
            self._objects[cache_key] = (
                structs.to_dict(value.struct_value)
                if value is not None and value.WhichOneof("kind") == "struct_value"
                else None
            )
        return self._objects[cache_key]

    def manifest(self, key: str) -> dict | None:
        """What we asked provider-kubernetes to apply (`spec.forProvider.manifest`)."""
        return self._object(key, "spec", "forProvider", "manifest")

    def live(self, key: str) -> dict | None:
        """The object as provider-kubernetes last saw it (`status.atProvider.manifest`)."""
        return self._object(key, "status", "atProvider", "manifest")

    def has_live(self, key: str) -> bool:
        """Whether provider-kubernetes has reported the live object (`live(key) is not None`, without converting it)."""
        resources = self._req.observed.resources
        live = structs.lookup(resources[key].resource, "status", "atProvider", "manifest") if key in resources else None
        return live is not None and live.WhichOneof("kind") == "struct_value"

    def live_at(self, key: str, *path: str) -> Any:
        """`dig(self.live(key), *path)`, converting only the value at `path`.

        The live object is as large as what was composed (a Deployment's whole
        pod template); a caller that wants one field of its status should not
        pay for converting all of it.
        """
        if not path:
            return self.live(key)
        if not self.has_live(key):
            return None
        live = self._req.observed.resources[key].resource.fields["status"].struct_value.fields["atProvider"]
        value = structs.lookup(live.struct_value.fields["manifest"].struct_value, *path)
        return None if value is None else structs.to_python(value)

    @functools.cached_property
    def _asked(self) -> dict[str, Asked]:
        return {}

    def ask(
        self, name: str, match_name: str | None, namespace: str | None, labels: Mapping[str, str] | None = None
    ) -> None:
        """Note which object the function asks Crossplane for under `name` (`required` reads only that one).

        `Composer.require` does it for every requirement; code that reads an
        answer before the composer asks (planning) notes the same object first.
        A list (`match_name` None) keeps only objects with every one of `labels`.
        """
        kept = tuple(sorted((labels or {}).items())) if match_name is None else ()
        self._asked[name] = (match_name, namespace, kept)

    def required(self, name: str) -> list[dict] | None:
        """The object asked for under `name` (`ask`), as a list of none or one; None while not looked up yet.

        Crossplane 2.x answers by name in `required_resources` (and answers
        `extra_resources` too); 1.20 answers only `extra_resources`, where the
        function asks by labels and 1.20 lists across every namespace
        (`Requirement`). Whatever the answer holds, only the object of the asked
        namespace and name is returned: another namespace's is never read.

        Raises:
            LookupError: `name` was not asked for (`ask`) in this call.
        """
        if name not in self._asked:
            raise LookupError(f"required resource {name} read before it was asked for")
        asked = self._asked[name]
        for field in (self._req.required_resources, self._req.extra_resources):
            if name in field:
                return [structs.to_dict(item.resource) for item in field[name].items if _is(item.resource, asked)]
        return None

    def answered_by_1_20(self, name: str) -> bool:
        """Whether Crossplane answered `name` as only 1.20 does: in `extra_resources` alone (2.x answers both)."""
        return name in self._req.extra_resources and name not in self._req.required_resources
