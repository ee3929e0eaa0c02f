"""PostgresInstance: a CloudNativePG cluster that several PostgresDatabases of its namespace live on.

The plan's "create or reference an instance": a PostgresDatabase names one in
`instanceRef` and then gets only its database, owner role, extensions,
credentials and dumps on it. Everything the cluster owns is set here, with the
same fields, meaning and defaults as a PostgresDatabase's own cluster:
version, instances, storage, resources, parameters, physical backups, and the
restore of the whole cluster (every database on it). Plus a PgBouncer pooler.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from function.api.common import CompositeNamespace, KubernetesName, TauModel
from function.api.postgres import MAX_INSTANCES, Instance, PhysicalBackup, PointInTime

MAX_POOL_SIZE = 10000
MAX_CLIENT_CONNECTIONS = 100000


class Pooler(TauModel):
    """A CloudNativePG Pooler (PgBouncer) in front of the primary."""

    mode: Literal["transaction", "session"] = Field(
        "transaction",
        description="transaction (default): a server connection per transaction, the most clients per "
        "connection; session-level features (prepared statements before PgBouncer 1.21, SET, advisory locks, "
        "LISTEN/NOTIFY, temporary tables, WITH HOLD cursors) do not work through it: use DATABASE_URL for those "
        "and for migrations. session: a server connection per client session.",
    )
    instances: int = Field(1, ge=1, le=MAX_INSTANCES, description="PgBouncer pods. Default: 1.")
    defaultPoolSize: int | None = Field(
        None, ge=1, le=MAX_POOL_SIZE, description="Server connections per user and database. Default: PgBouncer's (20)."
    )
    maxClientConnections: int | None = Field(
        None,
        ge=1,
        le=MAX_CLIENT_CONNECTIONS,
        description="Client connections PgBouncer accepts in all. Default: CloudNativePG's (1000).",
    )


class InstanceRestore(TauModel):
    """Bootstrap the new cluster, every database on it, from a backup."""

    backupName: KubernetesName = Field(
        description="A completed CNPG Backup in the namespace (a snapshot or an object store backup)."
    )
    pointInTime: PointInTime | None = Field(
        None,
        description="Recover to this moment (RFC 3339), replaying the WAL archive. Object store backups only.",
    )


class PostgresInstanceSpec(TauModel):
    """The desired state of a PostgresInstance."""

    instance: Instance = Field(default_factory=Instance, description="The PostgreSQL cluster.")
    backup: PhysicalBackup = Field(
        default_factory=PhysicalBackup,
        description="Scheduled backups of the whole cluster: every database on it. (Logical dumps are per "
        "database: backup.dump of each PostgresDatabase.)",
    )
    restore: InstanceRestore | None = Field(
        None,
        description="Create the cluster from a backup: every database on it comes back. Read only when the "
        "cluster is first created.",
    )
    pooler: Pooler | None = Field(
        None,
        description="A connection pooler (PgBouncer); every database's credentials then also hold "
        "DATABASE_POOLER_URL and DB_POOLER_HOST. Removing it removes the pooler.",
    )
    deletionPolicy: Literal["Retain", "Delete"] = Field(
        "Retain",
        description="Retain (default): deleting the claim leaves the cluster, its data and its backups behind. "
        "Delete: deleting the claim deletes them, but only while no database lives on it: with databases on "
        "it the cluster is always left behind (Retain).",
    )
    namespace: CompositeNamespace = None


class InstanceDatabase(TauModel):
    """A database that lives on the instance."""

    name: str = Field(description="The PostgreSQL database.")
    owner: str | None = Field(None, description="Its owner role.")
    claim: str | None = Field(None, description="The claim (or composite) it belongs to.")


class InstanceStatus(TauModel):
    """Where the instance is and how it is doing (the claim's status)."""

    cluster: str | None = Field(None, description="The CNPG Cluster.")
    host: str | None = Field(None, description="In-cluster host of the primary (the -rw Service).")
    port: int | None = Field(None, description="PostgreSQL port.")
    version: int | None = Field(None, description="PostgreSQL major version.")
    phase: str | None = Field(None, description="CNPG's phase of the cluster, or Waiting before it exists.")
    instances: int | None = Field(None, description="PostgreSQL instances CNPG manages.")
    readyInstances: int | None = Field(None, description="Instances that are ready.")
    poolerHost: str | None = Field(None, description="In-cluster host of the pooler (PgBouncer), when asked for.")
    poolerMode: str | None = Field(None, description="The pooler's mode: transaction or session.")
    databases: list[InstanceDatabase] | None = Field(
        None, description="The databases that live on the instance (their CNPG Database resources)."
    )
    backupMethod: str | None = Field(None, description="volumeSnapshot, objectStore or none.")
    backupTarget: str | None = Field(None, description="Where the backups end up.")
    lastSuccessfulBackup: str | None = Field(None, description="When the last backup completed.")
    firstRecoverabilityPoint: str | None = Field(
        None, description="The earliest point the instance can be restored to."
    )
