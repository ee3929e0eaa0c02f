"""A database on a shared PostgresInstance (`instanceRef`): finding the instance, and the rules of sharing.

The database reads the PostgresInstance it names (a required resource, in its
own namespace): the cluster's name, its PostgreSQL version and whether it has
a pooler come from there. Once the database exists on a cluster it is pinned
to it: the cluster is read back from the Database the function composed, so a
deleted or renamed instance never moves a database (a database moves with a
dump and a restore, never by editing a field).

Sharing rules, checked before anything is composed (all problems at once):
- the instance is in the database's own namespace (CNPG manages a database
  only from its cluster's namespace: cloudnative-pg#6043);
- what belongs to the instance is set on the instance: `instance`, the
  physical `backup` fields, `restore.backupName`;
- no two databases on one cluster take the same database or owner name, nor
  CNPG's bootstrap database `app` (the instance's cluster starts with it).
  The function lists the CNPG Databases on the cluster to say so; behind that
  check, the Database and DatabaseRole are named after the PostgreSQL names
  (`names.on_cluster`), so two claims asking for one name compose one
  resource, which Crossplane lets only one composite control.
"""

from __future__ import annotations

import dataclasses

from function import names, shapes
from function.api.definitions import API_VERSION, V2_API_VERSION
from function.api.platform import PlatformDefaults
from function.api.postgres import Instance, PhysicalBackup, PostgresDatabaseSpec
from function.errors import Problem, SpecError, show
from function.inputs import CLAIM_NAME_LABEL, CLAIM_NAMESPACE_LABEL, Identity
from function.keys import CLUSTER, CREDENTIALS, DATABASE, DATABASE_ROLE, DATABASES_ON_CLUSTER, INSTANCE
from function.labels import CLUSTER as CLUSTER_LABEL
from function.observed import Observed, as_int, dig
from function.outcome import Requirement

INSTANCE_KIND = "PostgresInstance"
# Crossplane 2 labels a composite with its own name.
COMPOSITE_LABEL = "crossplane.io/composite"


@dataclasses.dataclass(frozen=True)
class InstanceFacts:
    """What a database needs to know of the instance it lives on."""

    name: str  # the PostgresInstance
    cluster: str
    version: int | None  # as the instance reports it; None before it does
    pooler: bool
    status: dict = dataclasses.field(default_factory=dict)  # the instance's status, for the database's


@dataclasses.dataclass(frozen=True)
class Lookup:
    """The instance, or what the database waits for while it is not known."""

    instance_name: str
    requirement: Requirement
    facts: InstanceFacts | None
    waiting: str | None = None
    pending: bool = False  # not looked up yet in this reconcile


class AskFirst(Exception):  # noqa: N818 - not an error: a request to be called again with answers
    """Problems found before every look-up was answered.

    Crossplane stops calling a function once it refuses, so a refusal made before
    the answers arrive would report only part of what is wrong: the function asks
    first and reports every problem on the next call of the same reconcile (the
    desired state of a call whose requirements change is never applied).
    """

    def __init__(self, requirements: list[Requirement]) -> None:
        super().__init__("ask first")
        self.requirements = requirements


def instance_requirement(ref: str, identity: Identity, composite: dict) -> Requirement:
    """Ask for the PostgresInstance `ref` of the database's namespace.

    A Crossplane 2 composite: by name in the namespace. A claim's composite:
    the instance's composite, cluster-scoped, found by the claim labels
    Crossplane puts on it (1.20 and 2.x both list by labels). A composite
    created without a claim: the instance's composite by name.
    """
    if shapes.is_modern(composite.get("apiVersion")):
        return Requirement(
            INSTANCE, V2_API_VERSION, INSTANCE_KIND, ref, identity.namespace, labels={COMPOSITE_LABEL: ref}
        )
    if identity.claimed:
        labels = {CLAIM_NAME_LABEL: ref, CLAIM_NAMESPACE_LABEL: identity.namespace}
        return Requirement(INSTANCE, API_VERSION, f"X{INSTANCE_KIND}", None, labels=labels)
    return Requirement(INSTANCE, API_VERSION, f"X{INSTANCE_KIND}", ref)


def databases_requirement(cluster: str, namespace: str) -> Requirement:
    """Ask for every CNPG Database the function composed on `cluster` (its own and the other claims')."""
    labels = {
        "app.kubernetes.io/managed-by": "function-tau",
        "app.kubernetes.io/component": "database",
        "app.kubernetes.io/instance": cluster,
    }
    return Requirement(DATABASES_ON_CLUSTER, "postgresql.cnpg.io/v1", "Database", None, namespace, labels=labels)


def pinned_cluster(observed: Observed) -> str | None:
    """The cluster the database already lives on, from what the function composed before."""
    for key in (DATABASE, DATABASE_ROLE):
        cluster = dig(observed.manifest(key), "spec", "cluster", "name")
        if isinstance(cluster, str) and cluster:
            return cluster
    label = dig(observed.manifest(CREDENTIALS), "metadata", "labels", CLUSTER_LABEL)
    return label if isinstance(label, str) and label else None


def _facts(ref: str, found: dict, identity: Identity) -> InstanceFacts | None:
    """The facts of a fetched instance composite, None when it is not the database's namespace's."""
    spec = found.get("spec") if isinstance(found.get("spec"), dict) else {}
    owner = Identity.of(found, spec.get("namespace") if isinstance(spec.get("namespace"), str) else None)
    if owner.namespace != identity.namespace:
        return None
    named = dig(spec, "instance", "name")
    cluster = named if isinstance(named, str) and named else names.default_cluster_name(owner.name)
    return InstanceFacts(
        name=ref,
        cluster=cluster,
        version=as_int(dig(found, "status", "version")),
        pooler=isinstance(spec.get("pooler"), dict),
        status=found["status"] if isinstance(found.get("status"), dict) else {},
    )


def lookup(ref: str, identity: Identity, observed: Observed) -> Lookup:
    """The instance `ref`: found, or pinned (the database exists on its cluster), or what to wait for."""
    requirement = instance_requirement(ref, identity, observed.composite)
    answer = requirement.ask(observed)
    found = next((f for f in (_facts(ref, item, identity) for item in answer or ()) if f is not None), None)
    pinned = pinned_cluster(observed)
    if found is not None:
        return Lookup(ref, requirement, found)
    if pinned is not None:
        # The instance is gone (or not visible this call): the database stays where it is.
        return Lookup(ref, requirement, InstanceFacts(name=ref, cluster=pinned, version=None, pooler=False))
    if answer is None:
        return Lookup(ref, requirement, None, f"PostgresInstance {ref} to be looked up", pending=True)
    return Lookup(
        ref,
        requirement,
        None,
        f"PostgresInstance {ref} in namespace {identity.namespace} (not found; create it, or fix instanceRef.name)",
    )


def field_problems(spec: PostgresDatabaseSpec, identity: Identity, field: str) -> list[Problem]:
    """What a database on an instance may not set: what the instance owns, and another namespace."""
    ref = spec.instanceRef
    assert ref is not None
    problems = []
    if ref.namespace is not None and ref.namespace != identity.namespace:
        problems.append(
            Problem(
                f"{field}.instanceRef.namespace",
                f"{show(ref.namespace)} is not the database's namespace {show(identity.namespace)}; CloudNativePG "
                "manages a database only from its cluster's namespace (cloudnative-pg#6043): create the "
                "database in that namespace, or a PostgresInstance in this one",
            )
        )
    owner = f"PostgresInstance {show(ref.name)}: set it there (all its databases share it)"
    if spec.instance != Instance():
        problems.append(Problem(f"{field}.instance", f"the cluster belongs to {owner}"))
    physical = spec.backup.model_dump(include=set(PhysicalBackup.model_fields))
    if physical != PhysicalBackup().model_dump():
        fields = ", ".join(k for k, v in physical.items() if v != getattr(PhysicalBackup(), k))
        problems.append(
            Problem(
                f"{field}.backup",
                f"{fields}: the scheduled backups belong to {owner}; only backup.dump is per database",
            )
        )
    if spec.restore is not None and spec.restore.backupName is not None:
        problems.append(
            Problem(
                f"{field}.restore.backupName",
                f"a cluster backup restores the whole instance (every database on it): set restore on PostgresInstance "
                f"{show(ref.name)} when it is created; one database comes back from a logical dump (restore.dump)",
            )
        )
    return problems


def move_problems(observed: Observed, facts: InstanceFacts, field: str) -> list[Problem]:
    """A database never moves between clusters by a field: not off its own cluster, not to another instance."""
    if observed.has(CLUSTER):
        return [
            Problem(
                f"{field}.instanceRef",
                "the database has a cluster of its own and cannot move onto an instance by a field: dump it "
                "(backup.dump), then restore the dump into a new claim on the instance (restore.dump)",
            )
        ]
    pinned = pinned_cluster(observed)
    if pinned is not None and pinned != facts.cluster:
        return [
            Problem(
                f"{field}.instanceRef.name",
                f"the database lives on cluster {show(pinned)}; PostgresInstance {show(facts.name)} is cluster "
                f"{show(facts.cluster)}: a database moves with a dump and a restore (backup.dump, restore.dump), "
                "not by changing instanceRef",
            )
        ]
    return []


def leaving_problems(observed: Observed, field: str) -> list[Problem]:
    """A database on an instance (it composed a DatabaseRole) does not move to a cluster of its own by a field."""
    if not observed.has(DATABASE_ROLE):
        return []
    cluster = pinned_cluster(observed)
    return [
        Problem(
            f"{field}.instanceRef",
            f"the database lives on the instance's cluster {show(cluster)}; it cannot move to a cluster of its own "
            "by removing instanceRef: dump it (backup.dump), then restore the dump into a new claim (restore.dump)",
        )
    ]


def _taken_by(item: dict) -> str:
    labels = dig(item, "metadata", "labels") or {}
    claim = labels.get("app.kubernetes.io/part-of") or "another claim"
    return f"{claim} (Database {dig(item, 'metadata', 'name')})"


def name_problems(
    facts: InstanceFacts, database: str, owner: str, identity: Identity, others: list[dict] | None, field: str
) -> list[Problem]:
    """The database and owner names on a shared cluster: free, and able to name their resources."""
    problems = []
    for value, name in ((database, "databaseName"), (owner, "owner")):
        if value == names.CNPG_BOOTSTRAP_DATABASE:
            problems.append(
                Problem(
                    f"{field}.{name}",
                    f"{show(value)} is the database and role CloudNativePG bootstraps every instance's cluster "
                    "with; choose another name",
                )
            )
        elif (problem := names.on_cluster_problem(facts.cluster, value)) is not None:
            problems.append(Problem(f"{field}.{name}", problem))
    mine = names.on_cluster(facts.cluster, database)
    for item in others or ():
        labels = dig(item, "metadata", "labels") or {}
        if dig(item, "metadata", "name") == mine and labels.get("app.kubernetes.io/part-of") == identity.name:
            continue
        where = f"on PostgresInstance {show(facts.name)} (cluster {show(facts.cluster)})"
        if dig(item, "spec", "name") == database:
            problems.append(
                Problem(
                    f"{field}.databaseName",
                    f"database {show(database)} {where} is already taken by {_taken_by(item)}; choose another name",
                )
            )
        if dig(item, "spec", "owner") == owner:
            problems.append(
                Problem(
                    f"{field}.owner",
                    f"role {show(owner)} {where} already owns a database of {_taken_by(item)}; "
                    "each database has an owner of its own: choose another name",
                )
            )
    return problems


def raise_if(problems: list[Problem]) -> None:
    """Raise every problem found, at once."""
    if problems:
        raise SpecError(problems)


def version(facts: InstanceFacts, platform: PlatformDefaults) -> int:
    """The instance's PostgreSQL major (for extension checks), the platform's until the instance reports it."""
    return facts.version or platform.postgres.version
