"""A TauApplication reconcile by reconcile: its database is a PostgresDatabase's,
credentials are injected (the user's variables win), the Deployment waits for
them, and readiness and status say what the claim waits for."""

from __future__ import annotations

import base64
import copy

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys, simulate
from function.application import status as app_status
from tests.support import function as f
from tests.support.data import OBJECT_STORE_INPUT, POSTGRES_EXAMPLE, live_secret
from tests.support.data import S3_SECRET as S3

KIND = "TauApplication"
IMAGE = "nginx:1.27"
PASSWORD = "Pa55wordFromTheLiveSecretXyZ0123"
INJECTED = ["DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"]


def _live_secret(name: str, namespace: str) -> dict:
    """The credentials Secret as it exists in the cluster, so both kinds get the same password."""
    return live_secret(PASSWORD, name, namespace)


def _postgres_spec(database: dict) -> dict:
    """The PostgresDatabase spec a TauApplication's `database` stands for."""
    spec = {k: copy.deepcopy(v) for k, v in database.items() if k not in ("enabled", "name", "storageSize")}
    if "name" in database:
        spec["databaseName"] = database["name"]
    if "storageSize" in database:
        spec.setdefault("instance", {}).setdefault("storage", {})["size"] = database["storageSize"]
    return spec


def _deployment(rsp: fnv1.RunFunctionResponse) -> dict:
    return f.manifests(rsp)[keys.DEPLOYMENT]


def _env(rsp: fnv1.RunFunctionResponse) -> list[dict]:
    return _deployment(rsp)["spec"]["template"]["spec"]["containers"][0].get("env", [])


def _with_status(observed: list[dict], key: str, *, ready: bool, live_status: dict | None = None) -> list[dict]:
    """`observed`, with the composed resource `key` (not) ready and, optionally, its live status."""
    out = copy.deepcopy(observed)
    for doc in out:
        if doc["metadata"]["annotations"]["crossplane.io/composition-resource-name"] != key:
            continue
        doc["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "False", "reason": "x"}]
        if live_status is not None:
            doc["status"]["atProvider"]["manifest"]["status"] = live_status
    return out


# The database is exactly a PostgresDatabase's.

EQUIVALENT = [
    ("postgres-example", "postgres-example", "apps", {"extensions": ["uuid-ossp", "pgcrypto"]}, None, None),
    ("defaults", "shop", "shop", {}, None, None),
    ("name-and-storage-size", "shop", "shop", {"name": "store", "storageSize": "5Gi"}, None, None),
    ("every-field", "web-shop", "eu", {
        "name": "store", "owner": "store_app", "extensions": ["pg_trgm"],
        "instance": {"name": "pg-store", "instances": 3, "version": 16, "storage": {"size": "20Gi", "storageClass": "ssd"},
                     "walStorage": {"size": "2Gi"}, "parameters": {"max_connections": "150"},
                     "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}},
        "backup": {"schedule": "0 0 1 * * *", "retentionDays": 3}, "credentialsSecretName": "store-db",
        "deletionPolicy": "Delete"}, None, None),
    ("backups-off", "shop", "shop", {"backup": {"enabled": False}}, None, None),
    ("object-store", "shop", "shop", {"backup": {"method": "objectStore", "retentionDays": 30}}, OBJECT_STORE_INPUT,
     {"postgres-object-store-admin-credentials": [S3]}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "claim", "namespace", "database", "function_input", "required"), EQUIVALENT, ids=[c[0] for c in EQUIVALENT]
)
def test_the_database_is_byte_for_byte_a_postgres_database(name, claim, namespace, database, function_input, required):
    """Reconcile by reconcile, every database resource, its status and its conditions are a PostgresDatabase's."""
    secret = database.get("credentialsSecretName", f"{claim}-postgres-credentials")
    answers = {**(required or {}), keys.LIVE_SECRET: [_live_secret(secret, namespace)]}
    tau = f.composite(
        KIND, {"image": IMAGE, "database": {"enabled": True, **database}}, name=claim, namespace=namespace
    )
    pg = f.composite("PostgresDatabase", _postgres_spec(database), name=claim, namespace=namespace)
    tau_observed: list[dict] = []
    pg_observed: list[dict] = []
    for _ in range(8):
        tau_rsp = f.run(f.request(tau, tau_observed, answers, function_input))
        pg_rsp = f.run(f.request(pg, pg_observed, answers, function_input))
        assert f.fatal(tau_rsp) is None and f.fatal(pg_rsp) is None
        database_keys = set(tau_rsp.desired.resources) - set(keys.APPLICATION_KEYS)
        assert database_keys == set(pg_rsp.desired.resources)
        for key in database_keys:
            assert tau_rsp.desired.resources[key].SerializeToString(deterministic=True) == pg_rsp.desired.resources[
                key
            ].SerializeToString(deterministic=True), key
        assert f.status(tau_rsp)["database"] == f.status(pg_rsp)
        assert [c for c in tau_rsp.conditions if c.type != app_status.APPLICATION_READY] == list(pg_rsp.conditions)
        assert tau_rsp.requirements == pg_rsp.requirements
        tau_observed, pg_observed = simulate.observe(tau_rsp), simulate.observe(pg_rsp)
    assert pg_rsp.desired.composite.ready == fnv1.READY_TRUE
    assert tau_rsp.desired.composite.ready == fnv1.READY_TRUE


# Gating: the Deployment waits for the credentials Secret.


def test_the_deployment_waits_for_the_credentials_secret():
    xr = f.composite(KIND, POSTGRES_EXAMPLE, name="postgres-example", namespace="apps")

    first = f.run(f.request(xr))
    assert set(f.desired(first)) == {keys.CREDENTIALS}
    assert first.desired.composite.ready == fnv1.READY_FALSE
    assert first.meta.ttl.seconds == 20
    waiting = f.conditions(first)[app_status.APPLICATION_READY]
    assert waiting.status == fnv1.STATUS_CONDITION_FALSE and waiting.reason == "Waiting"
    assert waiting.message == (
        "waiting for credentials Secret postgres-example-postgres-credentials to be created before the Deployment starts"
    )

    # The Secret's Object exists but is not ready yet: still no Deployment.
    pending = _with_status(simulate.observe(first), keys.CREDENTIALS, ready=False)
    assert keys.DEPLOYMENT not in f.desired(f.run(f.request(xr, pending)))

    second = f.run(f.request(xr, simulate.observe(first)))
    assert {keys.CREDENTIALS, keys.CLUSTER, keys.DEPLOYMENT} <= set(f.desired(second))
    assert [e["name"] for e in _env(second)] == INJECTED
    assert (
        "waiting for Deployment postgres-example to become available"
        in f.conditions(second)[app_status.APPLICATION_READY].message
    )

    rsp, _ = f.converge(xr)
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    assert rsp.meta.ttl.seconds == 60


def test_without_a_database_the_application_starts_at_once():
    xr = f.composite(KIND, {"image": IMAGE, "port": 80, "ingress": {"host": "shop.home.arpa"}})
    rsp = f.run(f.request(xr))
    assert set(f.desired(rsp)) == {keys.DEPLOYMENT, keys.SERVICE, keys.INGRESS}
    assert not rsp.requirements.resources and not rsp.requirements.extra_resources
    assert [c.type for c in rsp.conditions] == [app_status.APPLICATION_READY]
    assert "env" not in _deployment(rsp)["spec"]["template"]["spec"]["containers"][0]


def test_an_existing_deployment_is_kept_as_it_was_until_a_new_database_has_credentials():
    before = {"image": IMAGE, "port": 8080}
    observed = simulate.observe(f.converge(f.composite(KIND, before))[0])
    old = next(
        d
        for d in observed
        if d["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == keys.DEPLOYMENT
    )

    after = f.composite(KIND, {"image": "nginx:1.28", "port": 8080, "database": {"enabled": True}})
    rsp = f.run(f.request(after, observed))
    assert f.fatal(rsp) is None
    assert f.desired(rsp)[keys.DEPLOYMENT]["spec"] == old["spec"]  # unchanged: old image, nothing injected
    assert keys.CREDENTIALS in f.desired(rsp)
    assert "credentials Secret shop-postgres-credentials" in f.conditions(rsp)[app_status.APPLICATION_READY].message

    rsp = f.run(f.request(after, [*observed, *simulate.observe(rsp)]))
    container = _deployment(rsp)["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.28"
    assert [e["name"] for e in container["env"]] == INJECTED


def test_once_observed_the_deployment_is_always_emitted():
    xr = f.composite(KIND, POSTGRES_EXAMPLE, name="postgres-example", namespace="apps")
    rsp, _ = f.converge(xr)
    observed = simulate.observe(rsp)
    # The Secret's Object stops being ready (a provider error, say): the Deployment stays, unchanged.
    degraded = _with_status(observed, keys.CREDENTIALS, ready=False)
    again = f.run(f.request(xr, degraded))
    assert f.desired(again)[keys.DEPLOYMENT] == f.desired(rsp)[keys.DEPLOYMENT]
    assert again.desired.composite.ready == fnv1.READY_FALSE


# Environment: injected variables, the user's win.

ENV_CASES = [
    ("no database, no env", False, [], []),
    ("no database", False, [{"name": "A", "value": "1"}], [{"name": "A", "value": "1"}]),
    ("database, no env", True, [], INJECTED),
    ("user password wins", True, [{"name": "DB_PASSWORD", "value": "x"}],
     ["DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", {"name": "DB_PASSWORD", "value": "x"}]),
    ("user url wins and comes after what it refers to", True,
     [{"name": "Z", "value": "z"}, {"name": "DATABASE_URL", "value": "postgresql://$(DB_HOST)"}, {"name": "A"}],
     ["DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD", {"name": "Z", "value": "z"},
      {"name": "DATABASE_URL", "value": "postgresql://$(DB_HOST)"}, {"name": "A", "value": ""}]),
    ("user overrides everything", True, [{"name": n, "value": n.lower()} for n in reversed(INJECTED)],
     [{"name": n, "value": n.lower()} for n in reversed(INJECTED)]),
    ("similar names are not overrides", True, [{"name": "db_host", "value": "x"}, {"name": "DB_HOST_RO", "value": "y"}],
     [*INJECTED, {"name": "db_host", "value": "x"}, {"name": "DB_HOST_RO", "value": "y"}]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "database", "env", "expected"), ENV_CASES, ids=[c[0] for c in ENV_CASES])
def test_environment(name, database, env, expected):
    xr = f.composite(KIND, {"image": IMAGE, "env": env, "database": {"enabled": database}})
    rsp, _ = f.converge(xr)
    want = [
        {"name": e, "valueFrom": {"secretKeyRef": {"name": "shop-postgres-credentials", "key": e}}}
        if isinstance(e, str)
        else e
        for e in expected
    ]
    assert _env(rsp) == want
    names = [e["name"] for e in _env(rsp)]
    assert len(names) == len(set(names))


def test_no_password_reaches_the_deployment():
    xr = f.composite(KIND, POSTGRES_EXAMPLE)
    rsp, _ = f.converge(xr, required={keys.LIVE_SECRET: [_live_secret("shop-postgres-credentials", "shop")]})
    secret = f.manifests(rsp)[keys.CREDENTIALS]["data"]
    assert base64.b64decode(secret["DB_PASSWORD"]).decode() == PASSWORD  # only the Secret holds it
    for key in keys.APPLICATION_KEYS:
        if key in rsp.desired.resources:
            assert PASSWORD not in rsp.desired.resources[key].SerializeToString().decode(errors="replace")
    assert PASSWORD not in str(f.status(rsp)) and all(PASSWORD not in c.message for c in rsp.conditions)


# Lifecycle: what goes, what stays.


def test_service_and_ingress_go_with_port_and_ingress_but_the_database_stays():
    full = f.composite(
        KIND, {"image": IMAGE, "port": 8080, "ingress": {"host": "shop.home.arpa"}, "database": {"enabled": True}}
    )
    rsp, _ = f.converge(full)
    observed = simulate.observe(rsp)
    database_keys = set(rsp.desired.resources) - set(keys.APPLICATION_KEYS)
    assert {keys.SERVICE, keys.INGRESS} <= set(rsp.desired.resources)

    no_ingress = f.run(
        f.request(f.composite(KIND, {"image": IMAGE, "port": 8080, "database": {"enabled": True}}), observed)
    )
    assert set(no_ingress.desired.resources) == database_keys | {keys.DEPLOYMENT, keys.SERVICE}
    bare = f.run(f.request(f.composite(KIND, {"image": "nginx:1.28", "database": {"enabled": True}}), observed))
    assert set(bare.desired.resources) == database_keys | {keys.DEPLOYMENT}
    assert "ports" not in _deployment(bare)["spec"]["template"]["spec"]["containers"][0]
    assert f.status(bare).get("url") is None


def test_application_resources_are_deleted_with_the_claim_the_database_follows_its_policy():
    for policy, expected in (("Retain", "Orphan"), ("Delete", "Delete")):
        xr = f.composite(KIND, {"image": IMAGE, "port": 80, "ingress": {"host": "a.b"},
                                "database": {"enabled": True, "deletionPolicy": policy}})  # fmt: skip
        rsp, _ = f.converge(xr)
        for key, body in f.desired(rsp).items():
            want = "Delete" if key in keys.APPLICATION_KEYS else expected
            if key.startswith("postgres-backup-prune-"):
                want = "Orphan"  # backups outlive the claim unless backup.deleteWithClaim: their retention too
            assert body["spec"]["deletionPolicy"] == want, (policy, key)


# Readiness and status.


def test_ready_needs_the_deployment_available_and_the_database_ready():
    xr = f.composite(KIND, POSTGRES_EXAMPLE)
    rsp, _ = f.converge(xr)
    observed = simulate.observe(rsp)

    cluster_down = _with_status(observed, keys.CLUSTER, ready=False)
    rsp = f.run(f.request(xr, cluster_down))
    assert rsp.desired.composite.ready == fnv1.READY_FALSE
    conditions = f.conditions(rsp)
    assert conditions[app_status.APPLICATION_READY].status == fnv1.STATUS_CONDITION_TRUE
    assert conditions["DatabaseReady"].status == fnv1.STATUS_CONDITION_FALSE
    assert "CNPG Cluster postgres-shop to become ready" in conditions["DatabaseReady"].message

    rolling = _with_status(observed, keys.DEPLOYMENT, ready=False,
                           live_status={"replicas": 3, "availableReplicas": 2})  # fmt: skip
    for doc in rolling:
        if doc["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == keys.DEPLOYMENT:
            doc["status"]["atProvider"]["manifest"]["spec"]["replicas"] = 3
    rsp = f.run(f.request(xr, rolling))
    assert rsp.desired.composite.ready == fnv1.READY_FALSE
    condition = f.conditions(rsp)[app_status.APPLICATION_READY]
    assert condition.status == fnv1.STATUS_CONDITION_FALSE
    assert condition.message == "waiting for Deployment shop to become available (2 of 3 replicas available)"
    assert f.status(rsp)["availableReplicas"] == 2
    assert f.conditions(rsp)["DatabaseReady"].status == fnv1.STATUS_CONDITION_TRUE


def test_available_replicas_is_zero_when_kubernetes_omits_it():
    xr = f.composite(KIND, {"image": IMAGE})
    rsp, _ = f.converge(xr)
    observed = _with_status(simulate.observe(rsp), keys.DEPLOYMENT, ready=False, live_status={"replicas": 1})
    assert f.status(f.run(f.request(xr, observed)))["availableReplicas"] == 0
    # Before the Deployment exists there is no count at all.
    assert "availableReplicas" not in f.status(f.run(f.request(xr)))


@pytest.mark.parametrize(
    ("ingress", "url"),
    [
        (None, None),
        ({"host": "shop.home.arpa"}, "http://shop.home.arpa"),
        ({"host": "shop.home.arpa", "tls": {"clusterIssuer": "letsencrypt"}}, "https://shop.home.arpa"),
    ],
    ids=["no ingress", "http", "https"],
)
def test_status_url(ingress, url):
    spec = {"image": IMAGE, "port": 8080, **({"ingress": ingress} if ingress else {})}
    rsp, _ = f.converge(f.composite(KIND, spec))
    status = f.status(rsp)
    assert status.get("url") == url
    assert "database" not in status
    if url:
        assert f.conditions(rsp)[app_status.APPLICATION_READY].message.endswith(f"served at {url}")


def test_the_database_status_is_nested_and_the_conditions_listed():
    rsp, _ = f.converge(f.composite(KIND, POSTGRES_EXAMPLE))
    status = f.status(rsp)
    assert status["database"]["secretName"] == "shop-postgres-credentials"
    assert status["database"]["host"] == "postgres-shop-rw.shop.svc"
    assert [c.type for c in rsp.conditions] == [app_status.APPLICATION_READY, "DatabaseReady", "BackupReady"]


def test_requirements_are_stated_for_both_crossplane_versions():
    """2.x by name in the namespace; 1.20 (extra_resources) by the labels the composed Secret carries."""
    rsp = f.run(f.request(f.composite(KIND, POSTGRES_EXAMPLE)))
    selector = rsp.requirements.resources[keys.LIVE_SECRET]
    assert (selector.kind, selector.match_name, selector.namespace) == ("Secret", "shop-postgres-credentials", "shop")
    legacy = rsp.requirements.extra_resources[keys.LIVE_SECRET]
    assert (legacy.kind, legacy.WhichOneof("match"), legacy.namespace) == ("Secret", "match_labels", "shop")
    secret_labels = f.manifests(rsp)[keys.CREDENTIALS]["metadata"]["labels"]
    assert dict(legacy.match_labels.labels).items() <= secret_labels.items()


def test_the_password_of_an_adopted_secret_is_kept_with_crossplane_1_20_fields():
    """A live Secret answered in extra_resources (Crossplane 1.20) gives the password."""
    xr = f.composite(KIND, POSTGRES_EXAMPLE)
    live = {keys.LIVE_SECRET: [_live_secret("shop-postgres-credentials", "shop")]}
    rsp = f.run(f.request(xr, required=live, legacy=True))
    data = f.manifests(rsp)[keys.CREDENTIALS]["data"]
    assert base64.b64decode(data["DB_PASSWORD"]).decode() == PASSWORD


def test_same_request_same_response():
    xr = f.composite(KIND, {**POSTGRES_EXAMPLE, "port": 80, "ingress": {"host": "a.b", "tls": {"clusterIssuer": "ca"}}})
    rsp, _ = f.converge(xr)
    req = f.request(xr, simulate.observe(rsp))
    assert f.run(req).SerializeToString(deterministic=True) == f.run(req).SerializeToString(deterministic=True)
