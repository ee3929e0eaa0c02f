"""Render claims locally, the way Crossplane would, with no cluster.

claim -> composite (the claim's labels, plus crossplane.io/claim-name and
claim-namespace, as Crossplane's claim syncer copies them) -> RunFunctionRequest
-> the real FunctionRunner, called again while its requirements change (as
Crossplane does, at most 5 times) -> YAML: the composite with its status, then
the composed resources, named and labelled as Crossplane would.

Secrets are masked unless asked for: render output ends up in terminals,
issues and chat.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import hashlib
from collections.abc import Iterable
from typing import Any

from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import json_format

from function import fn
from function.api import definitions
from function.observed import dig

MAX_ITERATIONS = 5  # Crossplane's MaxRequirementsIterations
RESOURCE_NAME_ANNOTATION = "crossplane.io/composition-resource-name"
REDACTED = "<redacted>"
# Secret keys that hold (or embed) a secret value.
SECRET_KEYS = frozenset({"password", "DB_PASSWORD", "PGPASSWORD", "DATABASE_URL"})
FIXED_TIME = "2024-01-01T00:00:00Z"  # what `crossplane render` prints for every condition


class RenderError(Exception):
    """A claim file cannot be rendered (not a claim of ours, no name...)."""


@dataclasses.dataclass
class Rendered:
    """The result of rendering one claim."""

    composite: dict
    resources: list[dict]
    results: list[dict]

    @property
    def fatal(self) -> bool:
        """Whether the function refused the claim."""
        return any(r.get("severity") == "SEVERITY_FATAL" for r in self.results)


def _definition_for(doc: dict) -> tuple[definitions.CompositeDefinition, bool]:
    kind = doc.get("kind")
    for definition in definitions.DEFINITIONS:
        if kind == definition.claim_kind:
            return definition, True
        if kind == definition.kind:
            return definition, False
    known = sorted(
        {d.claim_kind or d.kind for d in definitions.DEFINITIONS} | {d.kind for d in definitions.DEFINITIONS}
    )
    raise RenderError(f"kind {kind!r} is not one of {', '.join(known)}")


def composite_name(namespace: str, name: str) -> str:
    """A deterministic stand-in for the random suffix Crossplane gives a claim's composite."""
    digest = hashlib.sha256(f"{namespace}/{name}".encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return f"{name}-" + "".join(alphabet[b % len(alphabet)] for b in digest[:5])


def to_composite(doc: dict) -> dict:
    """The composite a claim becomes (a composite is returned as it is)."""
    definition, is_claim = _definition_for(doc)
    if doc.get("apiVersion") != definitions.API_VERSION:
        raise RenderError(f"apiVersion {doc.get('apiVersion')!r} is not {definitions.API_VERSION}")
    metadata = doc.get("metadata") or {}
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise RenderError("metadata.name is required")
    if not is_claim:
        return copy.deepcopy(doc)
    namespace = metadata.get("namespace") or "default"
    labels = dict(metadata.get("labels") or {})
    labels.update({"crossplane.io/claim-name": name, "crossplane.io/claim-namespace": namespace})
    spec = copy.deepcopy(doc.get("spec") or {})
    if isinstance(spec, dict):
        spec["claimRef"] = {
            "apiVersion": definitions.API_VERSION,
            "kind": definition.claim_kind,
            "name": name,
            "namespace": namespace,
        }
    return {
        "apiVersion": definitions.API_VERSION,
        "kind": definition.kind,
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
            raise RenderError(
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
        if any(r.severity == fnv1.SEVERITY_FATAL for r in rsp.results):
            return rsp
        if previous is not None and rsp.requirements == previous:
            return rsp
        previous = rsp.requirements
        _resolve(req, rsp.requirements, available)
    raise RenderError(f"requirements did not stabilise after {MAX_ITERATIONS} iterations")


def integral(value: Any) -> Any:
    """Protobuf Structs hold every number as a float; give whole numbers back as ints."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [integral(v) for v in value]
    return value


def _condition(cond: fnv1.Condition) -> dict:
    status = {fnv1.STATUS_CONDITION_TRUE: "True", fnv1.STATUS_CONDITION_FALSE: "False"}.get(cond.status, "Unknown")
    out = {"type": cond.type, "status": status, "reason": cond.reason, "lastTransitionTime": FIXED_TIME}
    if cond.message:
        out["message"] = cond.message
    return out


def mask_secrets(manifest: dict) -> None:
    """Replace secret values in a Secret manifest (in place)."""
    data = manifest.get("data")
    if manifest.get("kind") != "Secret" or not isinstance(data, dict):
        return
    password = None
    if isinstance(data.get("password"), str):
        password = base64.b64decode(data["password"]).decode(errors="replace")
    for key, value in list(data.items()):
        if not isinstance(value, str):
            continue
        if key in SECRET_KEYS and password:
            text = base64.b64decode(value).decode(errors="replace").replace(password, REDACTED)
        elif dig(manifest, "metadata", "labels", "app.kubernetes.io/component") == "backup":
            text = REDACTED  # object store access keys
        else:
            continue
        data[key] = base64.b64encode(text.encode()).decode()


# What a healthy resource looks like once it exists, by kind (for --assume-ready).
_HEALTHY_STATUS: dict[str, dict] = {
    "Cluster": {"phase": "Cluster in healthy state", "conditions": [{"type": "Ready", "status": "True"}]},
    "Database": {"applied": True},
    "Deployment": {"conditions": [{"type": "Available", "status": "True"}]},
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


def converge(
    composite: dict,
    *,
    observed: Iterable[dict] = (),
    required: Iterable[dict] = (),
    function_input: dict | None = None,
    max_rounds: int = 10,
) -> fnv1.RunFunctionResponse:
    """Reconcile until nothing new appears, every composed resource becoming ready in between.

    This shows the steady state a claim converges to, which a single reconcile
    cannot: resources wait for their prerequisites, one layer per reconcile.
    """
    current = {dig(d, "metadata", "annotations", RESOURCE_NAME_ANNOTATION): d for d in observed}
    rsp = run(composite, observed=current.values(), required=required, function_input=function_input)
    for _ in range(max_rounds):
        if any(r.severity == fnv1.SEVERITY_FATAL for r in rsp.results):
            return rsp
        nxt = {
            key: as_observed(key, resource.struct_to_dict(item.resource)) for key, item in rsp.desired.resources.items()
        }
        if set(nxt) == set(current) and all(r.ready == fnv1.READY_TRUE for r in rsp.desired.resources.values()):
            return rsp
        current = nxt
        rsp = run(composite, observed=current.values(), required=required, function_input=function_input)
    return rsp


def render(
    doc: dict,
    *,
    observed: Iterable[dict] = (),
    required: Iterable[dict] = (),
    function_input: dict | None = None,
    show_secrets: bool = False,
    assume_ready: bool = False,
) -> Rendered:
    """Render one claim (or composite) to its composite and composed resources."""
    composite = to_composite(doc)
    step = converge if assume_ready else run
    rsp = step(composite, observed=observed, required=required, function_input=function_input)
    name = composite["metadata"]["name"]
    labels = composite["metadata"].get("labels") or {}
    status = resource.struct_to_dict(rsp.desired.composite.resource).get("status", {})
    # As `crossplane render` does: Ready first (Creating while the function
    # says the composite is not ready), then the function's conditions.
    unready = sorted(k for k, r in rsp.desired.resources.items() if r.ready != fnv1.READY_TRUE)
    ready_state = rsp.desired.composite.ready
    ready = {"type": "Ready", "status": "True", "reason": "Available", "lastTransitionTime": FIXED_TIME}
    if ready_state == fnv1.READY_FALSE:
        ready = {"type": "Ready", "status": "False", "reason": "Creating", "lastTransitionTime": FIXED_TIME}
    elif ready_state == fnv1.READY_UNSPECIFIED and unready:
        ready = {
            "type": "Ready",
            "status": "False",
            "reason": "Creating",
            "message": f"Unready resources: {', '.join(unready)}",
            "lastTransitionTime": FIXED_TIME,
        }
    out_composite = {
        "apiVersion": composite["apiVersion"],
        "kind": composite["kind"],
        "metadata": {"name": name},
        "status": {**integral(status), "conditions": [ready] + [_condition(c) for c in rsp.conditions]},
    }
    resources = []
    for key in sorted(rsp.desired.resources):
        body = integral(resource.struct_to_dict(rsp.desired.resources[key].resource))
        metadata = body.setdefault("metadata", {})
        metadata.setdefault("annotations", {})[RESOURCE_NAME_ANNOTATION] = key
        if not metadata.get("name"):
            # As Crossplane: a resource the function named keeps its name.
            metadata["generateName"] = f"{name}-"
        metadata["labels"] = {
            "crossplane.io/composite": name,
            **{k: labels[k] for k in ("crossplane.io/claim-name", "crossplane.io/claim-namespace") if k in labels},
            **(metadata.get("labels") or {}),
        }
        metadata["ownerReferences"] = [
            {
                "apiVersion": composite["apiVersion"],
                "blockOwnerDeletion": True,
                "controller": True,
                "kind": composite["kind"],
                "name": name,
                "uid": "",
            }
        ]
        if not show_secrets:
            manifest = dig(body, "spec", "forProvider", "manifest")
            if isinstance(manifest, dict):
                mask_secrets(manifest)
        resources.append(body)
    results = [json_format.MessageToDict(r, preserving_proto_field_name=False) for r in rsp.results]
    return Rendered(out_composite, resources, results)
