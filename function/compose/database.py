"""The CNPG Cluster and the CNPG Database that keeps the extensions in sync."""

from __future__ import annotations

from function.compose.plan import DatabasePlan
from function.observed import dig

CNPG_API_VERSION = "postgresql.cnpg.io/v1"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"


def initdb(plan: DatabasePlan) -> dict:
    """Bootstrap an empty cluster: the database, its owner and the owner's Secret."""
    return {"initdb": {"database": plan.database, "owner": plan.owner, "secret": {"name": plan.secret}}}


def _backup_configuration(plan: DatabasePlan, object_store: str) -> dict:
    """The Cluster fields that make the chosen backup method work."""
    if plan.backup_method == "volumeSnapshot":
        # Snapshots are owned by their Backup: when retention deletes a Backup,
        # its VolumeSnapshot goes too (and with Longhorn `bak`, the NFS copy).
        return {"backup": {"volumeSnapshot": {"className": plan.snapshot_class, "snapshotOwnerReference": "backup"}}}
    if plan.backup_method == "objectStore":
        return {
            "plugins": [
                {
                    "name": BARMAN_PLUGIN,
                    "isWALArchiver": True,
                    "parameters": {"barmanObjectName": object_store, "serverName": plan.cluster},
                }
            ]
        }
    return {}


def cluster_manifest(plan: DatabasePlan, bootstrap: dict, external_clusters: list | None, object_store: str) -> dict:
    """The CNPG Cluster.

    The image is always set explicitly: left to the operator, an operator
    upgrade would change the default image and roll every cluster.
    """
    spec: dict = {
        "instances": plan.instances,
        "imageName": plan.image,
        "enableSuperuserAccess": False,
        "storage": plan.storage.manifest(),
    }
    if plan.wal_storage is not None:
        spec["walStorage"] = plan.wal_storage.manifest()
    if plan.resources:
        spec["resources"] = plan.resources
    if plan.parameters:
        spec["postgresql"] = {"parameters": plan.parameters}
    spec["bootstrap"] = bootstrap
    if external_clusters:
        spec["externalClusters"] = external_clusters
    spec.update(_backup_configuration(plan, object_store))
    return {
        "apiVersion": CNPG_API_VERSION,
        "kind": "Cluster",
        "metadata": {"name": plan.cluster, "namespace": plan.namespace, "labels": plan.labels("database")},
        "spec": spec,
    }


def _extensions(plan: DatabasePlan, before: dict | None) -> list[dict]:
    """The claim's extensions, plus `ensure: absent` for the ones it no longer lists.

    CNPG only reconciles the extensions a Database lists, so an extension
    removed from the claim is kept in the list as absent, which drops it.
    """
    wanted = [{"name": name, "ensure": "present"} for name in plan.extensions]
    dropped = set()
    for item in dig(before, "spec", "extensions") or ():
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name not in plan.extensions:
            dropped.add(name)
    return wanted + [{"name": name, "ensure": "absent"} for name in sorted(dropped)]


def database_manifest(plan: DatabasePlan, before: dict | None) -> dict:
    """The CNPG Database: the application database and its extensions.

    `databaseReclaimPolicy: retain`: deleting this resource never drops data.
    """
    spec: dict = {
        "name": plan.database,
        "owner": plan.owner,
        "cluster": {"name": plan.cluster},
        "ensure": "present",
        "databaseReclaimPolicy": "retain",
    }
    extensions = _extensions(plan, before)
    if extensions:
        spec["extensions"] = extensions
    return {
        "apiVersion": CNPG_API_VERSION,
        "kind": "Database",
        "metadata": {"name": plan.cluster, "namespace": plan.namespace, "labels": plan.labels("database")},
        "spec": spec,
    }
