"""PostgresDatabase: the claim an app developer applies to get a database.

Every field is optional; what a claim leaves out comes from the platform
defaults in the function input (`function.api.platform`). Validation here is
what can be judged from the claim alone; rules that need the defaults or the
observed state (derived names, shrinking storage) live in `function.postgres.plan`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import pydantic
from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema

from function import cron, names, quantity, timestamps
from function.api.common import (
    CompositeNamespace,
    KubernetesName,
    PositiveQuantity,
    Resources,
    TauModel,
    checked_by,
)
from function.errors import show

SUPPORTED_VERSIONS = (14, 15, 16, 17, 18)

# CNPG manages these postgresql.conf parameters itself (pkg/postgres
# FixedConfigurationParameters, v1.30.0); its webhook refuses a claim's value.
CNPG_MANAGED_PARAMETERS = frozenset(
    {
        "allow_system_table_mods", "archive_mode", "bonjour", "bonjour_name", "cluster_name", "config_file",
        "data_directory", "data_sync_retry", "event_source", "external_pid_file", "hba_file", "hot_standby",
        "ident_file", "jit_provider", "listen_addresses", "logging_collector", "port", "primary_conninfo",
        "primary_slot_name", "recovery_target", "recovery_target_action", "recovery_target_inclusive",
        "recovery_target_lsn", "recovery_target_name", "recovery_target_time", "recovery_target_timeline",
        "recovery_target_xid", "restore_command", "shared_preload_libraries", "temp_tablespaces",
        "unix_socket_directories", "unix_socket_group", "unix_socket_permissions", "archive_cleanup_command",
        "archive_command", "log_destination", "log_directory", "log_file_mode", "log_filename",
        "log_rotation_age", "log_rotation_size", "log_truncate_on_rotation", "pg_failover_slots.primary_dsn",
        "pg_failover_slots.standby_slot_names", "promote_trigger_file", "recovery_end_command",
        "recovery_min_apply_delay", "restart_after_crash", "ssl", "ssl_ca_file", "ssl_cert_file", "ssl_crl_file",
        "ssl_dh_params_file", "ssl_ecdh_curve", "ssl_key_file", "ssl_passphrase_command",
        "ssl_passphrase_command_supports_reload", "ssl_prefer_server_ciphers", "stats_temp_directory",
        "synchronous_standby_names", "synchronized_standby_slots", "syslog_facility", "syslog_ident",
        "syslog_sequence_numbers", "syslog_split_messages",
    }
)  # fmt: skip
# CNPG's webhook pattern for parameter names (they are written verbatim into postgresql.conf).
PARAMETER_NAME = r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$"
_PARAMETER_NAME = re.compile(PARAMETER_NAME)
MAX_PARAMETER_NAME = 128
MAX_PARAMETER_VALUE = 1024
MAX_EXTENSIONS = 64
MAX_INSTANCES = 10
MAX_RETENTION_DAYS = 3650


DatabaseName = Annotated[
    str,
    checked_by(names.database_name_problem),
    WithJsonSchema({"type": "string", "maxLength": names.PG_NAME_MAX, "pattern": names.PG_IDENTIFIER.pattern}),
]
RoleName = Annotated[
    str,
    checked_by(names.role_name_problem),
    WithJsonSchema({"type": "string", "maxLength": names.PG_NAME_MAX, "pattern": names.PG_IDENTIFIER.pattern}),
]
ClusterName = Annotated[
    str,
    checked_by(names.cnpg_cluster_problem),
    WithJsonSchema({"type": "string", "maxLength": names.CNPG_CLUSTER_MAX, "pattern": names.DNS1035_LABEL.pattern}),
]
ExtensionName = Annotated[
    str,
    checked_by(names.extension_problem),
    WithJsonSchema({"type": "string", "maxLength": names.PG_NAME_MAX, "pattern": names.PG_EXTENSION.pattern}),
]
Schedule = Annotated[
    str,
    checked_by(cron.schedule_problem),
    WithJsonSchema(
        {
            "type": "string",
            "maxLength": 256,
            "x-kubernetes-validations": [
                {
                    "rule": "self.startsWith('@') || self.split(' ').filter(f, f != '').size() == 6",
                    "message": "CloudNativePG schedules have six fields, seconds first "
                    "(daily at 03:00 is '0 0 3 * * *'); a five-field cron would run at the wrong times",
                }
            ],
        }
    ),
]


def _check_point_in_time(value: str) -> str:
    moment = timestamps.parse(value)
    if moment is None or "T" not in value.upper() or moment.tzinfo is None:
        raise ValueError(f"{show(value)} is not an RFC 3339 timestamp with a time zone, such as '2026-11-27T10:30:00Z'")
    return value


PointInTime = Annotated[
    str,
    AfterValidator(_check_point_in_time),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 64}),
]


class Storage(TauModel):
    """A volume for PostgreSQL data."""

    size: PositiveQuantity | None = Field(
        None, description="Size of the volume, e.g. 10Gi. Default: the platform's storage size. It can only grow."
    )
    storageClass: KubernetesName | None = Field(
        None, description="StorageClass of the volume. Default: the platform's storage class (longhorn)."
    )


class Instance(TauModel):
    """The CloudNativePG cluster that serves the database."""

    name: ClusterName | None = Field(
        None, description="Name of the CNPG Cluster. Default: postgres-<claim name>. At most 50 characters."
    )
    instances: int | None = Field(
        None, ge=1, le=MAX_INSTANCES, description="PostgreSQL instances (1 primary + replicas). Default: 1."
    )
    version: int | None = Field(
        None,
        ge=SUPPORTED_VERSIONS[0],
        le=SUPPORTED_VERSIONS[-1],
        description="PostgreSQL major version, 15 to 18 for a new cluster (14 reached end of life on 2026-11-12: "
        "kept only where it already runs, or restored from its backup). Default: a restore takes its backup's "
        "version, a running cluster keeps its own, a new one gets the platform's (15). "
        "It can be raised (an offline in-place upgrade to 16 or later), never lowered.",
    )
    storage: Storage = Field(default_factory=Storage, description="The data volume.")
    walStorage: Storage | None = Field(
        None, description="A separate volume for the write-ahead log. Once added it cannot be removed."
    )
    resources: Resources | None = Field(None, description="CPU and memory for each PostgreSQL instance.")
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description='postgresql.conf parameters; values are strings (max_connections: "200"). '
        "Parameters CloudNativePG manages itself are refused.",
        max_length=128,
    )

    @pydantic.field_validator("parameters")
    @classmethod
    def _check_parameters(cls, parameters: dict[str, str]) -> dict[str, str]:
        for key, value in parameters.items():
            if not _PARAMETER_NAME.match(key) or len(key) > MAX_PARAMETER_NAME:
                raise ValueError(f"{show(key)} is not a PostgreSQL parameter name")
            if key in CNPG_MANAGED_PARAMETERS:
                raise ValueError(f"{show(key)} is managed by CloudNativePG and cannot be set")
            if len(value) > MAX_PARAMETER_VALUE or "\n" in value or "\r" in value:
                raise ValueError(f"the value of {key} must be one line of at most {MAX_PARAMETER_VALUE} characters")
            if key == "wal_level" and value not in {"replica", "logical"}:
                raise ValueError(
                    f"wal_level {show(value)} is not allowed; "
                    "CloudNativePG archives WAL and needs 'replica' or 'logical'"
                )
        return parameters

    @pydantic.model_validator(mode="after")
    def _memory_covers_shared_buffers(self) -> Instance:
        # CNPG's webhook refuses a memory request below shared_buffers.
        raw = self.parameters.get("shared_buffers")
        request = self.resources.requests.memory if self.resources and self.resources.requests else None
        if raw is None or request is None:
            return self
        shared_buffers = postgres_size(raw)
        if shared_buffers is not None and shared_buffers > quantity.parse(request):
            raise ValueError(
                f"resources.requests.memory {show(request)} is lower than parameters.shared_buffers {show(raw)}; "
                "CloudNativePG requires the memory request to cover shared_buffers"
            )
        return self


def postgres_size(raw: str) -> int | None:
    """A postgresql.conf size in bytes, read the way CNPG's webhook reads it (bare numbers are MB)."""
    text = raw.replace(" ", "")
    if text.isdigit():
        return int(text) * 2**20
    units = {"kB": 2**10, "MB": 2**20, "GB": 2**30, "TB": 2**40}
    for unit, factor in units.items():
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]) * factor
    return None


BackupMethod = Literal["volumeSnapshot", "objectStore", "none"]


class Dump(TauModel):
    """Logical dumps: pg_dump, gzip, OpenPGP AES-256 to the platform's public key, on the NFS server."""

    enabled: bool | None = Field(
        None,
        description="Dump the database on a schedule, besides (and whatever) the physical backups. "
        "Default: the platform's dumps.enabled (false unless the admin configured a public key and turned it on).",
    )
    schedule: Schedule | None = Field(
        None,
        description="When to dump: six cron fields, seconds first, like every schedule here; the seconds must be 0 "
        "(a Kubernetes CronJob runs it, without seconds). Default: backup.schedule.",
    )
    retentionDays: int | None = Field(
        None,
        ge=1,
        le=MAX_RETENTION_DAYS,
        description="Delete dumps older than this many days, never the newest one. Default: backup.retentionDays.",
    )


class PhysicalBackup(TauModel):
    """Scheduled backups and their retention."""

    enabled: bool = Field(
        default=True,
        description="Take scheduled backups. Default: true. false suspends the schedule only: the cluster keeps "
        "its backup configuration (WAL archiving goes on) and retention keeps pruning old backups.",
    )
    method: BackupMethod | None = Field(
        None,
        description="volumeSnapshot (Longhorn snapshots uploaded to the NFS backup target), objectStore "
        "(Barman Cloud to an S3-compatible store, with point-in-time recovery) or none. "
        "Default: the platform's method (volumeSnapshot).",
    )
    schedule: Schedule | None = Field(
        None,
        description="When to back up: six cron fields, seconds first (daily at 03:00 is '0 0 3 * * *'). "
        "Default: the platform's schedule.",
    )
    retentionDays: int | None = Field(
        None, ge=1, le=MAX_RETENTION_DAYS, description="Keep backups this many days. Default: 7."
    )
    deleteWithClaim: bool = Field(
        default=False,
        description="With deletionPolicy Delete, also delete the backups when the claim is deleted (the Backups, "
        "their snapshots and Longhorn's copies on the NFS server). Default: false, backups outlive the claim. "
        "Only with deletionPolicy Delete.",
    )


class Backup(PhysicalBackup):
    """Scheduled backups and their retention."""

    dump: Dump = Field(default_factory=Dump, description="Logical dumps to the NFS server (encrypted files).")


# A file dump.sh writes (<database>-<UTC timestamp>.dump.gz.gpg), or `latest`.
DUMP_FILE = r"^(latest|[A-Za-z_][A-Za-z0-9_$]*-[0-9]{8}T[0-9]{6}Z\.dump\.gz\.gpg)$"


class DumpRestore(TauModel):
    """Fill the new, empty database once from an encrypted logical dump (backup.dump)."""

    file: str = Field(
        max_length=128,
        pattern=DUMP_FILE,
        description="A dump file name in the cluster's folder (<database>-<YYYYmmddTHHMMSSZ>.dump.gz.gpg), or "
        "latest: the newest dump of this database there.",
    )
    cluster: ClusterName | None = Field(
        None,
        description="The cluster whose folder holds the dump (the old cluster's name). Its dump volume "
        "<cluster>-dumps must exist in the claim's namespace. Default: this claim's cluster.",
    )
    onInstance: DatabaseName | None = Field(
        None,
        description="With cluster: the dumps are those of this database on that cluster as a shared "
        "PostgresInstance's (their volume is <cluster>-<database, '_' as '-'>-dumps), for a database that moves "
        "from one instance to another. Default: the dumps of a cluster of its own.",
    )
    privateKeySecret: KubernetesName = Field(
        description="A Secret in the claim's namespace with the OpenPGP private key under key private.asc (and, "
        "if the key has one, its passphrase under passphrase). Delete it once the database is restored."
    )


ONE_RESTORE_SOURCE = "has(self.backupName) != has(self.dump)"


class Restore(TauModel):
    """Bootstrap the new cluster from a backup instead of an empty database: backupName, or dump."""

    model_config = ConfigDict(
        **TauModel.model_config,
        json_schema_extra={
            "x-kubernetes-validations": [
                {
                    "rule": ONE_RESTORE_SOURCE,
                    "message": "set exactly one of backupName and dump: a CNPG Backup or a logical dump",
                }
            ]
        },
    )

    backupName: KubernetesName | None = Field(
        None, description="A completed CNPG Backup in the claim's namespace (a snapshot or an object store backup)."
    )
    pointInTime: PointInTime | None = Field(
        None,
        description="Recover to this moment (RFC 3339), replaying the WAL archive. Object store backups only.",
    )
    dump: DumpRestore | None = Field(
        None,
        description="Instead of backupName: start empty, then restore a logical dump once (a Job); a "
        "TauApplication's Deployment waits for it.",
    )

    @pydantic.model_validator(mode="after")
    def _one_source(self) -> Restore:
        if (self.backupName is None) == (self.dump is None):
            raise ValueError("set exactly one of backupName and dump: a CNPG Backup or a logical dump")
        if self.pointInTime is not None and self.backupName is None:
            raise ValueError("pointInTime needs backupName (an object store backup); a dump has no point in time")
        return self


# A rotation counter is a plain count of rotations: 1, 2, 3...
MAX_ROTATION = 2**31 - 1


class Credentials(TauModel):
    """The password in the credentials Secret."""

    rotation: int | None = Field(
        None,
        ge=0,
        le=MAX_ROTATION,
        description="Raise it (1, then 2, ...) to replace the password: the function draws a new one into the "
        "Secret, CloudNativePG sets it on the owner role, and a TauApplication's pods restart to read it. "
        "It only goes up; unset, the password is kept.",
    )


class InstanceRef(TauModel):
    """A PostgresInstance in the claim's namespace that the database lives on, instead of a cluster of its own."""

    name: KubernetesName = Field(
        description="The PostgresInstance (its claim's name, or its composite's in Crossplane 2)."
    )
    namespace: KubernetesName | None = Field(
        None,
        description="Only the database's own namespace is allowed: CloudNativePG manages a database only from "
        "its cluster's namespace (cloudnative-pg#6043). Default: the database's namespace.",
    )


class PostgresDatabaseSpec(TauModel):
    """The desired state of a PostgresDatabase."""

    databaseName: DatabaseName | None = Field(
        None, description="The database to create. Default: the claim name with '-' replaced by '_'."
    )
    owner: RoleName | None = Field(None, description="The role that owns the database. Default: <databaseName>_user.")
    instance: Instance = Field(
        default_factory=Instance, description="The PostgreSQL cluster of its own. Not with instanceRef."
    )
    instanceRef: InstanceRef | None = Field(
        None,
        description="Live on a shared PostgresInstance of the same namespace instead of a cluster of its own: "
        "only the database, its owner role, extensions, credentials and dumps are created; the instance's "
        "backups cover it. Not with instance, backup (but backup.dump) or restore.backupName. Cannot change.",
    )
    extensions: list[ExtensionName] = Field(
        default_factory=list,
        max_length=MAX_EXTENSIONS,
        description="Extensions to create in the database (e.g. uuid-ossp, pgcrypto), kept in sync.",
    )
    backup: Backup = Field(default_factory=Backup, description="Scheduled backups.")
    restore: Restore | None = Field(
        None, description="Create the database from a backup. Read only when the cluster is first created."
    )
    credentialsSecretName: KubernetesName | None = Field(
        None, description="The Secret with the credentials. Default: <claim name>-postgres-credentials."
    )
    credentials: Credentials = Field(default_factory=Credentials, description="The password: its rotation.")
    deletionPolicy: Literal["Retain", "Delete"] = Field(
        "Retain",
        description="Retain (default): deleting the claim leaves the cluster, its data, the credentials and "
        "the backups behind. Delete: deleting the claim deletes them.",
    )
    namespace: CompositeNamespace = None

    @pydantic.field_validator("extensions")
    @classmethod
    def _unique_extensions(cls, extensions: list[str]) -> list[str]:
        seen: set[str] = set()
        for name in extensions:
            if name in seen:
                raise ValueError(f"{show(name)} is listed twice")
            seen.add(name)
        return extensions


class DatabaseStatus(TauModel):
    """Where the database is and how it is doing (the claim's status)."""

    host: str | None = Field(None, description="In-cluster host of the primary (the -rw Service).")
    port: int | None = Field(None, description="PostgreSQL port.")
    database: str | None = Field(None, description="Database name.")
    user: str | None = Field(None, description="The owner role applications log in as.")
    secretName: str | None = Field(None, description="Secret with username, password and DATABASE_URL.")
    cluster: str | None = Field(None, description="The CNPG Cluster.")
    phase: str | None = Field(None, description="CNPG's phase of the cluster, or Waiting before it exists.")
    instances: int | None = Field(None, description="PostgreSQL instances CNPG manages.")
    readyInstances: int | None = Field(None, description="Instances that are ready.")
    backupMethod: str | None = Field(None, description="volumeSnapshot, objectStore or none.")
    backupTarget: str | None = Field(
        None, description="Where the backups end up: the NFS server behind Longhorn, or the object store folder."
    )
    lastSuccessfulBackup: str | None = Field(None, description="When the last backup completed.")
    firstRecoverabilityPoint: str | None = Field(
        None, description="The earliest point the database can be restored to."
    )
    dumpRestore: str | None = Field(
        None, description="restore.dump: Pending, Restoring, Restored or Failed (from the restore Job)."
    )
    dumpTarget: str | None = Field(
        None, description="Where the logical dumps are: the volume and the folder of this cluster's files."
    )
    lastSuccessfulDump: str | None = Field(None, description="When the last logical dump completed.")
    instance: str | None = Field(
        None, description="The PostgresInstance the database lives on (instanceRef); unset on a cluster of its own."
    )
    poolerHost: str | None = Field(
        None, description="In-cluster host of the instance's connection pooler (PgBouncer), when it has one."
    )
