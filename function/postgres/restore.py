"""How a new cluster starts: empty (initdb) or from a backup (recovery).

Bootstrap is read by CNPG once, when the cluster is created. After that the
function keeps emitting the bootstrap it chose then (read back from the
observed Object), so a later edit of `restore`, or the pruning of the source
Backup, never changes a running cluster's spec.

Restoring needs facts about the source Backup (method, phase, source cluster),
so the function asks Crossplane for it as a required resource, in the claim's
own namespace.
"""

from __future__ import annotations

import dataclasses
import datetime

from function import labels as lookup_labels
from function import names, quantity, timestamps
from function.errors import SpecError, show
from function.keys import CLUSTER, RESTORE_BACKUP, RESTORE_SNAPSHOT_CLASS, RESTORE_SNAPSHOTS, RESTORE_STORAGE_CLASS
from function.observed import Observed, dig
from function.outcome import Requirement
from function.postgres import manifests
from function.postgres.plan import DatabasePlan, RestorePlan

RECOVERY_SOURCE = "origin"


@dataclasses.dataclass(frozen=True)
class Bootstrap:
    """The Cluster's bootstrap, or what it still waits for."""

    bootstrap: dict | None = None
    external_clusters: list | None = None
    waiting: str | None = None


def requirement(plan: DatabasePlan) -> Requirement | None:
    """The source Backup, while a restoring cluster has not been created yet."""
    if plan.restore is None:
        return None
    name = plan.restore.backup_name
    # Crossplane 1.20 cannot get a Backup by name: it lists Backups by this label, which the user puts on.
    selector = {lookup_labels.BACKUP: lookup_labels.value(name)}
    return Requirement(RESTORE_BACKUP, manifests.CNPG_API_VERSION, "Backup", name, plan.namespace, labels=selector)


# CNPG labels the VolumeSnapshots of a Backup with the Backup's name (pkg/utils/labels_annotations.go
# BackupNameLabelName, set in pkg/reconciler/backup/volumesnapshot/reconciler.go createSnapshot).
SNAPSHOT_BACKUP_LABEL = "cnpg.io/backupName"
# The volume of each snapshot role (the Backup's status.snapshotBackupStatus.elements[].type).
_ROLE_VOLUME = {"PG_DATA": "storage", "PG_WAL": "walStorage"}


def snapshots_requirement(plan: DatabasePlan) -> Requirement | None:
    """The VolumeSnapshots of the source Backup (by CNPG's label), while a restoring cluster is not created yet."""
    if plan.restore is None or len(plan.restore.backup_name) > lookup_labels.LABEL_VALUE_MAX:
        return None
    selector = {SNAPSHOT_BACKUP_LABEL: plan.restore.backup_name}
    return Requirement(RESTORE_SNAPSHOTS, "snapshot.storage.k8s.io/v1", "VolumeSnapshot", None, plan.namespace,
                       labels=selector)  # fmt: skip


def class_requirements(plan: DatabasePlan, observed: Observed) -> tuple[Requirement | None, Requirement | None]:
    """The snapshots' VolumeSnapshotClass and the data volume's StorageClass, once the snapshots are found.

    Both cluster-scoped, asked by name (Crossplane 1.20 gets those right): their drivers must agree.
    """
    snapshots = snapshots_requirement(plan)
    if snapshots is None:
        return None, None
    found = snapshots.ask(observed) or []
    names_found = sorted({n for n in (dig(s, "spec", "volumeSnapshotClassName") for s in found) if isinstance(n, str)})
    if len(names_found) != 1:
        return None, None
    snapshot_class = Requirement(
        RESTORE_SNAPSHOT_CLASS, "snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", names_found[0]
    )
    storage_class = Requirement(RESTORE_STORAGE_CLASS, "storage.k8s.io/v1", "StorageClass", plan.storage.storage_class)
    return snapshot_class, storage_class


def _refuse_another_driver(plan: DatabasePlan, restore: RestorePlan, observed: Observed, field: str) -> None:
    """A volume is restored from a snapshot only by the CSI driver that took it: refuse another StorageClass's.

    external-provisioner provisions a PVC from a VolumeSnapshot only when the snapshot's driver is its
    own (kubernetes-csi/external-provisioner pkg/controller/controller.go, getSnapshotSource: "snapshot's
    driver does not match"); the cluster would wait forever for its volume. Left to CNPG when either class
    is not found.
    """
    try:
        classes = observed.required(RESTORE_SNAPSHOT_CLASS), observed.required(RESTORE_STORAGE_CLASS)
    except LookupError:
        return
    snapshot_class, storage_class = (next(iter(found or ()), None) for found in classes)
    driver, provisioner = dig(snapshot_class, "driver"), dig(storage_class, "provisioner")
    if not isinstance(driver, str) or not isinstance(provisioner, str) or driver == provisioner:
        return
    raise SpecError.one(
        f"{field.removesuffix('.restore')}.instance.storage.storageClass",
        f"StorageClass {show(plan.storage.storage_class)} provisions with {show(provisioner)}, but the snapshots of "
        f"Backup {show(restore.backup_name)} were taken by {show(driver)} (VolumeSnapshotClass "
        f"{show(dig(snapshot_class, 'metadata', 'name'))}): a volume is restored from a snapshot only by the driver "
        "that took it; choose a StorageClass of that driver",
    )


def _refuse_smaller_volumes(
    plan: DatabasePlan, restore: RestorePlan, backup: dict, observed: Observed, field: str
) -> None:
    """A volume smaller than the snapshot it is restored from cannot be provisioned: refuse it, with the size to set.

    A PVC with a VolumeSnapshot data source must request at least the snapshot's
    `status.restoreSize` (external-provisioner refuses a smaller one, and the cluster never starts).
    Snapshots not found (or not asked for) are left to CNPG, which reports them.
    """
    try:
        found = observed.required(RESTORE_SNAPSHOTS) or []
    except LookupError:
        return
    sizes = {dig(s, "metadata", "name"): dig(s, "status", "restoreSize") for s in found}
    base = field.removesuffix(".restore")
    for element in dig(backup, "status", "snapshotBackupStatus", "elements") or ():
        volume = _ROLE_VOLUME.get(element.get("type")) if isinstance(element, dict) else None
        size = sizes.get(element.get("name")) if volume else None
        planned = plan.storage if volume == "storage" else plan.wal_storage
        if not isinstance(size, str) or not quantity.is_quantity(size) or planned is None:
            continue
        if quantity.parse(planned.size) < quantity.parse(size):
            raise SpecError.one(
                f"{base}.instance.{volume}.size",
                f"{show(planned.size)} is smaller than VolumeSnapshot {show(element.get('name'))} of Backup "
                f"{show(restore.backup_name)} (restoreSize {size}): a volume restored from a snapshot needs at least "
                f"its size; set instance.{volume}.size to {size} or more",
            )


def _from_snapshot(plan: DatabasePlan, restore: RestorePlan, backup: dict, field: str) -> Bootstrap:
    if restore.point_in_time:
        raise SpecError.one(
            f"{field}.pointInTime",
            f"Backup {show(restore.backup_name)} is a volume snapshot backup; point-in-time recovery needs "
            "a WAL archive, which only objectStore backups have (CNPG would silently ignore the time)",
        )
    kinds = {
        e.get("type") for e in dig(backup, "status", "snapshotBackupStatus", "elements") or () if isinstance(e, dict)
    }
    if "PG_WAL" in kinds and plan.wal_storage is None:
        raise SpecError.one(
            f"{field}.backupName",
            f"Backup {show(restore.backup_name)} includes a WAL volume snapshot; set instance.walStorage "
            "so the restored cluster has a WAL volume to restore it into",
        )
    if "PG_WAL" not in kinds and plan.wal_storage is not None:
        raise SpecError.one(
            f"{field}.backupName",
            f"Backup {show(restore.backup_name)} has no WAL volume snapshot; remove instance.walStorage "
            "for the restore (it can be added later)",
        )
    recovery = {"backup": {"name": restore.backup_name}, **manifests.recovery_owner(plan)}
    return Bootstrap(bootstrap={"recovery": recovery})


def _check_not_in_the_future(wanted: datetime.datetime | None, restore: RestorePlan, field: str) -> None:
    """Refuse a pointInTime the WAL archive cannot have reached yet (it ends at most now).

    PostgreSQL 13 and later stop a recovery whose target lies past the end of the WAL it could
    replay: FATAL "recovery ended before configured recovery target was reached"
    (src/backend/access/transam/xlogrecovery.c), and CNPG retries the recovery job. Checked only
    before the Cluster exists (a restore's bootstrap is never recomputed afterwards), so the claim
    needs no clock once it is restored; a time that has passed by the next reconcile is accepted.
    """
    current = timestamps.now()
    if wanted is not None and wanted.tzinfo is not None and wanted > current:
        raise SpecError.one(
            f"{field}.pointInTime",
            f"{show(restore.point_in_time)} is in the future (now: {timestamps.show_utc(current)}): no WAL "
            "archive reaches it yet, and PostgreSQL stops a recovery whose target lies past the end of the "
            "archive; choose a time that has passed",
        )


def _from_object_store(plan: DatabasePlan, restore: RestorePlan, backup: dict, field: str) -> Bootstrap:
    source = dig(backup, "spec", "cluster", "name")
    if plan.backup.method != "objectStore":
        raise SpecError.one(
            f"{field}.backupName",
            f"Backup {show(restore.backup_name)} is in the object store; restoring it needs backup.method "
            "'objectStore' so the new cluster can read the store",
        )
    if source == plan.cluster:
        raise SpecError.one(
            f"{field}.backupName",
            f"Backup {show(restore.backup_name)} was taken from cluster {show(source)}, the cluster this claim "
            "creates; both would archive WAL to the same place. Restore into a claim with another name "
            "(or set instance.name)",
        )
    # Pinned to the Backup (backupID picks the base backup), and stopping where
    # asked: at pointInTime, or else as soon as the backup is consistent
    # (targetImmediate). backupID alone writes no recovery target (CNPG
    # api/v1/cluster_funcs.go RecoveryTarget.BuildPostgresOptions, appended by
    # pkg/management/postgres/restore.go writeCustomRestoreWalConfig; the plugin's
    # restore config has only restore_command: plugin-barman-cloud
    # internal/cnpgi/restore/restore.go getRestoreWalConfig), so PostgreSQL would
    # replay the whole WAL archive, past the chosen backup. CNPG's webhook wants
    # backupID with targetImmediate (internal/webhook/v1/cluster_webhook.go).
    backup_id = dig(backup, "status", "backupId")
    if not isinstance(backup_id, str) or not backup_id:
        raise SpecError.one(
            f"{field}.backupName",
            f"Backup {show(restore.backup_name)} has no status.backupId, so the restore cannot be pinned to it; "
            "choose a backup the Barman Cloud plugin completed",
        )
    target: dict = {"backupID": backup_id}
    if not restore.point_in_time:
        target["targetImmediate"] = True
    else:
        stopped = timestamps.parse(dig(backup, "status", "stoppedAt"))
        wanted = timestamps.parse(restore.point_in_time)
        if stopped and wanted and wanted < stopped:
            raise SpecError.one(
                f"{field}.pointInTime",
                f"{show(restore.point_in_time)} is before Backup {show(restore.backup_name)} finished "
                f"({dig(backup, 'status', 'stoppedAt')}); choose a later time or an earlier backup",
            )
        _check_not_in_the_future(wanted, restore, field)
        target["targetTime"] = restore.point_in_time
    recovery: dict = {"source": RECOVERY_SOURCE, **manifests.recovery_owner(plan), "recoveryTarget": target}
    external = [
        {
            "name": RECOVERY_SOURCE,
            "plugin": {
                "name": manifests.BARMAN_PLUGIN,
                # Our own store reads the source's folder: every claim of a
                # namespace writes below the same path, one folder per cluster.
                "parameters": {"barmanObjectName": names.object_store_name(plan.cluster), "serverName": source},
            },
        }
    ]
    return Bootstrap(bootstrap={"recovery": recovery}, external_clusters=external)


def bootstrap(plan: DatabasePlan, observed: Observed, field: str) -> Bootstrap:
    """The bootstrap of the Cluster.

    Raises:
        SpecError: the restore cannot work as asked (the message says why).
    """
    before = observed.manifest(CLUSTER)
    if before is not None and isinstance(dig(before, "spec", "bootstrap"), dict):
        return Bootstrap(
            bootstrap=before["spec"]["bootstrap"], external_clusters=dig(before, "spec", "externalClusters")
        )
    restore = plan.restore
    if restore is None:
        return Bootstrap(bootstrap=manifests.initdb(plan))
    found = observed.required(RESTORE_BACKUP)
    if found == [] and observed.answered_by_1_20(RESTORE_BACKUP):
        return Bootstrap(waiting=_not_found_on_1_20(plan, restore))
    return _from_backup(plan, restore, found, field, observed)


def _not_found_on_1_20(plan: DatabasePlan, restore: RestorePlan) -> str:
    """Crossplane 1.20 finds a Backup only by its label: say how to put it on."""
    name = restore.backup_name
    command = lookup_labels.kubectl_label(
        "backup.postgresql.cnpg.io", name, plan.namespace, {lookup_labels.BACKUP: lookup_labels.value(name)}
    )
    return (
        f"Backup {name} in namespace {plan.namespace} (not found; Crossplane 1.20 finds a Backup only by its "
        f"label: {command})"
    )


def _from_backup(
    plan: DatabasePlan, restore: RestorePlan, found: list[dict] | None, field: str, observed: Observed
) -> Bootstrap:
    """The bootstrap from the source Backup, as Crossplane found it (None: not looked up yet)."""
    name = restore.backup_name
    if found is None:
        return Bootstrap(waiting=f"Backup {name} to be looked up")
    if not found:
        return Bootstrap(waiting=f"Backup {name} in namespace {plan.namespace} (not found)")
    backup = found[0]
    phase = dig(backup, "status", "phase")
    if phase == "failed":
        raise SpecError.one(
            f"{field}.backupName",
            f"Backup {show(name)} failed ({dig(backup, 'status', 'error') or 'no reason given'}); "
            "choose another backup",
        )
    if phase != "completed":
        return Bootstrap(waiting=f"Backup {name} to complete (phase: {phase or 'new'})")
    method = dig(backup, "spec", "method") or dig(backup, "status", "method")
    if method == "volumeSnapshot":
        _refuse_smaller_volumes(plan, restore, backup, observed, field)
        _refuse_another_driver(plan, restore, observed, field)
        return _from_snapshot(plan, restore, backup, field)
    if method == "plugin":
        return _from_object_store(plan, restore, backup, field)
    raise SpecError.one(
        f"{field}.backupName",
        f"Backup {show(name)} uses method {show(method)}; only volumeSnapshot and plugin (Barman Cloud) "
        "backups can be restored by this platform",
    )
