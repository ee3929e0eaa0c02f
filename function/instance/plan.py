"""Resolve a PostgresInstance into a plan: the cluster as a PostgresDatabase's own, without its database.

An instance's cluster is exactly what a PostgresDatabase's own cluster is (the
same fields, defaults, names and checks: `plan_database` does the work), with
three differences: it starts with CloudNativePG's default database (`app`),
not a claim's; its pg_hba opens each database on it to its owner only; and
while databases live on it, deleting the instance leaves the cluster behind
whatever its deletionPolicy says (a database's data is its own claim's to
delete).
"""

from __future__ import annotations

import dataclasses

from function import names
from function.api.instance import PostgresInstanceSpec
from function.api.platform import PlatformDefaults
from function.api.postgres import Backup, PostgresDatabaseSpec, Restore
from function.inputs import Identity
from function.keys import CLUSTER
from function.observed import Observed, dig
from function.postgres import shared
from function.postgres.plan import DatabasePlan, plan_database


@dataclasses.dataclass(frozen=True)
class OnInstance:
    """A database that lives on the instance, as its CNPG Database says."""

    name: str
    owner: str | None
    claim: str | None


@dataclasses.dataclass(frozen=True)
class InstancePlan:
    """The instance's cluster (a DatabasePlan without a database of its own) and the databases on it."""

    cluster: DatabasePlan
    databases: tuple[OnInstance, ...] | None  # None: not looked up yet
    # deletionPolicy Delete held back (Retain) because databases live on the instance.
    held: bool


def as_database_spec(spec: PostgresInstanceSpec) -> PostgresDatabaseSpec:
    """The PostgresDatabase spec whose cluster the instance's is: its fields, CNPG's bootstrap database, no dumps."""
    app = names.CNPG_BOOTSTRAP_DATABASE
    restore = None
    if spec.restore is not None:
        restore = Restore(backupName=spec.restore.backupName, pointInTime=spec.restore.pointInTime)
    return PostgresDatabaseSpec(
        databaseName=app,
        owner=app,
        # Never composed: CNPG generates the bootstrap owner's Secret (<cluster>-app) itself.
        credentialsSecretName=app,
        instance=spec.instance,
        backup=Backup.model_validate({**spec.backup.model_dump(), "dump": {"enabled": False}}),
        restore=restore,
        deletionPolicy=spec.deletionPolicy,
        namespace=spec.namespace,
    )


def _on_instance(items: list[dict] | None) -> tuple[OnInstance, ...] | None:
    if items is None:
        return None
    found = set()
    for item in items:
        name, owner = dig(item, "spec", "name"), dig(item, "spec", "owner")
        claim = dig(item, "metadata", "labels", "app.kubernetes.io/part-of")
        if isinstance(name, str):
            found.add(
                OnInstance(name, owner if isinstance(owner, str) else None, claim if isinstance(claim, str) else None)
            )
    return tuple(sorted(found, key=lambda d: (d.name, d.owner or "", d.claim or "")))


def hba(databases: tuple[OnInstance, ...]) -> tuple[str, ...]:
    """pg_hba lines that open each database on the instance to its owner only.

    First match wins: each owner is let in to its database, then everyone else is
    turned away from it. A database the instance has not listed yet falls through
    to CloudNativePG's last line (`host all all all scram-sha-256`) until it is.
    CNPG's own lines (streaming replication, the pooler's auth user by certificate)
    come before these.
    """
    owned = [d for d in databases if d.owner]
    # Quoted: unquoted, pg_hba reads all, sameuser, samerole and replication as keywords, not names.
    return tuple(
        [f'host "{d.name}" "{d.owner}" all scram-sha-256' for d in owned]
        + [f'host "{d.name}" all all reject' for d in owned]
    )


def plan_instance(
    spec: PostgresInstanceSpec, identity: Identity, platform: PlatformDefaults, observed: Observed
) -> InstancePlan:
    """Resolve `spec` into a plan, or raise SpecError listing every problem."""
    cluster = plan_database(as_database_spec(spec), identity, platform, observed, "spec")
    listed = shared.databases_requirement(cluster.cluster, identity.namespace).ask(observed)
    databases = _on_instance(listed)
    if databases is None:
        # Not looked up this call: keep what the cluster was composed with.
        lines = dig(observed.manifest(CLUSTER), "spec", "postgresql", "pg_hba")
        kept = tuple(line for line in lines or () if isinstance(line, str))
        held = dig(observed.get(CLUSTER), "spec", "deletionPolicy") == "Orphan"
    else:
        kept, held = hba(databases), bool(databases)
    held = held and spec.deletionPolicy == "Delete"
    policy = "Retain" if held else cluster.deletion_policy
    backup = dataclasses.replace(cluster.backup, delete_with_claim=cluster.backup.delete_with_claim and not held)
    cluster = dataclasses.replace(cluster, bootstrap_owner=False, hba=kept, deletion_policy=policy, backup=backup)
    return InstancePlan(cluster=cluster, databases=databases, held=held)
