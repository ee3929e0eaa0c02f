"""A Crossplane simulator: claim -> composite -> function -> observed, with no cluster.

claim -> composite (the claim's labels, plus crossplane.io/claim-name and
claim-namespace, as Crossplane's claim syncer copies them) -> RunFunctionRequest
-> the real FunctionRunner, called again while its requirements change (as
Crossplane does, at most 5 times). `converge` goes on reconciling, every
composed resource becoming observed and ready in between, until the composite
is steady: the one convergence rule (`settle`) that `render --assume-ready`,
the tests, the benchmark and the soak test all use.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Callable, Iterable, Iterator

from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import fn, kinds, shapes
from function.api import definitions
from function.inputs import CLAIM_NAME_LABEL, CLAIM_NAMESPACE_LABEL
from function.observed import dig
from function.shapes import Shape

MAX_ITERATIONS = 5  # Crossplane's MaxRequirementsIterations
MAX_ROUNDS = 10  # reconciles after the first before `settle` gives up on a steady state
RESOURCE_NAME_ANNOTATION = "crossplane.io/composition-resource-name"

Reconcile = Callable[[list[dict]], fnv1.RunFunctionResponse]


class ClaimError(Exception):
    """A document cannot be simulated (not a claim of ours, no name, requirements that never settle...)."""


def _kind_of(doc: dict) -> tuple[kinds.Kind, bool]:
    kind = doc.get("kind")
    found = kinds.of_document(kind)
    if found is None:
        known = sorted(
            {k.claim_kind or k.composite_kind for k in kinds.KINDS} | {k.composite_kind for k in kinds.KINDS}
        )
        raise ClaimError(f"kind {kind!r} is not one of {', '.join(known)}")
    return found


def composite_name(namespace: str, name: str) -> str:
    """A deterministic stand-in for the random suffix Crossplane gives a claim's composite."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return f"{name}-" + "".join(alphabet[b % len(alphabet)] for b in digest[:5])


def _modern_composite(doc: dict) -> dict:
    """A Crossplane 2 composite, as the API server stores it (a namespaced one in `default` unless it says)."""
    found = kinds.of_composite(doc.get("apiVersion"), doc.get("kind"))
    if found is None:
        known = ", ".join(sorted(k.definition.v2_kind for k in kinds.KINDS))
        raise ClaimError(f"kind {doc.get('kind')!r} is not one of {known} ({definitions.V2_API_VERSION})")
    if doc.get("apiVersion") != definitions.V2_API_VERSION:
        raise ClaimError(f"apiVersion {doc.get('apiVersion')!r} is not {definitions.V2_API_VERSION}")
    metadata = doc.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise ClaimError("metadata.name is required")
    composite = copy.deepcopy(doc)
    if found[1] is Shape.NAMESPACED and not metadata.get("namespace"):
        composite["metadata"]["namespace"] = "default"
    return composite


def to_composite(doc: dict) -> dict:
    """The composite a claim becomes (a composite, of either API, is returned as it is)."""
    if shapes.is_modern(doc.get("apiVersion")):
        return _modern_composite(doc)
    kind, is_claim = _kind_of(doc)
    if doc.get("apiVersion") != definitions.API_VERSION:
        raise ClaimError(f"apiVersion {doc.get('apiVersion')!r} is not {definitions.API_VERSION}")
    metadata = doc.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise ClaimError("metadata.name is required")
    if not is_claim:
        return copy.deepcopy(doc)
    namespace = metadata.get("namespace") or "default"
    labels = dict(metadata.get("labels") or {})
    labels.update({CLAIM_NAME_LABEL: name, CLAIM_NAMESPACE_LABEL: namespace})
    spec = copy.deepcopy(doc.get("spec") or {})
    if isinstance(spec, dict):
        spec["claimRef"] = {
            "apiVersion": definitions.API_VERSION,
            "kind": kind.claim_kind,
            "name": name,
            "namespace": namespace,
        }
    return {
        "apiVersion": definitions.API_VERSION,
        "kind": kind.composite_kind,
        "metadata": {"name": composite_name(namespace, name), "labels": labels},
        "spec": spec,
    }


def matches(doc: dict, selector: fnv1.ResourceSelector) -> bool:
    """Whether `doc` is what `selector` asks for (as Crossplane resolves requirements)."""
    meta = doc.get("metadata") or {}
    if doc.get("apiVersion") != selector.api_version or doc.get("kind") != selector.kind:
        return False
    if selector.HasField("namespace") and meta.get("namespace") != selector.namespace:
        return False
    if selector.match_name:
        return meta.get("name") == selector.match_name
    labels = meta.get("labels") or {}
    return all(labels.get(k) == v for k, v in selector.match_labels.labels.items())


def _resolve(req: fnv1.RunFunctionRequest, requirements: fnv1.Requirements, available: list[dict]) -> None:
    req.ClearField("required_resources")
    req.ClearField("extra_resources")
    for field, selectors in (
        (req.required_resources, requirements.resources),
        (req.extra_resources, requirements.extra_resources),
    ):
        for name, selector in selectors.items():
            entry = field[name]
            for doc in available:
                if matches(doc, selector):
                    entry.items.add().resource.update(doc)


def run(
    composite: dict,
    *,
    observed: Iterable[dict] = (),
    required: Iterable[dict] = (),
    function_input: dict | None = None,
) -> fnv1.RunFunctionResponse:
    """Run the function for a composite the way Crossplane does, requirements included."""
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="render"))
    req.observed.composite.resource.update(composite)
    for doc in observed:
        key = dig(doc, "metadata", "annotations", RESOURCE_NAME_ANNOTATION)
        if not isinstance(key, str):
            raise ClaimError(
                f"observed resource {dig(doc, 'metadata', 'name')!r} has no {RESOURCE_NAME_ANNOTATION} annotation"
            )
        req.observed.resources[key].resource.update(doc)
    if function_input is not None:
        req.input.update(function_input)
    available = list(required)
    runner = fn.FunctionRunner()
    previous: fnv1.Requirements | None = None
    for _ in range(MAX_ITERATIONS + 1):
        rsp = asyncio.run(runner.RunFunction(req, None))
        if fatal(rsp):
            return rsp
        if previous is not None and rsp.requirements == previous:
            return rsp
        previous = rsp.requirements
        _resolve(req, rsp.requirements, available)
    raise ClaimError(f"requirements did not stabilise after {MAX_ITERATIONS} iterations")


# What a healthy resource looks like once it exists, by kind (for --assume-ready).
_HEALTHY_STATUS: dict[str, dict] = {
    "Cluster": {"phase": "Cluster in healthy state", "conditions": [{"type": "Ready", "status": "True"}]},
    "Database": {"applied": True},
    "DatabaseRole": {"applied": True},
    "Deployment": {"conditions": [{"type": "Available", "status": "True"}]},
    "Job": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]},
}


def as_observed(key: str, body: dict) -> dict:
    """A composed resource as Crossplane would observe it once it exists and is ready."""
    observed = copy.deepcopy(body)
    observed.setdefault("metadata", {}).setdefault("annotations", {})[RESOURCE_NAME_ANNOTATION] = key
    status: dict = {"conditions": [{"type": "Ready", "status": "True", "reason": "Available"}]}
    manifest = dig(body, "spec", "forProvider", "manifest")
    if isinstance(manifest, dict):
        live = copy.deepcopy(manifest)
        if manifest.get("kind") == "Cluster":
            instances = dig(manifest, "spec", "instances") or 1
            live["status"] = {**_HEALTHY_STATUS["Cluster"], "instances": instances, "readyInstances": instances}
        elif manifest.get("kind") == "Deployment":
            replicas = dig(manifest, "spec", "replicas")
            replicas = 1 if replicas is None else replicas
            counts = (
                {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas} if replicas else {}
            )
            live["status"] = {**copy.deepcopy(_HEALTHY_STATUS["Deployment"]), **counts}
        elif manifest.get("kind") in _HEALTHY_STATUS:
            live["status"] = copy.deepcopy(_HEALTHY_STATUS[manifest["kind"]])
        status["atProvider"] = {"manifest": live}
    elif body.get("kind") == "Release":
        # provider-helm reports the chart version it deployed, and Helm's first revision.
        status["atProvider"] = {"state": "deployed", "revision": 1}
        version = dig(body, "spec", "forProvider", "chart", "version")
        if isinstance(version, str):
            status["atProvider"]["version"] = version
    observed["status"] = status
    return observed


def fatal(rsp: fnv1.RunFunctionResponse) -> bool:
    """Whether the function refused the composite."""
    return any(r.severity == fnv1.SEVERITY_FATAL for r in rsp.results)


def observe(rsp: fnv1.RunFunctionResponse) -> list[dict]:
    """What Crossplane observes once every desired resource of `rsp` exists and is ready."""
    return [as_observed(key, resource.struct_to_dict(item.resource)) for key, item in rsp.desired.resources.items()]


def steady(rsp: fnv1.RunFunctionResponse, observed: Iterable[dict]) -> bool:
    """The convergence rule: refused, or nothing new desired and every desired resource ready."""
    if fatal(rsp):
        return True
    keys = {dig(d, "metadata", "annotations", RESOURCE_NAME_ANNOTATION) for d in observed}
    return set(rsp.desired.resources) == keys and all(
        r.ready == fnv1.READY_TRUE for r in rsp.desired.resources.values()
    )


def settle(
    reconcile: Reconcile, observed: Iterable[dict] = (), *, max_rounds: int = MAX_ROUNDS
) -> Iterator[tuple[fnv1.RunFunctionResponse, list[dict]]]:
    """Reconcile until steady: each response, with what was observed for it.

    After each reconcile every desired resource becomes observed and ready,
    one layer of prerequisites per reconcile, as in a healthy cluster.
    """
    current = list(observed)
    for _ in range(max_rounds + 1):
        rsp = reconcile(current)
        yield rsp, current
        if steady(rsp, current):
            return
        current = observe(rsp)


def converge(
    composite: dict,
    *,
    observed: Iterable[dict] = (),
    required: Iterable[dict] = (),
    function_input: dict | None = None,
    max_rounds: int = MAX_ROUNDS,
) -> fnv1.RunFunctionResponse:
    """The steady state a composite converges to, which a single reconcile cannot show."""
    required = list(required)
    start = {dig(d, "metadata", "annotations", RESOURCE_NAME_ANNOTATION): d for d in observed}

    def reconcile(current: list[dict]) -> fnv1.RunFunctionResponse:
        return run(composite, observed=current, required=required, function_input=function_input)

    *_, (last, _) = settle(reconcile, start.values(), max_rounds=max_rounds)
    return last
