"""Names of everything a claim becomes, and the limits they must respect.

Names are derived deterministically from the claim so that a user can guess
them (`postgres-shop`, `shop-postgres-credentials`), and a name that would
break a Kubernetes or CloudNativePG limit is refused with the field to set,
never silently cut: a shortened name would be a different, surprising name.
"""

from __future__ import annotations

import re

from function.errors import show

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# PostgreSQL identifiers we accept unquoted: what an app can type without quotes.
PG_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
# Extension names may contain a hyphen (uuid-ossp); CNPG quotes them. Nothing
# else: no quotes, spaces or semicolons that could smuggle SQL.
PG_EXTENSION = re.compile(r"^[a-z_][a-z0-9_-]*$")

LABEL_MAX = 63
SUBDOMAIN_MAX = 253
PG_NAME_MAX = 63  # NAMEDATALEN - 1
CNPG_CLUSTER_MAX = 50  # CNPG's webhook: DNS-1035 label of at most 50 characters

RESERVED_DATABASES = frozenset({"postgres", "template0", "template1"})
RESERVED_ROLES = frozenset({"postgres", "streaming_replica"})
RESERVED_ROLE_PREFIXES = ("pg_", "cnpg_")

# CNPG names Backups `<scheduledbackup>-<YYYYMMDDhhmmss>` and labels their
# snapshots with that name, so the ScheduledBackup name leaves room for it.
BACKUP_TIMESTAMP_SUFFIX = len("-20260101030000")


def dns1123_label_problem(value: str, limit: int = LABEL_MAX) -> str | None:
    """Why `value` is not a DNS-1123 label of at most `limit` characters, or None."""
    if len(value) > limit:
        return f"{show(value)} is {len(value)} characters; at most {limit} are allowed"
    if not DNS1123_LABEL.match(value):
        return (
            f"{show(value)} is not a DNS-1123 label: lower-case letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return None


def dns1123_subdomain_problem(value: str) -> str | None:
    """Why `value` is not a DNS-1123 subdomain (a Secret or Backup name), or None."""
    if len(value) > SUBDOMAIN_MAX:
        return f"{show(value)} is {len(value)} characters; at most {SUBDOMAIN_MAX} are allowed"
    if not DNS1123_SUBDOMAIN.match(value):
        return (
            f"{show(value)} is not a valid Kubernetes name: lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit"
        )
    return None


def cnpg_cluster_problem(value: str) -> str | None:
    """Why `value` cannot name a CNPG Cluster (DNS-1035, at most 50), or None."""
    if len(value) > CNPG_CLUSTER_MAX:
        return (
            f"{show(value)} is {len(value)} characters; CloudNativePG allows at most "
            f"{CNPG_CLUSTER_MAX} for a cluster name"
        )
    if not DNS1035_LABEL.match(value):
        return (
            f"{show(value)} is not a DNS-1035 label (CloudNativePG's rule for cluster names): "
            "lower-case letters, digits and '-', starting with a letter"
        )
    return None


def pg_identifier_problem(value: str, what: str) -> str | None:
    """Why `value` is not a plain PostgreSQL identifier, or None."""
    if len(value.encode()) > PG_NAME_MAX:
        return f"{show(value)} is longer than PostgreSQL's {PG_NAME_MAX}-byte limit for a {what}"
    if not PG_IDENTIFIER.match(value):
        return (
            f"{show(value)} is not a plain PostgreSQL identifier: lower-case letters, digits and '_', "
            "not starting with a digit"
        )
    return None


def database_name_problem(value: str) -> str | None:
    """Why `value` cannot be the application database's name, or None."""
    if value in RESERVED_DATABASES:
        return f"{show(value)} is reserved by PostgreSQL; reserved names are {', '.join(sorted(RESERVED_DATABASES))}"
    return pg_identifier_problem(value, "database name")


def role_name_problem(value: str) -> str | None:
    """Why `value` cannot be the owner role's name, or None."""
    if value in RESERVED_ROLES or value.startswith(RESERVED_ROLE_PREFIXES):
        return (
            f"{show(value)} is reserved by PostgreSQL or CloudNativePG; "
            "'postgres', 'streaming_replica' and names starting with 'pg_' or 'cnpg_' are not allowed"
        )
    return pg_identifier_problem(value, "role name")


def extension_problem(value: str) -> str | None:
    """Why `value` is not an acceptable extension name, or None."""
    if len(value.encode()) > PG_NAME_MAX:
        return f"{show(value)} is longer than PostgreSQL's {PG_NAME_MAX}-byte limit for an extension name"
    if not PG_EXTENSION.match(value):
        return (
            f"{show(value)} is not an extension name: lower-case letters, digits, '_' and '-', "
            "not starting with a digit or '-'"
        )
    return None


# Derived names. One function each, so every caller agrees on them.


def default_database_name(claim_name: str) -> str:
    """The database a claim gets when it names none: `my-app` -> `my_app`."""
    return claim_name.replace("-", "_")


def default_owner(database_name: str) -> str:
    """The owner role a database gets when the claim names none."""
    return f"{database_name}_user"


def default_cluster_name(claim_name: str) -> str:
    """The CNPG Cluster a claim gets when it names none."""
    return f"postgres-{claim_name}"


def default_credentials_secret(claim_name: str) -> str:
    """The credentials Secret a claim gets when it names none."""
    return f"{claim_name}-postgres-credentials"


def rw_service_host(cluster: str, namespace: str) -> str:
    """The in-cluster host of the primary (CNPG's `-rw` Service)."""
    return f"{cluster}-rw.{namespace}.svc"


def scheduled_backup_name(cluster: str) -> str:
    """The ScheduledBackup of a cluster."""
    return f"{cluster}-backup"


def object_store_name(cluster: str) -> str:
    """The Barman Cloud ObjectStore of a cluster."""
    return f"{cluster}-backup-store"


def object_store_secret_name(cluster: str) -> str:
    """The namespace-local copy of the object store credentials."""
    return f"{cluster}-backup-s3"


def dump_name(cluster: str) -> str:
    """The logical dump CronJob of a cluster and the ConfigMap with its scripts and public key."""
    return f"{cluster}-dump"


def dump_restore_name(cluster: str) -> str:
    """The Job that fills a new cluster from a logical dump, once."""
    return f"{cluster}-dump-restore"


def dump_volume_name(cluster: str) -> str:
    """The PersistentVolumeClaim the dumps of a cluster are written to."""
    return f"{cluster}-dumps"


def prune_name(cluster: str) -> str:
    """The retention CronJob and its ServiceAccount, Role and RoleBinding."""
    return f"{cluster}-backup-prune"


# A shared instance (PostgresInstance): several databases on one cluster.

# CNPG's initdb creates this database, owned by a role of the same name, when the
# bootstrap names none (a PostgresInstance's cluster); no database on it may take them.
CNPG_BOOTSTRAP_DATABASE = "app"


def on_cluster(cluster: str, pg_name: str) -> str:
    """The CNPG Database or DatabaseRole of a PostgreSQL database or role on a shared cluster: `<cluster>-<name>`.

    One resource name per PostgreSQL name ('_' written '-', which a plain
    identifier never has, so no two names meet): two claims that ask for the same
    database or role on one cluster compose the same resource, which Crossplane
    lets only one composite control.
    """
    return f"{cluster}-{pg_name.replace('_', '-')}"


def on_cluster_problem(cluster: str, pg_name: str) -> str | None:
    """Why a database or role name cannot name its resource on a shared cluster, or None."""
    if pg_name.endswith("_"):
        return (
            f"{show(pg_name)} ends with '_'; on a shared instance it also names a Kubernetes resource "
            f"({show(on_cluster(cluster, pg_name))}), which cannot end with '-'"
        )
    return dns1123_subdomain_problem(on_cluster(cluster, pg_name))


def pooler_name(cluster: str) -> str:
    """The CNPG Pooler (PgBouncer) of a cluster, and its Service."""
    return f"{cluster}-pooler"


def pooler_host(cluster: str, namespace: str) -> str:
    """The in-cluster host of a cluster's pooler."""
    return f"{pooler_name(cluster)}.{namespace}.svc"
