"""What a PostgresInstance becomes: a PostgresDatabase's own cluster without its database, and a pooler.

The cluster, its object store, scheduled backups and retention are composed by
the very code that composes a PostgresDatabase's own cluster (this composer is
a `DatabaseComposer` that leaves out the database's parts), so an instance and
a database's own cluster never drift apart. The databases on it come from
their own claims (`instanceRef`); the instance lists them (the CNPG Databases
on its cluster) for its status, its pg_hba and its deletion policy.
"""

from __future__ import annotations

from function import names, objects
from function.api.instance import PostgresInstanceSpec
from function.api.platform import PlatformDefaults
from function.inputs import Identity, parse_spec
from function.instance import manifests
from function.instance.plan import InstancePlan, plan_instance
from function.instance.status import instance_conditions, instance_status, pooler_waiting
from function.keys import CLUSTER, POOLER
from function.observed import Observed
from function.outcome import Outcome
from function.postgres import manifests as cluster_manifests
from function.postgres import restore, shared
from function.postgres.composer import DatabaseComposer
from function.postgres.plan import adoption_requirement


class InstanceComposer(DatabaseComposer):
    """Composes an instance's cluster, backups and pooler, its status and its conditions."""

    def __init__(self, plan: InstancePlan, spec: PostgresInstanceSpec, observed: Observed) -> None:
        super().__init__(plan.cluster, observed, field="spec")
        self.instance = plan
        self.spec = spec

    @classmethod
    def compose(cls, observed: Observed, platform: PlatformDefaults) -> Outcome:
        """An XPostgresInstance (and its PostgresInstance claim)."""
        spec = parse_spec(PostgresInstanceSpec, observed.composite)
        identity = Identity.of(observed.composite, spec.namespace)
        return cls(plan_instance(spec, identity, platform, observed), spec, observed).run()

    def run(self) -> Outcome:
        """The cluster (after its object store), its backups and retention, then the pooler."""
        plan, observed = self.plan, self.observed
        self.require(
            cluster_manifests.s3_requirement(plan.backup.object_store) if plan.backup.object_store else None,
            None if observed.has(CLUSTER) else restore.requirement(plan),
            None if observed.has(CLUSTER) else restore.snapshots_requirement(plan),
            *(() if observed.has(CLUSTER) else restore.class_requirements(plan, observed)),
            None if observed.has(CLUSTER) else adoption_requirement(plan),
            shared.databases_requirement(plan.cluster, plan.namespace),
        )
        store_ready = self._object_store()
        self._cluster(prerequisites_ready=store_ready)
        cluster_ready = observed.is_ready(CLUSTER)
        self._scheduled_backup(cluster_ready=cluster_ready)
        self._retention(cluster_ready=cluster_ready)
        self._pooler(cluster_ready=cluster_ready)
        self.outcome.status = instance_status(self.instance, self.spec, observed, self.outcome)
        self.outcome.conditions = instance_conditions(self.instance, self.spec, observed, self.outcome)
        return self.outcome

    def _pooler(self, *, cluster_ready: bool) -> None:
        """The pooler, where asked, once the cluster is ready; stateless, it goes when the field goes."""
        pooler = self.spec.pooler
        if pooler is None or not (cluster_ready or self.observed.has(POOLER)):
            return
        name = names.pooler_name(self.plan.cluster)
        self.emit(
            POOLER,
            manifests.pooler_manifest(self.plan, pooler),
            objects.CREATED_WATCHED,
            waiting=lambda: pooler_waiting(self.observed, name),
            # It holds no data: it goes when the field goes, and with the instance, whatever its deletionPolicy.
            deletion_policy="Delete",
        )
