"""Deleting a claim on the real control plane, as docs/POSTGRES_USAGE.md (deletionPolicy) says.

`Retain` orphans every resource. `Delete` removes the Cluster, Secret, Database and
ScheduledBackup but keeps the Backups (owned by nobody) and the retention job that
prunes them; with `backup.deleteWithClaim: true` everything goes, the Backups with
their Cluster.

Deletion of composed resources is done by the garbage collector of the real
kube-controller-manager (owner references), as in a cluster.
"""

from __future__ import annotations

import time

import pytest

from tests.controlplane import claims

pytestmark = pytest.mark.controlplane


def _claim(name: str, namespace: str, policy: str | None, *, with_backups: bool = False) -> dict:
    spec: dict = {"extensions": ["pgcrypto"], "instance": {"storage": {"size": "1Gi"}}}
    if policy:
        spec["deletionPolicy"] = policy
    if with_backups:
        spec["backup"] = {"deleteWithClaim": True}
    return {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": "PostgresDatabase",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


RETAIN = _claim("kept", "deletion-retain", None)  # Retain is the default
DELETE = _claim("gone", "deletion-delete", "Delete")
DELETE_ALL = _claim("all-gone", "deletion-delete-all", "Delete", with_backups=True)
CLAIMS = (RETAIN, DELETE, DELETE_ALL)


@pytest.fixture(scope="module")
def deleted(plane, standin) -> dict:
    """The claims converged (Ready), their inner resources and policies noted, then the claims deleted and gone."""
    for claim in CLAIMS:
        claims.apply_claim(plane, claim)
    state = claims.converge(plane, standin, list(CLAIMS), timeout=420)
    inner = {}
    for claim in CLAIMS:
        objects = state[claims.claim_key(claim)]["objects"]
        inner[claims.claim_key(claim)] = [(claims.manifest(o), o["spec"].get("deletionPolicy")) for o in objects]
        assert all(claims.inner(plane, o) is not None for o in objects)
    # A Backup as CNPG's ScheduledBackup controller creates it: owned by the Cluster when the
    # ScheduledBackup says `backupOwnerReference: cluster` (internal/controller/scheduledbackup_controller.go).
    for claim in CLAIMS:
        ns = claim["metadata"]["namespace"]
        scheduled = plane.items("scheduledbackups.postgresql.cnpg.io", namespace=ns)
        cluster = plane.items("clusters.postgresql.cnpg.io", namespace=ns)[0]
        backup = {
            "apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
            "metadata": {"name": f"{cluster['metadata']['name']}-backup-test", "namespace": ns},
            "spec": {"cluster": {"name": cluster["metadata"]["name"]}, "method": scheduled[0]["spec"].get("method", "volumeSnapshot")},
        }  # fmt: skip
        if scheduled[0]["spec"].get("backupOwnerReference") == "cluster":
            backup["metadata"]["ownerReferences"] = [{
                "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "name": cluster["metadata"]["name"],
                "uid": cluster["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
            }]  # fmt: skip
        plane.apply([backup])
    for claim in CLAIMS:
        plane.kubectl("delete", claims.PLURALS["PostgresDatabase"] + "." + claims.GROUP, claim["metadata"]["name"],
                      "-n", claim["metadata"]["namespace"], "--wait=false")  # fmt: skip

    def gone() -> bool:
        return all(
            claims.get_claim(plane, c) is None and not plane.items(claims.OBJECT, selector=f"crossplane.io/claim-name={c['metadata']['name']}")
            for c in CLAIMS
        )  # fmt: skip

    plane.wait("the claims and their Objects gone", gone, timeout=240, interval=2)
    return inner


def _live(plane, manifest: dict) -> dict | None:
    meta = manifest["metadata"]
    return plane.get(claims.resource(manifest["kind"], manifest["apiVersion"]), meta["name"], meta.get("namespace"))


def test_retain_leaves_every_database_resource_orphaned(plane, deleted: dict) -> None:
    for manifest, _policy in deleted[claims.claim_key(RETAIN)]:
        live = _live(plane, manifest)
        assert live is not None, f"{manifest['kind']} {manifest['metadata']['name']} was deleted"
        owners = [o for o in live["metadata"].get("ownerReferences", []) if o.get("apiVersion", "").startswith("tau.")]
        assert not owners
    ns = RETAIN["metadata"]["namespace"]
    assert plane.items("backups.postgresql.cnpg.io", namespace=ns), "Backups belong to nobody and stay"


def _remaining(plane, claim: dict, deleted: dict, policy: str) -> list[str]:
    out = []
    for manifest, object_policy in deleted[claims.claim_key(claim)]:
        if object_policy != policy:
            continue
        live = _live(plane, manifest)
        if live is not None:
            meta = live["metadata"]
            out.append(f"{manifest['kind']} {meta['name']} (deletionTimestamp {meta.get('deletionTimestamp')}, "
                       f"finalizers {meta.get('finalizers')})")  # fmt: skip
    return out


def _kinds(deleted: dict, claim: dict, policy: str) -> set[str]:
    return {m["kind"] for m, p in deleted[claims.claim_key(claim)] if p == policy}


@pytest.mark.parametrize("claim", [DELETE, DELETE_ALL], ids=["delete", "delete-with-backups"])
def test_delete_removes_what_the_docs_say(plane, deleted: dict, claim: dict) -> None:
    # The Objects' policies are what the docs promise ...
    assert _kinds(deleted, claim, "Delete") >= {"Cluster", "Secret", "Database", "ScheduledBackup"}
    if claim is DELETE_ALL:
        assert _kinds(deleted, claim, "Orphan") == set()
    # ... and what real provider-kubernetes and the garbage collector did.
    deadline = time.monotonic() + 180
    while _remaining(plane, claim, deleted, "Delete") and time.monotonic() < deadline:
        time.sleep(2)
    assert not _remaining(plane, claim, deleted, "Delete"), "left behind by deletionPolicy Delete"
    for manifest, policy in deleted[claims.claim_key(claim)]:
        if policy == "Orphan":
            assert _live(plane, manifest) is not None, f"{manifest['kind']} {manifest['metadata']['name']} deleted"
    ns = claim["metadata"]["namespace"]
    if claim is DELETE_ALL:
        # The Backups are owned by the Cluster (backupOwnerReference: cluster) and go with it.
        plane.wait("the Cluster's Backups removed", lambda: not plane.items("backups.postgresql.cnpg.io", namespace=ns),
                   timeout=90, interval=2)  # fmt: skip
    else:
        assert plane.items("backups.postgresql.cnpg.io", namespace=ns), "the Backups belong to nobody and stay"
