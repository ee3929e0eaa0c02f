"""The keys of every composed resource and the names of every required resource.

A key names a composed resource across reconciles: Crossplane passes each one
back, observed, under the key it was desired with, so a key never changes.
A TauApplication's database uses the keys of a PostgresDatabase, so both
compose exactly the same resources.
"""

from __future__ import annotations

# PostgresDatabase (and a TauApplication's database).
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
DUMP_CONFIG_MAP = "postgres-dump-configmap"
DUMP_VOLUME = "postgres-dump-volume"
DUMP_CRON_JOB = "postgres-dump-cronjob"
DUMP_RESTORE_JOB = "postgres-dump-restore-job"
DATABASE_ROLE = "postgres-database-role"  # the owner's DatabaseRole, on a shared instance only
DATABASE_KEYS = (
    CREDENTIALS, CLUSTER, DATABASE, SCHEDULED_BACKUP, OBJECT_STORE, OBJECT_STORE_SECRET,
    PRUNE_SERVICE_ACCOUNT, PRUNE_ROLE, PRUNE_ROLE_BINDING, PRUNE_CRON_JOB,
    DUMP_CONFIG_MAP, DUMP_VOLUME, DUMP_CRON_JOB, DUMP_RESTORE_JOB, DATABASE_ROLE,
)  # fmt: skip

# PostgresInstance (besides the cluster keys above, which it shares with a PostgresDatabase's own cluster).
POOLER = "postgres-pooler"

# TauApplication (besides its database's).
DEPLOYMENT = "application-deployment"
SERVICE = "application-service"
INGRESS = "application-ingress"
APPLICATION_KEYS = (DEPLOYMENT, SERVICE, INGRESS)

# CNPGOperator.
OPERATOR_RELEASE = "cnpg-operator-release"
PLUGIN_RELEASE = "cnpg-barman-cloud-plugin-release"
SNAPSHOT_CLASS = "cnpg-volume-snapshot-class"
# Longhorn's settings that delete the local snapshot of a snapshot backup (CNPGOperator).
LONGHORN_CLEANUP_AFTER_BACKUP = "cnpg-longhorn-cleanup-after-backup"
LONGHORN_CLEANUP_WITH_BACKUP = "cnpg-longhorn-cleanup-with-backup"
DUMP_STORAGE_CLASS = "cnpg-dump-storage-class"

# Required (extra) resources the function asks Crossplane for, by name.
LIVE_SECRET = "postgres-credentials-secret"  # noqa: S105 - a requirement name, not a secret
S3_SECRET = "postgres-object-store-admin-credentials"  # noqa: S105 - a requirement name, not a secret
RESTORE_BACKUP = "postgres-restore-backup"
RESTORE_SNAPSHOTS = "postgres-restore-snapshots"  # the VolumeSnapshots of a snapshot Backup being restored
RESTORE_SNAPSHOT_CLASS = "postgres-restore-snapshot-class"  # their VolumeSnapshotClass (its driver)
RESTORE_STORAGE_CLASS = "postgres-restore-storage-class"  # the StorageClass the data volume is restored into
INSTANCE = "postgres-instance"  # the PostgresInstance a database's instanceRef names
DATABASES_ON_CLUSTER = "postgres-databases-on-cluster"  # every CNPG Database the function composed on a cluster
LIVE_CLUSTER = "postgres-live-cluster"  # a CNPG Cluster of the claim's name the function has not composed (adoption)
CERT_MANAGER = "cert-manager-certificates-crd"
