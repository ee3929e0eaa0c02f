"""A database over time: gating, readiness, status, and what changes may do."""

from __future__ import annotations

import base64
import copy
import datetime

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys, timestamps
from function.simulate import RESOURCE_NAME_ANNOTATION, as_observed
from tests.support import function as f
from tests.support import golden
from tests.support.data import OBJECT_STORE_INPUT, S3_SECRET
from tests.support.paths import GOLDEN

SHOP = f.composite("PostgresDatabase", {"extensions": ["uuid-ossp"]})


def _observed(rsp, *, not_ready: tuple[str, ...] = (), live_status: dict | None = None) -> list[dict]:
    """Observe every desired resource; some not ready yet; extra live status by key."""
    docs = []
    for key, body in f.desired(rsp).items():
        doc = as_observed(key, body)
        if key in not_ready:
            doc["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "Creating"}]
        for k, extra in (live_status or {}).items():
            if k == key:
                doc["status"]["atProvider"]["manifest"]["status"] = extra
        docs.append(doc)
    return docs


def test_resources_appear_in_dependency_order():
    # 1. Nothing exists: only the Secret (CNPG reads it at bootstrap).
    rsp = f.run(f.request(SHOP))
    assert set(f.desired(rsp)) == {keys.CREDENTIALS}
    # 2. The Secret exists but is not ready: still only the Secret.
    rsp = f.run(f.request(SHOP, _observed(rsp, not_ready=(keys.CREDENTIALS,))))
    assert set(f.desired(rsp)) == {keys.CREDENTIALS}
    # 3. The Secret is ready: the Cluster comes.
    rsp = f.run(f.request(SHOP, _observed(rsp)))
    assert set(f.desired(rsp)) == {keys.CREDENTIALS, keys.CLUSTER}
    assert rsp.desired.resources[keys.CLUSTER].ready == fnv1.READY_FALSE
    # 4. The Cluster is not ready yet: nothing more, and the claim says so with CNPG's phase.
    observed = _observed(rsp, not_ready=(keys.CLUSTER,), live_status={keys.CLUSTER: {"phase": "Setting up primary"}})
    rsp = f.run(f.request(SHOP, observed))
    assert set(f.desired(rsp)) == {keys.CREDENTIALS, keys.CLUSTER}
    assert "phase: Setting up primary" in f.conditions(rsp)["DatabaseReady"].message
    assert f.status(rsp)["phase"] == "Setting up primary"
    # 5. The Cluster is ready: the Database, backups and retention follow.
    rsp = f.run(f.request(SHOP, _observed(rsp)))
    assert {keys.DATABASE, keys.SCHEDULED_BACKUP, keys.PRUNE_CRON_JOB} <= set(f.desired(rsp))
    assert rsp.desired.composite.ready == fnv1.READY_FALSE  # the Database is not observed yet
    # 6. Everything observed ready: the composite is ready.
    rsp = f.run(f.request(SHOP, _observed(rsp)))
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    assert all(r.ready == fnv1.READY_TRUE for r in rsp.desired.resources.values())
    assert f.conditions(rsp)["DatabaseReady"].status == fnv1.STATUS_CONDITION_TRUE
    assert rsp.meta.ttl.seconds == 60


def test_waiting_shortens_the_ttl():
    assert f.run(f.request(SHOP)).meta.ttl.seconds == 20


def test_once_emitted_a_resource_is_emitted_even_when_its_prerequisite_is_lost():
    rsp, observed = f.converge(SHOP)
    # The Cluster turns unready (e.g. a failover): nothing disappears.
    degraded = [copy.deepcopy(d) for d in observed]
    for doc in degraded:
        if doc["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION] == keys.CLUSTER:
            doc["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    again = f.run(f.request(SHOP, degraded))
    assert set(f.desired(again)) == set(f.desired(rsp))
    assert again.desired.composite.ready == fnv1.READY_FALSE


def test_status_reports_instances_and_the_last_backup_from_the_cluster():
    rsp, observed = f.converge(f.composite("PostgresDatabase", {"instance": {"instances": 3}}))
    live = {
        keys.CLUSTER: {
            "phase": "Cluster in healthy state",
            "instances": 3,
            "readyInstances": 2,
            "lastSuccessfulBackup": "2026-11-27T03:00:41Z",
            "firstRecoverabilityPoint": "2026-11-20T03:00:40Z",
            "conditions": [{"type": "Ready", "status": "True"}],
        }
    }
    for doc in observed:
        key = doc["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION]
        if key in live:
            doc["status"]["atProvider"]["manifest"]["status"] = live[key]
    rsp = f.run(f.request(f.composite("PostgresDatabase", {"instance": {"instances": 3}}), observed))
    status = f.status(rsp)
    assert (status["instances"], status["readyInstances"]) == (3, 2)
    assert status["lastSuccessfulBackup"] == "2026-11-27T03:00:41Z"
    assert status["firstRecoverabilityPoint"] == "2026-11-20T03:00:40Z"
    assert "last successful backup: 2026-11-27T03:00:41Z" in f.conditions(rsp)["BackupReady"].message


def test_turning_backups_off_suspends_the_schedule_only():
    """backup.enabled false suspends the ScheduledBackup and nothing else: the Cluster's spec does not change (no
    pod roll, WAL archiving goes on) and retention keeps running. The plugin's retention runs only for a cluster
    that has the plugin enabled (plugin-barman-cloud internal/cnpgi/instance/retention.go), and CNPG skips a
    suspended ScheduledBackup (internal/controller/scheduledbackup_controller.go)."""
    rsp, observed = f.converge(SHOP)
    off = f.run(
        f.request(
            f.composite("PostgresDatabase", {"extensions": ["uuid-ossp"], "backup": {"enabled": False}}), observed
        )
    )
    assert set(f.desired(off)) == set(f.desired(rsp))
    manifests, before = f.manifests(off), f.manifests(rsp)
    assert manifests[keys.SCHEDULED_BACKUP]["spec"] == {**before[keys.SCHEDULED_BACKUP]["spec"], "suspend": True}
    assert manifests[keys.CLUSTER] == before[keys.CLUSTER]
    assert manifests[keys.PRUNE_CRON_JOB] == before[keys.PRUNE_CRON_JOB]
    assert manifests[keys.PRUNE_CRON_JOB]["spec"]["suspend"] is False
    backup_ready = f.conditions(off)["BackupReady"]
    assert (backup_ready.status, backup_ready.reason) == (fnv1.STATUS_CONDITION_FALSE, "Suspended")
    assert "retention goes on" in backup_ready.message
    assert f.status(off)["backupMethod"] == "volumeSnapshot"


def test_turning_object_store_backups_off_keeps_wal_archiving_and_retention():
    spec = {"backup": {"method": "objectStore"}}
    required = {"postgres-object-store-admin-credentials": [S3_SECRET]}
    rsp, observed = f.converge(f.composite("PostgresDatabase", spec), required, OBJECT_STORE_INPUT)
    off_spec = {"backup": {"method": "objectStore", "enabled": False}}
    off = f.run(f.request(f.composite("PostgresDatabase", off_spec), observed, required, OBJECT_STORE_INPUT))
    manifests, before = f.manifests(off), f.manifests(rsp)
    assert manifests[keys.CLUSTER]["spec"]["plugins"] == before[keys.CLUSTER]["spec"]["plugins"]
    assert manifests[keys.OBJECT_STORE] == before[keys.OBJECT_STORE]
    assert manifests[keys.SCHEDULED_BACKUP]["spec"]["suspend"] is True
    assert "WAL archiving and the object store's retention go on" in f.conditions(off)["BackupReady"].message


def test_switching_to_the_object_store_keeps_the_snapshot_retention(tmp_path):
    _, observed = f.converge(SHOP)
    spec = {"extensions": ["uuid-ossp"], "backup": {"method": "objectStore"}}
    rsp = f.run(
        f.request(
            f.composite("PostgresDatabase", spec),
            observed,
            {"postgres-object-store-admin-credentials": [S3_SECRET]},
            function_input=OBJECT_STORE_INPUT,
        )
    )
    manifests = f.manifests(rsp)
    # The old snapshot Backups keep being pruned (the job deletes only volumeSnapshot Backups).
    assert manifests[keys.PRUNE_CRON_JOB]["spec"]["suspend"] is False
    assert manifests[keys.SCHEDULED_BACKUP]["spec"]["method"] == "plugin"
    assert manifests[keys.CLUSTER]["spec"]["plugins"][0]["name"] == "barman-cloud.cloudnative-pg.io"
    assert manifests[keys.OBJECT_STORE_SECRET]["data"] == {"ACCESS_KEY_ID": "a2V5", "ACCESS_SECRET_KEY": "c2VjcmV0"}


def test_the_object_store_waits_for_the_admins_credentials():
    xr = f.composite("PostgresDatabase", {"backup": {"method": "objectStore"}})
    rsp = f.run(
        f.request(xr, required={"postgres-object-store-admin-credentials": []}, function_input=OBJECT_STORE_INPUT)
    )
    assert keys.OBJECT_STORE_SECRET not in f.desired(rsp)
    assert "crossplane-system/minio" in f.conditions(rsp)["DatabaseReady"].message
    assert f.fatal(rsp) is None


def test_removing_an_extension_drops_it():
    _, observed = f.converge(f.composite("PostgresDatabase", {"extensions": ["uuid-ossp", "pgcrypto"]}))
    rsp = f.run(f.request(f.composite("PostgresDatabase", {"extensions": ["pgcrypto"]}), observed))
    assert f.manifests(rsp)[keys.DATABASE]["spec"]["extensions"] == [
        {"name": "pgcrypto", "ensure": "present"},
        {"name": "uuid-ossp", "ensure": "absent"},
    ]


PRUNE_KEYS = {keys.PRUNE_SERVICE_ACCOUNT, keys.PRUNE_ROLE, keys.PRUNE_ROLE_BINDING, keys.PRUNE_CRON_JOB}


def _deletion_policies(rsp) -> dict[str, str]:
    return {key: body["spec"]["deletionPolicy"] for key, body in f.desired(rsp).items()}


def test_deletion_policy_maps_to_every_object_and_backup_ownership():
    """Deleting a database never deletes its backups unless the claim asks for exactly that.

    With deletionPolicy Delete alone the Backups belong to nobody and outlive the Cluster, and the retention job is
    orphaned so it keeps pruning them (never the newest). Only backup.deleteWithClaim makes the Cluster own them
    (backupOwnerReference: cluster), so they go with it, with their snapshots (snapshotOwnerReference: backup) and,
    through the class's deletionPolicy Delete, Longhorn's backups on the NFS server (longhorn-manager v1.12.1
    csi/controller_server.go DeleteSnapshot: a `bak` snapshot's deletion deletes the backup).
    """
    retain, _ = f.converge(SHOP)
    delete, _ = f.converge(f.composite("PostgresDatabase", {"deletionPolicy": "Delete"}))
    everything, _ = f.converge(
        f.composite("PostgresDatabase", {"deletionPolicy": "Delete", "backup": {"deleteWithClaim": True}})
    )
    assert set(_deletion_policies(retain).values()) == {"Orphan"}
    assert {k: v for k, v in _deletion_policies(delete).items() if k not in PRUNE_KEYS} == {
        k: "Delete" for k in f.desired(delete) if k not in PRUNE_KEYS
    }
    assert {_deletion_policies(delete)[k] for k in PRUNE_KEYS} == {"Orphan"}
    assert set(_deletion_policies(everything).values()) == {"Delete"}
    assert f.manifests(retain)[keys.SCHEDULED_BACKUP]["spec"]["backupOwnerReference"] == "none"
    assert f.manifests(delete)[keys.SCHEDULED_BACKUP]["spec"]["backupOwnerReference"] == "none"
    assert f.manifests(everything)[keys.SCHEDULED_BACKUP]["spec"]["backupOwnerReference"] == "cluster"
    snapshots = f.manifests(everything)[keys.CLUSTER]["spec"]["backup"]["volumeSnapshot"]
    assert snapshots["snapshotOwnerReference"] == "backup"


def test_a_composite_without_a_claim_uses_its_own_name_and_spec_namespace():
    xr = {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": "XPostgresDatabase",
        "metadata": {"name": "ledger"},
        "spec": {"namespace": "accounting"},
    }
    rsp, _ = f.converge(xr)
    cluster = f.manifests(rsp)[keys.CLUSTER]
    assert (cluster["metadata"]["name"], cluster["metadata"]["namespace"]) == ("postgres-ledger", "accounting")
    default = {**xr, "spec": {}}
    rsp, _ = f.converge(default)
    assert f.manifests(rsp)[keys.CLUSTER]["metadata"]["namespace"] == "default"


# Restore


def _backup(method: str, phase: str = "completed", **status) -> dict:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Backup",
        "metadata": {"name": "nightly", "namespace": "shop"},
        "spec": {"cluster": {"name": "postgres-shop"}, "method": method},
        "status": {"phase": phase, "method": method, **status},
    }


RESTORING = f.composite(
    "PostgresDatabase", {"databaseName": "shop", "restore": {"backupName": "nightly"}}, name="shop-copy"
)


def _with_secret_ready(required: dict) -> list[dict]:
    rsp = f.run(f.request(RESTORING, required=required))
    return _observed(rsp)


def test_restore_waits_for_the_backup_to_be_found_and_completed():
    unresolved = f.run(f.request(RESTORING, _with_secret_ready({})))
    assert keys.CLUSTER not in f.desired(unresolved)
    missing = f.run(f.request(RESTORING, _with_secret_ready({}), {keys.RESTORE_BACKUP: []}))
    assert "Backup nightly in namespace shop (not found)" in f.conditions(missing)["DatabaseReady"].message
    running = {keys.RESTORE_BACKUP: [_backup("volumeSnapshot", phase="running")]}
    rsp = f.run(f.request(RESTORING, _with_secret_ready(running), running))
    assert keys.CLUSTER not in f.desired(rsp)
    assert "Backup nightly to complete (phase: running)" in f.conditions(rsp)["DatabaseReady"].message
    assert f.fatal(rsp) is None


def test_restore_from_a_snapshot_backup():
    required = {
        keys.RESTORE_BACKUP: [_backup("volumeSnapshot", snapshotBackupStatus={"elements": [{"type": "PG_DATA"}]})]
    }
    rsp = f.run(f.request(RESTORING, _with_secret_ready(required), required))
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["bootstrap"] == {
        "recovery": {
            "backup": {"name": "nightly"},
            "database": "shop",
            "owner": "shop_user",
            "secret": {"name": "shop-copy-postgres-credentials"},
        }
    }


def _snapshot(name: str, restore_size: str | None) -> dict:
    """A VolumeSnapshot as CNPG makes it for Backup `nightly` (labelled with the Backup's name)."""
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": "shop", "labels": {"cnpg.io/backupName": "nightly"}},
        "status": {"readyToUse": True, **({"restoreSize": restore_size} if restore_size else {})},
    }


@pytest.mark.parametrize(
    ("spec", "snapshots", "refused"),
    [
        # The default data volume (10Gi) holds a 10Gi snapshot; a 12Gi one needs instance.storage.size.
        ({}, [_snapshot("nightly", "10Gi")], None),
        ({}, [_snapshot("nightly", "12Gi")], ("spec.instance.storage.size", "'10Gi' is smaller than VolumeSnapshot")),
        ({"instance": {"storage": {"size": "20Gi"}}}, [_snapshot("nightly", "12Gi")], None),
        # The WAL volume is checked against the PG_WAL snapshot.
        (
            {"instance": {"walStorage": {"size": "1Gi"}}},
            [_snapshot("nightly", "10Gi"), _snapshot("nightly-wal", "2Gi")],
            ("spec.instance.walStorage.size", "set instance.walStorage.size to 2Gi or more"),
        ),
        # No size reported, or no snapshot found (another namespace's is never read): left to CNPG.
        ({}, [_snapshot("nightly", None)], None),
        ({}, [], None),
        ({}, [{**_snapshot("nightly", "99Gi"), "metadata": {"name": "nightly", "namespace": "other",
                                                           "labels": {"cnpg.io/backupName": "nightly"}}}], None),
    ],
    ids=["fits", "data-too-small", "data-set-larger", "wal-too-small", "no-size", "not-found", "other-namespace"],
)  # fmt: skip
def test_a_snapshot_restore_refuses_a_volume_smaller_than_its_snapshot(spec, snapshots, refused):
    """external-provisioner refuses a PVC smaller than its snapshot's restoreSize: the cluster would never start."""
    elements = [{"name": "nightly", "type": "PG_DATA"}]
    if "walStorage" in spec.get("instance", {}):
        elements.append({"name": "nightly-wal", "type": "PG_WAL"})
    backup = _backup("volumeSnapshot", snapshotBackupStatus={"elements": elements})
    xr = f.composite(
        "PostgresDatabase", {"databaseName": "shop", "restore": {"backupName": "nightly"}, **spec}, name="shop-copy"
    )
    # The Secret composed and ready (a first reconcile, before the snapshots are looked up), as in a cluster.
    secret_ready = _observed(f.run(f.request(xr, required={keys.RESTORE_BACKUP: [backup]})))
    required = {keys.RESTORE_BACKUP: [backup], keys.RESTORE_SNAPSHOTS: snapshots}
    rsp = f.run(f.request(xr, secret_ready, required))
    if refused is None:
        assert f.fatal(rsp) is None
        assert keys.CLUSTER in f.desired(rsp)
        selector = rsp.requirements.resources[keys.RESTORE_SNAPSHOTS]
        labels = dict(selector.match_labels.labels)
        assert (selector.kind, selector.namespace, labels) == (
            "VolumeSnapshot",
            "shop",
            {"cnpg.io/backupName": "nightly"},
        )
    else:
        field, says = refused
        message = f.fatal(rsp)
        assert message is not None and message.startswith(f"{field}:") and says in message, message


def _class(kind: str, name: str, **fields: str) -> dict:
    api = "snapshot.storage.k8s.io/v1" if kind == "VolumeSnapshotClass" else "storage.k8s.io/v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name}, **fields}


@pytest.mark.parametrize(
    ("storage_class", "classes", "refused"),
    [
        ("longhorn", {"longhorn-backup": "driver.longhorn.io", "longhorn": "driver.longhorn.io"}, False),
        ("nfs-client", {"longhorn-backup": "driver.longhorn.io", "nfs-client": "nfs.csi.k8s.io"}, True),
        ("nfs-client", {"longhorn-backup": "driver.longhorn.io"}, False),  # StorageClass not found: left to CNPG
    ],
    ids=["same-driver", "another-driver", "class-not-found"],
)
def test_a_snapshot_restore_refuses_a_storage_class_of_another_driver(storage_class, classes, refused):
    """external-provisioner restores a snapshot only with the driver that took it (getSnapshotSource)."""
    backup = _backup("volumeSnapshot", snapshotBackupStatus={"elements": [{"name": "nightly", "type": "PG_DATA"}]})
    snapshot = {**_snapshot("nightly", "10Gi"), "spec": {"volumeSnapshotClassName": "longhorn-backup"}}
    spec = {"databaseName": "shop", "restore": {"backupName": "nightly"},
            "instance": {"storage": {"storageClass": storage_class}}}  # fmt: skip
    xr = f.composite("PostgresDatabase", spec, name="shop-copy")
    secret_ready = _observed(f.run(f.request(xr, required={keys.RESTORE_BACKUP: [backup]})))
    found = {
        keys.RESTORE_BACKUP: [backup],
        keys.RESTORE_SNAPSHOTS: [snapshot],
        keys.RESTORE_SNAPSHOT_CLASS: [
            _class("VolumeSnapshotClass", "longhorn-backup", driver=classes["longhorn-backup"])
        ],
        keys.RESTORE_STORAGE_CLASS: [
            _class("StorageClass", name, provisioner=driver)
            for name, driver in classes.items()
            if name == storage_class
        ],
    }
    rsp = f.run(f.request(xr, secret_ready, found))
    message = f.fatal(rsp)
    if refused:
        assert message is not None and message.startswith("spec.instance.storage.storageClass:"), message
        assert "'nfs-client' provisions with 'nfs.csi.k8s.io'" in message and "'driver.longhorn.io'" in message
    else:
        assert message is None and keys.CLUSTER in f.desired(rsp)
        asked = rsp.requirements.resources
        assert (asked[keys.RESTORE_SNAPSHOT_CLASS].match_name, asked[keys.RESTORE_STORAGE_CLASS].match_name) == (
            "longhorn-backup",
            storage_class,
        )


def test_a_restored_cluster_keeps_its_bootstrap_after_the_backup_is_pruned():
    required = {keys.RESTORE_BACKUP: [_backup("volumeSnapshot")]}
    rsp, observed = f.converge(RESTORING, required=required)
    bootstrap = f.manifests(rsp)[keys.CLUSTER]["spec"]["bootstrap"]
    later = f.run(f.request(RESTORING, observed, {keys.RESTORE_BACKUP: []}))
    assert f.manifests(later)[keys.CLUSTER]["spec"]["bootstrap"] == bootstrap
    assert keys.RESTORE_BACKUP not in later.requirements.resources  # no longer asked for
    assert f.fatal(later) is None


def test_restore_refusals_say_why():
    cases = [
        (
            {"pointInTime": "2026-11-26T10:30:00Z"},
            _backup("volumeSnapshot"),
            "spec.restore.pointInTime",
            "needs a WAL archive",
        ),
        (
            {},
            _backup("volumeSnapshot", phase="failed", error="snapshot timed out"),
            "spec.restore.backupName",
            "snapshot timed out",
        ),
        (
            {},
            _backup("volumeSnapshot", snapshotBackupStatus={"elements": [{"type": "PG_DATA"}, {"type": "PG_WAL"}]}),
            "spec.restore.backupName",
            "set instance.walStorage",
        ),
        ({}, _backup("plugin"), "spec.restore.backupName", "needs backup.method 'objectStore'"),
        ({}, _backup("barmanObjectStore"), "spec.restore.backupName", "only volumeSnapshot and plugin"),
    ]
    for restore_spec, backup, field, says in cases:
        xr = f.composite(
            "PostgresDatabase",
            {"databaseName": "shop", "restore": {"backupName": "nightly", **restore_spec}},
            name="shop-copy",
        )
        required = {keys.RESTORE_BACKUP: [backup]}
        observed = _observed(f.run(f.request(xr, required=required)))
        message = f.fatal(f.run(f.request(xr, observed, required)))
        assert message and f"{field}:" in message and says in message, (restore_spec, message)


def _object_store_restore(point_in_time: str | None) -> tuple[dict, dict]:
    """A claim `shop-copy` restoring object store Backup `nightly` of `shop` (at `point_in_time`), and what it asks for."""
    restore = {"backupName": "nightly", **({"pointInTime": point_in_time} if point_in_time else {})}
    spec = {"databaseName": "shop", "backup": {"method": "objectStore"}, "restore": restore}
    xr = f.composite("PostgresDatabase", spec, name="shop-copy")
    backup = _backup("plugin", backupId="20261126T030002", stoppedAt="2026-11-26T03:04:10Z")
    return xr, {keys.RESTORE_BACKUP: [backup], "postgres-object-store-admin-credentials": [S3_SECRET]}


def test_point_in_time_recovery_from_the_object_store():
    xr, required = _object_store_restore("2026-11-26T10:30:00Z")
    rsp, _ = f.converge(xr, required=required, function_input=OBJECT_STORE_INPUT)
    spec = f.manifests(rsp)[keys.CLUSTER]["spec"]
    assert spec["bootstrap"]["recovery"]["source"] == "origin"
    assert spec["bootstrap"]["recovery"]["recoveryTarget"] == {
        "backupID": "20261126T030002",
        "targetTime": "2026-11-26T10:30:00Z",
    }
    assert spec["externalClusters"][0]["plugin"]["parameters"] == {
        "barmanObjectName": "postgres-shop-copy-backup-store",
        "serverName": "postgres-shop",
    }
    # A time before the base backup finished is refused.
    early = {**xr, "spec": {**xr["spec"], "restore": {"backupName": "nightly", "pointInTime": "2026-11-26T03:00:00Z"}}}
    observed = _observed(f.run(f.request(early, required=required, function_input=OBJECT_STORE_INPUT)))
    message = f.fatal(f.run(f.request(early, observed, required, function_input=OBJECT_STORE_INPUT)))
    assert message and "before Backup 'nightly' finished" in message


def test_a_point_in_time_in_the_future_waits_for_the_clock_and_a_restored_cluster_needs_none(monkeypatch):
    """The archive ends at most now, and PostgreSQL 13+ stops a recovery whose target lies past the end of its
    WAL (FATAL "recovery ended before configured recovery target was reached", xlogrecovery.c): refused before
    the Cluster exists, accepted once the time has passed; once restored, the clock plays no part."""
    xr, required = _object_store_restore("2026-11-26T10:30:00Z")
    clock = {"now": datetime.datetime(2026, 11, 26, 10, 29, 59, tzinfo=datetime.UTC)}
    monkeypatch.setattr(timestamps, "now", lambda: clock["now"])
    observed = _observed(f.run(f.request(xr, required=required, function_input=OBJECT_STORE_INPUT)))
    message = f.fatal(f.run(f.request(xr, observed, required, function_input=OBJECT_STORE_INPUT)))
    assert message == (
        "spec.restore.pointInTime: '2026-11-26T10:30:00Z' is in the future (now: 2026-11-26T10:29:59Z): no WAL "
        "archive reaches it yet, and PostgreSQL stops a recovery whose target lies past the end of the archive; "
        "choose a time that has passed"
    ), message
    assert keys.CLUSTER not in f.desired(f.run(f.request(xr, observed, required, function_input=OBJECT_STORE_INPUT)))
    clock["now"] = datetime.datetime(2026, 11, 26, 10, 30, 0, tzinfo=datetime.UTC)
    rsp, converged = f.converge(xr, required=required, function_input=OBJECT_STORE_INPUT)
    target = f.manifests(rsp)[keys.CLUSTER]["spec"]["bootstrap"]["recovery"]["recoveryTarget"]
    assert target["targetTime"] == "2026-11-26T10:30:00Z"
    clock["now"] = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)  # a clock gone wrong later changes nothing
    later = f.run(f.request(xr, converged, required, function_input=OBJECT_STORE_INPUT))
    assert f.fatal(later) is None
    assert f.manifests(later)[keys.CLUSTER]["spec"]["bootstrap"] == f.manifests(rsp)[keys.CLUSTER]["spec"]["bootstrap"]


def test_an_object_store_restore_without_a_time_stops_at_the_backup():
    """backupID only picks the base backup: CNPG writes no recovery target for it (api/v1/cluster_funcs.go
    RecoveryTarget.BuildPostgresOptions; the plugin's restore config has only restore_command:
    plugin-barman-cloud internal/cnpgi/restore/restore.go getRestoreWalConfig), so PostgreSQL would replay the
    whole archive. targetImmediate stops as soon as the backup is consistent, as a snapshot restore does."""
    xr, required = _object_store_restore(None)
    rsp, _ = f.converge(xr, required=required, function_input=OBJECT_STORE_INPUT)
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["bootstrap"]["recovery"]["recoveryTarget"] == {
        "backupID": "20261126T030002",
        "targetImmediate": True,
    }
    # Without a backup ID nothing can pin the restore to the Backup: refused, not replayed to the end.
    unpinned = {keys.RESTORE_BACKUP: [_backup("plugin")], "postgres-object-store-admin-credentials": [S3_SECRET]}
    observed = _observed(f.run(f.request(xr, required=unpinned, function_input=OBJECT_STORE_INPUT)))
    message = f.fatal(f.run(f.request(xr, observed, unpinned, function_input=OBJECT_STORE_INPUT)))
    assert message and "spec.restore.backupName:" in message and "status.backupId" in message


def _snapshot_backup(major: int | None) -> dict:
    status = {"snapshotBackupStatus": {"elements": [{"name": "nightly", "type": "PG_DATA"}]}}
    return _backup("volumeSnapshot", **status, **({"majorVersion": major} if major else {}))


def test_a_restore_takes_the_major_version_of_its_backup():
    """PostgreSQL refuses a data directory of another major, and CNPG does not check a recovery source's major
    (pkg/reconciler/persistentvolumeclaim/storagesource.go only skips other majors when it picks a backup
    itself). The Backup records the major it was taken with (api/v1/backup_types.go BackupStatus.MajorVersion,
    set by internal/controller/backup_controller.go reconcileMajorVersion): first reconcile, steady state, and
    the claim after the Backup is pruned all keep it."""
    required = {keys.RESTORE_BACKUP: [_snapshot_backup(16)]}
    first = f.run(f.request(RESTORING, _with_secret_ready(required), required))
    assert (
        f.manifests(first)[keys.CLUSTER]["spec"]["imageName"] == "ghcr.io/cloudnative-pg/postgresql:16-standard-trixie"
    )
    rsp, observed = f.converge(RESTORING, required=required)
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["imageName"].endswith(":16-standard-trixie")
    later = f.run(f.request(RESTORING, observed, {keys.RESTORE_BACKUP: []}))  # no longer asked for; 15 is the default
    assert f.fatal(later) is None
    assert f.manifests(later)[keys.CLUSTER] == f.manifests(rsp)[keys.CLUSTER]
    # A Backup from an operator that did not record the major: the claim's or the platform's version.
    unknown = {keys.RESTORE_BACKUP: [_snapshot_backup(None)]}
    rsp = f.run(f.request(RESTORING, _with_secret_ready(unknown), unknown))
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["imageName"].endswith(":15-standard-trixie")


def test_a_restore_into_another_major_version_is_refused():
    xr = f.composite(
        "PostgresDatabase",
        {"databaseName": "shop", "instance": {"version": 15}, "restore": {"backupName": "nightly"}},
        name="shop-copy",
    )
    required = {keys.RESTORE_BACKUP: [_snapshot_backup(16)]}
    message = f.fatal(f.run(f.request(xr, required=required)))
    assert message and "spec.instance.version: 15 differs from 16" in message, message
    assert "leave instance.version out" in message
    same = {**xr, "spec": {**xr["spec"], "instance": {"version": 16}}}
    assert f.fatal(f.run(f.request(same, required=required))) is None


def test_a_restore_of_a_postgresql_14_backup_is_allowed_with_the_end_of_life_warning():
    """Disaster recovery must work: new clusters on 14 are refused, a restore of a 14 backup is not."""
    required = {keys.RESTORE_BACKUP: [_snapshot_backup(14)]}
    rsp, _ = f.converge(RESTORING, required=required)
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["imageName"].endswith(":14-standard-trixie")
    version = f.conditions(rsp)["VersionSupported"]
    assert (version.status, version.reason) == (fnv1.STATUS_CONDITION_FALSE, "EndOfLife")


# Backups that fail, and why, in CNPG's words on the claim.


def _with_cluster_conditions(observed: list[dict], conditions: list[dict]) -> list[dict]:
    out = copy.deepcopy(observed)
    for doc in out:
        if doc["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION] == keys.CLUSTER:
            live = doc["status"]["atProvider"]["manifest"]
            live["status"] = {**(live.get("status") or {}), "conditions": conditions}
    return out


ARCHIVING_FAILED = {
    "type": "ContinuousArchiving",
    "status": "False",
    "reason": "ContinuousArchivingFailing",
    "message": "unexpected failure invoking barman-cloud-wal-archive: exit status 4",
}
BACKUP_FAILED = {
    "type": "LastBackupSucceeded",
    "status": "False",
    "reason": "LastBackupFailed",
    "message": "error while waiting for snapshot: timed out",
}


def test_a_failing_wal_archive_shows_on_the_claim_with_cnpgs_message():
    """CNPG sets ContinuousArchiving on the Cluster from every WAL archive attempt, plugin or not
    (internal/cmd/manager/walarchive/cmd.go → pkg/management/postgres/webserver/local.go); a failing archive keeps
    WAL on the volume until it fills, so BackupReady turns False with CNPG's message."""
    spec = {"backup": {"method": "objectStore"}}
    required = {"postgres-object-store-admin-credentials": [S3_SECRET]}
    xr = f.composite("PostgresDatabase", spec)
    rsp, observed = f.converge(xr, required, OBJECT_STORE_INPUT)
    assert f.conditions(rsp)["BackupReady"].status == fnv1.STATUS_CONDITION_TRUE
    failing = _with_cluster_conditions(observed, [{"type": "Ready", "status": "True"}, ARCHIVING_FAILED])
    rsp = f.run(f.request(xr, failing, required, OBJECT_STORE_INPUT))
    condition = f.conditions(rsp)["BackupReady"]
    assert (condition.status, condition.reason) == (fnv1.STATUS_CONDITION_FALSE, "ArchivingFailing")
    assert "barman-cloud-wal-archive: exit status 4" in condition.message
    assert set(f.desired(rsp)) == set(f.desired(f.run(f.request(xr, observed, required, OBJECT_STORE_INPUT))))
    # It recovers when CNPG says archiving works again.
    working = {**ARCHIVING_FAILED, "status": "True", "reason": "ContinuousArchivingSuccess", "message": "ok"}
    rsp = f.run(f.request(xr, _with_cluster_conditions(observed, [working]), required, OBJECT_STORE_INPUT))
    assert f.conditions(rsp)["BackupReady"].reason == "Scheduled"


def test_a_failed_backup_shows_on_the_claim_with_cnpgs_message():
    """A failed backup sets the Cluster's LastBackupSucceeded False with the error (pkg/resources/status/backup.go
    FlagBackupAsFailed; plugin backups: pkg/management/postgres/webserver/plugin_backup.go)."""
    _, observed = f.converge(SHOP)
    rsp = f.run(f.request(SHOP, _with_cluster_conditions(observed, [BACKUP_FAILED])))
    condition = f.conditions(rsp)["BackupReady"]
    assert (condition.status, condition.reason) == (fnv1.STATUS_CONDITION_FALSE, "BackupFailed")
    assert "error while waiting for snapshot: timed out" in condition.message


WEBHOOK_NO_SNAPSHOT_CRD = (
    'cannot create object: admission webhook "vscheduledbackup.cnpg.io" denied the request: spec.method: Invalid '
    'value: "volumeSnapshot": Cannot use volumeSnapshot backup method due to missing VolumeSnapshot CRD. If you '
    "installed the CRD after having started the operator, please restart it to enable VolumeSnapshot support"
)


def test_a_refused_scheduled_backup_says_to_restart_the_operator():
    """CNPG looks for the VolumeSnapshot CRD once, at start (pkg/utils/discovery.go), and its webhook then refuses
    snapshot ScheduledBackups (internal/webhook/v1/scheduledbackup_webhook.go)."""
    _, observed = f.converge(SHOP)
    rsp = f.run(f.request(SHOP, _unsynced(observed, keys.SCHEDULED_BACKUP, WEBHOOK_NO_SNAPSHOT_CRD)))
    condition = f.conditions(rsp)["BackupReady"]
    assert (condition.status, condition.reason) == (fnv1.STATUS_CONDITION_FALSE, "ScheduleRefused")
    assert "missing VolumeSnapshot CRD" in condition.message
    assert "kubectl rollout restart deployment -n cnpg-system cnpg-cloudnative-pg" in condition.message


def test_switching_away_from_the_object_store_says_its_backups_are_no_longer_pruned():
    spec = {"backup": {"method": "objectStore"}}
    required = {"postgres-object-store-admin-credentials": [S3_SECRET]}
    _, observed = f.converge(f.composite("PostgresDatabase", spec), required, OBJECT_STORE_INPUT)
    xr = f.composite("PostgresDatabase", {"backup": {"method": "volumeSnapshot"}})
    rsp = f.run(f.request(xr, observed, required, OBJECT_STORE_INPUT))
    assert keys.OBJECT_STORE in f.desired(rsp)  # kept
    assert "s3://postgres-backups/shop/postgres-shop are no longer pruned" in f.conditions(rsp)["BackupReady"].message


# PostgreSQL 14 reached end of life on 2026-11-12.


def test_a_running_postgresql_14_cluster_is_kept_with_a_warning_and_cleared_after_the_upgrade():
    """New clusters on 14 are refused; one already running keeps its outputs, with VersionSupported=False.
    Crossplane keeps a condition the function stops sending (crossplane v1.20.11 internal/controller/
    apiextensions/composite/reconciler.go sets only the returned ones), so after the upgrade it is sent True."""
    _, observed = f.converge(SHOP)
    for doc in observed:
        if doc["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION] == keys.CLUSTER:
            manifest = doc["spec"]["forProvider"]["manifest"]
            manifest["spec"]["imageName"] = manifest["spec"]["imageName"].replace(":15-", ":14-")
    rsp = f.run(f.request(SHOP, observed))
    assert f.fatal(rsp) is None
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["imageName"].endswith(":14-standard-trixie")
    version = f.conditions(rsp)["VersionSupported"]
    assert (version.status, version.reason) == (fnv1.STATUS_CONDITION_FALSE, "EndOfLife")
    assert "raise instance.version to 16 or later" in version.message
    upgraded_xr = f.composite("PostgresDatabase", {"extensions": ["uuid-ossp"], "instance": {"version": 16}})
    upgraded_xr["status"] = {"conditions": [{"type": "VersionSupported", "status": "False", "reason": "EndOfLife"}]}
    rsp = f.run(f.request(upgraded_xr, observed))
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["imageName"].endswith(":16-standard-trixie")
    assert f.conditions(rsp)["VersionSupported"].status == fnv1.STATUS_CONDITION_TRUE
    # A claim never on 14 does not get the condition at all.
    assert "VersionSupported" not in f.conditions(f.converge(SHOP)[0])


# Issue #16, defect 5: an Object the provider cannot apply says why in the claim's condition.
NO_KIND = 'create failed: cannot create object: no matches for kind "ObjectStore" in version "barmancloud.cnpg.io/v1"'


def _unsynced(observed: list[dict], key: str, message: str) -> list[dict]:
    """`observed`, with the Object of `key` not created: Synced=False with the provider's message."""
    out = copy.deepcopy(observed)
    for doc in out:
        if doc["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION] == key:
            doc["status"] = {
                "conditions": [
                    {"type": "Synced", "status": "False", "reason": "ReconcileError", "message": message},
                    {"type": "Ready", "status": "False", "reason": "Creating"},
                ]
            }
    return out


def _database_ready(rsp) -> str:
    return f.conditions(rsp)["DatabaseReady"].message


def test_an_object_the_provider_cannot_apply_says_why_in_the_claim():
    xr = f.composite("PostgresDatabase", {"backup": {"method": "objectStore"}})
    required = {"postgres-object-store-admin-credentials": [S3_SECRET]}
    rsp, observed = f.converge(xr, required=required, function_input=OBJECT_STORE_INPUT)
    broken = _unsynced(observed, keys.OBJECT_STORE, NO_KIND)
    rsp = f.run(f.request(xr, broken, required, function_input=OBJECT_STORE_INPUT))
    assert f"ObjectStore postgres-shop-backup-store to be created (not synced: {NO_KIND})" in _database_ready(rsp)
    assert rsp.desired.composite.ready == fnv1.READY_FALSE
    golden.check(
        GOLDEN / "postgres" / "lifecycle" / "object-store-not-synced.yaml",
        [golden.response(rsp)],
        "# PostgresDatabase shop (objectStore) whose ObjectStore Object is Synced=False: the whole response.\n",
    )


def test_a_resource_without_a_waiting_message_still_says_why_it_is_not_applied():
    rsp, observed = f.converge(SHOP)
    refused = 'admission webhook "vscheduledbackup.cnpg.io" denied the request: spec.method: Invalid value'
    rsp = f.run(f.request(SHOP, _unsynced(observed, keys.SCHEDULED_BACKUP, refused)))
    assert f"ScheduledBackup postgres-shop-backup to be applied (not synced: {refused})" in _database_ready(rsp)


def test_a_providers_message_about_a_secret_never_carries_its_values_and_is_cut():
    rsp, observed = f.converge(SHOP)
    password = base64.b64decode(f.manifests(rsp)[keys.CREDENTIALS]["data"]["password"]).decode()
    encoded = f.manifests(rsp)[keys.CREDENTIALS]["data"]["password"]
    leaky = f'apply failed: Secret "shop-postgres-credentials" is invalid: {password} / {encoded}\n' + "x" * 2000
    rsp = f.run(f.request(SHOP, _unsynced(observed, keys.CREDENTIALS, leaky)))
    message = _database_ready(rsp)
    assert "credentials Secret shop-postgres-credentials to be created (not synced: apply failed:" in message
    assert password not in message and encoded not in message and "*** / ***" in message
    assert password not in str(list(rsp.conditions)) + str(list(rsp.results)) + str(f.status(rsp))
    note = message.split("(not synced: ", 1)[1]
    assert len(note) <= 301 and "\n" not in note  # cut to 300 characters (and the closing parenthesis)


def test_a_synced_object_adds_nothing_to_the_waiting_message():
    rsp = f.run(f.request(SHOP))
    observed = _observed(rsp, not_ready=(keys.CREDENTIALS,))
    for doc in observed:
        doc["status"]["conditions"].append({"type": "Synced", "status": "True", "reason": "ReconcileSuccess"})
    message = _database_ready(f.run(f.request(SHOP, observed)))
    assert message.startswith("waiting for credentials Secret shop-postgres-credentials to be created;"), message
    assert "not synced" not in message


# Issue #16, defect 2: a claim re-applied after a Retain delete adopts the running cluster safely.
LIVE_CLUSTER = {
    "apiVersion": "postgresql.cnpg.io/v1",
    "kind": "Cluster",
    "metadata": {
        "name": "postgres-shop",
        "namespace": "shop",
        "labels": {
            "app.kubernetes.io/managed-by": "function-tau",
            "app.kubernetes.io/instance": "postgres-shop",
            "app.kubernetes.io/component": "database",
        },
    },
    "spec": {
        "instances": 3,
        "imageName": "ghcr.io/cloudnative-pg/postgresql:17-standard-trixie",
        "storage": {"size": "20Gi", "storageClass": "longhorn"},
        "walStorage": {"size": "4Gi", "storageClass": "longhorn"},
        "postgresql": {"parameters": {"max_connections": "200"}},
        "bootstrap": {
            "initdb": {"database": "shop", "owner": "shop_user", "secret": {"name": "shop-postgres-credentials"}}
        },
    },
    "status": {"phase": "Cluster in healthy state"},
}


def _live_cluster(**changes) -> dict:
    live = copy.deepcopy(LIVE_CLUSTER)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = live
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return live


def test_a_reapplied_claim_takes_the_running_clusters_values_as_its_defaults():
    rsp, _ = f.converge(f.composite("PostgresDatabase", {}), required={keys.LIVE_CLUSTER: [LIVE_CLUSTER]})
    assert f.fatal(rsp) is None, f.fatal(rsp)
    spec = f.manifests(rsp)[keys.CLUSTER]["spec"]
    assert spec["imageName"] == "ghcr.io/cloudnative-pg/postgresql:17-standard-trixie"  # not the platform's 15
    assert spec["storage"] == {"size": "20Gi", "storageClass": "longhorn"}  # not 10Gi
    assert spec["walStorage"] == {"size": "4Gi", "storageClass": "longhorn"}
    assert spec["instances"] == 3
    assert "max_connections" not in str(spec)  # the claim is the truth for settings (its Object owns them again)
    golden.check_steady(
        GOLDEN / "postgres" / "lifecycle" / "adopts-a-running-cluster.yaml",
        rsp,
        "# PostgresDatabase shop with spec {} re-applied over a running PostgreSQL 17 cluster, converged.\n",
    )


def test_the_running_cluster_is_asked_for_until_the_function_has_composed_one():
    first = f.run(f.request(SHOP))
    selector = first.requirements.resources[keys.LIVE_CLUSTER]
    assert (selector.api_version, selector.kind, selector.match_name, selector.namespace) == (
        "postgresql.cnpg.io/v1", "Cluster", "postgres-shop", "shop",
    )  # fmt: skip
    legacy = first.requirements.extra_resources[keys.LIVE_CLUSTER]
    assert dict(legacy.match_labels.labels) == LIVE_CLUSTER["metadata"]["labels"]
    _, observed = f.converge(SHOP)
    assert keys.LIVE_CLUSTER not in f.run(f.request(SHOP, observed)).requirements.resources


ADOPTION_REFUSALS = [
    (
        "downgrade",
        {"instance": {"version": 15}},
        {},
        "spec.instance.version",
        "lower than the running major version 17",
    ),
    ("shrink", {"instance": {"storage": {"size": "10Gi"}}}, {}, "spec.instance.storage.size", "cannot shrink"),
    ("another owner", {}, {"spec__bootstrap__initdb__owner": "legacy"}, "spec.owner", "differs from 'legacy'"),
    ("not made by function-tau", {}, {"metadata__labels": {"app": "mine"}}, "spec.instance.name", "not made by"),
]


@pytest.mark.parametrize(
    ("name", "spec", "changes", "field", "says"), ADOPTION_REFUSALS, ids=[c[0] for c in ADOPTION_REFUSALS]
)
def test_adopting_a_running_cluster_follows_the_rules_of_a_change(name, spec, changes, field, says):
    live = _live_cluster(**changes)
    rsp = f.run(f.request(f.composite("PostgresDatabase", spec), required={keys.LIVE_CLUSTER: [live]}))
    message = f.fatal(rsp)
    assert message is not None and f"{field}:" in message and says in message, message
    assert not rsp.desired.resources
    golden.check_refusal("PostgresDatabase", f"adopting a cluster: {name}", rsp)


def test_objects_are_named_after_what_they_apply_within_a_field_managers_length():
    """The Object's name makes provider-kubernetes' field manager (`provider-kubernetes/<name>`, at most 128
    characters): stable across a claim's re-creation, so a re-created claim takes over its fields cleanly."""
    rsp, _ = f.converge(SHOP)
    assert f.desired(rsp)[keys.CLUSTER]["metadata"]["name"] == "shop.cluster.postgres-shop"
    assert f.desired(rsp)[keys.CREDENTIALS]["metadata"]["name"] == "shop.secret.shop-postgres-credentials"
    long_name = "s" * 200
    again, _ = f.converge(f.composite("PostgresDatabase", {"credentialsSecretName": long_name}))
    name = f.desired(again)[keys.CREDENTIALS]["metadata"]["name"]
    assert len("provider-kubernetes/" + name) <= 128 and name.startswith("shop.secret.sss")
    assert (
        name
        == f.desired(f.converge(f.composite("PostgresDatabase", {"credentialsSecretName": long_name}))[0])[
            keys.CREDENTIALS
        ]["metadata"]["name"]
    )
    watched = {k for k, body in f.desired(rsp).items() if body["spec"].get("watch")}
    assert watched == {keys.CLUSTER, keys.DATABASE}  # never the Secret
