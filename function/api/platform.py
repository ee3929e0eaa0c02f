"""The function input: platform defaults an admin sets once in the Composition.

This is what the Pulumi plan's config held. Every claim field that is left out
falls back to these values; with no input at all the built-in defaults below
apply, and they equal the original plan's config.
"""

from __future__ import annotations

from typing import Literal

import pydantic
from pydantic import Field

from function.__version__ import __version__
from function.api.common import DNSLabel, KubernetesName, PositiveQuantity, ResourceList, Resources, TauModel
from function.api.postgres import SUPPORTED_VERSIONS, BackupMethod, ExtensionName, Schedule

API_VERSION = "fn.tau.home.arpa/v1alpha1"
KIND = "PlatformDefaults"


def _default_postgres_resources() -> Resources:
    # A small home-cluster instance, memory request equal to its limit as CloudNativePG recommends
    # (docs/src/resource_management.md); no CPU limit, whose throttling hurts more than it protects.
    return Resources(requests=ResourceList(cpu="100m", memory="512Mi"), limits=ResourceList(memory="512Mi"))


class PostgresDefaults(TauModel):
    """Defaults for every PostgreSQL cluster."""

    version: int = Field(
        15, ge=SUPPORTED_VERSIONS[0], le=SUPPORTED_VERSIONS[-1], description="PostgreSQL major version."
    )
    storageClass: KubernetesName = Field("longhorn", description="StorageClass of data volumes.")
    storageSize: PositiveQuantity = Field("10Gi", description="Size of data volumes.")
    instances: int = Field(1, ge=1, le=10, description="PostgreSQL instances per cluster.")
    imageRepository: str = Field(
        "ghcr.io/cloudnative-pg/postgresql",
        max_length=200,
        pattern=r"^[a-z0-9]([a-z0-9._/:-]*[a-z0-9])?$",
        description="Image repository; the tag is <major>-<imageSuffix>.",
    )
    imageSuffix: str = Field(
        "standard-trixie",
        max_length=64,
        pattern=r"^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$",
        description="Image tag suffix: <major>-standard-trixie. Never a bare <major> tag (deprecated upstream).",
    )
    resources: Resources = Field(
        default_factory=_default_postgres_resources,
        description="CPU and memory of each PostgreSQL instance when the claim sets none (a claim's resources "
        "replace these as a whole). Default: requests cpu 100m and memory 512Mi, limits memory 512Mi.",
    )
    allowedExtensions: list[ExtensionName] | None = Field(
        None,
        max_length=256,
        description="The extensions claims may ask for. Unset: those the image ships (contrib, plus pgaudit and "
        "vector in the standard image). Set it for a custom image: it replaces that list.",
    )


class S3Credentials(TauModel):
    """Where the admin keeps the object store's access keys."""

    name: KubernetesName = Field(description="Secret holding the access keys.")
    namespace: DNSLabel = Field(description="Namespace of that Secret (e.g. crossplane-system).")
    accessKeyIdKey: str = Field("ACCESS_KEY_ID", max_length=253, description="Key of the access key id.")
    secretAccessKeyKey: str = Field("ACCESS_SECRET_KEY", max_length=253, description="Key of the secret access key.")


class ObjectStoreTarget(TauModel):
    """An S3-compatible store (e.g. MinIO whose disk is on the NFS server) for Barman Cloud."""

    endpointURL: str | None = Field(
        None, max_length=512, pattern=r"^https?://\S+$", description="S3 endpoint, e.g. http://minio.minio.svc:9000."
    )
    destinationPath: str | None = Field(
        None,
        max_length=512,
        pattern=r"^s3://[a-z0-9][a-z0-9.-]*[a-z0-9](/\S*)?$",
        description="Bucket and prefix, e.g. s3://postgres-backups. Each claim writes below <path>/<namespace>.",
    )
    credentials: S3Credentials | None = Field(None, description="The access keys, shared with every claim.")
    compression: Literal["gzip", "bzip2", "lz4", "snappy"] = Field(
        "gzip", description="Compression of base backups and WAL."
    )
    encryption: Literal["AES256", "aws:kms", "none"] = Field(
        "AES256",
        description="S3 server-side encryption of base backups and WAL (the store must support it: MinIO "
        "needs a KMS for AES256). 'none' sends no encryption header.",
    )


class VolumeSnapshotTarget(TauModel):
    """Snapshot backups through a CSI VolumeSnapshotClass."""

    className: KubernetesName = Field(
        "longhorn-backup",
        description="VolumeSnapshotClass; Longhorn's with parameters.type: bak uploads to its backup target.",
    )


class NFSTarget(TauModel):
    """The NFS server backups end up on (Longhorn's backup target, or the object store's disk)."""

    server: str | None = Field(None, max_length=253, description="NFS server host, e.g. nas.home.arpa.")
    path: str = Field("/mnt/backups/postgres", max_length=512, pattern=r"^/\S*$", description="Export path.")


class BackupDefaults(TauModel):
    """Backup defaults and targets."""

    method: BackupMethod = Field("volumeSnapshot", description="Default backup method.")
    schedule: Schedule = Field("0 0 3 * * *", description="Default schedule: six cron fields, seconds first.")
    retentionDays: int = Field(7, ge=1, le=3650, description="Default retention in days.")
    volumeSnapshot: VolumeSnapshotTarget = Field(default_factory=VolumeSnapshotTarget)
    objectStore: ObjectStoreTarget = Field(default_factory=ObjectStoreTarget)
    nfs: NFSTarget = Field(default_factory=NFSTarget)
    pruneImage: str = Field(
        "docker.io/alpine/k8s:1.34.2",
        max_length=256,
        pattern=r"^[a-z0-9]([a-z0-9._/:@-]*[a-z0-9])?$",
        description="Image with sh and kubectl that prunes snapshot Backups older than the retention.",
    )


PUBLIC_KEY_BEGIN = "-----BEGIN PGP PUBLIC KEY BLOCK-----"
MAX_PUBLIC_KEY = 65536
# Tagged as the release workflow tags every artifact: v<version> (release.Release.tag).
DUMP_IMAGE = f"ghcr.io/function-tau/function-tau-pgdump:v{__version__}"
# The dump image's pg_dump major (Debian trixie's postgresql-client, 17): it dumps servers up to this major.
DUMP_IMAGE_PG_MAJOR = 17
KEY_PAIR_COMMAND = (
    "gpg --quick-gen-key 'function-tau backups' future-default default never && "
    "gpg --armor --export 'function-tau backups'"
)


class DumpDefaults(TauModel):
    """Logical dumps: where they go and the public key they are encrypted to."""

    enabled: bool = Field(
        default=False,
        description="Dump every database whose claim does not say otherwise (backup.dump.enabled). Needs publicKey.",
    )
    publicKey: str | None = Field(
        None,
        max_length=MAX_PUBLIC_KEY,
        description="The ASCII-armored OpenPGP PUBLIC key the dumps are encrypted to (AES-256); the private key "
        f"stays off the cluster. Make a pair with: {KEY_PAIR_COMMAND}",
    )
    storageClass: KubernetesName = Field(
        "nfs-client",
        description="StorageClass of the dump volume, one ReadWriteMany claim per cluster in the claim's namespace "
        "(csi-driver-nfs: a folder per volume on the NFS server).",
    )
    image: str = Field(
        DUMP_IMAGE,
        max_length=256,
        pattern=r"^[a-z0-9]([a-z0-9._/:@-]*[a-z0-9])?$",
        description="Image with bash, pg_dump/pg_restore, gzip and gpg; pg_dump must be at least the server's "
        f"major. Default: function-tau's own pgdump image (Debian trixie, PostgreSQL {DUMP_IMAGE_PG_MAJOR} client).",
    )
    runAsUser: int = Field(
        65532, ge=1, le=2147483647, description="The non-root uid (and gid, fsGroup) the dump jobs run as."
    )

    @pydantic.field_validator("publicKey")
    @classmethod
    def _public_key_only(cls, key: str | None) -> str | None:
        if key is not None and (PUBLIC_KEY_BEGIN not in key or "PRIVATE KEY" in key):
            raise ValueError(
                f"must be an ASCII-armored OpenPGP public key ({PUBLIC_KEY_BEGIN} ...), never a private key; "
                "export it with: gpg --armor --export 'function-tau backups'"
            )
        return key

    @pydantic.model_validator(mode="after")
    def _key_when_enabled(self) -> DumpDefaults:
        if self.enabled and self.publicKey is None:
            raise ValueError(f"enabled needs publicKey; make a key pair with: {KEY_PAIR_COMMAND}")
        return self


class PlatformDefaults(TauModel):
    """The function input: the platform's defaults for every claim."""

    apiVersion: Literal["fn.tau.home.arpa/v1alpha1"] = API_VERSION
    kind: Literal["PlatformDefaults"] = KIND
    postgres: PostgresDefaults = Field(default_factory=PostgresDefaults)
    backup: BackupDefaults = Field(default_factory=BackupDefaults)
    dumps: DumpDefaults = Field(default_factory=DumpDefaults)
