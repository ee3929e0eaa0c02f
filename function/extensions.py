"""The extensions a PostgreSQL image ships, so a claim cannot ask for one that would never apply.

A CNPG `Database` listing an extension the image lacks stays `applied: false`
forever, so the function refuses it up front and names what is available.

The CNPG operand images (github.com/cloudnative-pg/postgres-containers,
`Dockerfile` targets `minimal` and `standard`, `docker-bake.hcl` `extensions`)
install Debian's `postgresql-<MM>` package, which carries contrib, and the
`standard` image adds postgresql-<MM>-pgaudit, -pgvector and
-pg-failover-slots. pg_failover_slots has no CREATE EXTENSION (CNPG only
preloads it: pkg/postgres/configuration.go `ManagedExtensions`,
`SkipCreateExtension`), so it is not listed. A platform with a custom image
lists what it ships in the platform input's `postgres.allowedExtensions`.
"""

from __future__ import annotations

# PostgreSQL 15's contrib, as Debian's postgresql-15 package installs it
# (/usr/share/postgresql/15/extension/*.control).
_CONTRIB_15 = frozenset(
    {
        "adminpack", "amcheck", "autoinc", "bloom", "btree_gin", "btree_gist", "citext", "cube", "dblink",
        "dict_int", "dict_xsyn", "earthdistance", "file_fdw", "fuzzystrmatch", "hstore", "insert_username",
        "intagg", "intarray", "isn", "lo", "ltree", "moddatetime", "old_snapshot", "pageinspect", "pg_buffercache",
        "pg_freespacemap", "pg_prewarm", "pg_stat_statements", "pg_surgery", "pg_trgm", "pg_visibility",
        "pg_walinspect", "pgcrypto", "pgrowlocks", "pgstattuple", "plpgsql", "postgres_fdw", "refint", "seg",
        "sslinfo", "tablefunc", "tcn", "tsm_system_rows", "tsm_system_time", "unaccent", "uuid-ossp", "xml2",
    }
)  # fmt: skip
# What changed around 15 (PostgreSQL release notes): pg_walinspect came in 15,
# adminpack and old_snapshot went in 17, pg_logicalinspect came in 18.
_SINCE = {"pg_walinspect": 15, "pg_logicalinspect": 18}
_UNTIL = {"adminpack": 16, "old_snapshot": 16}
# The standard image's extras, by extension name (pgvector's is `vector`).
STANDARD_EXTRAS = frozenset({"pgaudit", "vector"})


def contrib(major: int) -> frozenset[str]:
    """PostgreSQL's contrib extensions of a major version."""
    names = _CONTRIB_15 | _SINCE.keys()
    return frozenset(name for name in names if _SINCE.get(name, 0) <= major <= _UNTIL.get(name, major))


def shipped(major: int, image_suffix: str) -> frozenset[str]:
    """The extensions of the CNPG image `<major>-<suffix>`: contrib, plus the standard extras unless `minimal`."""
    base = contrib(major)
    return base if image_suffix.startswith("minimal") else base | STANDARD_EXTRAS
