"""Wrapping manifests into provider-kubernetes Objects, with their readiness policy.

Every namespaced resource a claim becomes is applied through a cluster-scoped
`kubernetes.crossplane.io/v1alpha2` Object: a missing CRD or a webhook refusal
then fails that one Object, not the whole reconcile. The Object's readiness
policy says when the wrapped resource counts as ready; the function then reads
the Object's Ready condition (`Observed.is_ready`, read by each kind's composer and status).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

OBJECT_API_VERSION = "kubernetes.crossplane.io/v1alpha2"
OBJECT_KIND = "Object"
# The provider-kubernetes ProviderConfig the install creates (InjectedIdentity).
DEFAULT_PROVIDER_CONFIG = "default"

DeletionPolicy = Literal["Orphan", "Delete"]


@dataclasses.dataclass(frozen=True)
class Readiness:
    """When provider-kubernetes reports the wrapped resource as ready."""

    policy: Literal["SuccessfulCreate", "DeriveFromObject", "DeriveFromCelQuery"]
    cel_query: str | None = None

    def manifest(self) -> dict[str, str]:
        """The Object's `spec.readiness`."""
        out = {"policy": self.policy}
        if self.cel_query:
            out["celQuery"] = self.cel_query
        return out


# Exists: Secrets, ScheduledBackups, RBAC, CronJobs, Services have no status to judge.
CREATED = Readiness("SuccessfulCreate")
# CNPG Cluster: its Ready condition is True exactly when the phase is "Cluster in healthy state".
READY_CONDITION = Readiness("DeriveFromObject")
# CNPG Database: applied once the instance manager ran CREATE DATABASE / EXTENSION.
DATABASE_APPLIED = Readiness(
    "DeriveFromCelQuery", "has(object.status) && has(object.status.applied) && object.status.applied == true"
)
# Deployment: no Ready condition, but Available.
DEPLOYMENT_AVAILABLE = Readiness(
    "DeriveFromCelQuery",
    "has(object.status) && has(object.status.conditions) && "
    "object.status.conditions.exists(c, c.type == 'Available' && c.status == 'True')",
)


def wrap(
    manifest: dict,
    *,
    readiness: Readiness,
    deletion_policy: DeletionPolicy,
    provider_config: str = DEFAULT_PROVIDER_CONFIG,
) -> dict:
    """A provider-kubernetes Object that applies `manifest`.

    The Object itself is not named: Crossplane names composed resources after
    the composite, which keeps the names unique across namespaces.
    """
    return {
        "apiVersion": OBJECT_API_VERSION,
        "kind": OBJECT_KIND,
        "spec": {
            "deletionPolicy": deletion_policy,
            "forProvider": {"manifest": manifest},
            "readiness": readiness.manifest(),
            "providerConfigRef": {"name": provider_config},
        },
    }
