"""Every PostgresInstance field, as whole outputs against reviewed golden files (tests/golden/instance/).

Each case is an instance claim (and the databases that live on it: the CNPG Databases on
its cluster, the `postgres-databases-on-cluster` required resource), converged to steady
state in-process; the golden file holds every composed resource, the composite's status
and its conditions. Every composed manifest is validated against its upstream schema.
UPDATE_GOLDEN=1 rewrites the files; review the diff like code.
"""

from __future__ import annotations

import pytest

from function import keys
from tests.support import function as f
from tests.support import golden, schemas
from tests.support.data import OBJECT_STORE_INPUT
from tests.support.data import S3_SECRET as S3
from tests.support.function import Case
from tests.support.paths import GOLDEN

NAMESPACE = "apps"
CLUSTER = "postgres-shared"


def on_cluster(database: str, owner: str, claim: str, cluster: str = CLUSTER) -> dict:
    """A CNPG Database as a PostgresDatabase on the instance composed it (and the cluster holds it)."""
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Database",
        "metadata": {
            "name": f"{cluster}-{database.replace('_', '-')}",
            "namespace": NAMESPACE,
            "labels": {
                "app.kubernetes.io/component": "database",
                "app.kubernetes.io/instance": cluster,
                "app.kubernetes.io/managed-by": "function-tau",
                "app.kubernetes.io/name": "postgresql",
                "app.kubernetes.io/part-of": claim,
            },
        },
        "spec": {"cluster": {"name": cluster}, "name": database, "owner": owner, "ensure": "present"},
    }


WIKI = on_cluster("wiki", "wiki_user", "wiki")
RECIPES = on_cluster("recipes", "cook", "recipes")
NONE = {keys.DATABASES_ON_CLUSTER: []}
TWO = {keys.DATABASES_ON_CLUSTER: [WIKI, RECIPES]}

SNAPSHOT_BACKUP = {
    "apiVersion": "postgresql.cnpg.io/v1",
    "kind": "Backup",
    "metadata": {"name": "nightly", "namespace": NAMESPACE},
    "spec": {"cluster": {"name": "postgres-shared-old"}, "method": "volumeSnapshot"},
    "status": {"phase": "completed", "snapshotBackupStatus": {"elements": [{"type": "PG_DATA"}]}},
}
PLUGIN_BACKUP = {
    "apiVersion": "postgresql.cnpg.io/v1",
    "kind": "Backup",
    "metadata": {"name": "nightly", "namespace": NAMESPACE},
    "spec": {
        "cluster": {"name": "postgres-shared-old"},
        "method": "plugin",
        "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"},
    },
    "status": {"phase": "completed", "backupId": "20261126T030002", "stoppedAt": "2026-11-26T03:04:10Z"},
}


def _case(name: str, spec: dict, required: dict | None = None, **kwargs) -> Case:
    return Case(name, spec, claim_name="shared", namespace=NAMESPACE, required=required or NONE, **kwargs)


CASES = [
    _case("defaults", {}),
    _case("instance-name-version-and-replicas", {"instance": {"name": "pg-main", "version": 17, "instances": 3}}),
    _case("pooler-defaults", {"pooler": {}}),
    _case(
        "pooler-session-with-sizes",
        {"pooler": {"mode": "session", "instances": 2, "defaultPoolSize": 50, "maxClientConnections": 500}},
    ),
    _case(
        "backup-object-store",
        {"backup": {"method": "objectStore", "retentionDays": 14}},
        {**NONE, "postgres-object-store-admin-credentials": [S3]},
        function_input=OBJECT_STORE_INPUT,
    ),
    _case("backup-none", {"backup": {"method": "none"}}),
    _case(
        "restore-from-a-backup",
        {"restore": {"backupName": "nightly"}},
        {**NONE, keys.RESTORE_BACKUP: [SNAPSHOT_BACKUP]},
    ),
    _case(
        "restore-point-in-time",
        {
            "backup": {"method": "objectStore"},
            "restore": {"backupName": "nightly", "pointInTime": "2026-11-26T10:30:00Z"},
        },
        {**NONE, keys.RESTORE_BACKUP: [PLUGIN_BACKUP], "postgres-object-store-admin-credentials": [S3]},
        function_input=OBJECT_STORE_INPUT,
    ),
    _case("deletion-policy-delete", {"deletionPolicy": "Delete", "backup": {"deleteWithClaim": True}}),
    _case(
        "deletion-policy-delete-with-databases", {"deletionPolicy": "Delete", "backup": {"deleteWithClaim": True}}, TWO
    ),
    _case("databases-on-it", {"pooler": {}}, TWO),
    _case("one-database-on-it", {}, {keys.DATABASES_ON_CLUSTER: [WIKI]}),
]


def _steady(case: Case):
    return f.steady(f.composite("PostgresInstance", case.spec, name=case.claim_name, namespace=case.namespace), case)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_field(case: Case):
    rsp = _steady(case)
    for body in f.desired(rsp).values():
        schemas.validate_composed(body)
    golden.check_steady(
        GOLDEN / "instance" / f"{case.name}.yaml",
        rsp,
        f"# PostgresInstance {case.name}: {case.spec}\n",
    )


def _case_named(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def test_an_instance_has_no_database_of_its_own_and_cnpg_bootstraps_app():
    composed = f.manifests(_steady(_case_named("defaults")))
    assert keys.DATABASE not in composed and keys.CREDENTIALS not in composed
    assert not any(key.startswith("postgres-dump") for key in composed)
    assert composed[keys.CLUSTER]["spec"]["bootstrap"] == {"initdb": {"database": "app", "owner": "app"}}
    assert "pg_hba" not in composed[keys.CLUSTER]["spec"].get("postgresql", {})


def test_the_pooler_is_pgbouncer_in_front_of_the_primary_with_the_sizes_asked():
    rsp = _steady(_case_named("pooler-session-with-sizes"))
    pooler = f.manifests(rsp)[keys.POOLER]
    assert pooler["metadata"] == {**pooler["metadata"], "name": "postgres-shared-pooler", "namespace": NAMESPACE}
    assert pooler["spec"] == {
        "cluster": {"name": CLUSTER},
        "instances": 2,
        "type": "rw",
        "pgbouncer": {"poolMode": "session", "parameters": {"default_pool_size": "50", "max_client_conn": "500"}},
    }
    assert f.status(rsp)["poolerHost"] == "postgres-shared-pooler.apps.svc"
    assert f.status(rsp)["poolerMode"] == "session"
    assert keys.POOLER not in f.manifests(_steady(_case_named("defaults")))


def test_pg_hba_opens_each_listed_database_to_its_owner_only():
    rsp = _steady(_case_named("databases-on-it"))
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["postgresql"]["pg_hba"] == [
        'host "recipes" "cook" all scram-sha-256',
        'host "wiki" "wiki_user" all scram-sha-256',
        'host "recipes" all all reject',
        'host "wiki" all all reject',
    ]
    assert f.status(rsp)["databases"] == [
        {"name": "recipes", "owner": "cook", "claim": "recipes"},
        {"name": "wiki", "owner": "wiki_user", "claim": "wiki"},
    ]
    assert "with 2 databases on it" in f.conditions(rsp)["InstanceReady"].message


def _policies(rsp) -> dict[str, str]:
    return {key: body["spec"]["deletionPolicy"] for key, body in f.desired(rsp).items() if body["kind"] == "Object"}


def test_deletion_policy_delete_deletes_everything_while_no_database_lives_on_it():
    rsp = _steady(_case_named("deletion-policy-delete"))
    policies = _policies(rsp)
    assert keys.CLUSTER in policies and keys.PRUNE_CRON_JOB in policies
    assert set(policies.values()) == {"Delete"}, policies
    assert "held back" not in f.conditions(rsp)["InstanceReady"].message


def test_deletion_policy_delete_is_held_back_while_databases_live_on_it():
    rsp = _steady(_case_named("deletion-policy-delete-with-databases"))
    policies = _policies(rsp)
    assert keys.CLUSTER in policies and keys.PRUNE_CRON_JOB in policies
    assert set(policies.values()) == {"Orphan"}, policies
    assert "deletionPolicy Delete is held back" in f.conditions(rsp)["InstanceReady"].message


def test_the_last_database_gone_lets_deletion_policy_delete_apply_again():
    case = _case_named("deletion-policy-delete-with-databases")
    xr = f.composite("PostgresInstance", case.spec, name="shared", namespace=NAMESPACE)
    _, observed = f.converge(xr, required=TWO)
    again = f.run(f.request(xr, observed, NONE))
    assert f.fatal(again) is None
    assert set(_policies(again).values()) == {"Delete"}
    assert "pg_hba" not in f.manifests(again)[keys.CLUSTER]["spec"].get("postgresql", {})


def test_not_looked_up_keeps_the_pg_hba_and_the_hold_the_cluster_was_composed_with():
    case = _case_named("deletion-policy-delete-with-databases")
    xr = f.composite("PostgresInstance", case.spec, name="shared", namespace=NAMESPACE)
    held, observed = f.converge(xr, required=TWO)
    unanswered = f.run(f.request(xr, observed))  # the list requirement not answered this call
    assert f.fatal(unanswered) is None
    assert f.manifests(unanswered)[keys.CLUSTER] == f.manifests(held)[keys.CLUSTER]
    assert _policies(unanswered) == _policies(held)
    assert "databases" not in f.status(unanswered)


def test_the_instance_asks_for_the_databases_on_its_cluster_in_its_namespace():
    rsp = _steady(_case_named("defaults"))
    selector = rsp.requirements.resources[keys.DATABASES_ON_CLUSTER]
    assert (selector.api_version, selector.kind, selector.namespace) == ("postgresql.cnpg.io/v1", "Database", NAMESPACE)
    assert not selector.match_name
    assert dict(selector.match_labels.labels) == {
        "app.kubernetes.io/managed-by": "function-tau",
        "app.kubernetes.io/component": "database",
        "app.kubernetes.io/instance": CLUSTER,
    }
