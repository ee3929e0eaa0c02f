"""Resolve a PostgresDatabase spec into a plan: every value concrete and checked.

A claim leaves most fields out; the plan fills them from the platform defaults
and derives the names. Everything that can be wrong is checked here, before a
single manifest is built, and all problems are reported together. Checks that
need what exists already (a cluster's name cannot change, storage cannot
shrink, PostgreSQL cannot be downgraded) read what the function composed
before, from the observed Objects.

`field` is where the database's fields live in the claim: `spec` for a
PostgresDatabase, `spec.database` for a TauApplication's database.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Literal

from function import names, quantity
from function.api.platform import NFSTarget, PlatformDefaults, S3Credentials
from function.api.postgres import BackupMethod, PostgresDatabaseSpec
from function.errors import Problem, SpecError, show
from function.inputs import Identity
from function.keys import CLUSTER
from function.objects import DeletionPolicy
from function.observed import Observed, dig

PORT = 5432
# Upgrading in place is possible to this major version or later (CloudNativePG's rule).
IN_PLACE_UPGRADE_MIN = 16

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
    compression: str
    encryption: str  # "none": no encryption header


@dataclasses.dataclass(frozen=True)
class RestorePlan:
    """The backup a new cluster starts from."""

    backup_name: str
    point_in_time: str | None


@dataclasses.dataclass(frozen=True)
class BackupPlan:
    """Scheduled backups: how, when, how long they are kept, and where they end up."""

    method: BackupMethod  # effective: none when backups are off
    schedule: str
    retention_days: int
    snapshot_class: str
    object_store: ObjectStorePlan | None  # exactly when the method is objectStore
    prune_image: str
    nfs: NFSTarget

    def target(self, cluster: str) -> str | None:
        """Where the backups of `cluster` end up, in words a user can act on (None without backups)."""
        if self.method == "volumeSnapshot":
            if self.nfs.server:
                return f"nfs://{self.nfs.server}:{self.nfs.path} (Longhorn backup target, class {self.snapshot_class})"
            return f"Longhorn's backup target (VolumeSnapshotClass {self.snapshot_class})"
        if self.object_store is not None:
            # Barman Cloud writes below <destinationPath>/<serverName>, the server name being the cluster's.
            return f"{self.object_store.destination_path}/{cluster}"
        return None


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
    backup: BackupPlan
    restore: RestorePlan | None
    deletion_policy: Literal["Retain", "Delete"]

    @property
    def host(self) -> str:
        """The in-cluster host name of the primary."""
        return names.rw_service_host(self.cluster, self.namespace)

    @property
    def backup_target(self) -> str | None:
        """Where the backups end up, in words a user can act on (None without backups)."""
        return self.backup.target(self.cluster)

    @property
    def object_deletion_policy(self) -> DeletionPolicy:
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


@dataclasses.dataclass(frozen=True)
class _Names:
    cluster: str
    database: str
    owner: str
    secret: str


def _names(
    spec: PostgresDatabaseSpec, identity: Identity, field: str, *, check_length: bool
) -> tuple[_Names, list[Problem]]:
    """Cluster, database, owner and Secret names, defaults derived from the claim name.

    With `check_length` (nothing else is wrong yet), the cluster name is also
    checked against what CNPG derives from it for backups.
    """
    found = _Names(
        cluster=spec.instance.name or names.default_cluster_name(identity.name),
        database=(database := spec.databaseName or names.default_database_name(identity.name)),
        owner=spec.owner or names.default_owner(database),
        secret=spec.credentialsSecretName or names.default_credentials_secret(identity.name),
    )
    # Explicit values were checked by the model; derived ones are checked here
    # and the message says which field to set instead.
    derived = f"derived from the claim name {show(identity.name)}; set it explicitly"
    checks = (
        (spec.instance.name, names.cnpg_cluster_problem(found.cluster), "instance.name", derived),
        (spec.databaseName, names.database_name_problem(found.database), "databaseName", derived),
        (
            spec.owner,
            names.role_name_problem(found.owner),
            "owner",
            "derived from the database name; set it explicitly",
        ),
        (spec.credentialsSecretName, names.dns1123_subdomain_problem(found.secret), "credentialsSecretName", derived),
    )
    problems = [
        Problem(f"{field}.{name}", f"{problem} ({why})")
        for explicit, problem, name, why in checks
        if explicit is None and problem
    ]
    scheduled = names.scheduled_backup_name(found.cluster)
    if check_length and not problems and len(scheduled) + names.BACKUP_TIMESTAMP_SUFFIX > names.LABEL_MAX:
        limit = names.LABEL_MAX - names.BACKUP_TIMESTAMP_SUFFIX - len(names.scheduled_backup_name(""))
        problems.append(
            Problem(
                f"{field}.instance.name",
                f"{show(found.cluster)} is {len(found.cluster)} characters; with backups, CNPG names each backup "
                f"'<cluster>-backup-<timestamp>' and labels its snapshots with it, so at most {limit} fit",
            )
        )
    return found, problems


def _unchanged_problems(observed: Observed, found: _Names, field: str) -> list[Problem]:
    """Identity fields of an existing cluster cannot change; say so instead of making a second cluster."""
    before = observed.manifest(CLUSTER)
    if before is None:
        return []
    bootstrap = dig(before, "spec", "bootstrap") or {}
    origin = bootstrap.get("initdb") or bootstrap.get("recovery") or {}
    pairs = (
        (f"{field}.instance.name", found.cluster, dig(before, "metadata", "name")),
        (f"{field}.databaseName", found.database, origin.get("database")),
        (f"{field}.owner", found.owner, origin.get("owner")),
        (f"{field}.credentialsSecretName", found.secret, dig(origin, "secret", "name")),
    )
    return [
        Problem(
            name,
            f"{show(value)} differs from {show(old)}, which the existing cluster was created with; "
            "it cannot change (create a new claim and restore a backup into it instead)",
        )
        for name, value, old in pairs
        if isinstance(old, str) and old and old != value
    ]


def _storage(
    spec: PostgresDatabaseSpec, platform: PlatformDefaults, observed: Observed, field: str
) -> tuple[StoragePlan, StoragePlan | None, list[Problem]]:
    """The data and WAL volumes; they can grow, never shrink, and a WAL volume cannot be removed (CNPG's rules)."""
    defaults = platform.postgres
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
    problems: list[Problem] = []
    before = observed.manifest(CLUSTER)
    if before is None:
        return storage, wal_storage, problems
    for name, old, new in (
        (f"{field}.instance.storage.size", dig(before, "spec", "storage", "size"), storage.size),
        (
            f"{field}.instance.walStorage.size",
            dig(before, "spec", "walStorage", "size"),
            wal_storage.size if wal_storage else None,
        ),
    ):
        if not isinstance(old, str) or not quantity.is_quantity(old):
            continue
        if new is None:
            problems.append(Problem(name.rsplit(".", 1)[0], "the WAL volume exists and cannot be removed"))
        elif quantity.parse(new) < quantity.parse(old):
            problems.append(
                Problem(name, f"{show(new)} is smaller than the current {show(old)}; volumes cannot shrink")
            )
    return storage, wal_storage, problems


def _version_problems(observed: Observed, version: int, field: str) -> list[Problem]:
    """PostgreSQL can be upgraded in place (to 16 or later), never downgraded."""
    old = _major_of(dig(observed.manifest(CLUSTER), "spec", "imageName"))
    if old is None or old == version:
        return []
    name = f"{field}.instance.version"
    if version < old:
        return [
            Problem(name, f"{version} is lower than the running major version {old}; PostgreSQL cannot be downgraded")
        ]
    if version < IN_PLACE_UPGRADE_MIN:
        return [
            Problem(name, f"{version}: CloudNativePG upgrades in place only to version {IN_PLACE_UPGRADE_MIN} or later")
        ]
    return []


def _extension_problems(spec: PostgresDatabaseSpec, platform: PlatformDefaults, field: str) -> list[Problem]:
    allowed = platform.postgres.allowedExtensions
    if allowed is None:
        return []
    return [
        Problem(
            f"{field}.extensions[{index}]",
            f"{show(extension)} is not allowed on this platform; allowed: {', '.join(allowed) or 'none'}",
        )
        for index, extension in enumerate(spec.extensions)
        if extension not in allowed
    ]


def _object_store(
    platform: PlatformDefaults, identity: Identity, field: str
) -> tuple[ObjectStorePlan | None, list[Problem]]:
    """Where Barman Cloud writes for this claim, or why the platform input cannot say."""
    target = platform.backup.objectStore
    endpoint, destination, credentials = target.endpointURL, target.destinationPath, target.credentials
    if endpoint is None or destination is None or credentials is None:
        missing = [
            name
            for name, value in (
                ("backup.objectStore.endpointURL", endpoint),
                ("backup.objectStore.destinationPath", destination),
                ("backup.objectStore.credentials", credentials),
            )
            if value is None
        ]
        problem = Problem(
            f"{field}.backup.method",
            "'objectStore' needs an object store, but the platform input does not configure "
            f"{', '.join(missing)}; ask your platform admin, or use 'volumeSnapshot'",
        )
        return None, [problem]
    store = ObjectStorePlan(
        endpoint_url=endpoint,
        destination_path=f"{destination.rstrip('/')}/{identity.namespace}",
        credentials=credentials,
        compression=target.compression,
        encryption=target.encryption,
    )
    return store, []


def plan_database(
    spec: PostgresDatabaseSpec, identity: Identity, platform: PlatformDefaults, observed: Observed, field: str
) -> DatabasePlan:
    """Resolve `spec` into a plan, or raise SpecError listing every problem.

    Args:
        spec: the claim's database fields.
        identity: the claim (or composite) the database belongs to.
        platform: the function input.
        observed: the observed state, for rules about what already exists.
        field: where the fields live in the claim (`spec`, or `spec.database`).
    """
    problems = identity.namespace_problems(spec.namespace, f"{field}.namespace")
    found, name_problems = _names(spec, identity, field, check_length=not problems)
    problems += name_problems + _unchanged_problems(observed, found, field)
    version = spec.instance.version or platform.postgres.version
    problems += _version_problems(observed, version, field)
    storage, wal_storage, storage_problems = _storage(spec, platform, observed, field)
    problems += storage_problems + _extension_problems(spec, platform, field)
    method: BackupMethod = (spec.backup.method or platform.backup.method) if spec.backup.enabled else "none"
    object_store = None
    if method == "objectStore":
        object_store, store_problems = _object_store(platform, identity, field)
        problems += store_problems
    if problems:
        raise SpecError(problems)
    return DatabasePlan(
        claim=identity.name,
        namespace=identity.namespace,
        cluster=found.cluster,
        database=found.database,
        owner=found.owner,
        secret=found.secret,
        instances=spec.instance.instances or platform.postgres.instances,
        version=version,
        image=_image(platform, version),
        storage=storage,
        wal_storage=wal_storage,
        resources=spec.instance.resources.manifest() if spec.instance.resources else {},
        parameters=dict(sorted(spec.instance.parameters.items())),
        extensions=tuple(spec.extensions),
        backup=BackupPlan(
            method=method,
            schedule=spec.backup.schedule or platform.backup.schedule,
            retention_days=spec.backup.retentionDays or platform.backup.retentionDays,
            snapshot_class=platform.backup.volumeSnapshot.className,
            object_store=object_store,
            prune_image=platform.backup.pruneImage,
            nfs=platform.backup.nfs,
        ),
        restore=RestorePlan(spec.restore.backupName, spec.restore.pointInTime) if spec.restore else None,
        deletion_policy=spec.deletionPolicy,
    )
