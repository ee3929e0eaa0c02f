"""Every way a PostgresDatabase can be wrong, and the message that says so.

Each case: a spec (and sometimes the platform input or what exists already),
the field the fatal result must name, and words it must contain. A refused
claim gets no desired resources and a DatabaseReady=False/InvalidSpec condition.
The whole response of every case is compared with its golden file
(tests/golden/errors/postgres/), so any change to a message is a reviewed diff.
"""

from __future__ import annotations

import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from tests.support import function as f
from tests.support import golden
from tests.support.data import OBJECT_STORE_INPUT
from tests.support.dumps import KEY_ONLY_INPUT
from tests.support.function import Case
from tests.support.paths import APIS

CASES = [
    Case(
        "version too old",
        {"instance": {"version": 13}},
        "spec.instance.version",
        "13 is not valid: must be between 14 and 18",
    ),
    Case(
        "version too new",
        {"instance": {"version": 19}},
        "spec.instance.version",
        "19 is not valid: must be between 14 and 18",
    ),
    Case("version not a number", {"instance": {"version": "fifteen"}}, "spec.instance.version", "valid integer"),
    Case("five-field cron", {"backup": {"schedule": "0 3 * * *"}}, "spec.backup.schedule", "five fields"),
    Case(
        "five-field cron says the fix", {"backup": {"schedule": "0 3 * * *"}}, "spec.backup.schedule", "'0 0 3 * * *'"
    ),
    Case("seven-field cron", {"backup": {"schedule": "0 0 3 * * * 2026"}}, "spec.backup.schedule", "has 7 fields"),
    Case("cron hour out of range", {"backup": {"schedule": "0 0 25 * * *"}}, "spec.backup.schedule", "outside 0-23"),
    Case("cron word", {"backup": {"schedule": "0 0 3 * * funday"}}, "spec.backup.schedule", "day of week"),
    Case(
        "cron descriptor typo", {"backup": {"schedule": "@dialy"}}, "spec.backup.schedule", "not a schedule descriptor"
    ),
    Case("cron zero step", {"backup": {"schedule": "*/0 * * * * *"}}, "spec.backup.schedule", "invalid step"),
    Case("reserved database postgres", {"databaseName": "postgres"}, "spec.databaseName", "reserved"),
    Case("reserved database template1", {"databaseName": "template1"}, "spec.databaseName", "reserved"),
    Case("database with capitals", {"databaseName": "Shop"}, "spec.databaseName", "plain PostgreSQL identifier"),
    Case("database with a quote", {"databaseName": 'shop"; drop'}, "spec.databaseName", "plain PostgreSQL identifier"),
    Case("database too long", {"databaseName": "d" * 64}, "spec.databaseName", "63-byte limit"),
    Case("reserved role postgres", {"owner": "postgres"}, "spec.owner", "reserved"),
    Case("reserved role streaming_replica", {"owner": "streaming_replica"}, "spec.owner", "reserved"),
    Case("reserved role pg_", {"owner": "pg_monitor"}, "spec.owner", "'pg_'"),
    Case("reserved role cnpg_", {"owner": "cnpg_pooler"}, "spec.owner", "'cnpg_'"),
    Case("derived database invalid", {}, "spec.databaseName", "derived from the claim name", claim_name="9shop"),
    Case(
        "derived cluster name too long",
        {},
        "spec.instance.name",
        "at most 50",
        claim_name="a" * 45,
    ),
    Case(
        "derived owner too long",
        {"databaseName": "d" * 60},
        "spec.owner",
        "derived from the database name",
    ),
    Case("cluster name too long", {"instance": {"name": "p" * 51}}, "spec.instance.name", "at most 50"),
    Case("cluster name starts with digit", {"instance": {"name": "1pg"}}, "spec.instance.name", "DNS-1035"),
    Case(
        "cluster name too long for backup names",
        {"instance": {"name": "p" * 45}},
        "spec.instance.name",
        "'<cluster>-backup-<timestamp>'",
    ),
    Case(
        "extension smuggling SQL",
        {"extensions": ["uuid-ossp; DROP TABLE x"]},
        "spec.extensions[0]",
        "not an extension name",
    ),
    Case("extension with quote", {"extensions": ["pgcrypto", "x');--"]}, "spec.extensions[1]", "not an extension name"),
    Case("extension listed twice", {"extensions": ["pgcrypto", "pgcrypto"]}, "spec.extensions", "listed twice"),
    Case("too many extensions", {"extensions": [f"e{i}" for i in range(65)]}, "spec.extensions", "at most 64"),
    Case(
        "storage not a quantity",
        {"instance": {"storage": {"size": "10 GB"}}},
        "spec.instance.storage.size",
        "Kubernetes quantity",
    ),
    Case("storage zero", {"instance": {"storage": {"size": "0"}}}, "spec.instance.storage.size", "greater than zero"),
    Case(
        "storage negative",
        {"instance": {"storage": {"size": "-1Gi"}}},
        "spec.instance.storage.size",
        "greater than zero",
    ),
    Case(
        "storage class invalid",
        {"instance": {"storage": {"storageClass": "Fast_SSD"}}},
        "spec.instance.storage.storageClass",
        "not a valid Kubernetes name",
    ),
    Case(
        "request above limit",
        {"instance": {"resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}},
        "spec.instance.resources",
        "requests.cpu '2' is greater than limits.cpu '1'",
    ),
    Case(
        "memory below shared_buffers",
        {"instance": {"resources": {"requests": {"memory": "128Mi"}}, "parameters": {"shared_buffers": "256MB"}}},
        "spec.instance",
        "lower than parameters.shared_buffers",
    ),
    Case(
        "managed parameter",
        {"instance": {"parameters": {"port": "5433"}}},
        "spec.instance.parameters",
        "managed by CloudNativePG",
    ),
    Case(
        "parameter name with a space",
        {"instance": {"parameters": {"max connections": "1"}}},
        "spec.instance.parameters",
        "not a PostgreSQL parameter name",
    ),
    Case(
        "parameter value with newline",
        {"instance": {"parameters": {"work_mem": "4MB\nport = 1"}}},
        "spec.instance.parameters",
        "one line",
    ),
    Case(
        "parameter value not a string",
        {"instance": {"parameters": {"max_connections": 200}}},
        "spec.instance.parameters.max_connections",
        "valid string",
    ),
    Case(
        "wal_level minimal",
        {"instance": {"parameters": {"wal_level": "minimal"}}},
        "spec.instance.parameters",
        "'replica' or 'logical'",
    ),
    Case("instances zero", {"instance": {"instances": 0}}, "spec.instance.instances", "must be between 1 and 10"),
    Case("instances eleven", {"instance": {"instances": 11}}, "spec.instance.instances", "must be between 1 and 10"),
    Case("retention zero", {"backup": {"retentionDays": 0}}, "spec.backup.retentionDays", "must be between 1 and 3650"),
    Case(
        "unknown backup method",
        {"backup": {"method": "pg_dump"}},
        "spec.backup.method",
        "'volumeSnapshot', 'objectStore' or 'none'",
    ),
    Case(
        "object store not configured",
        {"backup": {"method": "objectStore"}},
        "spec.backup.method",
        "ask your platform admin",
    ),
    Case(
        "credentials secret invalid",
        {"credentialsSecretName": "Bad_Name"},
        "spec.credentialsSecretName",
        "not a valid Kubernetes name",
    ),
    Case("another namespace", {"namespace": "kube-system"}, "spec.namespace", "always go to its own namespace"),
    Case("deletion policy unknown", {"deletionPolicy": "Orphan"}, "spec.deletionPolicy", "'Retain' or 'Delete'"),
    # restore.dump (issue #9) made backupName one of two sources.
    Case("restore without backup name", {"restore": {}}, "spec.restore", "exactly one of backupName and dump"),
    Case(
        "restore from a backup and a dump",
        {"restore": {"backupName": "b", "dump": {"file": "latest", "privateKeySecret": "k"}}},
        "spec.restore",
        "exactly one of backupName and dump",
    ),
    Case(
        "restore a dump to a point in time",
        {"restore": {"pointInTime": "2026-11-26T10:30:00Z", "dump": {"file": "latest", "privateKeySecret": "k"}}},
        "spec.restore",
        "a dump has no point in time",
    ),
    Case(
        "restore a file that is not a dump",
        {"restore": {"dump": {"file": "../../etc/passwd", "privateKeySecret": "k"}}},
        "spec.restore.dump.file",
        "should match pattern",
    ),
    Case(
        "restore a dump without a key",
        {"restore": {"dump": {"file": "latest"}}},
        "spec.restore.dump.privateKeySecret",
        "is required",
    ),
    Case(
        "restore time not RFC 3339",
        {"restore": {"backupName": "b", "pointInTime": "yesterday"}},
        "spec.restore.pointInTime",
        "RFC 3339",
    ),
    Case(
        "restore time without zone",
        {"restore": {"backupName": "b", "pointInTime": "2026-11-26T10:30:00"}},
        "spec.restore.pointInTime",
        "with a time zone",
    ),
    Case(
        "extension the image does not ship",
        {"extensions": ["pgcrypto", "postgis"]},
        "spec.extensions[1]",
        "'postgis' is not shipped by the image ghcr.io/cloudnative-pg/postgresql:15-standard-trixie",
    ),
    Case("extension of a later major", {"extensions": ["pg_logicalinspect"]}, "spec.extensions[0]", "vector"),
    Case("postgresql 14 for a new cluster", {"instance": {"version": 14}}, "spec.instance.version", "end of life"),
    Case(
        "postgresql 14 as the platform default",
        {},
        "spec.instance.version",
        "14 (the platform's default version) reached end of life on 2026-11-12",
        function_input={
            "apiVersion": "fn.tau.home.arpa/v1alpha1",
            "kind": "PlatformDefaults",
            "postgres": {"version": 14},
        },
    ),
    Case(
        "backups deleted with a retained claim",
        {"backup": {"deleteWithClaim": True}},
        "spec.backup.deleteWithClaim",
        "needs deletionPolicy: Delete",
    ),
    Case(
        "shared_buffers over the platform's memory request",
        {"instance": {"parameters": {"shared_buffers": "1GB"}}},
        "spec.instance.resources",
        "platform's default memory request '512Mi'",
    ),
    Case(
        "extension not allowed",
        {"extensions": ["plpython3u"]},
        "spec.extensions[0]",
        "not allowed on this platform",
        function_input={
            "apiVersion": "fn.tau.home.arpa/v1alpha1",
            "kind": "PlatformDefaults",
            "postgres": {"allowedExtensions": ["pgcrypto", "uuid-ossp"]},
        },
    ),
    Case(
        "bad platform input",
        {},
        "input.postgres.version",
        "must be between 14 and 18",
        function_input={
            "apiVersion": "fn.tau.home.arpa/v1alpha1",
            "kind": "PlatformDefaults",
            "postgres": {"version": 9},
        },
    ),
    Case("several problems at once", {"databaseName": "postgres", "owner": "postgres"}, "spec.owner", "reserved"),
    # Issue 9: logical dumps.
    Case("dumps without a public key", {"backup": {"dump": {"enabled": True}}}, "spec.backup.dump.enabled", "gpg"),
    Case(
        "dump schedule with five fields",
        {"backup": {"dump": {"enabled": True, "schedule": "30 2 * * *"}}},
        "spec.backup.dump.schedule",
        "five fields",
        function_input=KEY_ONLY_INPUT,
    ),
    Case(
        "dump schedule with seconds",
        {"backup": {"dump": {"enabled": True, "schedule": "15 30 2 * * *"}}},
        "spec.backup.dump.schedule",
        "seconds field must be 0",
        function_input=KEY_ONLY_INPUT,
    ),
    Case(
        "dumps on a backup schedule with seconds",
        {"backup": {"schedule": "30 0 3 * * *", "dump": {"enabled": True}}},
        "spec.backup.dump.schedule",
        "unless backup.dump.schedule is set",
        function_input=KEY_ONLY_INPUT,
    ),
    Case(
        "dump schedule every",
        {"backup": {"dump": {"enabled": True, "schedule": "@every 1h"}}},
        "spec.backup.dump.schedule",
        "no '@every'",
        function_input=KEY_ONLY_INPUT,
    ),
    Case(
        "dumps with a private key in the platform input",
        {},
        "input.dumps.publicKey",
        "never a private key",
        function_input={
            "apiVersion": "fn.tau.home.arpa/v1alpha1",
            "kind": "PlatformDefaults",
            "dumps": {"publicKey": "-----BEGIN PGP PRIVATE KEY BLOCK-----\n..."},
        },
    ),
    Case(
        "dumps on by default without a key",
        {},
        "input.dumps",
        "needs publicKey",
        function_input={
            "apiVersion": "fn.tau.home.arpa/v1alpha1",
            "kind": "PlatformDefaults",
            "dumps": {"enabled": True},
        },
    ),
    Case(
        "dump cron job name too long",
        {"instance": {"name": "p" * 48}, "backup": {"method": "none", "dump": {"enabled": True}}},
        "spec.instance.name",
        "52 characters",
        function_input=KEY_ONLY_INPUT,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_invalid_spec_is_refused_with_a_message_naming_the_field(case: Case):
    xr = f.composite("PostgresDatabase", case.spec, name=case.claim_name)
    rsp = f.run(f.request(xr, function_input=case.function_input))
    message = f.fatal(rsp)
    assert message is not None, "expected a fatal result"
    assert f"{case.field}:" in message, message
    assert case.says in message, message
    assert not rsp.desired.resources, "a refused claim must not produce desired resources"
    condition = f.conditions(rsp)["DatabaseReady"]
    assert condition.status == fnv1.STATUS_CONDITION_FALSE
    assert condition.reason == "InvalidSpec"
    assert rsp.results[0].target == fnv1.TARGET_COMPOSITE_AND_CLAIM
    # A warning, then the fatal result: Crossplane makes events only of the results before a fatal one,
    # so the warning is what puts the refusal on the claim (issue #16).
    assert [(r.severity, r.message) for r in rsp.results] == [
        (fnv1.SEVERITY_WARNING, message),
        (fnv1.SEVERITY_FATAL, message),
    ]
    golden.check_refusal("PostgresDatabase", case.name, rsp)


def test_every_problem_is_reported_at_once():
    xr = f.composite(
        "PostgresDatabase", {"databaseName": "postgres", "instance": {"version": 9}, "extensions": ["a b"]}
    )
    message = f.fatal(f.run(f.request(xr)))
    assert "spec.databaseName:" in message
    assert "spec.instance.version:" in message
    assert "spec.extensions[0]:" in message


def test_object_store_with_platform_config_is_accepted():
    xr = f.composite("PostgresDatabase", {"backup": {"method": "objectStore"}})
    assert f.fatal(f.run(f.request(xr, function_input=OBJECT_STORE_INPUT))) is None


def test_a_huge_value_is_not_echoed_in_full():
    xr = f.composite("PostgresDatabase", {"databaseName": "x" * 100_000})
    message = f.fatal(f.run(f.request(xr)))
    assert "spec.databaseName:" in message
    assert len(message) < 1000


# Rules about what exists already: a converged `shop`, then a changed spec.


def _existing(spec: dict) -> list[dict]:
    """A converged `shop`. On PostgreSQL 14, which new clusters may no longer use: converged on 15, then the
    Cluster's image rewritten to 14, as a cluster created before 14's end of life would be."""
    version = (spec.get("instance") or {}).get("version")
    if version != 14:
        _, observed = f.converge(f.composite("PostgresDatabase", spec))
        return observed
    _, observed = f.converge(f.composite("PostgresDatabase", {**spec, "instance": {**spec["instance"], "version": 15}}))
    for doc in observed:
        manifest = doc["spec"]["forProvider"].get("manifest", {}) if doc.get("kind") == "Object" else {}
        if manifest.get("kind") == "Cluster":
            manifest["spec"]["imageName"] = manifest["spec"]["imageName"].replace(":15-", ":14-")
    return observed


EXISTING_CASES = [
    ("rename cluster", {}, {"instance": {"name": "pg-shop"}}, "spec.instance.name", "cannot change"),
    ("rename database", {}, {"databaseName": "store"}, "spec.databaseName", "cannot change"),
    ("rename owner", {}, {"owner": "store_user"}, "spec.owner", "cannot change"),
    ("rename secret", {}, {"credentialsSecretName": "shop-db"}, "spec.credentialsSecretName", "cannot change"),
    (
        "shrink storage",
        {"instance": {"storage": {"size": "20Gi"}}},
        {"instance": {"storage": {"size": "10Gi"}}},
        "spec.instance.storage.size",
        "cannot shrink",
    ),
    (
        "shrink wal",
        {"instance": {"walStorage": {"size": "5Gi"}}},
        {"instance": {"walStorage": {"size": "2Gi"}}},
        "spec.instance.walStorage.size",
        "cannot shrink",
    ),
    (
        "downgrade",
        {"instance": {"version": 16}},
        {"instance": {"version": 15}},
        "spec.instance.version",
        "cannot be downgraded",
    ),
    (
        "upgrade to 15",
        {"instance": {"version": 14}},
        {"instance": {"version": 15}},
        "spec.instance.version",
        "16 or later",
    ),
]


@pytest.mark.parametrize(
    ("name", "before", "after", "field", "says"), EXISTING_CASES, ids=[c[0] for c in EXISTING_CASES]
)
def test_changes_an_existing_cluster_cannot_take_are_refused(name, before, after, field, says):
    observed = _existing(before)
    rsp = f.run(f.request(f.composite("PostgresDatabase", after), observed))
    message = f.fatal(rsp)
    assert message is not None and f"{field}:" in message and says in message, message
    golden.check_refusal("PostgresDatabase", f"existing {name}", rsp)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({"instance": {"storage": {"size": "10Gi"}}}, {"instance": {"storage": {"size": "20Gi"}}}),
        ({"instance": {"version": 15}}, {"instance": {"version": 17}}),
        ({}, {"instance": {"walStorage": {"size": "2Gi"}}}),
    ],
    ids=["grow storage", "upgrade 15 to 17", "add wal"],
)
def test_changes_an_existing_cluster_can_take_are_accepted(before, after):
    rsp = f.run(f.request(f.composite("PostgresDatabase", after), _existing(before)))
    assert f.fatal(rsp) is None


def test_a_refusal_shows_in_kubectl_get():
    """Crossplane leaves a refused claim SYNCED True READY True; the STATE column shows DatabaseReady's reason."""
    definition = yaml.safe_load((APIS / "postgresdatabase" / "definition.yaml").read_text())
    columns = {c["name"]: c["jsonPath"] for c in definition["spec"]["versions"][0]["additionalPrinterColumns"]}
    assert columns["STATE"] == ".status.conditions[?(@.type=='DatabaseReady')].reason"
    assert next(iter(columns)) == "STATE"  # first of ours, next to the name
    rsp = f.run(f.request(f.composite("PostgresDatabase", {"instance": {"version": 9}})))
    assert f.conditions(rsp)["DatabaseReady"].reason == "InvalidSpec"


def test_fields_left_out_keep_what_the_existing_cluster_has():
    """Platform defaults apply when a cluster is created; afterwards a field left out keeps the cluster's value
    (issue #16: what makes adopting a running cluster with `spec: {}` safe, on every later reconcile too)."""
    before = {"instance": {"instances": 3, "storage": {"size": "20Gi"}, "walStorage": {"size": "5Gi"}, "version": 17}}
    rsp = f.run(f.request(f.composite("PostgresDatabase", {}), _existing(before)))
    assert f.fatal(rsp) is None, f.fatal(rsp)
    spec = f.manifests(rsp)["postgres-cluster"]["spec"]
    assert (spec["instances"], spec["storage"]["size"], spec["walStorage"]["size"]) == (3, "20Gi", "5Gi")
    assert spec["imageName"].endswith(":17-standard-trixie")
