"""OpenAPI v3 structural schemas generated from the pydantic models.

Kubernetes wants a structural schema: every node typed, no `$ref`, no
`anyOf` except for int-or-string, no `null` type. pydantic emits JSON Schema;
this module folds one into the other, so the XRDs and the input CRD are
generated from the models and never kept by hand in two places.
"""

from __future__ import annotations

import copy
from typing import Any

import pydantic

_DROP = frozenset({"title", "$defs", "discriminator"})
_SCALARS = (bool, int, float, str)


def _resolve(node: dict, defs: dict) -> dict:
    """Inline a `$ref`, keeping sibling keywords (a field's description)."""
    if "$ref" not in node:
        return node
    target = copy.deepcopy(defs[node["$ref"].rsplit("/", 1)[-1]])
    extra = {k: v for k, v in node.items() if k != "$ref"}
    target.update(extra)
    return target


def _strip_null(node: dict) -> dict:
    """`X | None` is `anyOf: [X, {type: null}]` in JSON Schema; Kubernetes wants just X."""
    options = node.get("anyOf")
    if not options:
        return node
    kept = [o for o in options if o.get("type") != "null"]
    if len(kept) == len(options):
        return node
    rest = {k: v for k, v in node.items() if k != "anyOf"}
    if len(kept) == 1:
        merged = dict(kept[0])
        merged.update(rest)
        return merged
    return {**rest, "anyOf": kept}


def _keyword(key: str, value: Any, defs: dict) -> tuple[str, Any] | None:
    """One JSON Schema keyword as a structural schema keeps it (None: dropped)."""
    # Only plain scalars are worth showing as defaults; None means "the
    # platform decides", which the description says instead.
    if key in _DROP or (key == "default" and not isinstance(value, _SCALARS)):
        return None
    if key == "const":
        return "enum", [value]
    if key == "properties":
        value = {name: _convert(prop, defs) for name, prop in value.items()}
    elif key == "items" or (key == "additionalProperties" and isinstance(value, dict)):
        value = _convert(value, defs)
    elif key == "anyOf":
        value = [_convert(option, defs) for option in value]
    return key, value


def _convert(node: dict, defs: dict) -> dict:
    node = _strip_null(_resolve(node, defs))
    node = _resolve(node, defs)
    out: dict[str, Any] = {}
    for key, value in node.items():
        kept = _keyword(key, value, defs)
        if kept is not None:
            out[kept[0]] = kept[1]
    if "properties" in out or "additionalProperties" in out:
        out.setdefault("type", "object")
    if "enum" in out and "type" not in out:
        sample = out["enum"][0]
        out["type"] = "boolean" if isinstance(sample, bool) else "integer" if isinstance(sample, int) else "string"
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
    return out


def openapi_schema(model: type[pydantic.BaseModel], description: str | None = None) -> dict:
    """The structural OpenAPI v3 schema of `model`."""
    raw = model.model_json_schema(mode="validation", by_alias=True)
    defs = raw.get("$defs", {})
    schema = _convert(raw, defs)
    schema["type"] = "object"
    if description:
        schema["description"] = description
    return schema
