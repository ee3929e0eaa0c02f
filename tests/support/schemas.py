"""Validate manifests against their upstream schemas, unknown fields rejected.

Custom resources are checked against the upstream CRDs in .tools/crds (from
their Go modules, pinned by sha256 in tests/support/upstream.py, never copied here), Kubernetes' own kinds against the
OpenAPI schemas shipped in kubernetes-validate. The CRDs' CEL rules are not
checked here; the real Crossplane CLI checks them (tests/test_crossplane_cli.py).
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import referencing
import yaml

from tests.support.paths import APIS, APIS_V2, CRDS, REPO

KUBERNETES_VERSION = "1.33"
BUILTIN_GROUPS = {
    "v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1", "networking.k8s.io/v1", "policy/v1",
    "apiextensions.k8s.io/v1", "storage.k8s.io/v1",
}  # fmt: skip


class SchemaError(AssertionError):
    """A manifest does not validate against its schema."""


def _strict(schema: Any) -> Any:
    """A CRD schema as JSON Schema that refuses unknown fields, as the API server prunes them."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("nullable"):
        out.pop("nullable", None)
        if "type" in out:
            out["type"] = [out["type"], "null"]
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})
    preserve = schema.get("x-kubernetes-preserve-unknown-fields")
    if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def _crd_documents() -> list[dict]:
    docs = []
    for path in sorted(CRDS.rglob("*.yaml")):
        docs.extend(
            d for d in yaml.safe_load_all(path.read_text()) if d and d.get("kind") == "CustomResourceDefinition"
        )
    for path in sorted((REPO / "package" / "input").glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


@functools.cache
def _custom_schemas() -> dict[tuple[str, str], dict]:
    schemas = {}
    for crd in _crd_documents():
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            props = schema.setdefault("properties", {})
            props["apiVersion"] = {"type": "string"}
            props["kind"] = {"type": "string"}
            props["metadata"] = {"type": "object"}
            schemas[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return schemas


@functools.cache
def _xrd_schemas() -> dict[tuple[str, str], dict]:
    schemas = {}
    for path in [*sorted(APIS.rglob("definition.yaml")), *sorted(APIS_V2.rglob("definition.yaml"))]:
        xrd = yaml.safe_load(path.read_text())
        group = xrd["spec"]["group"]
        for version in xrd["spec"]["versions"]:
            schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
            props = schema.setdefault("properties", {})
            props["apiVersion"] = {"type": "string"}
            props["kind"] = {"type": "string"}
            props["metadata"] = {"type": "object"}
            strict = _strict(schema)
            strict["additionalProperties"] = True  # Crossplane adds its own spec fields
            strict["properties"]["spec"]["additionalProperties"] = True
            strict["properties"]["status"]["additionalProperties"] = True  # and its conditions
            for kind in filter(None, (xrd["spec"]["names"]["kind"], (xrd["spec"].get("claimNames") or {}).get("kind"))):
                schemas[(f"{group}/{version['name']}", kind)] = strict
    return schemas


@functools.cache
def _builtin_validator(api_version: str, kind: str) -> jsonschema.Draft202012Validator:
    """Kubernetes' own schema for a kind (strict: unknown fields refused), loaded once.

    The same files and the same validator kubernetes-validate uses; its
    `validate()` reloads them on every call, which is too slow for tables and
    property tests.
    """
    version = kubernetes_validate.utils.major_minor(KUBERNETES_VERSION)
    directory = f"kubernetes-json-schema/v{version}.0-local-strict"
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = kubernetes_validate.utils.schema_contents(
            f"{directory}/{kind.lower()}-{group}.json", KUBERNETES_VERSION
        )
    except FileNotFoundError:
        raise SchemaError(f"no Kubernetes schema for {api_version} {kind}") from None
    definitions = kubernetes_validate.utils.schema_contents(f"{directory}/_definitions.json", KUBERNETES_VERSION)
    registry = referencing.Resource.from_contents(definitions) @ (
        referencing.Resource.from_contents(schema) @ referencing.Registry()
    )
    return jsonschema.Draft202012Validator(schema, registry=registry)


def crd_validator(crd: dict, version: str) -> jsonschema.Draft7Validator:
    """A strict validator of one version of a CRD not among the pinned ones (metadata: any object)."""
    (served,) = [v for v in crd["spec"]["versions"] if v["name"] == version]
    schema = served["schema"]["openAPIV3Schema"]
    return jsonschema.Draft7Validator(
        _strict({**schema, "properties": {**schema["properties"], "metadata": {"type": "object"}}})
    )


def has_schema(manifest: dict) -> bool:
    """Whether a schema is known for this manifest's kind."""
    key = (manifest.get("apiVersion"), manifest.get("kind"))
    return key in _custom_schemas() or key in _xrd_schemas() or manifest.get("apiVersion") in BUILTIN_GROUPS


def validate(manifest: dict) -> None:
    """Raise SchemaError unless `manifest` is valid for its kind (and its kind is known)."""
    key = (manifest.get("apiVersion"), manifest.get("kind"))
    name = f"{key[1]} {(manifest.get('metadata') or {}).get('name', '')}".strip()
    schema = _custom_schemas().get(key) or _xrd_schemas().get(key)
    if schema is not None:
        errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
        if errors:
            raise SchemaError(
                f"{name} ({key[0]}): "
                + "; ".join(f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:10])
            )
        return
    if key[0] in BUILTIN_GROUPS:
        errors = sorted(_builtin_validator(*key).iter_errors(manifest), key=lambda e: list(e.path))
        if errors:
            raise SchemaError(
                f"{name} ({key[0]}): " + "; ".join(f"{e.message} at {'.'.join(map(str, e.path))}" for e in errors[:10])
            )
        return
    raise SchemaError(f"no schema known for {key[0]} {key[1]}")


def validate_composed(body: dict) -> None:
    """Validate a composed resource and, for an Object, the manifest inside it."""
    validate(body)
    manifest = ((body.get("spec") or {}).get("forProvider") or {}).get("manifest")
    if body.get("kind") == "Object" and isinstance(manifest, dict):
        validate(manifest)
