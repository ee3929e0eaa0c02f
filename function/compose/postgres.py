"""A database, end to end: what a PostgresDatabase becomes, in dependency order.

The same code composes a TauApplication's `database`, so both give the same
resources with the same names.

Gating: the Cluster waits for its credentials Secret (CNPG reads it at
bootstrap) and, for objectStore backups, for its ObjectStore; the Database,
the ScheduledBackup and the retention job wait for the Cluster to be ready.
Once a resource has been emitted it is emitted on every later call, because a
resource missing from the desired state is deleted by Crossplane: a feature
that is switched off leaves its resources in place, suspended.
"""

from __future__ import annotations

from function import names, objects, status
from function.api.platform import PlatformDefaults
from function.api.postgres import PostgresDatabaseSpec
from function.compose import backup, credentials, database, restore
from function.compose.plan import (
    CLUSTER,
    CREDENTIALS,
    DATABASE,
    OBJECT_STORE,
    OBJECT_STORE_SECRET,
    PRUNE_CRON_JOB,
    PRUNE_ROLE,
    PRUNE_ROLE_BINDING,
    PRUNE_SERVICE_ACCOUNT,
    SCHEDULED_BACKUP,
    DatabasePlan,
    plan_database,
)
from function.compose.spec import parse_spec
from function.compose.types import Identity, Outcome
from function.errors import SpecError, show
from function.observed import Observed, dig


class DatabaseComposer:
    """Composes the resources of one database into an Outcome."""

    def __init__(
        self, plan: DatabasePlan, platform: PlatformDefaults, observed: Observed, outcome: Outcome, field: str
    ):
        self.plan = plan
        self.platform = platform
        self.observed = observed
        self.outcome = outcome
        self.field = field

    def _add(self, key: str, manifest: dict, readiness: objects.Readiness) -> None:
        body = objects.wrap(manifest, readiness=readiness, deletion_policy=self.plan.object_deletion_policy)
        self.outcome.add(key, body, self.observed.is_ready(key))

    def _keep(self, key: str, readiness: objects.Readiness) -> None:
        """Re-emit a resource exactly as composed before (it can no longer be rebuilt)."""
        manifest = self.observed.manifest(key)
        if manifest is not None:
            self._add(key, manifest, readiness)

    def _wait(self, what: str) -> None:
        self.outcome.waiting.append(what)

    def compose(self) -> None:
        """Compose every resource of the database, in dependency order."""
        self._requirements()
        secret_ready = self._credentials()
        store_ready = self._object_store()
        self._cluster(prerequisites_ready=secret_ready and store_ready)
        cluster_ready = self.observed.is_ready(CLUSTER)
        self._database(cluster_ready)
        self._scheduled_backup(cluster_ready)
        self._retention(cluster_ready)

    def _requirements(self) -> None:
        plan = self.plan
        wanted = [credentials.requirement(plan), backup.s3_requirement(plan)]
        if not self.observed.has(CLUSTER):
            wanted.append(restore.requirement(plan))
        self.outcome.requirements.extend(r for r in wanted if r is not None)

    def _credentials(self) -> bool:
        if credentials.foreign_secret(self.observed) is not None:
            raise SpecError.one(
                f"{self.field}.credentialsSecretName",
                f"Secret {show(self.plan.secret)} already exists in namespace {show(self.plan.namespace)} and was "
                "not made by function-tau; choose another name, or, to hand it over on purpose (its password "
                "becomes the database owner's), label it app.kubernetes.io/managed-by=function-tau",
            )
        password, _ = credentials.resolve_password(self.observed)
        self._add(CREDENTIALS, credentials.secret_manifest(self.plan, password), objects.CREATED)
        if self.observed.is_ready(CREDENTIALS):
            return True
        self._wait(f"credentials Secret {self.plan.secret} to be created")
        return False

    def _object_store(self) -> bool:
        plan = self.plan
        if plan.backup_method != "objectStore":
            # Switched away from the object store: keep what holds its retention.
            self._keep(OBJECT_STORE_SECRET, objects.CREATED)
            self._keep(OBJECT_STORE, objects.CREATED)
            return True
        assert plan.object_store is not None
        admin = self.observed.required(backup.S3_SECRET)
        copy = backup.s3_secret_manifest(plan, admin[0]) if admin else None
        ref = plan.object_store.credentials
        if copy is not None:
            self._add(OBJECT_STORE_SECRET, copy, objects.CREATED)
        elif self.observed.has(OBJECT_STORE_SECRET):
            self._keep(OBJECT_STORE_SECRET, objects.CREATED)
        else:
            self._wait(
                f"object store credentials Secret {ref.namespace}/{ref.name} with keys "
                f"{ref.accessKeyIdKey} and {ref.secretAccessKeyKey} (platform input backup.objectStore.credentials)"
            )
        target = self.platform.backup.objectStore
        self._add(
            OBJECT_STORE, backup.object_store_manifest(plan, target.compression, target.encryption), objects.CREATED
        )
        ready = self.observed.is_ready(OBJECT_STORE) and self.observed.is_ready(OBJECT_STORE_SECRET)
        if not self.observed.is_ready(OBJECT_STORE):
            self._wait(f"ObjectStore {names.object_store_name(plan.cluster)} to be created")
        return ready

    def _cluster(self, prerequisites_ready: bool) -> None:
        plan = self.plan
        exists = self.observed.has(CLUSTER)
        boot = restore.bootstrap(plan, self.observed, f"{self.field}.restore")
        if boot.waiting:
            self._wait(boot.waiting)
        if boot.bootstrap is None or not (exists or prerequisites_ready):
            self._wait(f"CNPG Cluster {plan.cluster} to be created")
            return
        manifest = database.cluster_manifest(
            plan, boot.bootstrap, boot.external_clusters, names.object_store_name(plan.cluster)
        )
        self._add(CLUSTER, manifest, objects.READY_CONDITION)
        if not self.observed.is_ready(CLUSTER):
            phase = dig(self.observed.live(CLUSTER), "status", "phase")
            self._wait(f"CNPG Cluster {plan.cluster} to become ready" + (f" (phase: {phase})" if phase else ""))

    def _database(self, cluster_ready: bool) -> None:
        if not (cluster_ready or self.observed.has(DATABASE)):
            return
        self._add(
            DATABASE, database.database_manifest(self.plan, self.observed.manifest(DATABASE)), objects.DATABASE_APPLIED
        )
        if not self.observed.is_ready(DATABASE):
            message = dig(self.observed.live(DATABASE), "status", "message")
            self._wait(f"database {self.plan.database} to be applied" + (f" ({message})" if message else ""))

    def _scheduled_backup(self, cluster_ready: bool) -> None:
        plan, exists = self.plan, self.observed.has(SCHEDULED_BACKUP)
        if plan.backup_method != "none":
            if cluster_ready or exists:
                self._add(
                    SCHEDULED_BACKUP, backup.scheduled_backup_manifest(plan, plan.backup_method, False), objects.CREATED
                )
            return
        if exists:
            # Backups switched off: suspend the schedule, keep the resource.
            before = dig(self.observed.manifest(SCHEDULED_BACKUP), "spec", "method")
            method = "objectStore" if before == "plugin" else "volumeSnapshot"
            self._add(SCHEDULED_BACKUP, backup.scheduled_backup_manifest(plan, method, True), objects.CREATED)

    def _retention(self, cluster_ready: bool) -> None:
        plan = self.plan
        active = plan.backup_method == "volumeSnapshot"
        exists = self.observed.has(PRUNE_CRON_JOB)
        if not ((active and (cluster_ready or exists)) or exists):
            return
        self._add(PRUNE_SERVICE_ACCOUNT, backup.prune_service_account_manifest(plan), objects.CREATED)
        self._add(PRUNE_ROLE, backup.prune_role_manifest(plan), objects.CREATED)
        self._add(PRUNE_ROLE_BINDING, backup.prune_role_binding_manifest(plan), objects.CREATED)
        self._add(PRUNE_CRON_JOB, backup.prune_cron_job_manifest(plan, suspend=not active), objects.CREATED)


def compose_database(
    spec: PostgresDatabaseSpec,
    identity: Identity,
    platform: PlatformDefaults,
    observed: Observed,
    outcome: Outcome,
    field: str = "spec",
) -> DatabasePlan:
    """Compose a database into `outcome` and return its plan (for status)."""
    plan = plan_database(spec, identity, platform, observed, field)
    DatabaseComposer(plan, platform, observed, outcome, field).compose()
    return plan


def compose_postgres_database(observed: Observed, platform: PlatformDefaults) -> Outcome:
    """An XPostgresDatabase (and its PostgresDatabase claim)."""
    spec = parse_spec(PostgresDatabaseSpec, observed.composite)
    identity = Identity.of(observed.composite, spec.namespace)
    outcome = Outcome()
    plan = compose_database(spec, identity, platform, observed, outcome)
    outcome.status = status.database_status(plan, observed, outcome)
    outcome.conditions = status.database_conditions(plan, observed, outcome)
    return outcome
