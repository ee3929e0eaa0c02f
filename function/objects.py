"""Wrapping manifests into provider-kubernetes Objects, with their readiness policy.

Every namespaced resource a claim becomes is applied through a cluster-scoped
`kubernetes.crossplane.io/v1alpha2` Object: a missing CRD or a webhook refusal
then fails that one Object, not the whole reconcile. The Object's readiness
policy says when the wrapped resource counts as ready; the function then reads
the Object's Ready condition (`Observed.is_ready`, read by each kind's composer and status).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Literal

from function.observed import decode_secret_value

OBJECT_API_VERSION = "kubernetes.crossplane.io/v1alpha2"
OBJECT_KIND = "Object"
# The provider-kubernetes ProviderConfig the install creates (InjectedIdentity).
DEFAULT_PROVIDER_CONFIG = "default"

DeletionPolicy = Literal["Orphan", "Delete"]
# What a claim's condition quotes of a provider's error about one resource.
MAX_FAILURE_NOTE = 300
# Shorter Secret values (a port, "true") are not worth hiding and would mangle the message.
_MIN_HIDDEN = 4


@dataclasses.dataclass(frozen=True)
class Readiness:
    """When provider-kubernetes reports the wrapped resource as ready."""

    policy: Literal["SuccessfulCreate", "DeriveFromObject", "DeriveFromCelQuery"]
    cel_query: str | None = None
    # Whether provider-kubernetes watches the wrapped resource (`spec.watch`): with its --enable-watches
    # flag, a change of the resource (its status included) refreshes the Object at once, instead of after
    # 30 s (not ready) or --poll (ready: 10 min). Only for resources whose status the claim reads; never
    # for Secrets (the provider would cache every Secret of the cluster).
    watch: bool = False

    def manifest(self) -> dict[str, str]:
        """The Object's `spec.readiness`."""
        out = {"policy": self.policy}
        if self.cel_query:
            out["celQuery"] = self.cel_query
        return out


# Exists: Secrets, ScheduledBackups, RBAC, CronJobs, Services have no status to judge.
CREATED = Readiness("SuccessfulCreate")
# Exists, and its status feeds the claim's (a Barman Cloud ObjectStore's recovery window).
CREATED_WATCHED = Readiness("SuccessfulCreate", watch=True)
# CNPG Cluster: its Ready condition is True exactly when the phase is "Cluster in healthy state".
READY_CONDITION = Readiness("DeriveFromObject", watch=True)
# CNPG Database: applied once the instance manager ran CREATE DATABASE / EXTENSION.
DATABASE_APPLIED = Readiness(
    "DeriveFromCelQuery",
    "has(object.status) && has(object.status.applied) && object.status.applied == true",
    watch=True,
)
# Deployment: no Ready condition, but Available.
DEPLOYMENT_AVAILABLE = Readiness(
    "DeriveFromCelQuery",
    "has(object.status) && has(object.status.conditions) && "
    "object.status.conditions.exists(c, c.type == 'Available' && c.status == 'True')",
    watch=True,
)
# provider-kubernetes' field manager is `provider-kubernetes/<Object name>`, and the API server refuses a
# field manager over 128 characters (apimachinery v0.34 FieldManagerMaxLength): the name fits in the rest.
_MAX_NAME = 128 - len("provider-kubernetes/")
_HASH = 10


def object_name(manifest: dict) -> str | None:
    """The name of the Object that applies `manifest`: `<namespace>.<kind>.<name>` (None: Crossplane names it).

    provider-kubernetes applies with the field manager `provider-kubernetes/<Object name>`
    (v1.2.1 internal/controller/cluster/object/object.go, ssaFieldOwner). A name derived from
    what the Object applies is the same for a claim re-created after a Retain delete, so the new
    Object is the same field manager: what the new claim no longer sets is removed, not left
    behind under the old Object's name. A namespace and a kind have no dots, so the name is unique
    per resource; two claims naming the same resource collide on the Object instead of fighting
    over the resource. Crossplane keeps the name of an Object that exists already. A name longer
    than a field manager allows is cut and ends with a hash of the whole, so it stays stable.
    """
    metadata = manifest.get("metadata") or {}
    namespace, name, kind = metadata.get("namespace"), metadata.get("name"), manifest.get("kind")
    if not all(isinstance(part, str) and part for part in (namespace, name, kind)):
        return None
    found = f"{namespace}.{kind.lower()}.{name}"
    if len(found) <= _MAX_NAME:
        return found
    digest = hashlib.sha256(found.encode()).hexdigest()[:_HASH]
    return found[: _MAX_NAME - _HASH - 1].rstrip(".-") + "-" + digest


def wrap(
    manifest: dict,
    *,
    readiness: Readiness,
    deletion_policy: DeletionPolicy,
    provider_config: str = DEFAULT_PROVIDER_CONFIG,
) -> dict:
    """A provider-kubernetes Object that applies `manifest`, named after it (`object_name`)."""
    spec: dict = {
        "deletionPolicy": deletion_policy,
        "forProvider": {"manifest": manifest},
        "readiness": readiness.manifest(),
        "providerConfigRef": {"name": provider_config},
    }
    if readiness.watch:
        spec["watch"] = True
    body: dict = {"apiVersion": OBJECT_API_VERSION, "kind": OBJECT_KIND}
    name = object_name(manifest)
    if name is not None:
        body["metadata"] = {"name": name}
    body["spec"] = spec
    return body


def _secret_values(manifest: dict) -> list[str]:
    """Every value of a Secret manifest (as written, decoded, and JSON-escaped), longest first."""
    values: set[str] = set()
    for field in ("data", "stringData"):
        entries = manifest.get(field)
        for key, value in (entries if isinstance(entries, dict) else {}).items():
            if isinstance(value, str):
                values.add(value)
                decoded = decode_secret_value(entries, key) if field == "data" else None
                if decoded is not None:
                    values.add(decoded)
    values = {v for v in values if len(v) >= _MIN_HIDDEN}
    values |= {json.dumps(v)[1:-1] for v in values}
    return sorted(values, key=len, reverse=True)


def failure_note(message: str, manifest: dict) -> str:
    """A provider's error about `manifest`, fit for a claim's condition: never a Secret value, one line, short."""
    if manifest.get("kind") == "Secret":
        for value in _secret_values(manifest):
            message = message.replace(value, "***")
    text = " ".join(message.split())
    return text if len(text) <= MAX_FAILURE_NOTE else text[: MAX_FAILURE_NOTE - 1] + "…"
