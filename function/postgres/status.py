"""What a database claim tells its user: status fields and conditions from observed state.

Nothing here ever reads the credentials Secret: the password cannot reach a
status field or a condition message.
"""

from __future__ import annotations

from function.api.postgres import DatabaseStatus
from function.keys import CLUSTER, DATABASE, OBJECT_STORE, SCHEDULED_BACKUP
from function.observed import Observed, as_int, dig
from function.outcome import Condition, Outcome, waiting
from function.postgres.plan import PORT, DatabasePlan

# Condition types on the composite and its claim (Crossplane owns Ready and Synced).
DATABASE_READY = "DatabaseReady"
BACKUP_READY = "BackupReady"


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
    )
    return status.model_dump(exclude_none=True)


def _backup_condition(plan: DatabasePlan, observed: Observed) -> Condition:
    if plan.backup.method == "none":
        return Condition(
            type=BACKUP_READY, status=False, reason="Disabled", message="backups are disabled for this database"
        )
    if not observed.is_ready(SCHEDULED_BACKUP):
        return Condition(
            type=BACKUP_READY,
            status=False,
            reason="Waiting",
            message="waiting for the cluster before scheduling backups",
        )
    last, _ = _backup_times(plan, observed)
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
        f"last successful backup: {last or 'none yet'}",
    )


def database_conditions(plan: DatabasePlan, observed: Observed, outcome: Outcome) -> list[Condition]:
    """DatabaseReady and BackupReady."""
    if observed.is_ready(CLUSTER) and observed.is_ready(DATABASE) and not outcome.waiting:
        ready = Condition(
            type=DATABASE_READY,
            status=True,
            reason="Available",
            message=f"database {plan.database} is served by {plan.host}:{PORT}",
        )
    else:
        ready = waiting(DATABASE_READY, outcome.waiting or ["the database"])
    return [ready, _backup_condition(plan, observed)]
