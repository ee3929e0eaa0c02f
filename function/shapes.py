"""The two shapes of every API: the claim shape and the Crossplane 2 shape.

- Claims (package function-tau-apis, group tau.home.arpa): XRDs
  `apiextensions.crossplane.io/v1`, LegacyCluster composites behind claims
  (Crossplane 1.20 and 2.x). Their composed resources are the cluster-scoped
  `kubernetes.crossplane.io/v1alpha2` Object and `helm.crossplane.io/v1beta1`
  Release.
- Crossplane 2 (package function-tau-apis-v2, group m.tau.home.arpa): XRDs
  `apiextensions.crossplane.io/v2` without claims, PostgresDatabase and
  TauApplication `scope: Namespaced`, CNPGOperator `scope: Cluster`. Their
  composed resources are the namespaced `kubernetes.m.crossplane.io/v1alpha1`
  Object and `helm.m.crossplane.io/v1beta1` Release: a namespaced composite can
  compose namespaced resources only, in its own namespace (Crossplane forces
  it), and the cluster-scoped managed resources are legacy on 2.x.

The group tells the shapes apart: a composite of group m.tau.home.arpa is a
Crossplane 2 composite (the registry, `function.kinds`, maps each kind to both).
Every kind composes the claim shape; for a Crossplane 2 composite the dispatcher
then re-wraps each composed resource here. What provider-kubernetes applies
(an Object's `spec.forProvider.manifest`) and what provider-helm installs (a
Release's `spec.forProvider`) is left untouched, so both shapes create exactly
the same resources, under the same names: only the wrapping differs.
"""

from __future__ import annotations

import enum

import pydantic

from function import objects
from function.api.definitions import V2_GROUP
from function.errors import Problem, show
from function.inputs import parse_spec
from function.outcome import Outcome

LEGACY_OBJECT = objects.OBJECT_API_VERSION  # kubernetes.crossplane.io/v1alpha2
NAMESPACED_OBJECT = "kubernetes.m.crossplane.io/v1alpha1"
LEGACY_RELEASE = "helm.crossplane.io/v1beta1"
NAMESPACED_RELEASE = "helm.m.crossplane.io/v1beta1"
WRAPPERS = {LEGACY_OBJECT: NAMESPACED_OBJECT, LEGACY_RELEASE: NAMESPACED_RELEASE}

# The namespaced providers' cluster-wide configuration (examples/v2/install/07): one for
# every namespace, so a new namespace needs nothing from the admin. (A namespaced
# ProviderConfig is looked up in the managed resource's own namespace.)
PROVIDER_CONFIG_KIND = "ClusterProviderConfig"

# Namespaced managed resources have no deletionPolicy: what deleting them does is
# their managementPolicies. Without Delete, the resource they manage is left behind
# (crossplane-runtime: "No Delete, the external resource is not deleted when the
# managed resource is deleted").
RETAIN = ("Observe", "Create", "Update", "LateInitialize")
DELETE = ("*",)


class Shape(enum.Enum):
    """How a composite is served: behind a claim, or as a Crossplane 2 composite of either scope."""

    CLAIM = "claim"
    NAMESPACED = "Namespaced"
    CLUSTER = "Cluster"

    @property
    def modern(self) -> bool:
        """A Crossplane 2 composite (XRD v2): no claim, namespaced managed resources."""
        return self is not Shape.CLAIM


def is_modern(api_version: object) -> bool:
    """Whether an apiVersion is of the Crossplane 2 APIs' group."""
    return isinstance(api_version, str) and api_version.partition("/")[0] == V2_GROUP


def management_policies(deletion_policy: object) -> list[str]:
    """The managementPolicies that do what a cluster-scoped resource's `deletionPolicy` does."""
    return list(DELETE if deletion_policy == "Delete" else RETAIN)


def namespaced(body: dict, namespace: str) -> dict:
    """A claim-shape composed resource (Object or Release) as its namespaced twin in `namespace`.

    `forProvider` (the manifest inside an Object, a Release's chart and values),
    the readiness policy, the rollback limit and the name are kept as they are;
    `deletionPolicy` becomes `managementPolicies`, and the provider config
    reference names the ClusterProviderConfig of the same name.
    """
    api_version = WRAPPERS.get(body.get("apiVersion"))  # type: ignore[arg-type]
    if api_version is None:
        raise ValueError(f"{body.get('apiVersion')} {body.get('kind')} has no namespaced twin")
    spec = dict(body.get("spec") or {})
    deletion_policy = spec.pop("deletionPolicy", "Delete")
    reference = spec.pop("providerConfigRef", None) or {}
    spec["managementPolicies"] = management_policies(deletion_policy)
    spec["providerConfigRef"] = {
        "kind": PROVIDER_CONFIG_KIND,
        "name": reference.get("name", objects.DEFAULT_PROVIDER_CONFIG),
    }
    metadata = {**(body.get("metadata") or {}), "namespace": namespace}
    return {"apiVersion": api_version, "kind": body["kind"], "metadata": metadata, "spec": spec}


def namespace_problems(composite: dict) -> list[Problem]:
    """A namespaced composite must say its namespace (the API server guarantees it; a raw caller might not)."""
    metadata = composite.get("metadata")
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    if isinstance(namespace, str) and namespace:
        return []
    return [Problem("metadata.namespace", f"{show(namespace)} is not a namespace; a namespaced composite has one")]


def home_namespace(shape: Shape, composite: dict, spec_model: type[pydantic.BaseModel]) -> str:
    """Where a Crossplane 2 composite's managed resources live.

    A namespaced composite's: its own namespace (Crossplane forces it anyway).
    A cluster-scoped one's (CNPGOperator): the namespace its spec names, the
    operator's, so its Releases sit beside what they install.
    """
    if shape is Shape.NAMESPACED:
        return composite["metadata"]["namespace"]
    return parse_spec(spec_model, composite).namespace  # type: ignore[attr-defined]


def rewrap(outcome: Outcome, namespace: str) -> None:
    """Turn every composed resource of a claim-shape outcome into its namespaced twin, in place."""
    for composed in outcome.resources:
        composed.body = namespaced(composed.body, namespace)
