"""Least privilege for real: provider-kubernetes applies everything with only the ClusterRole of examples/install.

Every example converging (test_controlplane_examples) shows the role is enough;
these show it is used, and needed: the identity is not an admin, and a
permission taken out of the role makes the Object that needs it fail.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from tests.controlplane import claims, cluster

pytestmark = pytest.mark.controlplane

ROLE = "function-tau:provider-kubernetes"
SA = f"system:serviceaccount:{cluster.CROSSPLANE_NAMESPACE}:{cluster.PROVIDER_SA}"


def can(plane, verb: str, what: str, namespace: str = "default") -> bool:
    """`kubectl auth can-i` as the provider's ServiceAccount."""
    proc = plane.kubectl("auth", "can-i", verb, what, "-n", namespace, f"--as={SA}", check=False)
    return proc.stdout.strip() == "yes"


def test_the_provider_identity_is_the_install_role_and_nothing_more(plane) -> None:
    config = plane.get("providerconfigs.kubernetes.crossplane.io", "default")
    assert config["spec"]["credentials"]["source"] == "Secret"
    kubeconfig = yaml.safe_load(
        plane.secret_data(cluster.PROVIDER_KUBECONFIG_SECRET, cluster.CROSSPLANE_NAMESPACE)["kubeconfig"]
    )
    assert "token" in kubeconfig["users"][0]["user"]
    assert can(plane, "create", "clusters.postgresql.cnpg.io")
    assert can(plane, "patch", "secrets")
    assert can(plane, "list", "objects.kubernetes.crossplane.io")
    for verb, what in [("create", "clusterroles"), ("create", "pods"), ("get", "nodes"), ("create", "namespaces"),
                       ("escalate", "roles"), ("bind", "roles"), ("get", "backups.postgresql.cnpg.io"),
                       ("create", "compositeresourcedefinitions.apiextensions.crossplane.io")]:  # fmt: skip
        assert not can(plane, verb, what), f"the provider's identity may {verb} {what}"


def test_a_permission_taken_from_the_role_makes_the_object_fail(plane) -> None:
    role = plane.get("clusterroles.rbac.authorization.k8s.io", ROLE)
    original = copy.deepcopy(role["rules"])
    # Take CNPG `clusters` out of the rule that grants clusters, databases and scheduledbackups.
    # (Not secrets: Crossplane's RBAC manager grants every provider all verbs on secrets anyway.)
    rules = copy.deepcopy(original)
    for rule in rules:
        if "clusters" in rule.get("resources", []) and rule.get("apiGroups") == ["postgresql.cnpg.io"]:
            rule["resources"] = [r for r in rule["resources"] if r != "clusters"]
    claim = {
        "apiVersion": "tau.home.arpa/v1alpha1", "kind": "PostgresDatabase",
        "metadata": {"name": "denied", "namespace": "rbac"}, "spec": {"instance": {"storage": {"size": "1Gi"}}},
    }  # fmt: skip
    plane.kubectl("patch", "clusterrole", ROLE, "--type=merge", "-p", yaml.safe_dump({"rules": rules}))
    try:
        assert not can(plane, "create", "clusters.postgresql.cnpg.io", "rbac")
        claims.apply_claim(plane, claim)

        def failed() -> dict | None:
            for obj in claims.composed_objects(plane, claim):
                cond = claims.condition(obj, "Synced")
                if claims.manifest(obj)["kind"] == "Cluster" and cond.get("status") == "False":
                    return cond
            return None

        cond = plane.wait("the Cluster's Object Synced=False", failed, timeout=180, interval=1)
        assert "forbidden" in cond.get("message", "").lower(), cond
    finally:
        plane.kubectl("patch", "clusterrole", ROLE, "--type=merge", "-p", yaml.safe_dump({"rules": original}))

    def recovered() -> bool:
        objects = claims.composed_objects(plane, claim)
        return any(claims.manifest(o)["kind"] == "Cluster" and claims.is_true(o, "Synced") for o in objects)

    plane.wait("the Object Synced once the permission is back", recovered, timeout=180, interval=2)
