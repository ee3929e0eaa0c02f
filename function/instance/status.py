"""What an instance claim tells its user: the cluster, its pooler, the databases on it, its backups."""

from __future__ import annotations

from function import names
from function.api.instance import InstanceDatabase, InstanceStatus, PostgresInstanceSpec
from function.instance.plan import InstancePlan
from function.keys import CLUSTER, POOLER
from function.observed import Observed, as_int, dig
from function.outcome import Condition, Outcome, waiting
from function.postgres.plan import PORT
from function.postgres.status import backup_condition, backup_times, version_condition

INSTANCE_READY = "InstanceReady"


def instance_status(plan: InstancePlan, spec: PostgresInstanceSpec, observed: Observed, outcome: Outcome) -> dict:
    """The status fields of a PostgresInstance; databases on it read by their PostgresDatabases (`instanceRef`)."""
    cluster = plan.cluster
    live = observed.live_at(CLUSTER, "status")
    last, first = backup_times(cluster, observed)
    status = InstanceStatus(
        cluster=cluster.cluster,
        host=cluster.host,
        port=PORT,
        version=cluster.version,
        phase=dig(live, "phase") or ("Waiting" if outcome.waiting else "Provisioning"),
        instances=as_int(dig(live, "instances")),
        readyInstances=as_int(dig(live, "readyInstances")),
        poolerHost=names.pooler_host(cluster.cluster, cluster.namespace) if spec.pooler else None,
        poolerMode=spec.pooler.mode if spec.pooler else None,
        databases=None
        if plan.databases is None
        else [InstanceDatabase(name=d.name, owner=d.owner, claim=d.claim) for d in plan.databases],
        backupMethod=cluster.backup.method,
        backupTarget=cluster.backup_target,
        lastSuccessfulBackup=last,
        firstRecoverabilityPoint=first,
    )
    return status.model_dump(exclude_none=True)


def instance_conditions(
    plan: InstancePlan, spec: PostgresInstanceSpec, observed: Observed, outcome: Outcome
) -> list[Condition]:
    """InstanceReady, BackupReady and, on a major past its end of life (or once it was), VersionSupported."""
    cluster = plan.cluster
    if observed.is_ready(CLUSTER) and not outcome.waiting:
        count = len(plan.databases or ())
        pooler = (
            f", pooler {names.pooler_host(cluster.cluster, cluster.namespace)} ({spec.pooler.mode})"
            if spec.pooler
            else ""
        )
        held = (
            "; deletionPolicy Delete is held back (the cluster is left behind) while databases live on it"
            if plan.held
            else ""
        )
        ready = Condition(
            type=INSTANCE_READY,
            status=True,
            reason="Available",
            message=f"cluster {cluster.cluster} is served by {cluster.host}:{PORT}{pooler}, "
            f"with {count} database{'' if count == 1 else 's'} on it{held}",
        )
    else:
        ready = waiting(INSTANCE_READY, outcome.waiting or ["the cluster"])
    version = version_condition(cluster, observed)
    return [ready, backup_condition(cluster, observed)] + ([version] if version else [])


def pooler_waiting(observed: Observed, name: str) -> str:
    """What the instance waits for while its pooler is not created."""
    phase = dig(observed.live(POOLER), "status", "phase")
    return f"Pooler {name} to be created" + (f" (phase: {phase})" if phase else "")
