"""A CNPGOperator composite and what provider-helm reports about its releases."""

from __future__ import annotations

import copy

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys
from tests.support import function as f

KIND = "CNPGOperator"
CERT_MANAGER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "certificates.cert-manager.io"},
}
# Required resources: cert-manager installed, or not.
CERT_MANAGER = {keys.CERT_MANAGER: [CERT_MANAGER_CRD]}
NO_CERT_MANAGER: dict[str, list[dict]] = {keys.CERT_MANAGER: []}


def xr(spec: dict | None = None, name: str = "cnpg") -> dict:
    """A CNPGOperator composite (cluster-scoped, created directly: no claim)."""
    return {"apiVersion": "tau.home.arpa/v1alpha1", "kind": KIND, "metadata": {"name": name}, "spec": spec or {}}


def observed_release(rsp: fnv1.RunFunctionResponse, key: str, state: str, *, ready: bool, **at: object) -> dict:
    """The Release `key` of a response as provider-helm would report it."""
    body = copy.deepcopy(f.desired(rsp)[key])
    body.setdefault("metadata", {}).setdefault("annotations", {})["crossplane.io/composition-resource-name"] = key
    conditions = [
        {"type": "Ready", "status": "True" if ready else "False", "reason": "Available" if ready else "Unavailable"}
    ]
    body["status"] = {"atProvider": {"state": state, **at}, "conditions": conditions}
    return body
