"""What a claim tells its user: status fields and conditions from observed state.

Nothing here ever reads the credentials Secret: the password cannot reach a
status field or a condition message.
"""

from __future__ import annotations

from function.api.postgres import DatabaseStatus
from function.compose.credentials import PORT
from function.compose.plan import CLUSTER, DATABASE, OBJECT_STORE, SCHEDULED_BACKUP, DatabasePlan
from function.compose.types import Condition, Outcome, waiting
from function.observed import Observed, dig

# Condition types on the composite and its claim (Crossplane owns Ready and Synced).
DATABASE_READY = "DatabaseReady"
BACKUP_READY = "BackupReady"


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


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
        instances=_int(dig(cluster, "instances")),
        readyInstances=_int(dig(cluster, "readyInstances")),
        backupMethod=plan.backup_method,
        backupTarget=plan.backup_target,
        lastSuccessfulBackup=last,
        firstRecoverabilityPoint=first,
    )
    return status.model_dump(exclude_none=True)


def database_conditions(plan: DatabasePlan, observed: Observed, outcome: Outcome) -> list[Condition]:
    """DatabaseReady and BackupReady."""
    conditions = []
    if observed.is_ready(CLUSTER) and observed.is_ready(DATABASE) and not outcome.waiting:
        conditions.append(
            Condition(DATABASE_READY, True, "Available", f"database {plan.database} is served by {plan.host}:{PORT}")
        )
    else:
        conditions.append(waiting(DATABASE_READY, outcome.waiting or ["the database"]))

    if plan.backup_method == "none":
        conditions.append(Condition(BACKUP_READY, False, "Disabled", "backups are disabled for this database"))
    elif not observed.is_ready(SCHEDULED_BACKUP):
        conditions.append(
            Condition(BACKUP_READY, False, "Waiting", "waiting for the cluster before scheduling backups")
        )
    else:
        last, _ = _backup_times(plan, observed)
        where = (
            f"Longhorn snapshots to {plan.backup_target}"
            if plan.backup_method == "volumeSnapshot"
            else f"Barman Cloud to {plan.backup_target}"
        )
        conditions.append(
            Condition(
                BACKUP_READY,
                True,
                "Scheduled",
                f"{where} on '{plan.schedule}', kept {plan.retention_days} days; "
                f"last successful backup: {last or 'none yet'}",
            )
        )
    return conditions
