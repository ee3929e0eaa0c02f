"""Logical dumps (issue #9): the cron rule, the status from the CronJob, turning dumps off, and the pod.

The whole outputs are golden cases in test_postgres_fields.py (`dumps-*`) and the refusals in
test_postgres_validation.py; the scripts themselves run against a real PostgreSQL in
test_dump_scripts.py and test_dump_retention.py.
"""

from __future__ import annotations

import copy

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import cron, keys
from function.scripts import DUMP, RESTORE, RETENTION, text
from function.simulate import RESOURCE_NAME_ANNOTATION
from tests.support import function as f
from tests.support.dumps import DUMPS_INPUT, KEY_ONLY_INPUT, PUBLIC_KEY

SHOP = f.composite("PostgresDatabase", {})


@pytest.mark.parametrize(
    ("six", "five"),
    [
        ("0 0 3 * * *", "0 3 * * *"),
        ("00 30 2 * * 0", "30 2 * * 0"),
        ("0 */15 * * * MON-FRI", "*/15 * * * MON-FRI"),
        ("@daily", "@daily"),
        ("@hourly", "@hourly"),
    ],
)
def test_cron_the_dump_schedule_drops_the_seconds_field(six, five):
    assert cron.to_kubernetes(six) == (five, None)


@pytest.mark.parametrize(
    ("schedule", "says"),
    [
        ("15 0 3 * * *", "seconds field must be 0"),
        ("*/10 0 3 * * *", "seconds field must be 0"),
        ("0 3 * * *", "five fields"),
        ("@every 1h", "no '@every'"),
        ("0 0 25 * * *", "outside 0-23"),
    ],
)
def test_cron_a_schedule_a_cron_job_cannot_run_is_refused(schedule, says):
    five, why = cron.to_kubernetes(schedule)
    assert five is None
    assert says in why


def _with_live_status(observed: list[dict], key: str, status: dict) -> list[dict]:
    out = copy.deepcopy(observed)
    for doc in out:
        if doc["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION] == key:
            doc["status"]["atProvider"]["manifest"]["status"] = status
    return out


def test_status_reports_the_last_dump_and_where_the_files_are():
    rsp, observed = f.converge(SHOP, function_input=DUMPS_INPUT)
    assert f.conditions(rsp)["BackupReady"].status == fnv1.STATUS_CONDITION_TRUE
    assert f.status(rsp)["dumpTarget"] == (
        "PersistentVolumeClaim postgres-shop-dumps (StorageClass nfs-client), folder shop/postgres-shop"
    )
    done = {"lastScheduleTime": "2026-11-27T03:00:00Z", "lastSuccessfulTime": "2026-11-27T03:01:12Z"}
    rsp = f.run(f.request(SHOP, _with_live_status(observed, keys.DUMP_CRON_JOB, done), function_input=DUMPS_INPUT))
    assert f.status(rsp)["lastSuccessfulDump"] == "2026-11-27T03:01:12Z"
    condition = f.conditions(rsp)["BackupReady"]
    assert condition.status == fnv1.STATUS_CONDITION_TRUE
    assert "last successful dump: 2026-11-27T03:01:12Z" in condition.message


def test_a_failed_dump_shows_in_backup_ready():
    """The CronJob scheduled a Job after its last success and none runs: the last one failed."""
    _, observed = f.converge(SHOP, function_input=DUMPS_INPUT)
    failed = {"lastScheduleTime": "2026-11-28T03:00:00Z", "lastSuccessfulTime": "2026-11-27T03:01:12Z"}
    rsp = f.run(f.request(SHOP, _with_live_status(observed, keys.DUMP_CRON_JOB, failed), function_input=DUMPS_INPUT))
    condition = f.conditions(rsp)["BackupReady"]
    assert (condition.status, condition.reason) == (fnv1.STATUS_CONDITION_FALSE, "DumpFailed")
    assert "last successful dump: 2026-11-27T03:01:12Z" in condition.message
    # Still running: not a failure.
    running = {**failed, "active": [{"kind": "Job", "name": "postgres-shop-dump-29400000"}]}
    rsp = f.run(f.request(SHOP, _with_live_status(observed, keys.DUMP_CRON_JOB, running), function_input=DUMPS_INPUT))
    assert f.conditions(rsp)["BackupReady"].reason == "Scheduled"
    # Never succeeded yet, and the first Job failed.
    first = {"lastScheduleTime": "2026-11-28T03:00:00Z"}
    rsp = f.run(f.request(SHOP, _with_live_status(observed, keys.DUMP_CRON_JOB, first), function_input=DUMPS_INPUT))
    assert f.conditions(rsp)["BackupReady"].reason == "DumpFailed"


def test_turning_dumps_off_suspends_the_job_and_keeps_the_files():
    """Once emitted, always emitted: the CronJob is suspended, the ConfigMap and the volume stay."""
    rsp, observed = f.converge(SHOP, function_input=DUMPS_INPUT)
    dump_keys = {keys.DUMP_CONFIG_MAP, keys.DUMP_VOLUME, keys.DUMP_CRON_JOB}
    assert dump_keys <= set(f.desired(rsp))
    off = f.run(f.request(SHOP, observed, function_input=KEY_ONLY_INPUT))
    desired = f.desired(off)
    assert dump_keys <= set(desired)
    cron_job = desired[keys.DUMP_CRON_JOB]["spec"]["forProvider"]["manifest"]
    assert cron_job["spec"]["suspend"] is True
    assert desired[keys.DUMP_VOLUME]["spec"]["deletionPolicy"] == "Orphan"
    assert "dumpTarget" not in f.status(off)


def test_without_dumps_nothing_changes():
    rsp, _ = f.converge(SHOP, function_input=KEY_ONLY_INPUT)
    assert not {keys.DUMP_CONFIG_MAP, keys.DUMP_VOLUME, keys.DUMP_CRON_JOB} & set(f.desired(rsp))


def test_the_dumps_wait_for_the_cluster():
    rsp = f.run(f.request(SHOP, function_input=DUMPS_INPUT))
    assert keys.DUMP_CRON_JOB not in f.desired(rsp)


def test_the_pod_meets_the_restricted_pod_security_profile_and_holds_no_secret():
    rsp, _ = f.converge(SHOP, function_input=DUMPS_INPUT)
    desired = f.desired(rsp)
    pod = desired[keys.DUMP_CRON_JOB]["spec"]["forProvider"]["manifest"]["spec"]["jobTemplate"]["spec"]["template"]
    spec = pod["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = spec["containers"]
    security = container["securityContext"]
    assert security == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    # Pod Security Standards, restricted, "Volume Types".
    allowed = {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
    assert all(set(volume) - {"name"} <= allowed for volume in spec["volumes"])
    password = next(e for e in container["env"] if e["name"] == "PGPASSWORD")
    assert password["valueFrom"]["secretKeyRef"] == {"name": "shop-postgres-credentials", "key": "password"}
    config_map = desired[keys.DUMP_CONFIG_MAP]["spec"]["forProvider"]["manifest"]
    assert config_map["data"] == {
        DUMP: text(DUMP),
        RETENTION: text(RETENTION),
        RESTORE: text(RESTORE),
        "public.asc": PUBLIC_KEY,
    }
    assert "PRIVATE" not in PUBLIC_KEY


RESTORE_DUMP = {"restore": {"dump": {"file": "latest", "privateKeySecret": "shop-backup-key"}}}


def _keys_by_round(xr: dict) -> list[set[str]]:
    return [set(f.desired(rsp)) for rsp in f.trace(xr)]


def test_the_restore_job_is_created_with_the_cluster():
    """Created in the same reconcile as the Cluster (never for a cluster that exists already)."""
    for keys_now in _keys_by_round(f.composite("PostgresDatabase", RESTORE_DUMP)):
        assert (keys.CLUSTER in keys_now) is (keys.DUMP_RESTORE_JOB in keys_now)
        if keys.DUMP_RESTORE_JOB in keys_now:
            assert {keys.DUMP_CONFIG_MAP, keys.DUMP_VOLUME} <= keys_now


def test_restore_dump_on_an_existing_cluster_restores_nothing():
    _, observed = f.converge(SHOP)
    rsp = f.run(f.request(f.composite("PostgresDatabase", RESTORE_DUMP), observed))
    assert keys.DUMP_RESTORE_JOB not in f.desired(rsp)
    assert f.status(rsp)["dumpRestore"] == "Skipped"


def _job_status(observed: list[dict], status: dict) -> list[dict]:
    """The restore Job with this status; its Object not ready (provider-kubernetes' CEL query is false)."""
    out = _with_live_status(observed, keys.DUMP_RESTORE_JOB, status)
    for doc in out:
        if doc["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION] == keys.DUMP_RESTORE_JOB:
            doc["status"]["conditions"] = [{"type": "Ready", "status": "False", "reason": "Unavailable"}]
    return out


def test_the_restore_job_runs_once_and_its_status_shows_on_the_claim():
    xr = f.composite("PostgresDatabase", RESTORE_DUMP)
    rsp, observed = f.converge(xr)
    assert f.status(rsp)["dumpRestore"] == "Restored"
    job = f.desired(rsp)[keys.DUMP_RESTORE_JOB]
    # Restoring: the claim waits for it.
    running = f.run(f.request(xr, _job_status(observed, {"active": 1})))
    assert f.status(running)["dumpRestore"] == "Restoring"
    assert (
        "restore of dump latest of cluster postgres-shop to complete" in f.conditions(running)["DatabaseReady"].message
    )
    # Failed: the claim says why and where to look.
    failed = {"failed": 2, "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                                            "message": "Job has reached the specified backoff limit"}]}  # fmt: skip
    rsp = f.run(f.request(xr, _job_status(observed, failed)))
    assert f.status(rsp)["dumpRestore"] == "Failed"
    message = f.conditions(rsp)["DatabaseReady"].message
    assert "backoff limit" in message
    assert "kubectl logs -n shop job/postgres-shop-dump-restore" in message
    # The claim no longer asks for it: the Job is composed exactly as it was, never re-created differently.
    later = f.run(f.request(f.composite("PostgresDatabase", {}), observed))
    assert f.desired(later)[keys.DUMP_RESTORE_JOB] == job


def test_a_tau_application_starts_only_once_its_database_is_restored():
    app = {"image": "nginx:1.27", "database": {"enabled": True, **RESTORE_DUMP}}
    xr = f.composite("TauApplication", app)
    rounds = [set(f.desired(rsp)) for rsp in f.trace(xr)]
    job = next(n for n, desired in enumerate(rounds) if keys.DUMP_RESTORE_JOB in desired)
    deployment = next(n for n, desired in enumerate(rounds) if keys.DEPLOYMENT in desired)
    assert job < deployment, "the Deployment is created only once the restore Job was observed complete"
    rsp, observed = f.converge(xr)
    assert keys.DEPLOYMENT in f.desired(rsp)
    # Not restored yet (a fresh start with the Job still running): no Deployment, and the claim says why.
    without = [d for d in observed if d["metadata"]["annotations"][RESOURCE_NAME_ANNOTATION] != keys.DEPLOYMENT]
    rsp = f.run(f.request(xr, _job_status(without, {"active": 1})))
    assert keys.DEPLOYMENT not in f.desired(rsp)
    assert "restore Job postgres-shop-dump-restore to complete before the Deployment starts" in " ".join(
        c.message for c in f.conditions(rsp).values()
    )
