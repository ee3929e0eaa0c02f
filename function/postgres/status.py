"""What a database claim tells its user: status fields and conditions from observed state.

Nothing here ever reads the credentials Secret: the password cannot reach a
status field or a condition message.
"""

from __future__ import annotations

from function import names
from function.api.postgres import DatabaseStatus
from function.keys import (
    CLUSTER,
    DATABASE,
    DATABASE_ROLE,
    DUMP_CRON_JOB,
    DUMP_RESTORE_JOB,
    OBJECT_STORE,
    SCHEDULED_BACKUP,
)
from function.observed import Observed, as_int, condition, dig
from function.outcome import Condition, Outcome, waiting
from function.postgres.plan import END_OF_LIFE, IN_PLACE_UPGRADE_MIN, PORT, DatabasePlan
from function.postgres.shared import InstanceFacts

# Condition types on the composite and its claim (Crossplane owns Ready and Synced).
DATABASE_READY = "DatabaseReady"
BACKUP_READY = "BackupReady"
VERSION_SUPPORTED = "VersionSupported"

# What CNPG's webhook says when the operator started before the CSI snapshot CRDs
# existed (internal/webhook/v1/scheduledbackup_webhook.go; the CRD is looked for
# once, at start: pkg/utils/discovery.go DetectVolumeSnapshotExist).
_MISSING_SNAPSHOT_CRD = "missing VolumeSnapshot CRD"
RESTART_OPERATOR = (
    "CloudNativePG looks for the CSI snapshot CRDs only when it starts: install them (and the snapshot "
    "controller), then restart the CNPG operator: kubectl rollout restart deployment -n cnpg-system "
    "cnpg-cloudnative-pg"
)


def _backup_times(plan: DatabasePlan, observed: Observed) -> tuple[str | None, str | None]:
    """(lastSuccessfulBackup, firstRecoverabilityPoint).

    CNPG sets them on the Cluster for snapshots; with the Barman Cloud plugin
    they live on the ObjectStore, per server name.
    """
    cluster = observed.live_at(CLUSTER, "status")  # only the status is converted: see Observed.live_at
    last = dig(cluster, "lastSuccessfulBackup")
    first = dig(cluster, "firstRecoverabilityPoint")
    window = observed.live_at(OBJECT_STORE, "status", "serverRecoveryWindow", plan.cluster)
    if isinstance(window, dict):
        last = window.get("lastSuccessfulBackupTime") or last
        first = window.get("firstRecoverabilityPoint") or first
    return (last if isinstance(last, str) else None, first if isinstance(first, str) else None)


def database_status(plan: DatabasePlan, observed: Observed, outcome: Outcome) -> dict:
    """The status fields of a database claim (SPEC §3)."""
    cluster = observed.live_at(CLUSTER, "status")
    last, first = _backup_times(plan, observed)
    status = DatabaseStatus(
        host=plan.host,
        port=PORT,
        database=plan.database,
        user=plan.owner,
        secretName=plan.secret,
        cluster=plan.cluster,
        phase=dig(cluster, "phase") or ("Waiting" if outcome.waiting else "Provisioning"),
        instances=as_int(dig(cluster, "instances")),
        readyInstances=as_int(dig(cluster, "readyInstances")),
        backupMethod=plan.backup.method,
        backupTarget=plan.backup_target,
        lastSuccessfulBackup=last,
        firstRecoverabilityPoint=first,
        dumpRestore=dump_restore_phase(plan, observed),
        dumpTarget=plan.dump.target(plan.namespace, plan.cluster, plan.dump_stem) if plan.dump else None,
        lastSuccessfulDump=_last_dump(observed),
    )
    return status.model_dump(exclude_none=True)


def dump_restore_phase(plan: DatabasePlan, observed: Observed) -> str | None:
    """restore.dump: Pending (the cluster is being created), Restoring, Restored, Failed (the Job's conditions).

    Skipped: the claim asked for it once its cluster existed; an existing database is never overwritten.
    """
    if observed.has(DUMP_RESTORE_JOB):
        job = observed.live(DUMP_RESTORE_JOB)
        for condition_type, phase in (("Complete", "Restored"), ("Failed", "Failed")):
            found = condition(job, condition_type)
            if found is not None and found.get("status") == "True":
                return phase
        return "Restoring"
    if plan.dump_restore is None:
        return None
    return "Skipped" if observed.has(CLUSTER) else "Pending"


def _last_dump(observed: Observed) -> str | None:
    """When the dump CronJob last completed a Job (its `status.lastSuccessfulTime`)."""
    last = observed.live_at(DUMP_CRON_JOB, "status", "lastSuccessfulTime")
    return last if isinstance(last, str) else None


def _dump_failed(observed: Observed) -> bool:
    """Whether the dump CronJob's last Job failed: scheduled after the last success, and none running.

    The CronJob controller sets lastSuccessfulTime when a Job completes and lastScheduleTime when it
    starts one (pkg/controller/cronjob/cronjob_controllerv2.go); timestamps are RFC 3339 in UTC, so
    they compare as text.
    """
    status = observed.live_at(DUMP_CRON_JOB, "status")
    if not isinstance(status, dict) or status.get("active"):
        return False
    scheduled, succeeded = status.get("lastScheduleTime"), status.get("lastSuccessfulTime")
    return isinstance(scheduled, str) and (not isinstance(succeeded, str) or scheduled > succeeded)


def _with_dumps(plan: DatabasePlan, observed: Observed, backup: Condition) -> Condition:
    """BackupReady, with what the logical dumps do (only for a claim that asks for them)."""
    dump = plan.dump
    if dump is None:
        return backup
    last = _last_dump(observed)
    if _dump_failed(observed):
        return Condition(
            type=BACKUP_READY,
            status=False,
            reason="DumpFailed",
            message=f"the last logical dump failed (see the Jobs of CronJob {names.dump_name(plan.dump_stem)}); "
            f"last successful dump: {last or 'none yet'}; {backup.message}",
        )
    dumps = (
        f"logical dumps to {dump.target(plan.namespace, plan.cluster, plan.dump_stem)} on '{dump.schedule}' (UTC), "
        f"kept {dump.retention_days} days; last successful dump: {last or 'none yet'}"
    )
    if plan.backup.method == "none":
        message = f"{dumps}; no physical backups (backup.method: none)"
        return Condition(type=BACKUP_READY, status=True, reason="DumpsOnly", message=message)
    return Condition(
        type=BACKUP_READY, status=backup.status, reason=backup.reason, message=f"{backup.message}; {dumps}"
    )


def _refused(observed: Observed) -> str | None:
    """Why provider-kubernetes could not apply the ScheduledBackup (a webhook's refusal), if it could not."""
    synced = condition(observed.get(SCHEDULED_BACKUP), "Synced")
    if synced is None or synced.get("status") != "False" or not synced.get("message"):
        return None
    message = str(synced["message"])
    return message + (f"; {RESTART_OPERATOR}" if _MISSING_SNAPSHOT_CRD in message else "")


def _failures(observed: Observed) -> list[tuple[str, str]]:
    """(reason, message) for what CNPG reports failing on the Cluster, in CNPG's words.

    ContinuousArchiving: every WAL archive attempt sets it, through the plugin
    too (internal/cmd/manager/walarchive/cmd.go → pkg/management/postgres/
    webserver/local.go setWALArchiveStatusCondition); a failing archive keeps
    WAL on the volume until it fills. LastBackupSucceeded: set False with the
    error when a backup fails (pkg/resources/status/backup.go FlagBackupAsFailed;
    plugin backups: pkg/management/postgres/webserver/plugin_backup.go).
    """
    cluster = {"status": observed.live_at(CLUSTER, "status")}
    found = []
    archiving = condition(cluster, "ContinuousArchiving")
    if archiving is not None and archiving.get("status") == "False":
        found.append(
            (
                "ArchivingFailing",
                f"WAL archiving is failing ({archiving.get('message') or 'no reason given'}): WAL piles up on the "
                "volume until it works again",
            )
        )
    last = condition(cluster, "LastBackupSucceeded")
    if last is not None and last.get("status") == "False" and last.get("reason") == "LastBackupFailed":
        found.append(("BackupFailed", f"the last backup failed ({last.get('message') or 'no reason given'})"))
    return found


def _left_behind(plan: DatabasePlan, observed: Observed) -> str | None:
    """Backups of a method the claim switched away from that nothing prunes any more, if any.

    Snapshot Backups keep being pruned by the retention job. An object store's
    retention runs only while the Cluster archives to it (plugin-barman-cloud
    internal/cnpgi/instance/retention.go skips a cluster without the plugin).
    """
    store = observed.manifest(OBJECT_STORE)
    if plan.backup.method == "objectStore" or store is None:
        return None
    path = dig(store, "spec", "configuration", "destinationPath")
    return (
        f"the objectStore backups in {path}/{plan.cluster} are no longer pruned (Barman Cloud prunes only while "
        "the cluster archives there): remove them once you no longer need them, as the usage guide says"
    )


def _backup_condition(plan: DatabasePlan, observed: Observed) -> Condition:
    if plan.backup.method == "none":
        return Condition(
            type=BACKUP_READY, status=False, reason="Disabled", message="backups are disabled for this database"
        )
    refused = _refused(observed)
    if refused:
        return Condition(
            type=BACKUP_READY,
            status=False,
            reason="ScheduleRefused",
            message=f"the ScheduledBackup {names.scheduled_backup_name(plan.cluster)} was refused: {refused}",
        )
    if not observed.is_ready(SCHEDULED_BACKUP):
        return Condition(
            type=BACKUP_READY,
            status=False,
            reason="Waiting",
            message="waiting for the cluster before scheduling backups",
        )
    last, _ = _backup_times(plan, observed)
    left = _left_behind(plan, observed)
    after = f"; {left}" if left else ""
    failures = _failures(observed)
    if failures:
        message = "; ".join(text for _, text in failures)
        return Condition(
            type=BACKUP_READY,
            status=False,
            reason=failures[0][0],
            message=f"{message}; last successful backup: {last or 'none yet'}{after}",
        )
    if plan.backup.suspended:
        going_on = (
            "WAL archiving and the object store's retention go on"
            if plan.backup.method == "objectStore"
            else "retention goes on, never deleting the newest backup"
        )
        return Condition(
            type=BACKUP_READY,
            status=False,
            reason="Suspended",
            message=f"scheduled backups are suspended (backup.enabled: false); {going_on}; "
            f"last successful backup: {last or 'none yet'}{after}",
        )
    where = (
        f"Longhorn snapshots to {plan.backup_target}"
        if plan.backup.method == "volumeSnapshot"
        else f"Barman Cloud to {plan.backup_target}"
    )
    return Condition(
        type=BACKUP_READY,
        status=True,
        reason="Scheduled",
        message=f"{where} on '{plan.backup.schedule}', kept {plan.backup.retention_days} days; "
        f"last successful backup: {last or 'none yet'}{after}",
    )


def _version_condition(plan: DatabasePlan, observed: Observed) -> Condition | None:
    """VersionSupported: False on a major past its end of life; sent again (True) once upgraded.

    Crossplane keeps a condition the function no longer sends (crossplane
    v1.20.11 internal/controller/apiextensions/composite/reconciler.go sets only
    the conditions returned), so once the composite carries it, it is sent on
    every reconcile; a composite never on such a major does not get it.
    """
    if plan.version in END_OF_LIFE:
        return Condition(
            type=VERSION_SUPPORTED,
            status=False,
            reason="EndOfLife",
            message=f"PostgreSQL {plan.version} reached end of life on {END_OF_LIFE[plan.version]} and gets no more "
            f"fixes; raise instance.version to {IN_PLACE_UPGRADE_MIN} or later (CloudNativePG upgrades in place, "
            "offline)",
        )
    if condition(observed.composite, VERSION_SUPPORTED) is None:
        return None
    return Condition(
        type=VERSION_SUPPORTED,
        status=True,
        reason="Supported",
        message=f"PostgreSQL {plan.version} is supported",
    )


def database_conditions(plan: DatabasePlan, observed: Observed, outcome: Outcome) -> list[Condition]:
    """DatabaseReady, BackupReady and, on a major past its end of life (or once it was), VersionSupported."""
    if observed.is_ready(CLUSTER) and observed.is_ready(DATABASE) and not outcome.waiting:
        ready = Condition(
            type=DATABASE_READY,
            status=True,
            reason="Available",
            message=f"database {plan.database} is served by {plan.host}:{PORT}",
        )
    else:
        ready = waiting(DATABASE_READY, outcome.waiting or ["the database"])
    version = _version_condition(plan, observed)
    backup = _with_dumps(plan, observed, _backup_condition(plan, observed))
    return [ready, backup] + ([version] if version else [])


def shared_database_status(plan: DatabasePlan, observed: Observed, outcome: Outcome, facts: InstanceFacts) -> dict:
    """The status of a database on a PostgresInstance: its own fields, the cluster's as the instance reports them."""
    status = database_status(plan, observed, outcome)
    instance = facts.status
    for name in ("phase", "instances", "readyInstances", "backupMethod", "backupTarget"):
        status.pop(name, None)
    for name in ("instances", "readyInstances"):
        if (count := as_int(instance.get(name))) is not None:
            status[name] = count
    for name in ("backupMethod", "backupTarget", "lastSuccessfulBackup", "firstRecoverabilityPoint"):
        if isinstance(instance.get(name), str):
            status[name] = instance[name]
    phase = instance.get("phase")
    status["phase"] = phase if isinstance(phase, str) else ("Waiting" if outcome.waiting else "Provisioning")
    status["instance"] = facts.name
    if plan.pooler_host is not None:
        status["poolerHost"] = plan.pooler_host
    return DatabaseStatus.model_validate(status).model_dump(exclude_none=True)


def shared_database_conditions(
    plan: DatabasePlan, observed: Observed, outcome: Outcome, facts: InstanceFacts
) -> list[Condition]:
    """DatabaseReady (the database and its owner role applied) and BackupReady (the instance's, and the dumps)."""
    if observed.is_ready(DATABASE) and observed.is_ready(DATABASE_ROLE) and not outcome.waiting:
        ready = Condition(
            type=DATABASE_READY,
            status=True,
            reason="Available",
            message=f"database {plan.database} is served by {plan.host}:{PORT} (PostgresInstance {facts.name})",
        )
    else:
        ready = waiting(DATABASE_READY, outcome.waiting or ["the database"])
    theirs = condition({"status": facts.status}, BACKUP_READY)
    where = f"backups are PostgresInstance {facts.name}'s (cluster {plan.cluster}, every database on it)"
    if theirs is None:
        backup = Condition(type=BACKUP_READY, status=False, reason="Waiting", message=f"{where}: not reported yet")
    else:
        backup = Condition(
            type=BACKUP_READY,
            status=theirs.get("status") == "True",
            reason=str(theirs.get("reason") or "Instance"),
            message=f"{where}: {theirs.get('message') or 'no message'}",
        )
    return [ready, _with_dumps(plan, observed, backup)]


# What an instance's status shares with a database's own cluster's.
backup_times = _backup_times
backup_condition = _backup_condition
version_condition = _version_condition
