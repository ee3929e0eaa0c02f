"""Logical dumps on the NFS server: the manifests of `backup.dump` (issue #9).

Every run of the CronJob writes one file per database,
`<volume>/<namespace>/<cluster>/<db>-<UTC timestamp>.dump.gz.gpg`: `pg_dump --format=custom`,
gzip, then OpenPGP with AES-256 to the platform's PUBLIC key (the cluster never holds a key that
can read its own backups), then deletes the files older than the retention, never the newest.
The programs are `function/scripts/dump.sh` and `retention.sh`, proven against a real
PostgreSQL (tests/test_dump_scripts.py); they reach the pod through a ConfigMap with the public key.

Where the files go: a ReadWriteMany PersistentVolumeClaim per cluster, from the platform's
StorageClass (`nfs-client`, csi-driver-nfs), in the claim's namespace. Not an in-tree `nfs`
volume: the restricted Pod Security profile allows only configMap, csi, downwardAPI, emptyDir,
ephemeral, persistentVolumeClaim, projected and secret volumes
(kubernetes.io/docs/concepts/security/pod-security-standards, "Volume Types"). Not a static
PersistentVolume for a named server either: a PV is cluster-scoped, and a claim never creates
anything outside its own namespace. csi-driver-nfs provisions one folder per volume below the
StorageClass's share (its `subDir` parameter names it, e.g. `${pvc.metadata.namespace}/
${pvc.metadata.name}`: docs/driver-parameters.md), so a job mounts its own cluster's folder and
no other namespace's.

The pod meets the restricted profile: non-root with a fixed uid, no privilege escalation, every
capability dropped, RuntimeDefault seccomp, a read-only root filesystem (gpg's home and the
temporary files in an emptyDir).
"""

from __future__ import annotations

from function import names, objects
from function.postgres.plan import DUMP_ROOT, PORT, DatabasePlan, DumpPlan, DumpRestorePlan
from function.scripts import DUMP, RESTORE, RETENTION, text

PUBLIC_KEY = "public.asc"
SCRIPTS_MOUNT = "/scripts"
TMP = "/tmp"  # noqa: S108 - the pod's own emptyDir: the root filesystem is read-only
# Nominal: an NFS folder has no quota, but a claim must ask for a size.
VOLUME_REQUEST = "1Gi"
COMMAND = f"bash {SCRIPTS_MOUNT}/{DUMP} && bash {SCRIPTS_MOUNT}/{RETENTION}"
KEYS_MOUNT = "/keys"
PRIVATE_KEY = "private.asc"
PASSPHRASE = "passphrase"  # noqa: S105 - a Secret key name, not a secret
# The passphrase is optional: restore.sh reads RESTORE_PASSPHRASE_FILE only when it is set.
RESTORE_COMMAND = (
    f"if [ -r {KEYS_MOUNT}/{PASSPHRASE} ]; then export RESTORE_PASSPHRASE_FILE={KEYS_MOUNT}/{PASSPHRASE}; fi; "
    f"exec bash {SCRIPTS_MOUNT}/{RESTORE}"
)
# The restore Job is created with the Cluster; it starts restoring once the database accepts the owner and
# holds the claim's extensions (CNPG's Database creates them; restore.sh counts them as empty).
WAIT_COMMAND = r"""until psql -XAtqc 'select 1' >/dev/null 2>&1; do echo "waiting for $PGHOST"; sleep 10; done
for extension in $WAIT_FOR_EXTENSIONS; do
  until [ "$(psql -XAtqc "select 1 from pg_extension where extname = '$extension'")" = 1 ]; do
    echo "waiting for extension $extension"; sleep 10
  done
done
"""
# The restore Job is done when Kubernetes says Complete (a Job's terminal success condition).
JOB_COMPLETE = objects.Readiness(
    "DeriveFromCelQuery",
    "has(object.status) && has(object.status.conditions) && "
    "object.status.conditions.exists(c, c.type == 'Complete' && c.status == 'True')",
    watch=True,
)


def _metadata(plan: DatabasePlan, name: str) -> dict:
    return {"name": name, "namespace": plan.namespace, "labels": plan.labels("backup")}


def config_map_manifest(plan: DatabasePlan) -> dict:
    """The scripts the jobs run and, with dumps on, the public key they are encrypted to (nothing secret)."""
    data = {DUMP: text(DUMP), RETENTION: text(RETENTION), RESTORE: text(RESTORE)}
    if plan.dump is not None:
        data[PUBLIC_KEY] = plan.dump.public_key
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(plan, names.dump_name(plan.dump_stem)),
        "data": data,
    }


def volume_manifest(plan: DatabasePlan, storage_class: str) -> dict:
    """The folder on the NFS server, as a claim of the platform's StorageClass in the claim's namespace."""
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": _metadata(plan, names.dump_volume_name(plan.dump_stem)),
        "spec": {
            "accessModes": ["ReadWriteMany"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": VOLUME_REQUEST}},
        },
    }


def _connection(plan: DatabasePlan) -> list[dict]:
    """The libpq variables of the claim's database, as its owner; the password only as a secretKeyRef."""

    def secret(name: str, key: str) -> dict:
        return {"name": name, "valueFrom": {"secretKeyRef": {"name": plan.secret, "key": key}}}

    return [
        {"name": "PGHOST", "value": plan.host},
        {"name": "PGPORT", "value": str(PORT)},
        {"name": "PGDATABASE", "value": plan.database},
        secret("PGUSER", "username"),
        secret("PGPASSWORD", "password"),
    ]


def _env(plan: DatabasePlan, dump: DumpPlan) -> list[dict]:
    """The scripts' variables (their header comments)."""
    return [
        *_connection(plan),
        {"name": "DUMP_ROOT", "value": DUMP_ROOT},
        {"name": "DUMP_NAMESPACE", "value": plan.namespace},
        {"name": "DUMP_CLUSTER", "value": plan.cluster},
        {"name": "DUMP_PUBLIC_KEY_FILE", "value": f"{SCRIPTS_MOUNT}/{PUBLIC_KEY}"},
        {"name": "RETENTION_DAYS", "value": str(dump.retention_days)},
        {"name": "HOME", "value": TMP},
        {"name": "TMPDIR", "value": TMP},
    ]


def cron_job_manifest(plan: DatabasePlan, dump: DumpPlan, *, suspend: bool) -> dict:
    """The dump and retention job: restricted Pod Security, one run at a time."""
    name = names.dump_name(plan.dump_stem)
    container = {
        "name": "dump",
        "image": dump.image,
        "command": ["bash", "-c", COMMAND],
        "env": _env(plan, dump),
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": _CONTAINER_SECURITY,
        "volumeMounts": [
            {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
            {"name": "backups", "mountPath": DUMP_ROOT},
            {"name": "tmp", "mountPath": TMP},
        ],
    }
    pod = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": _pod_security(dump.run_as_user),
        "containers": [container],
        "volumes": [
            {"name": "scripts", "configMap": {"name": name}},
            {"name": "backups", "persistentVolumeClaim": {"claimName": names.dump_volume_name(plan.dump_stem)}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata(plan, name),
        "spec": {
            "schedule": dump.schedule,
            "timeZone": "Etc/UTC",
            "suspend": suspend,
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {"backoffLimit": 1, "ttlSecondsAfterFinished": 86400, "template": {"spec": pod}},
            },
        },
    }


def _pod_security(uid: int) -> dict:
    """The restricted Pod Security profile's pod-level fields, and a fixed non-root identity."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        # csi-driver-nfs applies fsGroup (fsGroupPolicy File): only when the folder's owner differs.
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


_CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}


def restore_job_manifest(plan: DatabasePlan, source: DumpRestorePlan) -> dict:
    """The Job that fills the new database from a dump, once: created with the Cluster, composed as it was ever after.

    It waits (an init container) until the database accepts the owner and holds the claim's
    extensions, then runs restore.sh, which checks the whole file before writing anything and
    refuses a database that is not empty. No ttlSecondsAfterFinished: a Job deleted after it
    finished would be created again by provider-kubernetes and run again.
    """
    connection = _connection(plan)
    mounts = [
        {"name": "scripts", "mountPath": SCRIPTS_MOUNT, "readOnly": True},
        {"name": "backups", "mountPath": DUMP_ROOT, "readOnly": True},
        {"name": "keys", "mountPath": KEYS_MOUNT, "readOnly": True},
        {"name": "tmp", "mountPath": TMP},
    ]
    common = {
        "image": source.image,
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": _CONTAINER_SECURITY,
    }
    wait = {
        "name": "wait-for-database",
        "command": ["bash", "-c", WAIT_COMMAND],
        "env": [*connection, {"name": "WAIT_FOR_EXTENSIONS", "value": " ".join(plan.extensions)}],
        **common,
        "volumeMounts": [{"name": "tmp", "mountPath": TMP}],
    }
    restore = {
        "name": "restore",
        "command": ["bash", "-c", RESTORE_COMMAND],
        "env": [
            *connection,
            {"name": "DUMP_ROOT", "value": DUMP_ROOT},
            {"name": "DUMP_NAMESPACE", "value": plan.namespace},
            {"name": "RESTORE_CLUSTER", "value": source.source_cluster},
            {"name": "RESTORE_FILE", "value": source.file},
            {"name": "RESTORE_PRIVATE_KEY_FILE", "value": f"{KEYS_MOUNT}/{PRIVATE_KEY}"},
            {"name": "HOME", "value": TMP},
            {"name": "TMPDIR", "value": TMP},
        ],
        **common,
        "volumeMounts": mounts,
    }
    pod = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": _pod_security(source.run_as_user),
        "initContainers": [wait],
        "containers": [restore],
        "volumes": [
            {"name": "scripts", "configMap": {"name": names.dump_name(plan.dump_stem)}},
            {
                "name": "backups",
                "persistentVolumeClaim": {
                    "claimName": source.source_volume,
                    "readOnly": True,
                },
            },
            # Readable by the pod's group (fsGroup) only.
            {"name": "keys", "secret": {"secretName": source.private_key_secret, "defaultMode": 0o440}},
            {"name": "tmp", "emptyDir": {}},
        ],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(plan, names.dump_restore_name(plan.dump_stem)),
        "spec": {"backoffLimit": 1, "template": {"spec": pod}},
    }


def suspended(observed_manifest: dict) -> dict:
    """The CronJob as composed before, suspended: dumps were turned off, and the files stay where they are."""
    spec = dict(observed_manifest.get("spec") or {})
    spec["suspend"] = True
    return {**observed_manifest, "spec": spec}
