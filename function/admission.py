"""What the API server would say to `kubectl apply` of a claim or composite, before any function runs.

`function-tau render` answers "what happens if I kubectl apply this". The API
server answers first: it decodes the document strictly (kubectl's default
`--validate=strict` makes unknown fields an error), checks the object's name,
and validates it against the structural schema of the XRD, CEL rules included.
This module does the same with the XRD that `function-tau generate` writes, so
a claim that `kubectl apply` would refuse is refused by `render` too, with the
API server's kind of message, every problem at once.

The messages follow the API server's (k8s.io/apiextensions-apiserver
`pkg/apiserver/validation` and apimachinery `util/validation/field`): the field
path, then `Required value`, `Unsupported value: ...: supported values: ...` or
`Invalid value: ...: <why>`. CEL rules are not evaluated by a CEL engine here:
every rule this project generates has a Python twin in `CEL_TWINS`, and a test
checks each twin against a real CEL evaluation and the real API server. A rule
without a twin is reported, never skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

# The Python twin of every CEL rule the generated XRDs carry, keyed by the rule's text.
_CRON_FIELDS = 6
CEL_TWINS: dict[str, Callable[[Any], bool]] = {
    "has(self.backupName) != has(self.dump)": lambda value: ("backupName" in value) != ("dump" in value),
    "self.startsWith('@') || self.split(' ').filter(f, f != '').size() == 6": (
        lambda value: value.startswith("@") or len([f for f in value.split(" ") if f != ""]) == _CRON_FIELDS
    ),
}

# metadata.name of a custom resource: a DNS-1123 subdomain (apimachinery validation.IsDNS1123Subdomain).
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_SUBDOMAIN_MAX = 253
_JSON_TYPES = {"string": str, "boolean": bool, "object": dict, "array": list}


def _show(value: Any) -> str:
    """A value as the API server prints it in a message (Go's %#v of JSON values)."""
    return json.dumps(value) if isinstance(value, str | bool | int | float) or value is None else _type_name(value)


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return {str: "string", dict: "object", list: "array"}.get(type(value), type(value).__name__)


def _type_ok(value: Any, schema: dict) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
    expected = schema.get("type")
    if expected is None:
        return True
    if expected == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _JSON_TYPES[expected])


def _invalid(path: str, shown: str, why: str) -> str:
    """The API server's `Invalid value` line."""
    return f"{path}: Invalid value: {shown}: {why}"


def _number_bounds(path: str, value: float, schema: dict) -> Iterator[str]:
    if "minimum" in schema and value < schema["minimum"]:
        yield _invalid(path, _show(value), f"{path} in body should be greater than or equal to {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        yield _invalid(path, _show(value), f"{path} in body should be less than or equal to {schema['maximum']}")


def _string_bounds(path: str, value: str, schema: dict) -> Iterator[str]:
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        yield f"{path}: Too long: may not be more than {schema['maxLength']} bytes"
    if "minLength" in schema and len(value) < schema["minLength"]:
        yield _invalid(path, _show(value), f"{path} in body should be at least {schema['minLength']} chars long")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        yield _invalid(path, _show(value), f"{path} in body should match '{schema['pattern']}'")


def _list_bounds(path: str, value: list, schema: dict) -> Iterator[str]:
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        yield f"{path}: Too many: {len(value)}: must have at most {schema['maxItems']} items"
    if "minItems" in schema and len(value) < schema["minItems"]:
        yield _invalid(path, str(len(value)), f"{path} in body should have at least {schema['minItems']} items")


def _bounds(path: str, value: Any, schema: dict) -> Iterator[str]:
    """minimum/maximum, lengths, item counts and pattern, as the API server words them."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        yield from _number_bounds(path, value, schema)
    elif isinstance(value, str):
        yield from _string_bounds(path, value, schema)
    elif isinstance(value, list):
        yield from _list_bounds(path, value, schema)


def _rules(path: str, value: Any, schema: dict) -> Iterator[str]:
    """The CEL rules (x-kubernetes-validations), each through its Python twin."""
    for rule in schema.get("x-kubernetes-validations") or []:
        twin = CEL_TWINS.get(rule["rule"])
        if twin is None:
            yield f"{path}: Internal error: no check known for the rule {rule['rule']!r}"
        elif not twin(value):
            shown = _show(value) if isinstance(value, str | bool | int | float) else f'"{_type_name(value)}"'
            yield f"{path}: Invalid value: {shown}: {rule.get('message') or 'failed rule: ' + rule['rule']}"


def _walk(path: str, value: Any, schema: dict, unknown: list[str]) -> Iterator[str]:
    """Every schema error under `path`; unknown fields are collected apart, as strict decoding reports them."""
    if value is None:
        if not schema.get("nullable"):
            yield _invalid(path, '"null"', f'{path} in body must be of type {schema.get("type", "object")}: "null"')
        return
    if not _type_ok(value, schema):
        expected = "integer-or-string" if schema.get("x-kubernetes-int-or-string") else schema["type"]
        shown = f'"{_type_name(value)}"'
        yield _invalid(path, shown, f"{path} in body must be of type {expected}: {shown}")
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_show(v) for v in schema["enum"])
        yield f"{path}: Unsupported value: {_show(value)}: supported values: {supported}"
        return
    yield from _bounds(path, value, schema)
    if isinstance(value, dict):
        yield from _walk_object(path, value, schema, unknown)
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _walk(f"{path}[{index}]", item, schema["items"], unknown)
    yield from _rules(path, value, schema)


def _walk_object(path: str, value: dict, schema: dict, unknown: list[str]) -> Iterator[str]:
    properties = schema.get("properties") or {}
    for name in schema.get("required") or []:
        if name not in value:
            yield f"{path}.{name}: Required value"
    extra = schema.get("additionalProperties")
    for name, item in value.items():
        child = f"{path}.{name}"
        if name in properties:
            yield from _walk(child, item, properties[name], unknown)
        elif isinstance(extra, dict):
            yield from _walk(child, item, extra, unknown)
        elif not (extra is True or schema.get("x-kubernetes-preserve-unknown-fields")):
            unknown.append(child)


def _version_schema(xrd: dict, api_version: str) -> dict | None:
    group = xrd["spec"]["group"]
    for version in xrd["spec"]["versions"]:
        if f"{group}/{version['name']}" == api_version and version.get("served", True):
            return version["schema"]["openAPIV3Schema"]
    return None


def _name_errors(metadata: Any) -> list[str]:
    if not isinstance(metadata, dict):
        return [f'metadata: Invalid value: "{_type_name(metadata)}": metadata in body must be of type object']
    name = metadata.get("name")
    if not name and not metadata.get("generateName"):
        return ["metadata.name: Required value: name or generateName is required"]
    if isinstance(name, str) and (len(name) > _DNS1123_SUBDOMAIN_MAX or not _DNS1123_SUBDOMAIN.match(name)):
        return [
            f"metadata.name: Invalid value: {_show(name)}: a lowercase RFC 1123 subdomain must consist of lower case "
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ]
    return []


def admit(document: dict, xrd: dict) -> list[str]:
    """Every reason the API server would refuse `document` (a claim or composite of `xrd`); empty if admitted.

    Unknown fields come first, worded as strict decoding words them, then the
    name and the schema errors: all of them, not the first only.
    """
    kind = document.get("kind")
    schema = _version_schema(xrd, document.get("apiVersion", ""))
    if schema is None:
        return [f'no matches for kind "{kind}" in version "{document.get("apiVersion")}"']
    unknown: list[str] = []
    errors = _name_errors(document.get("metadata"))
    body = {k: v for k, v in document.items() if k not in ("apiVersion", "kind", "metadata")}
    top = {k: v for k, v in schema.items() if k != "required"}
    top["properties"] = {
        k: v for k, v in (schema.get("properties") or {}).items() if k not in ("apiVersion", "kind", "metadata")
    }
    for field, value in body.items():
        sub = top["properties"].get(field)
        if sub is None:
            unknown.append(f".{field}")
            continue
        errors.extend(_walk(field, value, sub, unknown))
    for name in schema.get("required") or []:
        if name not in document and name not in ("apiVersion", "kind", "metadata"):
            errors.append(f"{name}: Required value")
    strict = [f'unknown field "{path.lstrip(".")}"' for path in unknown]
    return strict + errors


def refusal(document: dict, problems: list[str], source: str) -> str:
    """The problems as `kubectl apply -f source` shows them: one line per problem, under one heading."""
    kind = document.get("kind", "object")
    name = (document.get("metadata") or {}).get("name", "") if isinstance(document.get("metadata"), dict) else ""
    namespace = (
        (document.get("metadata") or {}).get("namespace") if isinstance(document.get("metadata"), dict) else None
    )
    where = f"{kind} {namespace + '/' if namespace else ''}{name}".strip()
    lines = [f"{source}: the API server would refuse {where}: {len(problems)} problem(s):"]
    lines.extend(f"  - {problem}{_hint(problem)}" for problem in problems)
    return "\n".join(lines)


def _hint(problem: str) -> str:
    """What to do, where the API server's words alone leave a person guessing."""
    if re.search(r'must be of type string: "(integer|number|boolean)"$', problem):
        return " (quote it: YAML reads 200, 1.5 or on as a number or boolean, '200' as a string)"
    return ""
