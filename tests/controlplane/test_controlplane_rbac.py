"""Least privilege for real: provider-kubernetes and Crossplane core run with only what the install grants.

provider-kubernetes: the ClusterRole of examples/install/01. Crossplane core: the
ServiceAccount of the Crossplane Helm chart and its ClusterRole `crossplane`,
aggregated from the chart's rules, the real RBAC manager's per-XRD roles, the
providers' edit roles and examples/install/05 (cluster.py, `crossplane_rbac`).
Every example converging (test_controlplane_examples) shows the roles are enough;
these show they are used, and needed: neither identity is an admin, and a
permission taken out of a role makes what needs it fail, visibly.
"""

from __future__ import annotations

import copy
import pathlib

import pytest
import yaml

from tests.controlplane import claims, cluster

pytestmark = pytest.mark.controlplane

ROLE = "function-tau:provider-kubernetes"
SA = f"system:serviceaccount:{cluster.CROSSPLANE_NAMESPACE}:{cluster.PROVIDER_SA}"
CORE_ROLE = "function-tau:aggregate-to-crossplane"  # examples/install/05
CORE_SA = f"system:serviceaccount:{cluster.CROSSPLANE_NAMESPACE}:{cluster.CROSSPLANE_SA}"
AGGREGATE = "rbac.crossplane.io/aggregate-to-crossplane"


def can(plane, verb: str, what: str, namespace: str = "default", as_: str = SA) -> bool:
    """`kubectl auth can-i` as the provider's ServiceAccount (or `as_`)."""
    proc = plane.kubectl("auth", "can-i", verb, what, "-n", namespace, f"--as={as_}", check=False)
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


def test_crossplane_core_runs_as_the_aggregated_install_roles_and_nothing_more(plane) -> None:
    # The running core's kubeconfig is the ServiceAccount's token, not the admin certificate.
    environ = pathlib.Path(f"/proc/{plane.processes['crossplane'].popen.pid}/environ").read_bytes().split(b"\0")
    assert f"KUBECONFIG={plane.crossplane_kubeconfig}".encode() in environ
    assert "token" in yaml.safe_load(plane.crossplane_kubeconfig.read_text())["users"][0]["user"]
    binding = plane.get("clusterrolebindings.rbac.authorization.k8s.io", "crossplane")
    assert binding["roleRef"]["name"] == "crossplane"
    role = plane.get("clusterroles.rbac.authorization.k8s.io", "crossplane")
    assert role["aggregationRule"]["clusterRoleSelectors"] == [{"matchLabels": {AGGREGATE: "true"}}]
    # What aggregates into it: the chart's system role, the RBAC manager's role of each XRD, the
    # providers' edit roles and examples/install/05; nothing else.
    sources = {r["metadata"]["name"] for r in plane.items("clusterroles", selector=f"{AGGREGATE}=true")}
    xrds = plane.items("compositeresourcedefinitions.apiextensions.crossplane.io")
    assert sources == {
        "crossplane:system:aggregate-to-crossplane", CORE_ROLE,
        "crossplane:provider:provider-kubernetes:aggregate-to-edit", "crossplane:provider:provider-helm:aggregate-to-edit",
        *(f"crossplane:composite:{x['metadata']['name']}:aggregate-to-crossplane" for x in xrds),
    }, sources  # fmt: skip
    for verb, what in [("create", "objects.kubernetes.crossplane.io"), ("patch", "postgresdatabases.tau.home.arpa"),
                       ("list", "databases.postgresql.cnpg.io"), ("get", "backups.postgresql.cnpg.io"),
                       ("get", "clusters.postgresql.cnpg.io"), ("list", "volumesnapshots.snapshot.storage.k8s.io"),
                       ("get", "secrets"), ("list", "customresourcedefinitions")]:  # fmt: skip
        assert can(plane, verb, what, as_=CORE_SA), f"Crossplane core may not {verb} {what}"
    for verb, what in [("create", "clusterroles"), ("create", "clusterrolebindings"), ("get", "nodes"),
                       ("create", "pods"), ("get", "pods"), ("create", "namespaces"), ("escalate", "roles"),
                       ("bind", "clusterroles"), ("create", "clusters.postgresql.cnpg.io"),
                       ("delete", "backups.postgresql.cnpg.io"), ("create", "volumesnapshots.snapshot.storage.k8s.io"),
                       ("create", "databases.postgresql.cnpg.io")]:  # fmt: skip
        assert not can(plane, verb, what, as_=CORE_SA), f"Crossplane core's identity may {verb} {what}"


def test_a_permission_taken_from_05_makes_the_claim_wait_until_it_is_back(plane) -> None:
    """A database on a shared PostgresInstance: Crossplane lists the CNPG Databases for the function.

    Crossplane 2.x reads required resources through its informer cache: without `list databases` the
    informer cannot sync, the XR's reconcile waits (its 2-minute timeout, then the Warning event
    "cannot list required resources: Timeout: failed waiting for ... Informer to sync") and the
    `forbidden` error is in Crossplane's log, at once. Core is restarted without the permission: an
    informer earlier tests started keeps its watch (RBAC is checked when a watch starts), so only a
    fresh start shows what an install without the rule does.
    """
    namespace = "rbac-core"
    instance = {
        "apiVersion": claims.GROUP + "/v1alpha1", "kind": "PostgresInstance",
        "metadata": {"name": "shared", "namespace": namespace}, "spec": {"instance": {"storage": {"size": "1Gi"}}},
    }  # fmt: skip
    database = {
        "apiVersion": claims.GROUP + "/v1alpha1", "kind": "PostgresDatabase",
        "metadata": {"name": "notes", "namespace": namespace}, "spec": {"instanceRef": {"name": "shared"}},
    }  # fmt: skip
    role = plane.get("clusterroles.rbac.authorization.k8s.io", CORE_ROLE)
    original = copy.deepcopy(role["rules"])
    rules = copy.deepcopy(original)
    for rule in rules:
        if rule.get("apiGroups") == ["postgresql.cnpg.io"]:
            rule["resources"] = [r for r in rule["resources"] if r != "databases"]
    forbidden = (f'databases.postgresql.cnpg.io is forbidden: User \\"{CORE_SA}\\" cannot list resource '
                 '\\"databases\\"')  # fmt: skip

    def xr() -> dict | None:
        name = claims.composite_name(plane, database)
        return plane.get(f"xpostgresdatabases.{claims.GROUP}", name) if name else None

    def composed_kinds() -> set[str]:
        return {claims.manifest(o)["kind"] for o in claims.composed_objects(plane, database)}

    plane.kubectl("patch", "clusterrole", CORE_ROLE, "--type=merge", "-p", yaml.safe_dump({"rules": rules}))
    try:
        plane.wait("the aggregated role without databases",
                   lambda: not can(plane, "list", "databases.postgresql.cnpg.io", namespace, as_=CORE_SA),
                   timeout=60, interval=0.5)  # fmt: skip
        log = plane.processes["crossplane"].log
        offset = log.stat().st_size
        plane.processes["crossplane"].stop()
        plane.start_crossplane_process()
        claims.apply_claim(plane, instance)
        claims.apply_claim(plane, database)
        plane.wait("Crossplane's list of Databases forbidden", lambda: forbidden in log.read_text()[offset:],
                   timeout=60, interval=0.5)  # fmt: skip
        # The instance lists Databases too: the forbidden line may be its, before the database's composite exists.
        plane.wait("the database's composite", lambda: xr() is not None, timeout=60, interval=0.5)
        assert not claims.is_true(xr(), "Synced"), xr()
        assert "Database" not in composed_kinds()
    finally:
        plane.kubectl("patch", "clusterrole", CORE_ROLE, "--type=merge", "-p", yaml.safe_dump({"rules": original}))
    plane.wait("Synced once the permission is back", lambda: claims.is_true(xr(), "Synced"), timeout=120, interval=1)
    plane.wait("the Database composed", lambda: "Database" in composed_kinds(), timeout=60, interval=1)
