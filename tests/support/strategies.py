"""Hypothesis strategies for the claims of every kind function-tau composes, valid and hostile.

One place for them, so every property test draws from the same generators:

- `postgres_specs`, `application_specs()`, `operator_specs`, `instance_specs`: valid specs, every field's valid
  values combined freely (every combination must compose).
- `postgres_garbage`, `application_garbage()`, `operator_garbage`, `instance_garbage`: anything shaped like a spec:
  known and unknown keys, any JSON type, nested.
- `hostile(valid)`: a valid spec broken in one to three places, at any depth, in every way a
  claim can be broken: wrong types, unicode, empty and enormous strings, huge lists, floats where
  integers belong, fields removed, fields added. A break deep inside (a float in `env[3].value`)
  finds what garbage at the top level does not.
- `edited(base, valid)`: `base` with a few fields changed or removed, as users edit a claim.
- `invalid(valid, BREAKS)`: a valid spec with one field set to a value that is certainly
  refused, and the field path the refusal must name.

`KINDS` are the four kinds with what a property needs to know about each.
`budget(n)` gives the settings of a property that draws `n` examples in CI; with
`TAU_HYPOTHESIS_PROFILE=thorough` it draws ten times as many (a longer run, same properties).
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import os
from collections.abc import Callable
from typing import Any

import pydantic
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from function import cron, keys, simulate
from function import labels as tau_labels
from function.api.application import TauApplicationSpec
from function.api.instance import PostgresInstanceSpec
from function.api.operator import CNPGOperatorSpec
from function.api.postgres import PostgresDatabaseSpec
from function.application import manifests as app_manifests
from function.application import status as app_status
from function.instance import status as instance_status
from function.operator import status as op_status
from tests.support.dumps import DUMPS_INPUT, KEY_ONLY_INPUT

# ---------------------------------------------------------------------------------------------------------------
# Settings: one profile per run length.

settings.register_profile(
    "tau-ci",
    deadline=None,  # a call is milliseconds, but the first schema validation loads every CRD
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    print_blob=True,
)
settings.register_profile("tau-thorough", settings.get_profile("tau-ci"))
_SCALE = {"ci": 1, "thorough": 10}
PROFILE = os.environ.get("TAU_HYPOTHESIS_PROFILE", "ci")
if PROFILE not in _SCALE:
    raise ValueError(f"TAU_HYPOTHESIS_PROFILE={PROFILE!r}: use one of {', '.join(_SCALE)}")


def budget(examples: int) -> settings:
    """Settings for a property that draws `examples` examples in CI (ten times more when thorough)."""
    return settings(settings.get_profile(f"tau-{PROFILE}"), max_examples=examples * _SCALE[PROFILE])


# ---------------------------------------------------------------------------------------------------------------
# PostgresDatabase.

EXTENSIONS = ["uuid-ossp", "pgcrypto", "pg_trgm", "hstore"]

INSTANCE = st.fixed_dictionaries(
    {},
    optional={
        "instances": st.integers(1, 10),
        "version": st.integers(15, 18),  # 14 is past its end of life: refused for new clusters
        "storage": st.fixed_dictionaries({}, optional={"size": st.sampled_from(["1Gi", "500Mi", 20, "1.5Ti"])}),
        "walStorage": st.fixed_dictionaries({}, optional={"size": st.sampled_from(["1Gi", "2G"])}),
        "parameters": st.dictionaries(
            st.sampled_from(["work_mem", "max_connections", "x.y"]), st.sampled_from(["4MB", "100", "on"])
        ),
    },
)
"""A valid `instance` (the cluster) of a PostgresDatabase or a PostgresInstance."""
PHYSICAL_BACKUP = st.fixed_dictionaries(
    {},
    optional={
        "enabled": st.booleans(),
        "method": st.sampled_from(["volumeSnapshot", "none"]),
        "schedule": st.sampled_from(["0 0 3 * * *", "@daily", "*/30 * * * * *"]),
        "retentionDays": st.integers(1, 3650),
    },
)
"""A valid scheduled `backup` of a cluster (no dumps)."""

# Logical dumps (issue #9). A dump schedule is six fields like every schedule here, and its seconds must be 0 (a
# CronJob runs it); without one the dumps take backup.schedule, so that one's seconds must be 0 too when dumps are on.
DUMP_SCHEDULES = st.sampled_from(["0 0 3 * * *", "0 30 2 * * 0", "0 */15 * * * *", "@daily", "@hourly"])
DUMP_FILES = st.sampled_from(["latest", "shop-20261127T030112Z.dump.gz.gpg", "app_db-20260101T000000Z.dump.gz.gpg",
                              "_x-19991231T235959Z.dump.gz.gpg"])  # fmt: skip
DUMP_RESTORE = st.fixed_dictionaries(
    {"file": DUMP_FILES, "privateKeySecret": st.sampled_from(["shop-backup-key", "dump.key"])},
    optional={"cluster": st.sampled_from(["postgres-shop", "old-cluster"])},
)
DUMP_RESTORE_ON_INSTANCE = st.builds(
    lambda restore, cluster, database: {**restore, "cluster": cluster, "onInstance": database},
    DUMP_RESTORE, st.sampled_from(["shared", "postgres-old"]), st.sampled_from(["shop", "app_db"]),
)  # fmt: skip
RESTORE_DUMP = st.fixed_dictionaries({"dump": DUMP_RESTORE | DUMP_RESTORE_ON_INSTANCE})
"""A valid `restore` from a logical dump (no platform key needed: the claim's Secret holds the private key)."""


def _dumped_backup(enabled: st.SearchStrategy[bool]) -> st.SearchStrategy[dict]:
    """A valid `backup` with a `dump` whose `enabled` is drawn from `enabled` (absent when it draws None)."""

    @st.composite
    def draw_backup(draw: st.DrawFn) -> dict:
        backup = draw(PHYSICAL_BACKUP)
        dump = draw(
            st.fixed_dictionaries({}, optional={"schedule": DUMP_SCHEDULES, "retentionDays": st.integers(1, 3650)})
        )
        on = draw(enabled)
        if on is not None:
            dump["enabled"] = on
        if on and "schedule" not in dump and backup.get("schedule", "").startswith("*/"):
            dump["schedule"] = draw(DUMP_SCHEDULES)  # backup.schedule runs at seconds != 0: a CronJob cannot
        backup["dump"] = dump
        return backup

    return draw_backup()


_DATABASE_FIELDS = {
    "databaseName": st.sampled_from(["shop", "app_db", "_x"]),
    "owner": st.sampled_from(["app", "shop_owner"]),
    "extensions": st.lists(st.sampled_from(EXTENSIONS), unique=True, max_size=4),
    "instance": INSTANCE,
    "credentialsSecretName": st.sampled_from(["db", "shop-creds"]),
    "deletionPolicy": st.sampled_from(["Retain", "Delete"]),
}
postgres_specs = st.fixed_dictionaries(
    {},
    optional={
        **_DATABASE_FIELDS,
        "backup": PHYSICAL_BACKUP | _dumped_backup(st.sampled_from([None, False])),
    },
)
"""Valid PostgresDatabase specs, with the platform's defaults (no input): dumps configured but not switched on, and
nothing composed for them (no restore.dump either: its Job, ConfigMap and volume are `keyed_postgres_specs`')."""
keyed_postgres_specs = st.fixed_dictionaries(
    {},
    optional={
        **_DATABASE_FIELDS,
        "backup": PHYSICAL_BACKUP | _dumped_backup(st.sampled_from([True, None, False, True])),
        "restore": RESTORE_DUMP,
    },
)
"""Every valid PostgresDatabase spec, for a property that sends it with one of `platform_inputs(spec)`: dumps on
(with a public key) or off, and restores from a dump."""

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=20,
)
POSTGRES_FIELDS = ["databaseName", "owner", "instance", "extensions", "backup", "restore", "credentialsSecretName",
                   "deletionPolicy", "namespace", "name", "version", "storage", "size", "schedule", "method",
                   "parameters", "dump", "enabled", "retentionDays", "file", "cluster", "onInstance",
                   "privateKeySecret", "backupName", "pointInTime"]  # fmt: skip
postgres_garbage = st.dictionaries(st.sampled_from(POSTGRES_FIELDS) | st.text(max_size=15), json_values, max_size=8)
"""Anything at all shaped like a PostgresDatabase spec: known and unknown keys, any types, nested."""

# ---------------------------------------------------------------------------------------------------------------
# TauApplication.

IMAGES = st.sampled_from(
    ["nginx", "nginx:1.27", "postgres:15-alpine", "ghcr.io/org/app:1.0", "registry.home.arpa:5000/a/b-c/d_e:v1.2.3",
     "docker.io/library/busybox@sha256:" + "f" * 64]
)  # fmt: skip
ENV_NAMES = st.one_of(
    st.sampled_from([*app_manifests.INJECTED_VARIABLES, "PGSSLMODE", "app.mode", "-x"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,12}", fullmatch=True),
)
ENV = st.lists(
    st.fixed_dictionaries({"name": ENV_NAMES}, optional={"value": st.text(max_size=20)}),
    max_size=8,
    unique_by=lambda e: e["name"],
)
ARGS = st.lists(st.text(max_size=12), max_size=4)
RESOURCES = st.sampled_from(
    [None, {"requests": {"cpu": "50m", "memory": "64Mi"}}, {"limits": {"cpu": 1, "memory": "1Gi"}},
     {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m", "ephemeral-storage": "1Gi"}}]
)  # fmt: skip
HOSTS = st.sampled_from(["app.home.arpa", "a.b", "x-1.example.org", "localhost"])
TLS = st.one_of(st.none(), st.fixed_dictionaries({"clusterIssuer": st.sampled_from(["ca", "letsencrypt-prod"])}))
DATABASE = st.fixed_dictionaries(
    {"enabled": st.booleans()},
    optional={
        "name": st.sampled_from(["app", "store_1", "_x"]),
        "storageSize": st.sampled_from(["1Gi", "5Gi", "500Mi", 2]),
        "extensions": st.lists(st.sampled_from(EXTENSIONS), unique=True, max_size=3),
        "owner": st.sampled_from(["app_owner", "u"]),
        "backup": st.sampled_from([{"enabled": False}, {"method": "none"}, {"retentionDays": 3},
                                   {"schedule": "0 0 1 * * *"}]),
        "deletionPolicy": st.sampled_from(["Retain", "Delete"]),
        "instance": st.sampled_from([{"version": 17}, {"instances": 2}, {"storage": {"storageClass": "ssd"}}]),
    },
)  # fmt: skip
"""A valid `database` of a TauApplication, with the platform's defaults (no input)."""


def _application_database(enabled: st.SearchStrategy, *, restore: bool) -> st.SearchStrategy[dict]:
    """DATABASE, sometimes with a dump (`enabled` drawn from `enabled`) and, with `restore`, restored from one."""

    @st.composite
    def draw_database(draw: st.DrawFn) -> dict:
        database = draw(DATABASE)
        if draw(st.integers(0, 2)) == 0:
            backup = draw(_dumped_backup(enabled))
            database["backup"] = {**backup, **database.get("backup", {})}
        if restore and draw(st.integers(0, 3)) == 0:
            database["restore"] = draw(RESTORE_DUMP)
        return database

    return draw_database()


APPLICATION_NAMES = st.sampled_from(["shop", "web-app", "a", "postgres-example"])
APPLICATION_NAMESPACES = st.sampled_from(["shop", "apps", "team-a"])


@st.composite
def application_specs(draw: st.DrawFn, *, keyed: bool = False) -> dict:
    """A valid TauApplication spec for no platform input (dumps configured, not on); with `keyed`, every valid spec,
    for a property that sends it with one of `platform_inputs(spec)` (dumps on, restores from a dump)."""
    spec: dict = {"image": draw(IMAGES)}
    for field, strategy in (("command", ARGS), ("args", ARGS), ("resources", RESOURCES)):
        value = draw(strategy)
        if value:
            spec[field] = value
    if draw(st.booleans()):
        spec["replicas"] = draw(st.integers(0, 100))
    env = draw(ENV)
    if env:
        spec["env"] = env
    if draw(st.booleans()):
        spec["port"] = draw(st.integers(1, 65535))
        if draw(st.booleans()):
            spec["ingress"] = {"host": draw(HOSTS)}
            if tls := draw(TLS):
                spec["ingress"]["tls"] = tls
            if draw(st.booleans()):
                spec["ingress"]["className"] = "nginx"
    spec["database"] = draw(
        _application_database(st.sampled_from([True, None, False, True] if keyed else [None, False]), restore=keyed)
    )
    return spec


SMALL_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
APPLICATION_FIELDS = ["image", "command", "args", "replicas", "env", "resources", "port", "ingress", "database",
                      "namespace"]  # fmt: skip
APPLICATION_DATABASE_FIELDS = ["enabled", "name", "storageSize", "extensions", "instance", "backup", "restore",
                               "owner", "credentialsSecretName", "deletionPolicy", "namespace"]  # fmt: skip


@st.composite
def application_garbage(draw: st.DrawFn) -> object:
    """A valid TauApplication spec with garbage in some of its fields, or garbage altogether."""
    if draw(st.integers(0, 9)) == 0:
        return draw(SMALL_JSON)
    spec = draw(application_specs())
    for field in draw(st.lists(st.sampled_from(APPLICATION_FIELDS), max_size=3)):
        spec[field] = draw(SMALL_JSON)
    database = spec.get("database")
    if isinstance(database, dict):
        for field in draw(st.lists(st.sampled_from(APPLICATION_DATABASE_FIELDS), max_size=3)):
            database[field] = draw(SMALL_JSON)
    return spec


# ---------------------------------------------------------------------------------------------------------------
# PostgresInstance (issue #14): the cluster a PostgresDatabase's instanceRef names, with its backups and a pooler.

instance_specs = st.fixed_dictionaries(
    {},
    optional={
        "instance": INSTANCE,
        "backup": PHYSICAL_BACKUP,
        "pooler": st.fixed_dictionaries(
            {},
            optional={
                "mode": st.sampled_from(["transaction", "session"]),
                "instances": st.integers(1, 10),
                "defaultPoolSize": st.integers(1, 10000),
                "maxClientConnections": st.integers(1, 100000),
            },
        ),
        "deletionPolicy": st.sampled_from(["Retain", "Delete"]),
    },
)
"""Valid PostgresInstance specs."""

INSTANCE_FIELDS = ["instance", "backup", "restore", "pooler", "deletionPolicy", "namespace", "name", "version",
                   "storage", "size", "schedule", "method", "mode", "instances", "defaultPoolSize",
                   "maxClientConnections", "backupName", "pointInTime"]  # fmt: skip
instance_garbage = st.dictionaries(st.sampled_from(INSTANCE_FIELDS) | st.text(max_size=15), json_values, max_size=8)
"""Anything at all shaped like a PostgresInstance spec."""

# ---------------------------------------------------------------------------------------------------------------
# CNPGOperator.

OPERATOR_RESOURCES = st.fixed_dictionaries(
    {},
    optional={
        "requests": st.fixed_dictionaries(
            {}, optional={"cpu": st.sampled_from(["50m", "100m"]), "memory": st.sampled_from(["100Mi", 104857600])}
        ),
        "limits": st.fixed_dictionaries({}, optional={"cpu": st.sampled_from(["1", "500m"]), "memory": st.just("1Gi")}),
    },
)
operator_specs = st.fixed_dictionaries(
    {},
    optional={
        "namespace": st.sampled_from(["cnpg-system", "databases", "x"]),
        "chartVersion": st.sampled_from(["0.29.0", "0.28.3", "v1.0.0-rc.1", "1.2.3+build.5"]),
        "replicas": st.integers(1, 5),
        "resources": OPERATOR_RESOURCES,
        "monitoring": st.fixed_dictionaries({}, optional={"podMonitor": st.booleans(), "grafanaDashboard": st.booleans()}),
        "barmanCloudPlugin": st.fixed_dictionaries(
            {}, optional={"enabled": st.booleans(), "chartVersion": st.sampled_from(["0.7.0", "0.6.0"])}
        ),
        "volumeSnapshotClass": st.fixed_dictionaries(
            {}, optional={"create": st.booleans(), "name": st.sampled_from(["longhorn-backup", "a.b"]),
                          "deletionPolicy": st.sampled_from(["Delete", "Retain"]),
                          "localSnapshotCleanup": st.booleans(),
                          "longhornNamespace": st.sampled_from(["longhorn-system", "storage"])},
        ),
        "dumpStorageClass": st.one_of(
            st.fixed_dictionaries({"create": st.sampled_from([False])}),
            st.fixed_dictionaries({"create": st.sampled_from([True]), "server": st.sampled_from(["nas.home.arpa", "10.0.0.2"])},
                                  optional={"name": st.sampled_from(["tau-dumps", "nfs-dumps"]),
                                            "share": st.sampled_from(["/mnt/backups/postgres", "/volume1/dumps"])}),
        ),
    },
)  # fmt: skip
"""Valid CNPGOperator specs."""

OPERATOR_FIELDS = ["namespace", "chartVersion", "replicas", "resources", "monitoring", "barmanCloudPlugin",
                   "volumeSnapshotClass", "create", "enabled", "name", "dumpStorageClass", "server", "share"]  # fmt: skip
operator_garbage = st.dictionaries(st.sampled_from(OPERATOR_FIELDS) | st.text(max_size=10), SMALL_JSON, max_size=6)
"""Anything at all shaped like a CNPGOperator spec."""

# ---------------------------------------------------------------------------------------------------------------
# The platform input (issue #9): none (the platform's defaults), a public key for dumps, or dumps on by default.

PLATFORM_INPUTS: tuple[dict | None, ...] = (None, KEY_ONLY_INPUT, DUMPS_INPUT)
"""No input (no public key, dumps off), a public key (dumps where a claim asks), dumps on for every database."""


def _dump_settings(spec: object) -> tuple[dict, dict]:
    """The `backup` and `backup.dump` of a PostgresDatabase spec or a TauApplication's database ({} if not objects)."""
    node = spec if isinstance(spec, dict) else {}
    if isinstance(node.get("database"), dict):
        node = node["database"]
    backup = node.get("backup") if isinstance(node.get("backup"), dict) else {}
    dump = backup.get("dump") if isinstance(backup.get("dump"), dict) else {}
    return backup, dump


def platform_inputs(spec: object) -> st.SearchStrategy[dict | None]:
    """The platform inputs `spec` composes with if it is valid: a public key whenever it turns dumps on; dumps on by
    default only when the schedule they would take can run as a CronJob (seconds 0). Any spec may be sent with them."""
    backup, dump = _dump_settings(spec)
    enabled = dump.get("enabled")
    if enabled is True:
        return st.sampled_from([KEY_ONLY_INPUT, DUMPS_INPUT])
    schedule = dump.get("schedule") or backup.get("schedule") or "0 0 3 * * *"
    runs = enabled is False or (isinstance(schedule, str) and cron.to_kubernetes(schedule)[1] is None)
    return st.sampled_from(PLATFORM_INPUTS if runs else PLATFORM_INPUTS[:2])


# ---------------------------------------------------------------------------------------------------------------
# Hostile values, and valid specs broken with them.

UNUSUAL_TEXT = st.sampled_from(
    ["", " ", "é", "名前", "👍🏽", "\u202e", "\ufeff", "\x00", "a\nb", "\t", "$(HOME)", "${X}", "'; DROP TABLE x; --",
     "../..", "%00", "\\", '"', "0", "-1", "1e400", "true", "null", "NaN", "Infinity", "@daily", "0 3 * * *"]
)  # fmt: skip
NUMBERS = st.one_of(
    st.integers(-(2**53), 2**53),
    st.floats(),  # infinities and NaN included: a Struct can carry them even though JSON cannot
    st.sampled_from([0.5, 1.5, -0.0, 1e300, -1e-300, 2.0**63, 65536.0]),
)
ENORMOUS_TEXT = st.builds(
    lambda unit, count: unit * count,
    st.sampled_from(["a", "é", "👍", "0", "-", " ", "a-", "1."]),
    st.integers(4_000, 120_000),
)
"""Strings of thousands of characters, cheaply (hypothesis draws them as a unit and a count)."""
LEAVES = st.none() | st.booleans() | NUMBERS | UNUSUAL_TEXT | st.text(max_size=30)
HUGE_LISTS = st.builds(
    lambda item, count: [item] * count, LEAVES | st.just({"name": "X", "value": "y"}), st.integers(129, 5_000)
)
"""Lists longer than any bound a field has (at most 128 items anywhere)."""

hostile_values = st.recursive(
    LEAVES | ENORMOUS_TEXT | HUGE_LISTS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(UNUSUAL_TEXT | st.text(max_size=10), children, max_size=4),
    max_leaves=8,
)
"""Any JSON value, with unicode, enormous strings, huge lists and numbers of every kind among it."""

Path = tuple[str | int, ...]


def paths(value: Any, prefix: Path = ()) -> list[Path]:
    """Every path into a JSON value (dict keys and list indexes), the value itself first."""
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += paths(item, (*prefix, index))
    return out


def at(value: Any, path: Path) -> Any:
    """The value at `path`."""
    for step in path:
        value = value[step]
    return value


def replaced(value: Any, path: Path, new: Any) -> Any:
    """A copy of `value` with the value at `path` replaced (created, for a dict key that is missing)."""
    if not path:
        return new
    out = copy.deepcopy(value)
    parent = at(out, path[:-1])
    parent[path[-1]] = new
    return out


def removed(value: Any, path: Path) -> Any:
    """A copy of `value` without the value at `path` (a dict key or a list item)."""
    if not path:
        return None
    out = copy.deepcopy(value)
    del at(out, path[:-1])[path[-1]]
    return out


def set_path(spec: dict, dotted: str, new: Any) -> dict:
    """A copy of `spec` with `dotted` (a.b.c) set to `new`, creating (or replacing with) objects on the way."""
    out = copy.deepcopy(spec)
    node = out
    *parents, leaf = dotted.split(".")
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[leaf] = new
    return out


def _retyped_text(draw: st.DrawFn, value: str) -> Any:
    """A string broken: empty, enormous, upper-cased, with unusual text around it, or not a string."""
    unit = draw(st.sampled_from(["a", "é", "👍", "-"]))
    enormous = value + unit * draw(st.integers(1_000, 100_000))
    options = ["", value.upper(), value + draw(UNUSUAL_TEXT), draw(UNUSUAL_TEXT) + value, value * 1000, enormous]
    return draw(st.sampled_from([*options, 5, [value], {"value": value}]))


@st.composite
def _retyped(draw: st.DrawFn, value: Any) -> Any:
    """A value like `value` but broken the way its type can be: a float for an int, an empty or enormous string..."""
    if isinstance(value, bool | int | float):
        options = (
            ["true", 1, 0.0, None, [value]]
            if isinstance(value, bool)
            else [value + 0.5, str(value), -value - 1, value * 2**40, float("inf"), [value]]
        )
        return draw(st.sampled_from(options))
    if isinstance(value, str):
        return _retyped_text(draw, value)
    if isinstance(value, list):
        if value:
            return value * draw(st.integers(50, 3_000))
        return draw(st.sampled_from([{}, "", [None], [[]]]))
    if isinstance(value, dict):
        return draw(st.sampled_from([list(value.values()), list(value), "", None, [value]]))
    return draw(hostile_values)


@st.composite
def hostile(draw: st.DrawFn, valid: st.SearchStrategy, fields: tuple[str, ...] = ()) -> object:
    """A valid spec broken in one to three places: replaced, retyped, removed, or given extra fields."""
    spec = draw(valid)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(spec)))
        target = at(spec, path)
        how = draw(st.sampled_from(["replace", "retype", "remove", "extra"]))
        if how == "replace":
            spec = replaced(spec, path, draw(hostile_values))
        elif how == "retype":
            spec = replaced(spec, path, draw(_retyped(target)))
        elif how == "remove" and path:
            spec = removed(spec, path)
        elif isinstance(target, dict):
            key = draw(st.sampled_from(fields) | st.text(max_size=12)) if fields else draw(st.text(max_size=12))
            spec = replaced(spec, (*path, key), draw(hostile_values))
        if not isinstance(spec, dict | list):
            break  # nothing left to walk into
    return spec


@st.composite
def edited(draw: st.DrawFn, base: dict, valid: st.SearchStrategy) -> dict:
    """`base` as a user edits it: up to three fields taken from another valid spec, up to two removed."""
    other = draw(valid)
    spec = copy.deepcopy(base)
    if other:
        for key in draw(st.lists(st.sampled_from(sorted(other)), unique=True, max_size=3)):
            spec[key] = copy.deepcopy(other[key])
    if spec:
        for key in draw(st.lists(st.sampled_from(sorted(spec)), unique=True, max_size=2)):
            del spec[key]
    return spec


# A break that is certainly refused: the field the refusal names, and the change that breaks it; a third item, when
# there is one, is the platform input the break needs (else any input `platform_inputs` gives the broken spec).
Break = tuple[str, Callable[[dict], dict]] | tuple[str, Callable[[dict], dict], dict | None]


def setting(dotted: str, value: Any) -> Callable[[dict], dict]:
    """A break that sets one field."""
    return lambda spec: set_path(spec, dotted, value)


def without(dotted: str) -> Callable[[dict], dict]:
    """A break that removes one (required) field."""

    def apply(spec: dict) -> dict:
        out = copy.deepcopy(spec)
        *parents, leaf = dotted.split(".")
        node = out
        for key in parents:
            node = node.setdefault(key, {})
        node.pop(leaf, None)
        return out

    return apply


def dumps_on(prefix: str, then: Callable[[dict], dict] = lambda spec: spec) -> Callable[[dict], dict]:
    """A break that turns dumps on (`prefix`: "" or "database.", whose database it enables), then applies `then`."""

    def apply(spec: dict) -> dict:
        out = set_path(spec, f"{prefix}backup.dump.enabled", new=True)
        return then(set_path(out, "database.enabled", new=True) if prefix else out)

    return apply


RESTORE_BOTH = {"backupName": "nightly", "dump": {"file": "latest", "privateKeySecret": "shop-backup-key"}}
RESTORE_DUMP_AT = {"pointInTime": "2026-01-01T00:00:00Z", "dump": {"file": "latest", "privateKeySecret": "k"}}


def dump_breaks(prefix: str) -> list[Break]:
    """The dump mistakes of a database whose fields are under `prefix` ("" or "database.")."""
    field = f"spec.{prefix}"
    return [
        # A five-field cron runs at the wrong times (refused whether dumps are on or not).
        (f"{field}backup.dump.schedule", setting(f"{prefix}backup.dump.schedule", "0 3 * * *")),
        # A CronJob has no seconds: a dump schedule must run at second 0.
        (f"{field}backup.dump.schedule", dumps_on(prefix, setting(f"{prefix}backup.dump.schedule", "30 0 3 * * *"))),
        # ... and so must backup.schedule, which the dumps take unless they have their own.
        (f"{field}backup.dump.schedule",
         dumps_on(prefix, lambda spec: without(f"{prefix}backup.dump.schedule")(
             set_path(spec, f"{prefix}backup.schedule", "*/30 * * * * *")))),
        (f"{field}backup.dump.retentionDays", setting(f"{prefix}backup.dump.retentionDays", 0)),
        (f"{field}backup.dump.enabled", dumps_on(prefix), None),  # no public key in the platform input
        (f"{field}restore", setting(f"{prefix}restore", RESTORE_BOTH)),
        (f"{field}restore", setting(f"{prefix}restore", RESTORE_DUMP_AT)),
        (f"{field}restore.dump.file", setting(f"{prefix}restore", {"dump": {"file": "../x", "privateKeySecret": "k"}})),
        (f"{field}restore.dump.privateKeySecret", setting(f"{prefix}restore", {"dump": {"file": "latest"}})),
    ]  # fmt: skip


POSTGRES_BREAKS: list[Break] = [
    ("spec.databaseName", setting("databaseName", "postgres")),
    ("spec.databaseName", setting("databaseName", "x" * 64)),
    ("spec.owner", setting("owner", "pg_monitor")),
    ("spec.instance.instances", setting("instance.instances", 0)),
    ("spec.instance.instances", setting("instance.instances", 1.5)),
    ("spec.instance.version", setting("instance.version", 13)),
    ("spec.instance.version", setting("instance.version", "fifteen")),
    ("spec.instance.storage.size", setting("instance.storage.size", "ten gigs")),
    ("spec.instance.storage.size", setting("instance.storage.size", "-1Gi")),
    ("spec.instance.parameters", setting("instance.parameters", {"port": "5433"})),
    ("spec.instance.parameters", setting("instance.parameters", {f"p{i}": "1" for i in range(200)})),
    ("spec.backup.schedule", setting("backup.schedule", "0 3 * * *")),
    ("spec.backup.retentionDays", setting("backup.retentionDays", 0)),
    ("spec.backup.method", setting("backup.method", "tape")),
    ("spec.extensions", setting("extensions", ["pgcrypto", "pgcrypto"])),
    ("spec.extensions", setting("extensions", ["pgcrypto"] * 65)),
    ("spec.credentialsSecretName", setting("credentialsSecretName", "Not_A_Name")),
    ("spec.deletionPolicy", setting("deletionPolicy", "Orphan")),
    ("spec.namespace", setting("namespace", "somebody-else")),
    # backupName or dump, exactly one (issue #9): the message names restore itself.
    ("spec.restore", setting("restore", {"pointInTime": "2026-01-01T00:00:00Z"})),
    *dump_breaks(""),
]
APPLICATION_BREAKS: list[Break] = [
    ("spec.image", setting("image", "")),
    ("spec.image", setting("image", "Nginx Latest")),
    ("spec.image", without("image")),
    ("spec.replicas", setting("replicas", -1)),
    ("spec.replicas", setting("replicas", 2.5)),
    ("spec.port", setting("port", 70000)),
    ("spec.env[0].name", setting("env", [{"name": "1X", "value": "v"}])),
    ("spec.env", setting("env", [{"name": "A"}, {"name": "A"}])),
    ("spec.command", setting("command", ["x"] * 65)),
    ("spec.ingress", lambda spec: without("port")(set_path(spec, "ingress", {"host": "a.b"}))),
    ("spec.ingress.host", lambda spec: set_path(set_path(spec, "port", 80), "ingress", {"host": "*.b"})),
    ("spec.database.name", setting("database.name", "template0")),
    ("spec.database.instance.instances", setting("database.instance.instances", 0)),
    ("spec.database.storageSize", setting("database.storageSize", "big")),
    ("spec.namespace", setting("namespace", "somebody-else")),
    *dump_breaks("database."),
]
INSTANCE_BREAKS: list[Break] = [
    ("spec.instance.instances", setting("instance.instances", 0)),
    ("spec.instance.version", setting("instance.version", 13)),
    ("spec.instance.storage.size", setting("instance.storage.size", "ten gigs")),
    ("spec.instance.parameters", setting("instance.parameters", {"port": "5433"})),
    ("spec.backup.schedule", setting("backup.schedule", "0 3 * * *")),
    ("spec.backup.retentionDays", setting("backup.retentionDays", 0)),
    ("spec.backup.method", setting("backup.method", "tape")),
    ("spec.pooler.mode", setting("pooler.mode", "statement")),
    ("spec.pooler.instances", setting("pooler.instances", 0)),
    ("spec.pooler.defaultPoolSize", setting("pooler.defaultPoolSize", 0)),
    ("spec.pooler.maxClientConnections", setting("pooler.maxClientConnections", 100001)),
    ("spec.deletionPolicy", setting("deletionPolicy", "Orphan")),
    ("spec.namespace", setting("namespace", "somebody-else")),
]
OPERATOR_BREAKS: list[Break] = [
    ("spec.replicas", setting("replicas", 0)),
    ("spec.replicas", setting("replicas", 1.5)),
    ("spec.chartVersion", setting("chartVersion", "latest")),
    ("spec.namespace", setting("namespace", "Not_A_Namespace")),
    ("spec.volumeSnapshotClass.deletionPolicy", setting("volumeSnapshotClass.deletionPolicy", "Orphan")),
    ("spec.volumeSnapshotClass.name", setting("volumeSnapshotClass.name", "UPPER")),
    ("spec.volumeSnapshotClass.longhornNamespace", setting("volumeSnapshotClass.longhornNamespace", "Longhorn")),
    ("spec.volumeSnapshotClass.localSnapshotCleanup", setting("volumeSnapshotClass.localSnapshotCleanup", "maybe")),
    ("spec.dumpStorageClass", setting("dumpStorageClass", {"create": True})),
    ("spec.barmanCloudPlugin.enabled", setting("barmanCloudPlugin.enabled", "maybe")),
    ("spec.resources.requests.cpu", setting("resources.requests.cpu", "lots")),
    ("spec.resources", setting("resources", {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}})),
]


@st.composite
def invalid(draw: st.DrawFn, valid: st.SearchStrategy, breaks: list[Break]) -> tuple[dict, str, dict | None]:
    """A valid spec with one field certainly refused, that field's path, and the platform input to send it with."""
    field, apply, *needs = draw(st.sampled_from(breaks))
    spec = apply(draw(valid))
    return spec, field, needs[0] if needs else draw(platform_inputs(spec))


# ---------------------------------------------------------------------------------------------------------------
# The four kinds, with what a property needs to know about each.

CERT_MANAGER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "certificates.cert-manager.io"},
}


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Kind:
    """A kind function-tau composes: how to build its composite, its specs, and what may go from a desired state."""

    name: str  # the composite's kind
    claim: str | None  # its claim's kind; None for a cluster-scoped composite without a claim
    valid: st.SearchStrategy
    garbage: st.SearchStrategy
    breaks: list[Break]
    fields: tuple[str, ...]  # its field names, for extra fields in the wrong places
    condition: str  # the condition that carries a refusal
    model: type[pydantic.BaseModel]
    # What Crossplane answers for the kind's requirements (cert-manager is installed).
    required: dict[str, list[dict]] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:
        return self.name

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # noqa: FBT001 - IPython's pretty-printer protocol
        printer.text(self.name)  # hypothesis' reports print the kind, not its strategies

    def composite(self, spec: object, name: str = "shop", namespace: str = "shop") -> dict:
        """The composite Crossplane sends: from a claim (labels, claimRef), or created directly."""
        if self.claim is None:
            xr = {"apiVersion": "tau.home.arpa/v1alpha1", "kind": self.name, "metadata": {"name": name}}
        else:
            xr = simulate.to_composite(
                {
                    "apiVersion": "tau.home.arpa/v1alpha1",
                    "kind": self.claim,
                    "metadata": {"name": name, "namespace": namespace},
                }
            )
        xr["spec"] = copy.deepcopy(spec)
        return xr

    def may_drop(self, spec: object) -> frozenset[str]:
        """Keys a valid `spec` removes from what exists: only the stateless resources it switches off.

        A database resource, a Deployment or the operator's release is never among them. An
        application's Service and Ingress go when `port` and `ingress` go; the operator's plugin
        release and snapshot class when they are switched off (it uninstalls them, on purpose); an
        instance's Pooler when `pooler` goes.
        """
        parsed = self.model.model_validate({} if spec is None else spec)  # as the function reads a null spec
        if isinstance(parsed, TauApplicationSpec):
            return frozenset(
                key
                for key, gone in ((keys.SERVICE, parsed.port is None), (keys.INGRESS, parsed.ingress is None))
                if gone
            )
        if isinstance(parsed, PostgresInstanceSpec):  # the pooler is stateless: removing it removes it
            return frozenset({keys.POOLER}) if parsed.pooler is None else frozenset()
        if isinstance(parsed, CNPGOperatorSpec):
            cleanup = parsed.volumeSnapshotClass.create and parsed.volumeSnapshotClass.localSnapshotCleanup
            return frozenset(
                key
                for key, gone in (
                    (keys.PLUGIN_RELEASE, not parsed.barmanCloudPlugin.enabled),
                    (keys.SNAPSHOT_CLASS, not parsed.volumeSnapshotClass.create),
                    # Their Objects go, orphaning Longhorn's settings (left as they are).
                    (keys.LONGHORN_CLEANUP_AFTER_BACKUP, not cleanup),
                    (keys.LONGHORN_CLEANUP_WITH_BACKUP, not cleanup),
                    (keys.DUMP_STORAGE_CLASS, not parsed.dumpStorageClass.create),
                )
                if gone
            )
        return frozenset()


POSTGRES = Kind(
    "XPostgresDatabase", "PostgresDatabase", keyed_postgres_specs, postgres_garbage, POSTGRES_BREAKS, tuple(POSTGRES_FIELDS),
    "DatabaseReady", PostgresDatabaseSpec,
)  # fmt: skip
APPLICATION = Kind(
    "XTauApplication", "TauApplication", application_specs(keyed=True), application_garbage(), APPLICATION_BREAKS,
    tuple(APPLICATION_FIELDS + APPLICATION_DATABASE_FIELDS), app_status.APPLICATION_READY, TauApplicationSpec,
)  # fmt: skip
OPERATOR = Kind(
    "CNPGOperator", None, operator_specs, operator_garbage, OPERATOR_BREAKS, tuple(OPERATOR_FIELDS),
    op_status.OPERATOR_READY, CNPGOperatorSpec, {keys.CERT_MANAGER: [CERT_MANAGER_CRD]},
)  # fmt: skip
INSTANCE_KIND = Kind(
    "XPostgresInstance", "PostgresInstance", instance_specs, instance_garbage, INSTANCE_BREAKS, tuple(INSTANCE_FIELDS),
    instance_status.INSTANCE_READY, PostgresInstanceSpec, {keys.DATABASES_ON_CLUSTER: []},
)  # fmt: skip
KINDS = (POSTGRES, APPLICATION, OPERATOR, INSTANCE_KIND)


# ---------------------------------------------------------------------------------------------------------------
# Look-alikes in other namespaces of what a claim (namespace `shop`) reads: Crossplane 1.20 lists by labels across
# every namespace (tests/support/crossplane120.py), so the function must never use them (SPEC §7.4).

DECOY_MARK = "decoy-from-another-namespace"
OTHER_NAMESPACES = st.sampled_from(["a-team", "team-b", "default", "kube-system", "shop-2", "crossplane"])
LOOKED_UP = ("credentials", "backup", "object-store-credentials")


def decoys() -> st.SearchStrategy[list[tuple[str, str, bool]]]:
    """Which look-alikes: (what it imitates, its namespace, whether it carries the very labels of the real one)."""
    return st.lists(st.tuples(st.sampled_from(LOOKED_UP), OTHER_NAMESPACES, st.booleans()), max_size=6)


def look_alike(decoy: tuple[str, str, bool], secret_name: str) -> dict:
    """A look-alike of the credentials Secret `secret_name` of claim shop, its Backup `nightly`, or the object store
    Secret; in another namespace, its values marked with DECOY_MARK."""
    what, namespace, forged = decoy
    mark = base64.b64encode(DECOY_MARK.encode()).decode()
    if what == "backup":
        doc_labels = {tau_labels.BACKUP: "nightly"} if forged else {}
        return {
            "apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
            "metadata": {"name": "nightly", "namespace": namespace, "labels": doc_labels},
            "spec": {"cluster": {"name": "postgres-shop"}, "method": "volumeSnapshot"},
            "status": {"phase": "completed", "method": "volumeSnapshot", "backupId": DECOY_MARK, "majorVersion": 17,
                       "snapshotBackupStatus": {"elements": [{"name": DECOY_MARK, "type": "PG_DATA"}]}},
        }  # fmt: skip
    if what == "credentials":
        doc_labels = tau_labels.credentials_labels("postgres-shop", "shop") if forged else {}
        name, data = secret_name, {"username": mark, "password": mark}
    else:
        doc_labels = {tau_labels.OBJECT_STORE_CREDENTIALS: "minio-postgres-backups"} if forged else {}
        name, data = "minio-postgres-backups", {"ACCESS_KEY_ID": mark, "ACCESS_SECRET_KEY": mark}
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": namespace, "labels": doc_labels}, "data": data,
    }  # fmt: skip
