"""The manifests of a database: pure functions of its plan.

The CNPG Cluster and the CNPG Database that keeps the extensions in sync;
scheduled backups, where they go, and how long they stay. (The credentials
Secret is built in `credentials`, the only module that handles the password;
how a new cluster starts, in `restore`.)

volumeSnapshot: CNPG snapshots the volumes through a Longhorn
VolumeSnapshotClass with `parameters.type: bak`, so Longhorn uploads each
snapshot to its backup target, the NFS server. CNPG has no retention for
snapshots, so a small CronJob (with a Role that can only list and delete
Backups in the claim's namespace) deletes scheduled Backups older than
`retentionDays`, always keeping the newest completed one; each Backup owns its
VolumeSnapshot, so the snapshot and its NFS copy go with it.

objectStore: the Barman Cloud plugin archives WAL and base backups to an
S3-compatible store (e.g. MinIO on the NFS server), with retention, gzip and
AES256 as the original plan asked; this one also gives point-in-time recovery.
"""

from __future__ import annotations

from typing import Literal

from function import keys, labels, names
from function.observed import dig
from function.outcome import Requirement
from function.postgres.plan import DatabasePlan, ObjectStorePlan

CNPG_API_VERSION = "postgresql.cnpg.io/v1"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"


def initdb(plan: DatabasePlan) -> dict:
    """Bootstrap an empty cluster: the database, its owner and the owner's Secret."""
    return {"initdb": {"database": plan.database, "owner": plan.owner, "secret": {"name": plan.secret}}}


def _backup_configuration(plan: DatabasePlan) -> dict:
    """The Cluster fields that make the chosen backup method work."""
    if plan.backup.method == "volumeSnapshot":
        # Snapshots are owned by their Backup: when retention deletes a Backup,
        # its VolumeSnapshot goes too (and with Longhorn `bak`, the NFS copy).
        snapshot: dict = {"className": plan.backup.snapshot_class, "snapshotOwnerReference": "backup"}
        if plan.wal_storage is not None:
            # Cold backups with a separate WAL volume. CNPG snapshots the volumes one
            # after the other (pkg/reconciler/backup/volumesnapshot/reconciler.go,
            # createSnapshotPVCGroupStep), and without a WAL archive a snapshot restore
            # writes no backup_label (pkg/management/postgres/restore.go RestoreSnapshot
            # returns before it when recovery has no `source`): a hot restore would be
            # crash recovery across two volumes snapshotted at different moments. CNPG
            # recommends cold snapshots (docs/src/appendixes/backup_volumesnapshot.md,
            # "Hot and cold backups"); the instance stops only until the snapshots are
            # provisioned, not during the upload.
            snapshot["online"] = False
        return {"backup": {"volumeSnapshot": snapshot}}
    if plan.backup.method == "objectStore":
        return {
            "plugins": [
                {
                    "name": BARMAN_PLUGIN,
                    "isWALArchiver": True,
                    "parameters": {
                        "barmanObjectName": names.object_store_name(plan.cluster),
                        "serverName": plan.cluster,
                    },
                }
            ]
        }
    return {}


def cluster_manifest(plan: DatabasePlan, bootstrap: dict, external_clusters: list | None) -> dict:
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
    spec.update(_backup_configuration(plan))
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


PRUNE_SCHEDULE = "30 4 * * *"  # a Kubernetes CronJob: five fields, daily at 04:30

# POSIX sh + kubectl. Deletes this cluster's scheduled snapshot Backups
# (completed or failed) whose end is older than the retention, never the newest
# completed one. Only method volumeSnapshot: after a switch to objectStore the
# ScheduledBackup (same name, same label) makes plugin Backups, which the
# object store's own retention prunes; this job keeps pruning the snapshots.
PRUNE_SCRIPT = r"""set -eu
now=$(date -u +%s)
cutoff=$(date -u -d "@$((now - RETENTION_DAYS * 86400))" +%Y-%m-%dT%H:%M:%SZ)
kubectl get backups.postgresql.cnpg.io -n "$NAMESPACE" -l "cnpg.io/scheduled-backup=$SCHEDULED_BACKUP" \
  -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.status.phase}{"\t"}{.status.stoppedAt}{"\t"}{.metadata.creationTimestamp}{"\t"}{.spec.method}{"\n"}{end}' \
  > "$HOME/backups"
keep=$(awk -F '\t' '$5 == "volumeSnapshot" && $2 == "completed" { print ($3 != "" ? $3 : $4) "\t" $1 }' "$HOME/backups" | sort | tail -n 1 | cut -f 2)
awk -F '\t' -v cutoff="$cutoff" -v keep="$keep" \
  '$5 == "volumeSnapshot" && ($2 == "completed" || $2 == "failed") && $1 != keep && ($3 != "" ? $3 : $4) < cutoff { print $1 }' "$HOME/backups" |
while read -r name; do
  echo "deleting Backup $name (older than $RETENTION_DAYS days)"
  kubectl delete backups.postgresql.cnpg.io -n "$NAMESPACE" "$name" --wait=false
done
echo "kept the newest completed backup: ${keep:-none}"
"""


def scheduled_backup_manifest(
    plan: DatabasePlan, method: Literal["volumeSnapshot", "objectStore"], *, suspend: bool
) -> dict:
    """The ScheduledBackup. Its method is always explicit (CNPG defaults to barmanObjectStore).

    The Backups belong to nobody, so they outlive the claim and the cluster,
    unless the claim asks for exactly that (deletionPolicy Delete and
    backup.deleteWithClaim): then they belong to the Cluster and go with it
    (internal/controller/scheduledbackup_controller.go, backupOwnerReference),
    and with them their snapshots (snapshotOwnerReference: backup) and, through
    the class's deletionPolicy Delete, Longhorn's copies on the NFS server
    (longhorn-manager csi/controller_server.go DeleteSnapshot deletes the backup).
    """
    spec: dict = {
        "cluster": {"name": plan.cluster},
        "schedule": plan.backup.schedule,
        "immediate": True,
        "suspend": suspend,
        "backupOwnerReference": "cluster" if plan.backup.delete_with_claim else "none",
    }
    if method == "objectStore":
        spec["method"] = "plugin"
        spec["pluginConfiguration"] = {"name": BARMAN_PLUGIN}
    else:
        spec["method"] = "volumeSnapshot"
    return {
        "apiVersion": CNPG_API_VERSION,
        "kind": "ScheduledBackup",
        "metadata": {
            "name": names.scheduled_backup_name(plan.cluster),
            "namespace": plan.namespace,
            "labels": plan.labels("backup"),
        },
        "spec": spec,
    }


def s3_requirement(store: ObjectStorePlan) -> Requirement:
    """The admin's object store credentials, named by the platform input."""
    ref = store.credentials
    # Crossplane 1.20 cannot get a Secret by name: it lists Secrets by this label, which the admin puts on.
    selector = {labels.OBJECT_STORE_CREDENTIALS: labels.value(ref.name)}
    return Requirement(keys.S3_SECRET, "v1", "Secret", ref.name, ref.namespace, labels=selector)


def s3_secret_manifest(plan: DatabasePlan, store: ObjectStorePlan, admin_secret: dict) -> dict | None:
    """A copy of the two access keys in the claim's namespace, where the plugin reads them.

    Returns None when the admin's Secret lacks one of the keys.
    """
    ref = store.credentials
    data = admin_secret.get("data") or {}
    keys = (ref.accessKeyIdKey, ref.secretAccessKeyKey)
    if not all(isinstance(data.get(k), str) and data.get(k) for k in keys):
        return None
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": names.object_store_secret_name(plan.cluster),
            "namespace": plan.namespace,
            "labels": plan.labels("backup"),
        },
        "type": "Opaque",
        "data": {k: data[k] for k in keys},
    }


def object_store_manifest(plan: DatabasePlan, store: ObjectStorePlan) -> dict:
    """The Barman Cloud ObjectStore, with the retention the claim asks for."""
    ref, compression, encryption = store.credentials, store.compression, store.encryption
    secret = names.object_store_secret_name(plan.cluster)
    wal: dict = {"compression": compression}
    data: dict = {"compression": compression}
    if encryption != "none":
        wal["encryption"] = encryption
        data["encryption"] = encryption
    return {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": {
            "name": names.object_store_name(plan.cluster),
            "namespace": plan.namespace,
            "labels": plan.labels("backup"),
        },
        "spec": {
            "retentionPolicy": f"{plan.backup.retention_days}d",
            "configuration": {
                "destinationPath": store.destination_path,
                "endpointURL": store.endpoint_url,
                "s3Credentials": {
                    "accessKeyId": {"name": secret, "key": ref.accessKeyIdKey},
                    "secretAccessKey": {"name": secret, "key": ref.secretAccessKeyKey},
                },
                "wal": wal,
                "data": data,
            },
        },
    }


def _prune_metadata(plan: DatabasePlan) -> dict:
    return {"name": names.prune_name(plan.cluster), "namespace": plan.namespace, "labels": plan.labels("backup")}


def prune_service_account_manifest(plan: DatabasePlan) -> dict:
    """The identity of the retention job."""
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _prune_metadata(plan)}


def prune_role_manifest(plan: DatabasePlan) -> dict:
    """List and delete CNPG Backups in this namespace: nothing else."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _prune_metadata(plan),
        "rules": [{"apiGroups": ["postgresql.cnpg.io"], "resources": ["backups"], "verbs": ["list", "delete"]}],
    }


def prune_role_binding_manifest(plan: DatabasePlan) -> dict:
    """Bind the Role to the job's ServiceAccount."""
    name = names.prune_name(plan.cluster)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _prune_metadata(plan),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": plan.namespace}],
    }


def prune_cron_job_manifest(plan: DatabasePlan, *, suspend: bool) -> dict:
    """The retention job for snapshot backups: unprivileged, read-only root, daily."""
    name = names.prune_name(plan.cluster)
    env = [
        {"name": "NAMESPACE", "value": plan.namespace},
        {"name": "SCHEDULED_BACKUP", "value": names.scheduled_backup_name(plan.cluster)},
        {"name": "RETENTION_DAYS", "value": str(plan.backup.retention_days)},
        {"name": "HOME", "value": "/tmp"},  # noqa: S108 - a private emptyDir: the root filesystem is read-only
    ]
    container = {
        "name": "prune",
        "image": plan.backup.prune_image,
        "command": ["/bin/sh", "-c", PRUNE_SCRIPT],
        "env": env,
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 - the pod's own emptyDir
    }
    pod = {
        "serviceAccountName": name,
        "restartPolicy": "Never",
        "securityContext": {"runAsNonRoot": True, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [{"name": "tmp", "emptyDir": {}}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _prune_metadata(plan),
        "spec": {
            "schedule": PRUNE_SCHEDULE,
            "suspend": suspend,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {"backoffLimit": 2, "ttlSecondsAfterFinished": 86400, "template": {"spec": pod}},
            },
        },
    }
