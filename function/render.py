"""Render claims locally, the way `crossplane render` prints them, with no cluster.

The simulator (`function.simulate`) runs the claim through the function; this
module formats the result: the composite with its status, then the composed
resources, named and labelled as Crossplane would.

Secrets are masked unless asked for: render output ends up in terminals,
issues and chat.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
from collections.abc import Iterable
from typing import Any

from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import json_format

from function import simulate
from function.inputs import CLAIM_NAME_LABEL, CLAIM_NAMESPACE_LABEL
from function.observed import dig
from function.simulate import RESOURCE_NAME_ANNOTATION

REDACTED = "<redacted>"
# Secret keys that hold (or embed) a secret value.
SECRET_KEYS = frozenset({"password", "DB_PASSWORD", "PGPASSWORD", "DATABASE_URL", "DATABASE_POOLER_URL"})
FIXED_TIME = "2024-01-01T00:00:00Z"  # what `crossplane render` prints for every condition


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
        decoded = base64.b64decode(value).decode(errors="replace")
        if password and (key in SECRET_KEYS or password in decoded):
            # Any value that holds the password, whatever its key (a URL a later version adds included).
            text = decoded.replace(password, REDACTED)
        elif dig(manifest, "metadata", "labels", "app.kubernetes.io/component") == "backup":
            text = REDACTED  # object store access keys
        else:
            continue
        data[key] = base64.b64encode(text.encode()).decode()


def show_redactions(body: dict) -> dict:
    """A composed resource whose Secret shows its masked values readably (`stringData`), not as base64.

    Masked values are base64 of `<redacted>` in `data`, which nobody can see at
    a glance; in the printed output they move to `stringData`, where a person
    reads `<redacted>` (and a DATABASE_URL with `<redacted>` for its password).
    The Secret stays a valid Secret. Only the printed output does this.
    """
    manifest = dig(body, "spec", "forProvider", "manifest")
    if not isinstance(manifest, dict) or manifest.get("kind") != "Secret" or not isinstance(manifest.get("data"), dict):
        return body
    shown = copy.deepcopy(body)
    secret = shown["spec"]["forProvider"]["manifest"]
    for key, value in list(secret["data"].items()):
        text = base64.b64decode(value).decode(errors="replace") if isinstance(value, str) else ""
        if REDACTED in text:
            secret.setdefault("stringData", {})[key] = text
            del secret["data"][key]
    return shown


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
    composite = simulate.to_composite(doc)
    step = simulate.converge if assume_ready else simulate.run
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
    namespace = composite["metadata"].get("namespace")  # a namespaced (Crossplane 2) composite's
    out_composite = {
        "apiVersion": composite["apiVersion"],
        "kind": composite["kind"],
        "metadata": {"name": name, **({"namespace": namespace} if namespace else {})},
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
            **{k: labels[k] for k in (CLAIM_NAME_LABEL, CLAIM_NAMESPACE_LABEL) if k in labels},
            **(metadata.get("labels") or {}),
        }
        if namespace:
            # As Crossplane: a namespaced composite composes into its own namespace only.
            metadata["namespace"] = namespace
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
