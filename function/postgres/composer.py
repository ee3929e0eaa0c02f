"""A database, end to end: what a PostgresDatabase becomes, in dependency order.

The same composer composes a TauApplication's `database`, so both give the
same resources with the same names.

Gating: the Cluster waits for its credentials Secret (CNPG reads it at
bootstrap) and, for objectStore backups, for its ObjectStore; the Database,
the ScheduledBackup and the retention job wait for the Cluster to be ready.
Once a resource has been emitted it is emitted on every later call, because a
resource missing from the desired state is deleted by Crossplane: a feature
that is switched off leaves its resources in place, suspended.
"""

from __future__ import annotations

from function import names, objects
from function.api.platform import PlatformDefaults
from function.api.postgres import PostgresDatabaseSpec
from function.errors import SpecError, show
from function.inputs import Identity, parse_spec
from function.keys import (
    CLUSTER,
    CREDENTIALS,
    DATABASE,
    DATABASE_ROLE,
    DUMP_CONFIG_MAP,
    DUMP_CRON_JOB,
    DUMP_RESTORE_JOB,
    DUMP_VOLUME,
    OBJECT_STORE,
    OBJECT_STORE_SECRET,
    PRUNE_CRON_JOB,
    PRUNE_ROLE,
    PRUNE_ROLE_BINDING,
    PRUNE_SERVICE_ACCOUNT,
    S3_SECRET,
    SCHEDULED_BACKUP,
)
from function.labels import OBJECT_STORE_CREDENTIALS, kubectl_label
from function.labels import value as label_value
from function.observed import Observed, condition, dig
from function.outcome import Composer, Outcome, waiting
from function.postgres import credentials, dumps, manifests, restore, shared
from function.postgres.plan import (
    DatabasePlan,
    ObjectStorePlan,
    adoption_requirement,
    plan_database,
    plan_shared_database,
)
from function.postgres.status import (
    DATABASE_READY,
    database_conditions,
    database_status,
    shared_database_conditions,
    shared_database_status,
)


class DatabaseComposer(Composer):
    """Composes the resources of one database, its status and its conditions."""

    def __init__(self, plan: DatabasePlan, observed: Observed, *, field: str) -> None:
        super().__init__(observed, plan.object_deletion_policy)
        self.plan = plan
        # Where the database's fields live in the claim, for errors.
        self.field = field

    @classmethod
    def compose(cls, observed: Observed, platform: PlatformDefaults) -> Outcome:
        """An XPostgresDatabase (and its PostgresDatabase claim)."""
        spec = parse_spec(PostgresDatabaseSpec, observed.composite)
        identity = Identity.of(observed.composite, spec.namespace)
        return database_composer(spec, identity, platform, observed, "spec").run()

    def run(self) -> Outcome:
        """Compose every resource of the database, in dependency order, then its status."""
        plan, observed = self.plan, self.observed
        self.require(
            credentials.requirement(plan) if credentials.needs_live_secret(observed) else None,
            manifests.s3_requirement(plan.backup.object_store) if plan.backup.object_store else None,
            None if observed.has(CLUSTER) else restore.requirement(plan),
            None if observed.has(CLUSTER) else restore.snapshots_requirement(plan),
            *(() if observed.has(CLUSTER) else restore.class_requirements(plan, observed)),
            None if observed.has(CLUSTER) else adoption_requirement(plan),
        )
        secret_ready = self._credentials()
        store_ready = self._object_store()
        self._cluster(prerequisites_ready=secret_ready and store_ready)
        self._dump_restore()
        cluster_ready = observed.is_ready(CLUSTER)
        self._database(cluster_ready=cluster_ready)
        self._scheduled_backup(cluster_ready=cluster_ready)
        self._retention(cluster_ready=cluster_ready)
        self._dumps(cluster_ready=cluster_ready)
        self.outcome.status = database_status(plan, observed, self.outcome)
        self.outcome.conditions = database_conditions(plan, observed, self.outcome)
        return self.outcome

    def _credentials(self) -> bool:
        plan = self.plan
        if credentials.foreign_secret(self.observed) is not None:
            raise SpecError.one(
                f"{self.field}.credentialsSecretName",
                f"Secret {show(plan.secret)} already exists in namespace {show(plan.namespace)} and was "
                "not made by function-tau; choose another name, or, to hand it over on purpose (its password "
                "becomes the database owner's), label it app.kubernetes.io/managed-by=function-tau",
            )
        unusable = credentials.type_problem(self.observed, plan)
        if unusable is not None:
            raise SpecError.one(f"{self.field}.credentialsSecretName", unusable)
        password, rotation = credentials.resolve(self.observed, plan, self.field)
        secret_type = credentials.secret_type(self.observed)
        return self.emit(
            CREDENTIALS,
            credentials.secret_manifest(plan, password, secret_type=secret_type, rotation=rotation),
            objects.CREATED,
            waiting=lambda: credentials.waiting(plan, self.observed),
        )

    def _object_store(self) -> bool:
        store = self.plan.backup.object_store
        if store is None:
            # Not (or no longer) backing up to an object store: keep what holds its retention.
            self.keep(OBJECT_STORE_SECRET, objects.CREATED)
            self.keep(OBJECT_STORE, objects.CREATED_WATCHED)
            return True
        self._object_store_secret(store)
        store_ready = self.emit(
            OBJECT_STORE,
            manifests.object_store_manifest(self.plan, store),
            objects.CREATED_WATCHED,
            waiting=f"ObjectStore {names.object_store_name(self.plan.cluster)} to be created",
        )
        return store_ready and self.observed.is_ready(OBJECT_STORE_SECRET)

    def _object_store_secret(self, store: ObjectStorePlan) -> None:
        """The copy of the admin's access keys, or what it waits for."""
        admin = self.observed.required(S3_SECRET)
        copy = manifests.s3_secret_manifest(self.plan, store, admin[0]) if admin else None
        if copy is not None:
            self.emit(OBJECT_STORE_SECRET, copy, objects.CREATED)
        elif self.observed.has(OBJECT_STORE_SECRET):
            self.keep(OBJECT_STORE_SECRET, objects.CREATED)
        else:
            ref = store.credentials
            what = (
                f"object store credentials Secret {ref.namespace}/{ref.name} with keys "
                f"{ref.accessKeyIdKey} and {ref.secretAccessKeyKey} (platform input backup.objectStore.credentials)"
            )
            if admin == [] and self.observed.answered_by_1_20(S3_SECRET):
                command = kubectl_label(
                    "secret", ref.name, ref.namespace, {OBJECT_STORE_CREDENTIALS: label_value(ref.name)}
                )
                what += f"; Crossplane 1.20 finds it only by its label: {command}"
            self.wait(what)

    def _cluster(self, *, prerequisites_ready: bool) -> None:
        plan, observed = self.plan, self.observed
        boot = restore.bootstrap(plan, observed, f"{self.field}.restore")
        if boot.waiting:
            self.wait(boot.waiting)
        if boot.bootstrap is None or not (observed.has(CLUSTER) or prerequisites_ready):
            self.wait(f"CNPG Cluster {plan.cluster} to be created")
            return

        def becoming_ready() -> str:
            phase = dig(observed.live(CLUSTER), "status", "phase")
            return f"CNPG Cluster {plan.cluster} to become ready" + (f" (phase: {phase})" if phase else "")

        manifest = manifests.cluster_manifest(plan, boot.bootstrap, boot.external_clusters)
        self.emit(CLUSTER, manifest, objects.READY_CONDITION, waiting=becoming_ready)

    def _database(self, *, cluster_ready: bool) -> None:
        observed = self.observed
        if not (cluster_ready or observed.has(DATABASE)):
            return

        def applied() -> str:
            message = dig(observed.live(DATABASE), "status", "message")
            return f"database {self.plan.database} to be applied" + (f" ({message})" if message else "")

        manifest = manifests.database_manifest(self.plan, observed.manifest(DATABASE))
        self.emit(DATABASE, manifest, objects.DATABASE_APPLIED, waiting=applied)

    def _scheduled_backup(self, *, cluster_ready: bool) -> None:
        plan, exists = self.plan, self.observed.has(SCHEDULED_BACKUP)
        if plan.backup.method != "none":
            # backup.enabled false suspends the schedule and nothing else: the
            # Cluster keeps archiving WAL, and retention keeps running (the plugin's
            # only where it is enabled in the Cluster: plugin-barman-cloud
            # internal/cnpgi/instance/retention.go). CNPG skips a suspended
            # ScheduledBackup, its immediate backup included
            # (internal/controller/scheduledbackup_controller.go).
            if cluster_ready or exists:
                manifest = manifests.scheduled_backup_manifest(plan, plan.backup.method, suspend=plan.backup.suspended)
                self.emit(SCHEDULED_BACKUP, manifest, objects.CREATED)
            return
        if exists:
            # method none: suspend the schedule, keep the resource.
            before = dig(self.observed.manifest(SCHEDULED_BACKUP), "spec", "method")
            method = "objectStore" if before == "plugin" else "volumeSnapshot"
            manifest = manifests.scheduled_backup_manifest(plan, method, suspend=True)
            self.emit(SCHEDULED_BACKUP, manifest, objects.CREATED)

    def _retention(self, *, cluster_ready: bool) -> None:
        """The snapshot retention job: once it exists it keeps pruning, whatever the claim does later.

        Suspended schedules, a switch to another method, or a deleted claim whose
        backups outlive it: the snapshot Backups it already made are still pruned
        (never the newest). So with deletionPolicy Delete and backups kept, the
        job's Objects are orphaned, not deleted, with the claim.
        """
        plan = self.plan
        active = plan.backup.method == "volumeSnapshot"
        exists = self.observed.has(PRUNE_CRON_JOB)
        if not ((active and cluster_ready) or exists):
            return
        policy: objects.DeletionPolicy = "Delete" if plan.backup.delete_with_claim else "Orphan"
        for key, manifest in (
            (PRUNE_SERVICE_ACCOUNT, manifests.prune_service_account_manifest(plan)),
            (PRUNE_ROLE, manifests.prune_role_manifest(plan)),
            (PRUNE_ROLE_BINDING, manifests.prune_role_binding_manifest(plan)),
            (PRUNE_CRON_JOB, manifests.prune_cron_job_manifest(plan, suspend=False)),
        ):
            self.emit(key, manifest, objects.CREATED, deletion_policy=policy)

    def _dumps(self, *, cluster_ready: bool) -> None:
        """Logical dumps (`backup.dump`), once the cluster is ready; turned off, the CronJob is suspended."""
        plan, observed = self.plan, self.observed
        dump = plan.dump
        active = dump is not None and (cluster_ready or observed.has(DUMP_CRON_JOB))
        self._dump_files(needed=active)
        if dump is None:
            before = observed.manifest(DUMP_CRON_JOB)
            if before is not None:
                self.emit(DUMP_CRON_JOB, dumps.suspended(before), objects.CREATED_WATCHED)
            return
        if active:
            self.emit(DUMP_CRON_JOB, dumps.cron_job_manifest(plan, dump, suspend=False), objects.CREATED_WATCHED)

    def _dump_files(self, *, needed: bool) -> None:
        """The ConfigMap with the scripts (and public key), and this cluster's dump volume, once each.

        The volume is never deleted with the claim: the files on the NFS server outlive it, as backups do.
        """
        plan, observed = self.plan, self.observed
        emitted = {composed.key for composed in self.outcome.resources}
        if DUMP_CONFIG_MAP not in emitted and (needed or observed.has(DUMP_CONFIG_MAP)):
            self.emit(DUMP_CONFIG_MAP, dumps.config_map_manifest(plan), objects.CREATED)
        if DUMP_VOLUME in emitted:
            return
        source = plan.dump_restore
        storage_class = (
            plan.dump.storage_class
            if plan.dump is not None
            else source.storage_class
            if source is not None and source.source_volume == names.dump_volume_name(plan.dump_stem)
            else None
        )
        if needed and storage_class is not None:
            manifest = dumps.volume_manifest(plan, storage_class)
        else:
            manifest = observed.manifest(DUMP_VOLUME)
        if manifest is not None:
            self.emit(DUMP_VOLUME, manifest, objects.CREATED, deletion_policy="Orphan")

    def _dump_restore(self) -> None:
        """restore.dump: a Job created with the Cluster, which fills the new database once.

        Only a cluster created by this claim is restored into (an existing one is never overwritten);
        once the Job exists it is composed exactly as it was, whatever the claim says later, so it never
        runs twice.
        """
        plan, observed = self.plan, self.observed
        source = plan.dump_restore
        emitted = {composed.key for composed in self.outcome.resources}
        # What a new database comes with: on a cluster of its own, the cluster; on an instance, its Database.
        created_with = DATABASE if plan.shared else CLUSTER
        if observed.has(DUMP_RESTORE_JOB):
            manifest = observed.manifest(DUMP_RESTORE_JOB)
        elif source is not None and not observed.has(created_with) and created_with in emitted:
            manifest = dumps.restore_job_manifest(plan, source)
        else:
            return
        if manifest is None:
            return
        self._dump_files(needed=True)
        job = names.dump_restore_name(plan.dump_stem)

        def restoring() -> str:
            failed = condition(observed.live(DUMP_RESTORE_JOB), "Failed")
            if failed is not None and failed.get("status") == "True":
                why = failed.get("message") or failed.get("reason") or "no reason given"
                return f"the restore Job {job} failed ({why}): see kubectl logs -n {plan.namespace} job/{job}"
            what = f"dump {source.file} of cluster {source.source_cluster}" if source else "the dump"
            return f"restore of {what} to complete (Job {job})"

        self.emit(DUMP_RESTORE_JOB, manifest, dumps.JOB_COMPLETE, waiting=restoring)


class SharedDatabaseComposer(DatabaseComposer):
    """A database on a PostgresInstance: its credentials, owner role, database, extensions and dumps; no cluster.

    Nothing waits for the cluster to be ready: CNPG applies the DatabaseRole and the Database once it is
    (their `status.applied`), and the claim says what it waits for meanwhile.
    """

    def __init__(self, plan: DatabasePlan, observed: Observed, *, field: str, found: shared.Lookup) -> None:
        super().__init__(plan, observed, field=field)
        self.found = found

    def run(self) -> Outcome:
        """The credentials, the owner role, the database, then the dumps; the status from the instance's."""
        plan, observed = self.plan, self.observed
        self.require(
            self.found.requirement,
            shared.databases_requirement(plan.cluster, plan.namespace),
            credentials.requirement(plan) if credentials.needs_live_secret(observed) else None,
        )
        self._credentials()
        self._role()
        self._database(cluster_ready=True)
        self._dump_restore()
        self._dumps(cluster_ready=observed.is_ready(DATABASE))
        facts = self.found.facts
        assert facts is not None  # a SharedDatabaseComposer is made only for an instance found
        self.outcome.status = shared_database_status(plan, observed, self.outcome, facts)
        self.outcome.conditions = shared_database_conditions(plan, observed, self.outcome, facts)
        return self.outcome

    def _role(self) -> None:
        observed = self.observed

        def applied() -> str:
            message = dig(observed.live(DATABASE_ROLE), "status", "message")
            return f"role {self.plan.owner} to be applied" + (f" ({message})" if message else "")

        self.emit(DATABASE_ROLE, manifests.role_manifest(self.plan), objects.DATABASE_APPLIED, waiting=applied)


class InstanceWaitComposer(Composer):
    """A database that composes nothing yet: its instance is not found, or it asks before it refuses.

    `asking`: problems were found before every look-up was answered (`shared.AskFirst`); this call
    only asks, and the next call of the same reconcile refuses with every problem.
    """

    def __init__(
        self, observed: Observed, found: shared.Lookup, secret: str, *, also: tuple = (), asking: bool = False
    ) -> None:
        super().__init__(observed, "Orphan")
        self.found = found
        self.secret = secret
        self.also = also
        self.asking = asking
        self.plan: DatabasePlan | None = None

    def run(self) -> Outcome:
        """Ask for the instance (and whatever else is pending), and say what the database waits for."""
        self.require(self.found.requirement, *self.also)
        name = self.found.instance_name
        self.wait(self.found.waiting or f"PostgresInstance {name} and the databases on it to be looked up")
        self.outcome.status = {"instance": self.found.instance_name, "secretName": self.secret, "phase": "Waiting"}
        self.outcome.conditions = [waiting(DATABASE_READY, self.outcome.waiting)]
        return self.outcome


def database_composer(
    spec: PostgresDatabaseSpec, identity: Identity, platform: PlatformDefaults, observed: Observed, field: str
) -> DatabaseComposer | InstanceWaitComposer:
    """The composer of a database: on a cluster of its own, or on the PostgresInstance it names.

    Raises:
        SpecError: the database cannot be composed as written (every problem at once).
    """
    if spec.instanceRef is None:
        return DatabaseComposer(plan_database(spec, identity, platform, observed, field), observed, field=field)
    found = shared.lookup(spec.instanceRef.name, identity, observed)
    secret = spec.credentialsSecretName or names.default_credentials_secret(identity.name)
    if found.facts is None:
        problems = identity.namespace_problems(spec.namespace, f"{field}.namespace")
        problems += shared.field_problems(spec, identity, field)
        if problems and found.pending:
            return InstanceWaitComposer(observed, found, secret, asking=True)
        shared.raise_if(problems)
        return InstanceWaitComposer(observed, found, secret)
    try:
        plan = plan_shared_database(spec, identity, platform, observed, field, found.facts)
    except shared.AskFirst as ask:
        return InstanceWaitComposer(observed, found, secret, also=tuple(ask.requirements), asking=True)
    return SharedDatabaseComposer(plan, observed, field=field, found=found)
