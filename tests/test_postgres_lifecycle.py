"""A database over time: gating, readiness, status, and what changes may do."""

from __future__ import annotations

import copy

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys
from function.simulate import RESOURCE_NAME_ANNOTATION, as_observed
from tests.support import function as f
from tests.support.data import OBJECT_STORE_INPUT, S3_SECRET

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


def test_turning_backups_off_suspends_them_and_deletes_nothing():
    rsp, observed = f.converge(SHOP)
    off = f.run(
        f.request(
            f.composite("PostgresDatabase", {"extensions": ["uuid-ossp"], "backup": {"enabled": False}}), observed
        )
    )
    assert set(f.desired(off)) == set(f.desired(rsp))
    manifests = f.manifests(off)
    assert manifests[keys.SCHEDULED_BACKUP]["spec"]["suspend"] is True
    assert manifests[keys.SCHEDULED_BACKUP]["spec"]["method"] == "volumeSnapshot"
    assert manifests[keys.PRUNE_CRON_JOB]["spec"]["suspend"] is True
    assert "backup" not in manifests[keys.CLUSTER]["spec"]
    assert f.conditions(off)["BackupReady"].reason == "Disabled"


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
    assert manifests[keys.PRUNE_CRON_JOB]["spec"]["suspend"] is True  # old snapshot backups stay, unpruned
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


def test_deletion_policy_maps_to_every_object_and_backup_ownership():
    retain, _ = f.converge(SHOP)
    delete, _ = f.converge(f.composite("PostgresDatabase", {"deletionPolicy": "Delete"}))
    assert {b["spec"]["deletionPolicy"] for b in f.desired(retain).values()} == {"Orphan"}
    assert {b["spec"]["deletionPolicy"] for b in f.desired(delete).values()} == {"Delete"}
    assert f.manifests(retain)[keys.SCHEDULED_BACKUP]["spec"]["backupOwnerReference"] == "none"
    assert f.manifests(delete)[keys.SCHEDULED_BACKUP]["spec"]["backupOwnerReference"] == "cluster"


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


def test_point_in_time_recovery_from_the_object_store():
    spec = {
        "databaseName": "shop",
        "backup": {"method": "objectStore"},
        "restore": {"backupName": "nightly", "pointInTime": "2026-11-26T10:30:00Z"},
    }
    xr = f.composite("PostgresDatabase", spec, name="shop-copy")
    backup = _backup("plugin", backupId="20261126T030002", stoppedAt="2026-11-26T03:04:10Z")
    required = {keys.RESTORE_BACKUP: [backup], "postgres-object-store-admin-credentials": [S3_SECRET]}
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
