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

from function import cron, extensions, names, quantity
from function.api.common import Resources
from function.api.platform import KEY_PAIR_COMMAND, NFSTarget, PlatformDefaults, S3Credentials
from function.api.postgres import (
    MAX_INSTANCES,
    SUPPORTED_VERSIONS,
    BackupMethod,
    PostgresDatabaseSpec,
    Storage,
    postgres_size,
)
from function.errors import Problem, SpecError, show
from function.inputs import Identity
from function.keys import CLUSTER, LIVE_CLUSTER, RESTORE_BACKUP
from function.objects import DeletionPolicy
from function.observed import Observed, as_int, dig
from function.outcome import Requirement
from function.postgres import shared
from function.postgres.shared import InstanceFacts

PORT = 5432
# Upgrading in place is possible to this major version or later (CloudNativePG's rule).
IN_PLACE_UPGRADE_MIN = 16
# Majors past their end of life (PostgreSQL's versioning policy): refused for new clusters.
END_OF_LIFE = {14: "2026-11-12"}

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

    method: BackupMethod  # none: no backup configuration at all
    suspended: bool  # backup.enabled false: the schedule is suspended, nothing else changes
    delete_with_claim: bool  # the Backups belong to the Cluster and go with it
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


# The folder the dump volume is mounted at in the dump jobs (the scripts' DUMP_ROOT).
DUMP_ROOT = "/backups"
# A CronJob's name leaves room for the Job names it makes (kubernetes.io CronJob docs: at most 52 characters).
CRON_JOB_NAME_MAX = 52


@dataclasses.dataclass(frozen=True)
class DumpPlan:
    """Logical dumps: when, how long they are kept, what they are encrypted to, and where they go."""

    schedule: str  # five fields: a Kubernetes CronJob's
    retention_days: int
    public_key: str
    storage_class: str
    image: str
    run_as_user: int

    def target(self, namespace: str, cluster: str, stem: str | None = None) -> str:
        """Where the files of `cluster` are (on the volume of `stem`, by default the cluster's), in words."""
        return (
            f"PersistentVolumeClaim {names.dump_volume_name(stem or cluster)} (StorageClass {self.storage_class}), "
            f"folder {namespace}/{cluster}"
        )


@dataclasses.dataclass(frozen=True)
class DumpRestorePlan:
    """restore.dump: the file a Job restores once into the new, empty database, and what it needs."""

    file: str  # a file name, or `latest`
    source_cluster: str  # whose folder holds the file
    source_volume: str  # the dump volume the folder is on
    private_key_secret: str
    storage_class: str  # of this claim's own dump volume, when the dump is in its own folder
    image: str
    run_as_user: int


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
    # spec.credentials.rotation: the password rotation asked for (None: keep the password).
    rotation: int | None = None
    # backup.dump: logical dumps, when enabled (None: none, or no longer).
    dump: DumpPlan | None = None
    # restore.dump: the logical dump the new database is filled from (None: none).
    dump_restore: DumpRestorePlan | None = None
    # instanceRef: the PostgresInstance the database lives on (None: a cluster of its own).
    instance_ref: str | None = None
    # The pooler of that instance, when it has one: its host goes into the credentials.
    pooler_host: str | None = None
    # Whether the Cluster's bootstrap creates this plan's database and owner (a cluster of its own);
    # False for a PostgresInstance, whose cluster starts with CloudNativePG's default database.
    bootstrap_owner: bool = True
    # pg_hba lines of a PostgresInstance's cluster: each database open to its owner only.
    hba: tuple[str, ...] = ()

    @property
    def shared(self) -> bool:
        """Whether the database lives on a PostgresInstance (and composes no cluster)."""
        return self.instance_ref is not None

    @property
    def dump_stem(self) -> str:
        """What the dump resources are named after: the cluster, or, on a shared cluster, the database on it."""
        return names.on_cluster(self.cluster, self.database) if self.shared else self.cluster

    @property
    def reclaim_policy(self) -> Literal["retain", "delete"]:
        """CNPG's reclaim policy of a shared database and its role: what deleting their resources does in SQL."""
        return "delete" if self.deletion_policy == "Delete" else "retain"

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


# The labels of every Cluster the function composes (`DatabasePlan.labels("database")`) that Crossplane 1.20
# lists it by; the kind tells it from the Database of the same name and labels.
_CLUSTER_LABELS = ("app.kubernetes.io/managed-by", "app.kubernetes.io/instance", "app.kubernetes.io/component")


def adoption_requirement(plan: DatabasePlan) -> Requirement:
    """Ask Crossplane for a live Cluster of the claim's cluster name, while the function has composed none.

    A claim re-created after a Retain delete (or pointed at an existing cluster) finds its running
    cluster this way, and `plan_database` takes it as what exists (`_adopted`).
    """
    labels = {key: plan.labels("database")[key] for key in _CLUSTER_LABELS}
    return Requirement(LIVE_CLUSTER, "postgresql.cnpg.io/v1", "Cluster", plan.cluster, plan.namespace, labels=labels)


def _adopted(observed: Observed, found: _Names, namespace: str) -> dict | None:
    """The live CNPG Cluster of this name, when the function has not composed one: it is adopted, not replaced."""
    if observed.has(CLUSTER):
        return None
    observed.ask(LIVE_CLUSTER, found.cluster, namespace)  # as adoption_requirement asks for it
    return next(iter(observed.required(LIVE_CLUSTER) or ()), None)


def _existing(observed: Observed) -> dict | None:
    """The cluster as it exists: as the function composed it, else the live one being adopted (`_adopted`)."""
    if observed.has(CLUSTER):
        return observed.manifest(CLUSTER)
    try:
        return next(iter(observed.required(LIVE_CLUSTER) or ()), None)
    except LookupError:  # not asked: nothing is being adopted
        return None


def _foreign_cluster_problems(live: dict, found: _Names, namespace: str, field: str) -> list[Problem]:
    """A live Cluster the function did not make is not taken over by naming it."""
    labels = dig(live, "metadata", "labels") or {}
    if labels.get("app.kubernetes.io/managed-by") == "function-tau":
        return []
    return [
        Problem(
            f"{field}.instance.name",
            f"CNPG Cluster {show(found.cluster)} already exists in namespace {show(namespace)} and was not made by "
            "function-tau; choose another instance.name, or, to hand it over on purpose (the claim then manages "
            f"it), label it: kubectl label clusters.postgresql.cnpg.io {found.cluster} -n {namespace} "
            "app.kubernetes.io/managed-by=function-tau",
        )
    ]


def _with_existing_defaults(spec: PostgresDatabaseSpec, live: dict) -> PostgresDatabaseSpec:
    """`spec`, with what it leaves out taken from the existing cluster instead of the platform's defaults.

    The platform's defaults apply when a cluster is created; afterwards a field the claim leaves out
    keeps what the cluster has (as the version does, `_version`). So a claim re-applied after a Retain
    delete with `spec: {}` changes nothing about the running database it adopts, not its instances nor
    its volumes, and neither does the next reconcile. What a claim states is checked against the
    cluster by the same rules as any change.
    """
    instance, update = spec.instance, {}
    count = as_int(dig(live, "spec", "instances"))
    if instance.instances is None and count is not None and 1 <= count <= MAX_INSTANCES:
        update["instances"] = count
    for name, current in (("storage", instance.storage), ("walStorage", instance.walStorage)):
        volume = dig(live, "spec", name)
        if not isinstance(volume, dict) or not quantity.is_quantity(volume.get("size")):
            continue
        live_class = volume.get("storageClass") if isinstance(volume.get("storageClass"), str) else None
        if current is None:
            update[name] = Storage(size=volume["size"], storageClass=live_class)
        else:
            update[name] = current.model_copy(
                update={"size": current.size or volume["size"], "storageClass": current.storageClass or live_class}
            )
    if not update:
        return spec
    return spec.model_copy(update={"instance": instance.model_copy(update=update)})


def _unchanged_problems(observed: Observed, found: _Names, field: str) -> list[Problem]:
    """Identity fields of an existing cluster cannot change; say so instead of making a second cluster."""
    before = _existing(observed)
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
    before = _existing(observed)
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


def _version_problems(old: int, version: int, name: str) -> list[Problem]:
    """PostgreSQL can be upgraded in place (to 16 or later), never downgraded."""
    if old == version:
        return []
    if version < old:
        return [
            Problem(name, f"{version} is lower than the running major version {old}; PostgreSQL cannot be downgraded")
        ]
    if version < IN_PLACE_UPGRADE_MIN:
        return [
            Problem(name, f"{version}: CloudNativePG upgrades in place only to version {IN_PLACE_UPGRADE_MIN} or later")
        ]
    return []


def _source_major(spec: PostgresDatabaseSpec, observed: Observed, namespace: str) -> int | None:
    """The major version the restore's source Backup was taken with, while the cluster does not exist yet.

    CNPG records it on every Backup before the backup starts (BackupStatus.MajorVersion,
    api/v1/backup_types.go; internal/controller/backup_controller.go reconcileMajorVersion,
    v1.30.0); a Backup from an operator that did not record it has none.
    """
    if spec.restore is None or spec.restore.backupName is None or observed.has(CLUSTER):
        return None
    observed.ask(RESTORE_BACKUP, spec.restore.backupName, namespace)  # as restore.requirement asks for it
    found = observed.required(RESTORE_BACKUP)
    major = as_int(dig(found[0], "status", "majorVersion")) if found else None
    return major or None


def _version(
    spec: PostgresDatabaseSpec, platform: PlatformDefaults, observed: Observed, field: str, namespace: str
) -> tuple[int, list[Problem]]:
    """The PostgreSQL major: the claim's; else the running cluster's; else the restored backup's; else the platform's.

    PostgreSQL refuses a data directory of another major version (miscinit.c
    ValidatePgVersion: "database files are incompatible with server"), and
    CNPG does not check a recovery source's major (it only skips snapshot
    backups of another major when it picks one itself: pkg/reconciler/
    persistentvolumeclaim/storagesource.go), so a restore takes the source's
    major and refuses another. The platform's default applies when a cluster
    is created: changing it later upgrades no running cluster. A new cluster on
    a major past its end of life is refused; an existing one, or a restore of
    its backup (disaster recovery must work), is kept with a warning condition.
    """
    name = f"{field}.instance.version"
    explicit = spec.instance.version
    running = _major_of(dig(_existing(observed), "spec", "imageName"))
    if running is not None:
        version = explicit or running
        return version, _version_problems(running, version, name)
    source = _source_major(spec, observed, namespace)
    if source is not None:
        if explicit is not None and explicit != source:
            backup = spec.restore.backupName if spec.restore else ""
            problem = (
                f"{explicit} differs from {source}, the major version Backup {show(backup)} was taken with; "
                f"PostgreSQL cannot start on another major version's data: leave instance.version out (the restore "
                f"takes {source}) or set it to {source}, and upgrade once the database is restored"
            )
            return explicit, [Problem(name, problem)]
        return source, []
    version = explicit or platform.postgres.version
    if version in END_OF_LIFE and spec.restore is None:
        supported = [v for v in SUPPORTED_VERSIONS if v not in END_OF_LIFE]
        origin = "" if explicit else " (the platform's default version)"
        problem = (
            f"{version}{origin} reached end of life on {END_OF_LIFE[version]}; new clusters need "
            f"{supported[0]} to {supported[-1]}"
        )
        return version, [Problem(name, problem)]
    return version, []


def _resources(spec: PostgresDatabaseSpec, platform: PlatformDefaults, field: str) -> tuple[Resources, list[Problem]]:
    """The instances' resources: the claim's, else the platform's default (as a whole, never merged).

    Without resources CNPG's pods run BestEffort, first to be evicted; CNPG
    recommends memory requests equal to limits (docs/src/resource_management.md,
    v1.30.0), which the platform's default follows. CNPG's webhook refuses a
    memory request below shared_buffers: the claim's own resources are checked
    by the model, the platform's here.
    """
    if spec.instance.resources is not None:
        return spec.instance.resources, []
    resources = platform.postgres.resources
    raw = spec.instance.parameters.get("shared_buffers")
    request = resources.requests.memory if resources.requests else None
    size = postgres_size(raw) if raw is not None else None
    if size is not None and request is not None and size > quantity.parse(request):
        problem = (
            f"parameters.shared_buffers {show(raw)} is more than the platform's default memory request "
            f"{show(request)}; set instance.resources (the memory request must cover shared_buffers)"
        )
        return resources, [Problem(f"{field}.instance.resources", problem)]
    return resources, []


def _extension_problems(
    spec: PostgresDatabaseSpec, platform: PlatformDefaults, version: int, field: str
) -> list[Problem]:
    """Extensions the image does not ship never apply (the Database stays `applied: false`): refuse them.

    The platform input's allowedExtensions, when set, is the list: a custom image
    lists what it ships (see `function.extensions` for the standard image's).
    """
    allowed = platform.postgres.allowedExtensions
    defaults = platform.postgres
    if allowed is not None:
        available = sorted(allowed)
        why = "allowed on this platform (the platform input's postgres.allowedExtensions)"
    else:
        available = sorted(extensions.shipped(version, defaults.imageSuffix))
        why = (
            f"shipped by the image {_image(platform, version)} (a platform admin with a custom image lists "
            "its extensions in the platform input's postgres.allowedExtensions)"
        )
    unknown = [(index, extension) for index, extension in enumerate(spec.extensions) if extension not in available]
    if not unknown:
        return []
    listed = f"available: {', '.join(available) or 'none'}"
    if len(unknown) == 1:
        index, extension = unknown[0]
        return [Problem(f"{field}.extensions[{index}]", f"{show(extension)} is not {why}; {listed}")]
    named = ", ".join(f"{show(extension)} ([{index}])" for index, extension in unknown)
    return [Problem(f"{field}.extensions", f"{named} are not {why}; {listed}")]


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


def _dump(
    spec: PostgresDatabaseSpec, platform: PlatformDefaults, stem: str, field: str, name_field: str = "instance.name"
) -> tuple[DumpPlan | None, list[Problem]]:
    """The logical dumps the claim asks for (by default: the platform's dumps.enabled), or why they cannot run.

    One cron dialect: the dump schedule is written, and defaults, like every schedule of the API (six
    fields, CloudNativePG's); the CronJob gets it without its seconds field, which must be 0.
    """
    dump, defaults = spec.backup.dump, platform.dumps
    enabled = defaults.enabled if dump.enabled is None else dump.enabled
    if not enabled:
        return None, []
    problems = []
    if defaults.publicKey is None:
        problems.append(
            Problem(
                f"{field}.backup.dump.enabled",
                "dumps are encrypted to the platform's public key, but the platform input sets no dumps.publicKey; "
                f"ask your platform admin to make a key pair ({KEY_PAIR_COMMAND}) and put the public key there",
            )
        )
    given = dump.schedule is not None
    schedule, why = cron.to_kubernetes(dump.schedule or spec.backup.schedule or platform.backup.schedule)
    if why is not None:
        problems.append(
            Problem(
                f"{field}.backup.dump.schedule",
                why if given else f"{why}; the dumps take backup.schedule unless backup.dump.schedule is set",
            )
        )
    job = names.dump_name(stem)
    if len(job) > CRON_JOB_NAME_MAX:
        problems.append(
            Problem(
                f"{field}.{name_field}",
                f"{show(stem)} is {len(stem)} characters; with dumps, the CronJob {show(job)} would be longer "
                f"than the {CRON_JOB_NAME_MAX} characters Kubernetes allows",
            )
        )
    if problems or schedule is None or defaults.publicKey is None:
        return None, problems
    plan = DumpPlan(
        schedule=schedule,
        retention_days=dump.retentionDays or spec.backup.retentionDays or platform.backup.retentionDays,
        public_key=defaults.publicKey,
        storage_class=defaults.storageClass,
        image=defaults.image,
        run_as_user=defaults.runAsUser,
    )
    return plan, []


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
    problems += shared.leaving_problems(observed, field)
    found, name_problems = _names(spec, identity, field, check_length=not problems)
    adopted = _adopted(observed, found, identity.namespace)
    if adopted is not None:
        problems += _foreign_cluster_problems(adopted, found, identity.namespace, field)
    existing = _existing(observed)
    if existing is not None:
        spec = _with_existing_defaults(spec, existing)
    problems += name_problems + _unchanged_problems(observed, found, field)
    version, version_problems = _version(spec, platform, observed, field, identity.namespace)
    problems += version_problems
    resources, resource_problems = _resources(spec, platform, field)
    problems += resource_problems
    storage, wal_storage, storage_problems = _storage(spec, platform, observed, field)
    problems += storage_problems + _extension_problems(spec, platform, version, field)
    method: BackupMethod = spec.backup.method or platform.backup.method
    if spec.backup.deleteWithClaim and spec.deletionPolicy != "Delete":
        problems.append(
            Problem(
                f"{field}.backup.deleteWithClaim",
                "true needs deletionPolicy: Delete; with Retain deleting the claim deletes nothing, backups included",
            )
        )
    object_store = None
    if method == "objectStore":
        object_store, store_problems = _object_store(platform, identity, field)
        problems += store_problems
    dump, dump_problems = _dump(spec, platform, found.cluster, field)
    problems += dump_problems
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
        resources=resources.manifest(),
        parameters=dict(sorted(spec.instance.parameters.items())),
        extensions=tuple(spec.extensions),
        backup=BackupPlan(
            method=method,
            suspended=not spec.backup.enabled,
            delete_with_claim=spec.backup.deleteWithClaim and spec.deletionPolicy == "Delete",
            schedule=spec.backup.schedule or platform.backup.schedule,
            retention_days=spec.backup.retentionDays or platform.backup.retentionDays,
            snapshot_class=platform.backup.volumeSnapshot.className,
            object_store=object_store,
            prune_image=platform.backup.pruneImage,
            nfs=platform.backup.nfs,
        ),
        restore=RestorePlan(spec.restore.backupName, spec.restore.pointInTime)
        if spec.restore and spec.restore.backupName
        else None,
        deletion_policy=spec.deletionPolicy,
        rotation=spec.credentials.rotation,
        dump=dump,
        dump_restore=dump_restore(spec, platform, found.cluster, found.cluster),
    )


def dump_restore(
    spec: PostgresDatabaseSpec, platform: PlatformDefaults, cluster: str, stem: str
) -> DumpRestorePlan | None:
    """restore.dump, resolved: the source folder defaults to this database's own (on its own dump volume)."""
    source = spec.restore.dump if spec.restore else None
    if source is None:
        return None
    return DumpRestorePlan(
        file=source.file,
        source_cluster=source.cluster or cluster,
        source_volume=names.dump_volume_name(
            names.on_cluster(source.cluster, source.onInstance)
            if source.cluster and source.onInstance
            else source.cluster or stem
        ),
        private_key_secret=source.privateKeySecret,
        storage_class=platform.dumps.storageClass,
        image=platform.dumps.image,
        run_as_user=platform.dumps.runAsUser,
    )


def plan_shared_database(
    spec: PostgresDatabaseSpec,
    identity: Identity,
    platform: PlatformDefaults,
    observed: Observed,
    field: str,
    facts: InstanceFacts,
) -> DatabasePlan:
    """Resolve a database on a PostgresInstance (`instanceRef`), or raise SpecError listing every problem.

    Only the database's own parts are planned: the cluster is the instance's (its version for the
    extension checks, its pooler for the credentials); the cluster fields of the plan are the
    platform's defaults and are never composed.
    """
    problems = identity.namespace_problems(spec.namespace, f"{field}.namespace")
    problems += shared.field_problems(spec, identity, field) + shared.move_problems(observed, facts, field)
    database = spec.databaseName or names.default_database_name(identity.name)
    owner = spec.owner or names.default_owner(database)
    secret = spec.credentialsSecretName or names.default_credentials_secret(identity.name)
    derived = f"derived from the claim name {show(identity.name)}; set it explicitly"
    for explicit, problem, name in (
        (spec.databaseName, names.database_name_problem(database), "databaseName"),
        (spec.owner, names.role_name_problem(owner), "owner"),
        (spec.credentialsSecretName, names.dns1123_subdomain_problem(secret), "credentialsSecretName"),
    ):
        if explicit is None and problem:
            problems.append(Problem(f"{field}.{name}", f"{problem} ({derived})"))
    listing = shared.databases_requirement(facts.cluster, identity.namespace)
    others = listing.ask(observed)
    problems += shared.name_problems(facts, database, owner, identity, others, field)
    version = shared.version(facts, platform)
    problems += _extension_problems(spec, platform, version, field)
    stem = names.on_cluster(facts.cluster, database)
    dump, dump_problems = _dump(spec, platform, stem, field, "databaseName")
    problems += dump_problems
    if problems and others is None:
        raise shared.AskFirst([listing])
    if problems:
        raise SpecError(problems)
    return DatabasePlan(
        claim=identity.name,
        namespace=identity.namespace,
        cluster=facts.cluster,
        database=database,
        owner=owner,
        secret=secret,
        instances=platform.postgres.instances,
        version=version,
        image=_image(platform, version),
        storage=StoragePlan(platform.postgres.storageSize, platform.postgres.storageClass),
        wal_storage=None,
        resources={},
        parameters={},
        extensions=tuple(spec.extensions),
        backup=BackupPlan(
            method="none",
            suspended=False,
            delete_with_claim=False,
            schedule=platform.backup.schedule,
            retention_days=platform.backup.retentionDays,
            snapshot_class=platform.backup.volumeSnapshot.className,
            object_store=None,
            prune_image=platform.backup.pruneImage,
            nfs=platform.backup.nfs,
        ),
        restore=None,
        deletion_policy=spec.deletionPolicy,
        rotation=spec.credentials.rotation,
        dump=dump,
        dump_restore=dump_restore(spec, platform, facts.cluster, stem),
        instance_ref=facts.name,
        pooler_host=names.pooler_host(facts.cluster, identity.namespace) if facts.pooler else None,
    )
