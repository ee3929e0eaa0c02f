"""Databases on a PostgresInstance (`instanceRef`): whole outputs, waiting for the instance, and every refusal.

Outputs: each case is a PostgresDatabase (or a TauApplication's database) on an instance,
converged with the instance's composite and the CNPG Databases already on its cluster as
required resources; the golden file (tests/golden/instance/databases/) holds every composed
resource, the status and the conditions. Refusals: the field the fatal result names and
words of its message, and the whole response against tests/golden/instance/refusals/.
UPDATE_GOLDEN=1 rewrites the files; review the diff like code.
"""

from __future__ import annotations

import base64
import dataclasses

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys, simulate
from tests.support import function as f
from tests.support import golden, schemas
from tests.support.dumps import KEY_ONLY_INPUT
from tests.support.function import Case
from tests.support.paths import GOLDEN

NAMESPACE = "apps"


def instance(name: str = "shared", spec: dict | None = None, cluster: str | None = None, **status) -> dict:
    """The instance's composite as Crossplane holds it (what the `postgres-instance` requirement finds)."""
    xr = f.composite("PostgresInstance", spec or {}, name=name, namespace=NAMESPACE)
    xr["status"] = {
        "cluster": cluster or f"postgres-{name}",
        "version": 17,
        "phase": "Cluster in healthy state",
        **status,
    }
    return xr


def on_cluster(database: str, owner: str, claim: str, cluster: str = "postgres-shared") -> dict:
    """A CNPG Database another claim composed on the cluster (as the cluster holds it)."""
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


PLAIN = instance()
POOLED = instance(spec={"pooler": {"mode": "transaction"}})
RECIPES = on_cluster("recipes", "cook", "recipes")


def _required(found: dict = PLAIN, *others: dict) -> dict:
    return {keys.INSTANCE: [found], keys.DATABASES_ON_CLUSTER: list(others)}


def _case(name: str, spec: dict, required: dict | None = None, claim: str = "wiki", **kwargs) -> Case:
    return Case(
        name, {"instanceRef": {"name": "shared"}, **spec}, claim_name=claim, namespace=NAMESPACE,
        required=_required() if required is None else required, **kwargs,
    )  # fmt: skip


CASES = [
    _case("defaults", {}),
    _case("with-another-database-on-it", {}, _required(PLAIN, RECIPES)),
    _case("on-a-pooler", {}, _required(POOLED)),
    _case("database-and-owner", {"databaseName": "my_wiki", "owner": "wiki_owner"}, _required(POOLED)),
    _case("deletion-policy-delete", {"deletionPolicy": "Delete"}),
    _case("extensions", {"extensions": ["pg_trgm", "pgcrypto"]}),
    _case("credentials-secret-name", {"credentialsSecretName": "wiki-db"}),
    _case("instance-named-cluster", {}, _required(instance(spec={"instance": {"name": "pg-main"}}, cluster="pg-main"))),
    _case(
        "dumps",
        {"databaseName": "my_wiki", "backup": {"dump": {"enabled": True, "schedule": "0 30 2 * * *"}}},
        function_input=KEY_ONLY_INPUT,
    ),
    _case(
        "restore-dump",
        {"databaseName": "my_wiki", "restore": {"dump": {"file": "latest", "privateKeySecret": "wiki-backup-key"}}},
        claim="wiki-restored",
    ),
    _case("instance-ref-namespace-own", {"instanceRef": {"name": "shared", "namespace": NAMESPACE}}),
]


def _xr(case: Case, kind: str = "PostgresDatabase") -> dict:
    return f.composite(kind, case.spec, name=case.claim_name, namespace=case.namespace)


def _case_named(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def _values(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_database_on_an_instance(case: Case):
    rsp = f.steady(_xr(case), case)
    for body in f.desired(rsp).values():
        schemas.validate_composed(body)
    assert keys.CLUSTER not in f.desired(rsp)
    golden.check_steady(
        GOLDEN / "instance" / "databases" / f"{case.name}.yaml",
        rsp,
        f"# PostgresDatabase {case.claim_name} on PostgresInstance shared ({case.name}): {case.spec}\n",
    )


NAMES = [
    # case, Database (and dump stem), DatabaseRole, PostgreSQL database, owner
    ("defaults", "postgres-shared-wiki", "postgres-shared-wiki-user", "wiki", "wiki_user"),
    ("database-and-owner", "postgres-shared-my-wiki", "postgres-shared-wiki-owner", "my_wiki", "wiki_owner"),
    ("instance-named-cluster", "pg-main-wiki", "pg-main-wiki-user", "wiki", "wiki_user"),
]


@pytest.mark.parametrize(("case", "database", "role", "pg_database", "pg_owner"), NAMES)
def test_the_database_and_role_are_named_after_the_cluster_and_the_postgresql_names(
    case, database, role, pg_database, pg_owner
):
    composed = f.manifests(f.steady(_xr(_case_named(case)), _case_named(case)))
    cluster = database.rsplit("-" + pg_database.replace("_", "-"), 1)[0]
    assert composed[keys.DATABASE]["metadata"]["name"] == database
    assert composed[keys.DATABASE]["spec"] | {"cluster": {"name": cluster}} == composed[keys.DATABASE]["spec"]
    assert (composed[keys.DATABASE]["spec"]["name"], composed[keys.DATABASE]["spec"]["owner"]) == (
        pg_database,
        pg_owner,
    )
    assert composed[keys.DATABASE_ROLE]["metadata"]["name"] == role
    assert composed[keys.DATABASE_ROLE]["spec"]["name"] == pg_owner
    assert composed[keys.DATABASE_ROLE]["spec"]["login"] is True
    secret = composed[keys.CREDENTIALS]["metadata"]["name"]
    assert composed[keys.DATABASE_ROLE]["spec"]["passwordSecret"] == {"name": secret}


@pytest.mark.parametrize(("policy", "reclaim"), [(None, "retain"), ("Retain", "retain"), ("Delete", "delete")])
def test_reclaim_policies_follow_deletion_policy(policy, reclaim):
    spec = {} if policy is None else {"deletionPolicy": policy}
    case = _case("policy", spec)
    composed = f.manifests(f.steady(_xr(case), case))
    assert composed[keys.DATABASE]["spec"]["databaseReclaimPolicy"] == reclaim
    assert composed[keys.DATABASE_ROLE]["spec"]["databaseRoleReclaimPolicy"] == reclaim


SIX = {"DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"}
POOLER_KEYS = {"DATABASE_POOLER_URL", "DB_POOLER_HOST"}


@pytest.mark.parametrize(("found", "pooled"), [(PLAIN, False), (POOLED, True)])
def test_the_secret_has_the_pooler_keys_only_with_a_pooler(found, pooled):
    case = _case("secret", {"databaseName": "my_wiki"}, _required(found))
    values = _values(f.manifests(f.steady(_xr(case), case))[keys.CREDENTIALS])
    assert set(values) >= SIX
    assert values["DB_HOST"] == "postgres-shared-rw.apps.svc"
    assert values["DATABASE_URL"] == (
        f"postgresql://my_wiki_user:{values['password']}@postgres-shared-rw.apps.svc:5432/my_wiki?sslmode=require"
    )
    assert POOLER_KEYS & set(values) == (POOLER_KEYS if pooled else set())
    if pooled:
        assert values["DB_POOLER_HOST"] == "postgres-shared-pooler.apps.svc"
        assert values["DATABASE_POOLER_URL"] == (
            f"postgresql://my_wiki_user:{values['password']}@postgres-shared-pooler.apps.svc:5432/my_wiki"
            "?sslmode=require"
        )


def test_dumps_are_named_after_the_database_on_the_cluster():
    case = _case_named("dumps")
    composed = f.manifests(f.steady(_xr(case), case))
    stem = "postgres-shared-my-wiki"
    assert composed[keys.DUMP_CRON_JOB]["metadata"]["name"] == f"{stem}-dump"
    assert composed[keys.DUMP_VOLUME]["metadata"]["name"] == f"{stem}-dumps"
    restored = _case_named("restore-dump")
    rsp = f.steady(_xr(restored), restored)
    assert f.manifests(rsp)[keys.DUMP_RESTORE_JOB]["metadata"]["name"] == f"{stem}-dump-restore"


@pytest.mark.parametrize(
    ("source", "volume", "folder"),
    [
        ({}, "postgres-shared-my-wiki-dumps", "postgres-shared"),  # its own dumps, on the instance
        ({"cluster": "postgres-shop"}, "postgres-shop-dumps", "postgres-shop"),  # from a cluster of its own
        ({"cluster": "postgres-old", "onInstance": "wiki"}, "postgres-old-wiki-dumps", "postgres-old"),  # instance
    ],
    ids=["own", "from-own-cluster", "from-another-instance"],
)
def test_the_restore_job_reads_the_dump_volume_and_folder_of_its_source(source, volume, folder):
    case = _case_named("restore-dump")
    dump = {"file": "latest", "privateKeySecret": "wiki-backup-key", **source}
    spec = {"databaseName": "my_wiki", "restore": {"dump": dump}}
    moved = dataclasses.replace(case, spec={**case.spec, **spec})
    job = f.manifests(f.steady(_xr(moved), moved))[keys.DUMP_RESTORE_JOB]
    pod = job["spec"]["template"]["spec"]
    claims = [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v]
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    assert (claims, env["RESTORE_CLUSTER"]) == ([volume], folder)


def test_the_restore_job_comes_with_the_database():
    case = _case_named("restore-dump")
    first = f.run(f.request(_xr(case), required=case.required))
    assert f.fatal(first) is None
    assert {keys.DATABASE, keys.DUMP_RESTORE_JOB} <= set(f.desired(first))


def test_status_comes_from_the_instance_composite():
    found = instance(spec={"pooler": {}}, instances=2, readyInstances=1, phase="Switchover in progress")
    case = _case("status", {}, _required(found))
    rsp, _ = f.converge(_xr(case), required=case.required)
    status = f.status(rsp)
    assert status["instance"] == "shared"
    assert status["cluster"] == "postgres-shared"
    assert status["poolerHost"] == "postgres-shared-pooler.apps.svc"
    assert status["phase"] == "Switchover in progress"
    assert status["instances"] == 2 and status["readyInstances"] == 1


# --- the instance not there yet -----------------------------------------------------------


@pytest.mark.parametrize("answer", [[], None], ids=["not-found", "not-looked-up"])
def test_a_database_waits_for_a_missing_instance_and_composes_nothing(answer):
    xr = _xr(_case("waiting", {}))
    required = None if answer is None else {keys.INSTANCE: answer}
    rsp = f.run(f.request(xr, required=required))
    assert f.fatal(rsp) is None
    assert not rsp.desired.resources
    assert f.status(rsp) == {"instance": "shared", "secretName": "wiki-postgres-credentials", "phase": "Waiting"}
    ready = f.conditions(rsp)["DatabaseReady"]
    assert ready.status == fnv1.STATUS_CONDITION_FALSE
    assert "PostgresInstance shared" in ready.message
    if answer == []:
        assert "not found" in ready.message and "namespace apps" in ready.message
    assert rsp.desired.composite.ready != fnv1.READY_TRUE
    assert keys.INSTANCE in rsp.requirements.resources


def test_a_waiting_database_goes_on_once_the_instance_exists():
    xr = _xr(_case("waiting", {}))
    waiting = f.run(f.request(xr, required={keys.INSTANCE: []}))
    assert not waiting.desired.resources
    rsp, _ = f.converge(xr, required=_required())
    assert {keys.CREDENTIALS, keys.DATABASE_ROLE, keys.DATABASE} <= set(f.desired(rsp))


def test_an_instance_of_another_namespace_is_not_found():
    xr = _xr(_case("waiting", {}))
    elsewhere = f.composite("PostgresInstance", {}, name="shared", namespace="other")
    assert not f.run(f.request(xr, required={keys.INSTANCE: [elsewhere]})).desired.resources


def _selector(rsp) -> fnv1.ResourceSelector:
    return rsp.requirements.resources[keys.INSTANCE]


def test_a_claims_composite_asks_for_the_instances_composite_by_its_claim_labels():
    selector = _selector(f.run(f.request(_xr(_case("ask", {})))))
    assert (selector.api_version, selector.kind, selector.match_name) == (
        "tau.home.arpa/v1alpha1",
        "XPostgresInstance",
        "",
    )
    assert dict(selector.match_labels.labels) == {
        "crossplane.io/claim-name": "shared",
        "crossplane.io/claim-namespace": NAMESPACE,
    }
    # And the simulator (as Crossplane) finds the instance's composite with it.
    assert simulate.matches(PLAIN, selector)
    assert not simulate.matches(instance(name="other"), selector)


def test_a_direct_composite_asks_for_the_instances_composite_by_name():
    xr = {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": "XPostgresDatabase",
        "metadata": {"name": "wiki"},
        "spec": {"instanceRef": {"name": "shared-x1"}, "namespace": NAMESPACE},
    }
    selector = _selector(f.run(f.request(xr)))
    assert (selector.kind, selector.match_name) == ("XPostgresInstance", "shared-x1")


# --- a TauApplication's database on an instance ------------------------------------------


def _application(found: dict) -> tuple[dict, fnv1.RunFunctionResponse]:
    spec = {"image": "ghcr.io/example/tasks:1.4.0", "port": 8080, "database": {"enabled": True, "instanceRef": {"name": "shared"}}}  # fmt: skip
    xr = f.composite("TauApplication", spec, name="tasks", namespace=NAMESPACE)
    rsp, _ = f.converge(xr, required=_required(found))
    assert f.fatal(rsp) is None, f.fatal(rsp)
    return xr, rsp


def _env(rsp) -> list[dict]:
    deployment = next(m for m in f.manifests(rsp).values() if m.get("kind") == "Deployment")
    return deployment["spec"]["template"]["spec"]["containers"][0]["env"]


def test_an_application_on_a_pooler_gets_database_pooler_url_after_the_six():
    _, rsp = _application(POOLED)
    env = _env(rsp)
    names = [e["name"] for e in env]
    assert names[:7] == [
        "DATABASE_URL",
        "DB_HOST",
        "DB_PORT",
        "DB_NAME",
        "DB_USER",
        "DB_PASSWORD",
        "DATABASE_POOLER_URL",
    ]
    pooler = env[6]["valueFrom"]["secretKeyRef"]
    assert pooler == {"name": "tasks-postgres-credentials", "key": "DATABASE_POOLER_URL", "optional": True}
    assert all("optional" not in e["valueFrom"]["secretKeyRef"] for e in env[:6])
    golden.check_steady(
        GOLDEN / "instance" / "databases" / "application-on-a-pooler.yaml",
        rsp,
        "# TauApplication tasks, its database on PostgresInstance shared (with a pooler)\n",
    )


def test_an_application_on_an_instance_without_a_pooler_gets_the_six_only():
    _, rsp = _application(PLAIN)
    assert "DATABASE_POOLER_URL" not in [e["name"] for e in _env(rsp)]
    assert keys.CLUSTER not in f.desired(rsp)


# --- refusals -------------------------------------------------------------------------------


def _moved_from_own_cluster() -> list[dict]:
    _, observed = f.converge(f.composite("PostgresDatabase", {}, name="wiki", namespace=NAMESPACE))
    return observed


def _pinned_on_shared() -> list[dict]:
    case = _case_named("defaults")
    _, observed = f.converge(_xr(case), required=case.required)
    return observed


OTHER = instance(name="other")

REFUSALS = [
    _case(
        "another namespace",
        {"instanceRef": {"name": "shared", "namespace": "other"}},
        field="spec.instanceRef.namespace",
        says="is not the database's namespace 'apps'",
    ),
    _case("instance set", {"instance": {"version": 17}}, field="spec.instance", says="belongs to PostgresInstance"),
    _case(
        "physical backup fields",
        {"backup": {"schedule": "0 0 1 * * *", "retentionDays": 3}},
        field="spec.backup",
        says="schedule, retentionDays: the scheduled backups belong to PostgresInstance",
    ),
    _case(
        "restore from a backup",
        {"restore": {"backupName": "nightly"}},
        field="spec.restore.backupName",
        says="restores the whole instance",
    ),
    _case("database app", {"databaseName": "app"}, field="spec.databaseName", says="CloudNativePG bootstraps"),
    _case("owner app", {"owner": "app"}, field="spec.owner", says="CloudNativePG bootstraps"),
    _case("database ending with underscore", {"databaseName": "wiki_"}, field="spec.databaseName", says="'-'"),
    _case("owner ending with underscore", {"owner": "wiki_"}, field="spec.owner", says="'-'"),
    _case(
        "database taken",
        {"databaseName": "recipes", "owner": "wiki_user"},
        _required(PLAIN, RECIPES),
        field="spec.databaseName",
        says="database 'recipes' on PostgresInstance 'shared' (cluster 'postgres-shared') is already taken by recipes",
    ),
    _case(
        "owner taken",
        {"owner": "cook"},
        _required(PLAIN, RECIPES),
        field="spec.owner",
        says="role 'cook' on PostgresInstance 'shared' (cluster 'postgres-shared') already owns a database of recipes",
    ),
    _case("extension not allowed", {"extensions": ["postgis"]}, field="spec.extensions[0]", says="postgis"),
]


def _check_refusal(rsp, case: Case, field: str, says: str, condition_type: str = "DatabaseReady") -> str:
    message = f.fatal(rsp)
    assert message is not None, "expected a fatal result"
    assert f"{field}:" in message, message
    assert says in message, message
    assert not rsp.desired.resources, "a refused claim must not produce desired resources"
    condition = f.conditions(rsp)[condition_type]
    assert (condition.status, condition.reason) == (fnv1.STATUS_CONDITION_FALSE, "InvalidSpec")
    golden.check(
        GOLDEN / "instance" / "refusals" / f"{golden.slug(case.name)}.yaml",
        [golden.response(rsp)],
        f"# PostgresDatabase on an instance refused ({case.name}): the whole RunFunctionResponse.\n",
    )
    return message


@pytest.mark.parametrize("case", REFUSALS, ids=[c.name for c in REFUSALS])
def test_refused(case: Case):
    rsp = f.run(f.request(_xr(case), required=case.required))
    _check_refusal(rsp, case, case.field, case.says)


@pytest.mark.parametrize(
    "case",
    [c for c in REFUSALS if c.field in ("spec.instanceRef.namespace", "spec.instance", "spec.backup")],
    ids=lambda c: c.name,
)
def test_refused_before_the_instance_is_found(case: Case):
    rsp = f.run(f.request(_xr(case), required={keys.INSTANCE: []}))
    message = f.fatal(rsp)
    assert message is not None and f"{case.field}:" in message and case.says in message, message
    assert not rsp.desired.resources


def test_a_database_of_its_own_cluster_cannot_move_onto_an_instance():
    case = _case("own cluster onto an instance", {})
    rsp = f.run(f.request(_xr(case), _moved_from_own_cluster(), case.required))
    _check_refusal(rsp, case, "spec.instanceRef", "cannot move onto an instance by a field")


def test_a_database_cannot_move_between_instances():
    case = _case("between instances", {"instanceRef": {"name": "other"}}, _required(OTHER))
    rsp = f.run(f.request(_xr(case), _pinned_on_shared(), case.required))
    _check_refusal(
        rsp, case, "spec.instanceRef.name", "the database lives on cluster 'postgres-shared'; PostgresInstance 'other'"
    )


def test_a_pinned_database_stays_when_its_instance_is_gone():
    case = _case_named("defaults")
    before, observed = f.converge(_xr(case), required=case.required)
    rsp = f.run(f.request(_xr(case), observed, {keys.INSTANCE: [], keys.DATABASES_ON_CLUSTER: []}))
    assert f.fatal(rsp) is None
    assert f.manifests(rsp)[keys.DATABASE] == f.manifests(before)[keys.DATABASE]
    assert f.manifests(rsp)[keys.DATABASE_ROLE] == f.manifests(before)[keys.DATABASE_ROLE]


def test_its_own_database_on_the_cluster_is_not_taken_from_itself():
    case = _case_named("defaults")
    before, observed = f.converge(_xr(case), required=case.required)
    mine = f.manifests(before)[keys.DATABASE]
    rsp = f.run(f.request(_xr(case), observed, _required(PLAIN, mine, RECIPES)))
    assert f.fatal(rsp) is None, f.fatal(rsp)


def test_every_problem_is_reported_at_once():
    spec = {
        "instanceRef": {"name": "shared", "namespace": "other"},
        "instance": {"version": 17},
        "backup": {"retentionDays": 3},
        "restore": {"backupName": "nightly"},
        "databaseName": "recipes",
        "owner": "cook",
    }
    xr = f.composite("PostgresDatabase", spec, name="wiki", namespace=NAMESPACE)
    message = f.fatal(f.run(f.request(xr, required=_required(PLAIN, RECIPES))))
    for field in (
        "spec.instanceRef.namespace:",
        "spec.instance:",
        "spec.backup:",
        "spec.restore.backupName:",
        "spec.databaseName:",
        "spec.owner:",
    ):
        assert field in message, (field, message)


def test_an_application_database_is_refused_with_its_own_field_names():
    spec = {"image": "ghcr.io/example/tasks:1.4.0", "database": {"enabled": True, "instanceRef": {"name": "shared"}, "name": "app", "instance": {"version": 17}}}  # fmt: skip
    xr = f.composite("TauApplication", spec, name="tasks", namespace=NAMESPACE)
    rsp = f.run(f.request(xr, required=_required()))
    message = f.fatal(rsp)
    assert message is not None
    assert "spec.database.name:" in message and "spec.database.instance:" in message, message
    assert not rsp.desired.resources


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ({"databaseName": "app", "owner": "cook"}, ["spec.databaseName:", "spec.owner:"]),
        ({"instance": {"version": 17}, "databaseName": "recipes"}, ["spec.instance:", "spec.databaseName:"]),
        ({"backup": {"retentionDays": 3}, "owner": "cook"}, ["spec.backup:", "spec.owner:"]),
    ],
    ids=["app-and-owner-taken", "instance-and-database-taken", "backup-and-owner-taken"],
)
def test_every_problem_is_reported_at_once_through_crossplanes_iterations(spec, fields):
    # As Crossplane calls the function: requirements answered one iteration after they are asked,
    # and no further call once a response is fatal (simulate.run). A problem found before the
    # Databases on the cluster are listed must not hide the names they take.
    xr = f.composite("PostgresDatabase", {"instanceRef": {"name": "shared"}, **spec}, name="wiki", namespace=NAMESPACE)
    message = f.fatal(simulate.run(xr, required=[PLAIN, RECIPES]))
    assert message is not None
    assert [field for field in fields if field not in message] == [], message


def _app_spec(database: dict) -> dict:
    return {"image": "ghcr.io/example/tasks:1.4.0", "port": 8080, "database": {"enabled": True, **database}}


@pytest.mark.parametrize(
    ("kind", "on_instance", "own_cluster", "field"),
    [
        ("PostgresDatabase", {"instanceRef": {"name": "shared"}}, {}, "spec.instanceRef"),
        ("TauApplication", _app_spec({"instanceRef": {"name": "shared"}}), _app_spec({}), "spec.database.instanceRef"),
    ],
    ids=["PostgresDatabase", "TauApplication"],
)
def test_a_database_on_an_instance_cannot_move_to_a_cluster_of_its_own(kind, on_instance, own_cluster, field):
    # The rule of shared.py: once the database exists on a cluster it is pinned to it; it moves with
    # a dump and a restore, never by editing a field. Removing instanceRef is such an edit: accepted,
    # it would compose a new, empty cluster and point the credentials (and the Database) at it.
    before, _ = f.converge(f.composite(kind, on_instance, name="wiki", namespace=NAMESPACE), required=_required())
    assert keys.DATABASE_ROLE in f.desired(before)
    after = f.composite(kind, own_cluster, name="wiki", namespace=NAMESPACE)
    rsp = f.run(f.request(after, simulate.observe(before), _required()))
    message = f.fatal(rsp)
    assert message is not None, f"moved off the instance; composes {sorted(f.desired(rsp))}"
    assert f"{field}:" in message, message
    assert not rsp.desired.resources


def test_a_v2_composite_finds_its_instance_by_name_in_its_namespace():
    def v2(kind: str, name: str, spec: dict, namespace: str = NAMESPACE) -> dict:
        return {"apiVersion": "m.tau.home.arpa/v1alpha1", "kind": kind, "metadata": {"name": name, "namespace": namespace}, "spec": spec}  # fmt: skip

    database = v2("PostgresDatabase", "wiki", {"instanceRef": {"name": "shared"}})
    rsp = simulate.run(database, required=[v2("PostgresInstance", "shared", {"pooler": {}})])
    assert f.fatal(rsp) is None
    assert {keys.CREDENTIALS, keys.DATABASE_ROLE, keys.DATABASE} <= set(f.desired(rsp))
    assert f.status(rsp)["poolerHost"] == "postgres-shared-pooler.apps.svc"
    elsewhere = simulate.run(database, required=[v2("PostgresInstance", "shared", {}, namespace="other")])
    assert not elsewhere.desired.resources
    assert f.status(elsewhere)["phase"] == "Waiting"
