"""Resolve a PostgresDatabase spec into a plan: every value concrete and checked.

A claim leaves most fields out; the plan fills them from the platform defaults
and derives the names. Everything that can be wrong is checked here, before a
single manifest is built, and all problems are reported together. Checks that
need what exists already (a cluster's name cannot change, storage cannot
shrink, PostgreSQL cannot be downgraded) read what the function composed
before, from the observed Objects.
"""

from __future__ import annotations

import dataclasses
import re

from function import names, quantity
from function.api.platform import NFSTarget, PlatformDefaults, S3Credentials
from function.api.postgres import PostgresDatabaseSpec
from function.compose.types import Identity
from function.errors import Problem, SpecError, show
from function.observed import Observed, dig

# Keys of the composed resources of a database. The same keys are used by a
# TauApplication's database, so both compose exactly the same resources.
CREDENTIALS = "postgres-credentials"
CLUSTER = "postgres-cluster"
DATABASE = "postgres-database"
SCHEDULED_BACKUP = "postgres-scheduled-backup"
OBJECT_STORE = "postgres-object-store"
OBJECT_STORE_SECRET = "postgres-object-store-credentials"  # noqa: S105 - a resource key, not a secret
PRUNE_SERVICE_ACCOUNT = "postgres-backup-prune-serviceaccount"
PRUNE_ROLE = "postgres-backup-prune-role"
PRUNE_ROLE_BINDING = "postgres-backup-prune-rolebinding"
PRUNE_CRON_JOB = "postgres-backup-prune-cronjob"
DATABASE_KEYS = (
    CREDENTIALS, CLUSTER, DATABASE, SCHEDULED_BACKUP, OBJECT_STORE, OBJECT_STORE_SECRET,
    PRUNE_SERVICE_ACCOUNT, PRUNE_ROLE, PRUNE_ROLE_BINDING, PRUNE_CRON_JOB,
)  # fmt: skip

_TAG_MAJOR = re.compile(r":(\d+)")


@dataclasses.dataclass(frozen=True)
class StoragePlan:
    """A volume: size and StorageClass."""

    size: str
    storage_class: str

    def manifest(self) -> dict[str, str]:
        """CNPG's `storage` / `walStorage` stanza."""
        return {"size": self.size, "storageClass": self.storage_class}


@dataclasses.dataclass(frozen=True)
class ObjectStorePlan:
    """Where Barman Cloud writes, for this claim."""

    endpoint_url: str
    destination_path: str
    credentials: S3Credentials


@dataclasses.dataclass(frozen=True)
class RestorePlan:
    """The backup a new cluster starts from."""

    backup_name: str
    point_in_time: str | None


@dataclasses.dataclass(frozen=True)
class DatabasePlan:
    """A PostgresDatabase with every value resolved."""

    claim: str
    namespace: str
    cluster: str
    database: str
    owner: str
    secret: str
    instances: int
    version: int
    image: str
    storage: StoragePlan
    wal_storage: StoragePlan | None
    resources: dict
    parameters: dict[str, str]
    extensions: tuple[str, ...]
    backup_method: str  # effective: volumeSnapshot | objectStore | none
    schedule: str
    retention_days: int
    snapshot_class: str
    object_store: ObjectStorePlan | None
    prune_image: str
    nfs: NFSTarget
    restore: RestorePlan | None
    deletion_policy: str

    @property
    def host(self) -> str:
        """The in-cluster host name of the primary."""
        return names.rw_service_host(self.cluster, self.namespace)

    @property
    def backup_target(self) -> str | None:
        """Where the backups end up, in words a user can act on (None without backups)."""
        if self.backup_method == "volumeSnapshot":
            if self.nfs.server:
                return f"nfs://{self.nfs.server}:{self.nfs.path} (Longhorn backup target, class {self.snapshot_class})"
            return f"Longhorn's backup target (VolumeSnapshotClass {self.snapshot_class})"
        if self.backup_method == "objectStore" and self.object_store is not None:
            # Barman Cloud writes below <destinationPath>/<serverName>, the server name being the cluster's.
            return f"{self.object_store.destination_path}/{self.cluster}"
        return None

    @property
    def object_deletion_policy(self) -> str:
        """What deleting the claim does to the wrapped resources."""
        return "Delete" if self.deletion_policy == "Delete" else "Orphan"

    def labels(self, component: str) -> dict[str, str]:
        """The app.kubernetes.io labels of every resource of this database."""
        return {
            "app.kubernetes.io/name": "postgresql",
            "app.kubernetes.io/instance": self.cluster,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": self.claim,
            "app.kubernetes.io/managed-by": "function-tau",
        }


def _image(platform: PlatformDefaults, version: int) -> str:
    return f"{platform.postgres.imageRepository}:{version}-{platform.postgres.imageSuffix}"


def _major_of(image: object) -> int | None:
    match = _TAG_MAJOR.search(image) if isinstance(image, str) else None
    return int(match.group(1)) if match else None


def _check(problems: list[Problem], field: str, problem: str | None) -> None:
    if problem:
        problems.append(Problem(field, problem))


def _derived_names(spec: PostgresDatabaseSpec, identity: Identity, problems: list[Problem], prefix: str):
    """Cluster, database, owner and Secret names, defaults derived from the claim name."""
    cluster = spec.instance.name or names.default_cluster_name(identity.name)
    database = spec.databaseName or names.default_database_name(identity.name)
    owner = spec.owner or names.default_owner(database)
    secret = spec.credentialsSecretName or names.default_credentials_secret(identity.name)
    # Explicit values were checked by the model; derived ones are checked here
    # and the message says which field to set instead.
    derived = f"derived from the claim name {show(identity.name)}; set it explicitly"
    if spec.instance.name is None and (problem := names.cnpg_cluster_problem(cluster)):
        problems.append(Problem(f"{prefix}.instance.name", f"{problem} ({derived})"))
    if spec.databaseName is None and (problem := names.database_name_problem(database)):
        problems.append(Problem(f"{prefix}.databaseName", f"{problem} ({derived})"))
    if spec.owner is None and (problem := names.role_name_problem(owner)):
        problems.append(Problem(f"{prefix}.owner", f"{problem} (derived from the database name; set it explicitly)"))
    if spec.credentialsSecretName is None and (problem := names.dns1123_subdomain_problem(secret)):
        problems.append(Problem(f"{prefix}.credentialsSecretName", f"{problem} ({derived})"))
    scheduled = names.scheduled_backup_name(cluster)
    if len(scheduled) + names.BACKUP_TIMESTAMP_SUFFIX > names.LABEL_MAX and not problems:
        limit = names.LABEL_MAX - names.BACKUP_TIMESTAMP_SUFFIX - len(names.scheduled_backup_name(""))
        problems.append(
            Problem(
                f"{prefix}.instance.name",
                f"{show(cluster)} is {len(cluster)} characters; with backups, CNPG names each backup "
                f"'<cluster>-backup-<timestamp>' and labels its snapshots with it, so at most {limit} fit",
            )
        )
    return cluster, database, owner, secret


def _check_unchanged(observed: Observed, values: dict[str, tuple[str, str]], problems: list[Problem]) -> None:
    """Identity fields of an existing cluster cannot change; say so instead of making a second cluster."""
    before = observed.manifest(CLUSTER)
    if before is None:
        return
    bootstrap = dig(before, "spec", "bootstrap") or {}
    origin = bootstrap.get("initdb") or bootstrap.get("recovery") or {}
    existing = {
        "cluster": dig(before, "metadata", "name"),
        "database": origin.get("database"),
        "owner": origin.get("owner"),
        "secret": dig(origin, "secret", "name"),
    }
    for key, (field, value) in values.items():
        old = existing.get(key)
        if isinstance(old, str) and old and old != value:
            problems.append(
                Problem(
                    field,
                    f"{show(value)} differs from {show(old)}, which the existing cluster was created with; "
                    "it cannot change (create a new claim and restore a backup into it instead)",
                )
            )


def _check_growth(observed: Observed, plan_storage: StoragePlan, wal: StoragePlan | None, prefix: str,
                  problems: list[Problem]) -> None:  # fmt: skip
    """Volumes can grow, never shrink; a WAL volume cannot be removed (CNPG's webhook rules)."""
    before = observed.manifest(CLUSTER)
    if before is None:
        return
    for field, old, new in (
        (f"{prefix}.instance.storage.size", dig(before, "spec", "storage", "size"), plan_storage.size),
        (f"{prefix}.instance.walStorage.size", dig(before, "spec", "walStorage", "size"), wal.size if wal else None),
    ):
        if not isinstance(old, str) or not quantity.is_quantity(old):
            continue
        if new is None:
            problems.append(Problem(field.rsplit(".", 1)[0], "the WAL volume exists and cannot be removed"))
        elif quantity.parse(new) < quantity.parse(old):
            problems.append(
                Problem(field, f"{show(new)} is smaller than the current {show(old)}; volumes cannot shrink")
            )


def _check_version(observed: Observed, version: int, prefix: str, problems: list[Problem]) -> None:
    """PostgreSQL can be upgraded in place (to 16 or later), never downgraded."""
    old = _major_of(dig(observed.manifest(CLUSTER), "spec", "imageName"))
    if old is None or old == version:
        return
    field = f"{prefix}.instance.version"
    if version < old:
        problems.append(
            Problem(field, f"{version} is lower than the running major version {old}; PostgreSQL cannot be downgraded")
        )
    elif version < 16:
        problems.append(Problem(field, f"{version}: CloudNativePG upgrades in place only to version 16 or later"))


def _object_store(platform: PlatformDefaults, identity: Identity, prefix: str, problems: list[Problem]):
    target = platform.backup.objectStore
    missing = [
        name
        for name, value in (
            ("backup.objectStore.endpointURL", target.endpointURL),
            ("backup.objectStore.destinationPath", target.destinationPath),
            ("backup.objectStore.credentials", target.credentials),
        )
        if value is None
    ]
    if missing:
        problems.append(
            Problem(
                f"{prefix}.backup.method",
                "'objectStore' needs an object store, but the platform input does not configure "
                f"{', '.join(missing)}; ask your platform admin, or use 'volumeSnapshot'",
            )
        )
        return None
    assert target.endpointURL and target.destinationPath and target.credentials
    return ObjectStorePlan(
        endpoint_url=target.endpointURL,
        destination_path=f"{target.destinationPath.rstrip('/')}/{identity.namespace}",
        credentials=target.credentials,
    )


def plan_database(
    spec: PostgresDatabaseSpec, identity: Identity, platform: PlatformDefaults, observed: Observed, prefix: str
) -> DatabasePlan:
    """Resolve `spec` into a plan, or raise SpecError listing every problem.

    Args:
        spec: the claim's database fields.
        identity: the claim (or composite) the database belongs to.
        platform: the function input.
        observed: the observed state, for rules about what already exists.
        prefix: where the fields live in the claim (`spec`, or `spec.database`).
    """
    problems: list[Problem] = []
    if identity.claimed and spec.namespace is not None and spec.namespace != identity.namespace:
        problems.append(
            Problem(
                f"{prefix}.namespace",
                f"{show(spec.namespace)} differs from the claim's namespace {show(identity.namespace)}; "
                "a claim's resources always go to its own namespace",
            )
        )
    cluster, database, owner, secret = _derived_names(spec, identity, problems, prefix)
    _check_unchanged(
        observed,
        {
            "cluster": (f"{prefix}.instance.name", cluster),
            "database": (f"{prefix}.databaseName", database),
            "owner": (f"{prefix}.owner", owner),
            "secret": (f"{prefix}.credentialsSecretName", secret),
        },
        problems,
    )

    defaults = platform.postgres
    version = spec.instance.version or defaults.version
    _check_version(observed, version, prefix, problems)
    storage = StoragePlan(
        size=spec.instance.storage.size or defaults.storageSize,
        storage_class=spec.instance.storage.storageClass or defaults.storageClass,
    )
    wal = spec.instance.walStorage
    wal_storage = (
        StoragePlan(size=wal.size or defaults.storageSize, storage_class=wal.storageClass or storage.storage_class)
        if wal is not None
        else None
    )
    _check_growth(observed, storage, wal_storage, prefix, problems)

    allowed = defaults.allowedExtensions
    if allowed is not None:
        for index, extension in enumerate(spec.extensions):
            if extension not in allowed:
                problems.append(
                    Problem(
                        f"{prefix}.extensions[{index}]",
                        f"{show(extension)} is not allowed on this platform; allowed: {', '.join(allowed) or 'none'}",
                    )
                )

    method = spec.backup.method or platform.backup.method
    if not spec.backup.enabled:
        method = "none"
    object_store = _object_store(platform, identity, prefix, problems) if method == "objectStore" else None

    if problems:
        raise SpecError(problems)
    return DatabasePlan(
        claim=identity.name,
        namespace=identity.namespace,
        cluster=cluster,
        database=database,
        owner=owner,
        secret=secret,
        instances=spec.instance.instances or defaults.instances,
        version=version,
        image=_image(platform, version),
        storage=storage,
        wal_storage=wal_storage,
        resources=spec.instance.resources.manifest() if spec.instance.resources else {},
        parameters=dict(sorted(spec.instance.parameters.items())),
        extensions=tuple(spec.extensions),
        backup_method=method,
        schedule=spec.backup.schedule or platform.backup.schedule,
        retention_days=spec.backup.retentionDays or platform.backup.retentionDays,
        snapshot_class=platform.backup.volumeSnapshot.className,
        object_store=object_store,
        prune_image=platform.backup.pruneImage,
        nfs=platform.backup.nfs,
        restore=RestorePlan(spec.restore.backupName, spec.restore.pointInTime) if spec.restore else None,
        deletion_policy=spec.deletionPolicy,
    )
