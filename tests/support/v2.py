"""The Crossplane 2 shape in the tests: its examples (examples/v2/), claims as
v2 composites, and what both shapes share.

A v2 example is `examples/v2/<name>/xr.yaml`; it uses the platform input and
the required resources of the claim example of the same name
(`examples/<name>/`), whose composite it mirrors (a composite among those
resources, the XPostgresInstance an instanceRef names, as the v2 composite).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import pathlib

import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import kinds
from function.api import definitions
from tests.support import function as f
from tests.support import install
from tests.support.examples import Example
from tests.support.paths import APIS_V2, EXAMPLES

V2_EXAMPLES = EXAMPLES / "v2"
V2_INSTALL = V2_EXAMPLES / "install"
# Crossplane's fields directly under a claim's (or a legacy composite's) spec.
CLAIM_MACHINERY = (
    "claimRef", "compositionRef", "compositionSelector", "compositionRevisionRef", "compositionRevisionSelector",
    "compositionUpdatePolicy", "compositeDeletePolicy", "resourceRef", "resourceRefs", "writeConnectionSecretToRef",
)  # fmt: skip


def kind_of(doc: dict) -> kinds.Kind:
    """The kind of a claim, claim-shape composite or v2 composite document."""
    found = kinds.of_composite(doc.get("apiVersion"), doc.get("kind")) or kinds.of_document(doc.get("kind"))
    assert found is not None, doc.get("kind")
    return found[0]


def as_v2(doc: dict) -> dict:
    """The Crossplane 2 composite a claim (or claim-shape composite) document would be.

    Same name, namespace and spec, group m.tau.home.arpa; a namespaced kind
    has no `spec.namespace` (its XRD leaves the field out).
    """
    kind = kind_of(doc)
    definition = kind.definition
    metadata = doc.get("metadata") or {}
    labels = metadata.get("labels") or {}
    name = labels.get("crossplane.io/claim-name") or metadata["name"]
    spec = copy.deepcopy(doc.get("spec") or {})
    for field in CLAIM_MACHINERY:  # a v2 composite has them under spec.crossplane, or not at all
        spec.pop(field, None)
    out_metadata = {"name": name}
    if definition.v2_scope == "Namespaced":
        out_metadata["namespace"] = (
            labels.get("crossplane.io/claim-namespace") or metadata.get("namespace") or "default"
        )
        spec.pop("namespace", None)
    out = {"apiVersion": definitions.V2_API_VERSION, "kind": definition.v2_kind, "metadata": out_metadata,
           "spec": spec}  # fmt: skip
    if "status" in doc:  # a composite Crossplane holds (a required PostgresInstance): what it reports stays
        out["status"] = copy.deepcopy(doc["status"])
    return out


def required_as_v2(docs: list[dict] | tuple[dict, ...]) -> list[dict]:
    """A claim example's required resources as the v2 shape finds them.

    A composite of function-tau's among them (the XPostgresInstance a database's
    instanceRef names) is, in the v2 shape, the v2 composite of the same name in
    the claim's namespace (`as_v2`, status kept); anything else is the same object.
    """
    return [as_v2(d) if is_claim_composite(d) else d for d in docs]


def is_claim_composite(doc: dict) -> bool:
    """Whether `doc` is a composite of function-tau's claim-shape group (XPostgresInstance, ...)."""
    return doc.get("apiVersion") == definitions.API_VERSION and kinds.by_composite_kind(doc.get("kind")) is not None


@dataclasses.dataclass(frozen=True)
class V2Example:
    """One v2 example: examples/v2/<name>/xr.yaml, with the claim example of the same name."""

    name: str
    directory: pathlib.Path

    @property
    def xr(self) -> dict:
        """The v2 composite."""
        (doc,) = [d for d in yaml.safe_load_all((self.directory / "xr.yaml").read_text()) if d]
        return doc

    @property
    def claim_example(self) -> Example:
        """The claim example it mirrors (its platform input and required resources serve both)."""
        return Example(self.name, EXAMPLES / self.name)

    @property
    def required(self) -> list[dict]:
        """Resources the function may ask for: the claim example's, composites among them as v2 composites."""
        return required_as_v2(self.claim_example.required)

    @property
    def function_input(self) -> dict | None:
        """The platform input the example needs, if not the Composition's defaults."""
        return self.claim_example.function_input

    @property
    def definition(self) -> definitions.CompositeDefinition:
        """The composite type of the example."""
        return kind_of(self.xr).definition

    @property
    def namespace(self) -> str | None:
        """The composite's namespace (None for a cluster-scoped one)."""
        return self.xr["metadata"].get("namespace")

    def composition(self) -> dict:
        """The v2 Composition as shipped, with the example's input when it has one."""
        composition = yaml.safe_load((APIS_V2 / self.definition.directory / "composition.yaml").read_text())
        if self.function_input is not None:
            composition = copy.deepcopy(composition)
            composition["spec"]["pipeline"][0]["input"] = self.function_input
        return composition


def v2_examples() -> list[V2Example]:
    """Every v2 example."""
    return [V2Example(p.parent.name, p.parent) for p in sorted(V2_EXAMPLES.glob("*/xr.yaml"))]


def inner(body: dict) -> dict:
    """What both shapes share: the manifest inside an Object, a Release's forProvider (and its name)."""
    if body.get("kind") == "Object":
        return body["spec"]["forProvider"]["manifest"]
    return {"name": (body.get("metadata") or {}).get("name"), "forProvider": body["spec"]["forProvider"]}


def home_namespace(xr: dict) -> str:
    """Where a v2 composite's managed resources live: its namespace, or (cluster-scoped) its spec's."""
    namespace = (xr.get("metadata") or {}).get("namespace")
    if namespace:
        return namespace
    return kind_of(xr).definition.spec.model_validate(xr.get("spec") or {}).namespace  # type: ignore[attr-defined]


def desired(rsp: fnv1.RunFunctionResponse) -> dict[str, dict]:
    """Desired composed resources by key, numbers as Kubernetes writes them."""
    return f.desired(rsp)


@dataclasses.dataclass(frozen=True)
class Trace:
    """What the function composed and asked for in the v2 shape, over every install code path."""

    composed: tuple[dict, ...]
    requirements: tuple[fnv1.ResourceSelector, ...]
    extra_requirements: tuple[fnv1.ResourceSelector, ...]

    @property
    def inside_objects(self) -> list[dict]:
        """The manifests provider-kubernetes applies."""
        return [c["spec"]["forProvider"]["manifest"] for c in self.composed if c["kind"] == "Object"]


@functools.cache
def trace() -> Trace:
    """Every install code path (tests/support/install.py), as a v2 composite, to steady state."""
    return Trace(*install.run_paths(as_v2, required_as_v2))
