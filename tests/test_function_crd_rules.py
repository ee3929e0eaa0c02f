"""Every generated CRD schema passes the API server's static schema checks (issue #12).

The input CRD once set `default` on its top-level apiVersion and kind, which
the API server refuses (`must not be set in top-level apiVersion`); Crossplane
1.20 then kept the FunctionRevision unhealthy, and neither the CLI nor schema
validation noticed. These are the rules of k8s.io/apiextensions-apiserver
v0.34.2 that a generator can break, checked on the Function package's CRD and
on every XRD's schema (Crossplane puts it at the root of the CRD it makes):

- pkg/apis/apiextensions/validation/validation.go,
  ValidateCustomResourceDefinitionOpenAPISchema: no default anywhere in the
  top-level apiVersion, kind or metadata (`withForbiddenDefaults("in
  top-level <field>")`); specStandardValidatorV3.validate: no id,
  additionalItems, patternProperties, definitions, dependencies, $ref, type
  null, items as an array; additionalProperties and properties exclusive.
- pkg/apiserver/schema/validation.go, validateStructuralInvariants and
  validateStructuralMetadataInvariants: a top-level apiVersion and kind are
  strings, a top-level metadata is an object that specifies nothing but name
  and generateName.

The control-plane test (tests/controlplane/test_controlplane_input_crd.py)
has the real kube-apiserver accept the input CRD.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest
import yaml

from function.api import definitions

REPO = pathlib.Path(__file__).resolve().parent.parent
META = ("apiVersion", "kind", "metadata")
UNSUPPORTED = ("id", "additionalItems", "patternProperties", "definitions", "dependencies", "$ref")


def _children(schema: dict, path: str) -> Iterator[tuple[dict, str]]:
    for name, child in (schema.get("properties") or {}).items():
        yield child, f"{path}.properties[{name}]"
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield schema[key], f"{path}.{key}"
    for key in ("allOf", "anyOf", "oneOf"):
        for i, child in enumerate(schema.get(key) or ()):
            yield child, f"{path}.{key}[{i}]"


def _walk(schema: dict, path: str) -> Iterator[tuple[dict, str]]:
    yield schema, path
    for child, child_path in _children(schema, path):
        yield from _walk(child, child_path)


def _unsupported(schema: dict, path: str) -> list[str]:
    """specStandardValidatorV3.validate, on every node of the schema."""
    found = []
    for node, where in _walk(schema, path):
        found += [f"{where}.{key}: Forbidden: {key} is not supported" for key in UNSUPPORTED if key in node]
        if node.get("type") == "null":
            found.append(f"{where}.type: Forbidden: type cannot be set to null")
        if isinstance(node.get("items"), list):
            found.append(f"{where}.items: Forbidden: items must be a schema object and not an array")
        if node.get("properties") and isinstance(node.get("additionalProperties"), dict):
            found.append(
                f"{where}.additionalProperties: Forbidden: additionalProperties and properties are mutual exclusive"
            )
    return found


def _top_level(schema: dict, path: str) -> list[str]:
    """The rules for the top-level apiVersion, kind and metadata."""
    found = []
    root = schema.get("properties") or {}
    for field in (f for f in META if f in root):
        for node, where in _walk(root[field], f"{path}.properties[{field}]"):
            if "default" in node:
                found.append(f"{where}.default: Forbidden: must not be set in top-level {field}")
    found += [
        f"{path}.properties[{field}].type: Invalid value: must be string"
        for field in ("apiVersion", "kind")
        if field in root and root[field].get("type") != "string"
    ]
    metadata = root.get("metadata")
    if metadata is not None and metadata.get("type") != "object":
        found.append(f"{path}.properties[metadata].type: Invalid value: must be object")
    if metadata is not None and (
        set(metadata) - {"type", "properties"} or set(metadata.get("properties") or {}) - {"name", "generateName"}
    ):
        found.append(
            f"{path}.properties[metadata]: Forbidden: must not specify anything other than name and generateName"
        )
    return found


def problems(schema: dict, path: str = "openAPIV3Schema") -> list[str]:
    """What the API server refuses in a CRD version's schema, as it words it (empty: accepted)."""
    return _unsupported(schema, path) + _top_level(schema, path)


def _schemas() -> Iterator[tuple[str, dict]]:
    for path in sorted((REPO / "package" / "input").glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            for version in doc["spec"]["versions"]:
                yield f"{path.relative_to(REPO)} {version['name']}", version["schema"]["openAPIV3Schema"]
    for path in sorted([*(REPO / "apis").glob("*/definition.yaml"), *(REPO / "apis-v2").glob("*/definition.yaml")]):
        for doc in yaml.safe_load_all(path.read_text()):
            for version in doc["spec"]["versions"]:
                yield f"{path.relative_to(REPO)} {version['name']}", version["schema"]["openAPIV3Schema"]


SCHEMAS = list(_schemas())


@pytest.mark.parametrize(("where", "schema"), SCHEMAS, ids=[w for w, _ in SCHEMAS])
def test_every_generated_schema_passes_the_api_servers_checks(where, schema):
    assert problems(schema) == [], where


def test_the_input_crd_keeps_its_enums_without_defaults():
    """The enum is allowed at the top level (only a default is forbidden): a wrong apiVersion is still refused."""
    root = definitions.input_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    assert root["apiVersion"] == {"enum": ["fn.tau.home.arpa/v1alpha1"], "type": "string"}
    assert root["kind"] == {"enum": ["PlatformDefaults"], "type": "string"}


def test_the_checks_refuse_what_the_api_server_refused():
    """The input CRD as it was (defaults on apiVersion and kind): the API server's two errors."""
    schema = definitions.input_crd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["apiVersion"]["default"] = "fn.tau.home.arpa/v1alpha1"
    schema["properties"]["kind"]["default"] = "PlatformDefaults"
    assert problems(schema) == [
        "openAPIV3Schema.properties[apiVersion].default: Forbidden: must not be set in top-level apiVersion",
        "openAPIV3Schema.properties[kind].default: Forbidden: must not be set in top-level kind",
    ]
    metadata = {"type": "object", "properties": {"labels": {"type": "object", "default": {}}}}
    assert problems({"type": "object", "properties": {"metadata": metadata}}) == [
        "openAPIV3Schema.properties[metadata].properties[labels].default: Forbidden: must not be set in top-level "
        "metadata",
        "openAPIV3Schema.properties[metadata]: Forbidden: must not specify anything other than name and generateName",
    ]
