"""A shared PostgresInstance and databases on it (issue #14), on the real control plane.

One PostgresInstance (with a pooler) and two PostgresDatabases with instanceRef
in one namespace, applied with kubectl; the stand-in plays the kubelet and
CNPG's instance manager (Cluster healthy, Database and DatabaseRole applied).
Then: the instance alone composed the CNPG Cluster (once); each database got
its credentials Secret, DatabaseRole and Database, named after the cluster
and the PostgreSQL names (`_` as `-`), all admitted by CNPG's CRDs and
webhooks (every Object Synced); the instance lists both databases and its
Cluster's pg_hba holds their lines. A third database asking for a database
name that is taken is refused, the message naming databaseName; a database
whose instance does not exist waits and says so.

On Crossplane 2.x core (the session's plane) and on 1.20.11 (a plane of its own,
as test_controlplane_crossplane120.py starts).
"""

from __future__ import annotations

import base64
import os
import shlex
import time
from collections.abc import Iterator

import pytest

from tests.controlplane import claims, cluster
from tests.controlplane.conftest import require, running
from tests.controlplane.kubelet_standin import CNPGStatusStandIn

pytestmark = pytest.mark.controlplane

NAMESPACE = "cp-instance"
CLUSTER = "postgres-shared"
CNPG = "postgresql.cnpg.io"
# Claim name -> (databaseName, owner) the function derives: the default, and one with `_` in it.
DATABASES = {"wiki": ("wiki", "wiki_user"), "recipes": ("recipe_box", "recipe_box_user")}


def _instance() -> dict:
    return {
        "apiVersion": claims.GROUP + "/v1alpha1", "kind": "PostgresInstance",
        "metadata": {"name": "shared", "namespace": NAMESPACE},
        "spec": {"instance": {"storage": {"size": "1Gi"}}, "pooler": {"mode": "transaction", "instances": 1}},
    }  # fmt: skip


def _database(name: str, instance: str = "shared", **spec: object) -> dict:
    return {
        "apiVersion": claims.GROUP + "/v1alpha1", "kind": "PostgresDatabase",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {"instanceRef": {"name": instance}, **spec},
    }  # fmt: skip


def _claims() -> list[dict]:
    return [_instance(), _database("wiki"), _database("recipes", databaseName="recipe_box")]


def _dashed(name: str) -> str:
    return name.replace("_", "-")


@pytest.fixture(scope="module", params=["crossplane", "crossplane-1.20"])
def where(request, plane_for) -> tuple[cluster.ControlPlane, CNPGStatusStandIn]:
    """The plane (2.x: the session's; 1.20: one of this module's) and its stand-in."""
    return plane_for(request.param)


@pytest.fixture(scope="module")
def plane_for(request) -> Iterator:
    """Planes by Crossplane core binary, started when first asked for, stopped with the module."""
    started: dict[str, tuple] = {}
    stops = []

    def get(binary: str) -> tuple[cluster.ControlPlane, CNPGStatusStandIn]:
        if binary not in started:
            if binary == "crossplane":
                plane = request.getfixturevalue("plane")
                started[binary] = (plane, request.getfixturevalue("standin"))
            else:
                require(binary)
                plane = cluster.ControlPlane(crossplane=binary, netns=f"tau-cpi120-{os.getpid()}")
                gen = running(plane, f"the {binary} control plane")
                started[binary] = (next(gen), CNPGStatusStandIn(plane))
                stops.append(gen)
        return started[binary]

    yield get
    for gen in stops:
        with pytest.raises(StopIteration):
            next(gen)


@pytest.fixture(scope="module")
def shared(where) -> dict:
    """The instance and its two databases applied (instance first) and converged: their state by claim key."""
    plane, standin = where
    start = time.monotonic()
    for claim in _claims():
        claims.apply_claim(plane, claim)
    state = claims.converge(plane, standin, _claims(), timeout=480)
    state["_seconds"] = time.monotonic() - start
    return state


def _state(shared: dict, claim: dict) -> dict:
    return shared[claims.claim_key(claim)]


def test_the_cluster_is_created_once_by_the_instance(where, shared: dict) -> None:
    plane, _ = where
    clusters = plane.items(f"clusters.{CNPG}", namespace=NAMESPACE)
    assert [c["metadata"]["name"] for c in clusters] == [CLUSTER]
    instance = _state(shared, _instance())
    kinds = [claims.manifest(o)["kind"] for o in instance["objects"]]
    assert kinds.count("Cluster") == 1 and "Pooler" in kinds
    # The databases compose no cluster of their own: only their Secret, role and database.
    for name in DATABASES:
        objects = _state(shared, _database(name))["objects"]
        assert sorted(claims.manifest(o)["kind"] for o in objects) == ["Database", "DatabaseRole", "Secret"], name


def test_each_database_gets_its_secret_role_and_database_admitted_by_cnpg(where, shared: dict) -> None:
    plane, _ = where
    for name, (database, owner) in DATABASES.items():
        state = _state(shared, _database(name))
        for obj in state["objects"]:
            assert claims.is_true(obj, "Synced"), (name, claims.manifest(obj)["kind"], claims.condition(obj, "Synced"))
            assert claims.inner(plane, obj) is not None, (name, claims.manifest(obj)["kind"])
        status = state["claim"]["status"]
        assert (status["instance"], status["cluster"], status["database"], status["user"]) == (
            "shared", CLUSTER, database, owner)  # fmt: skip
        assert status["poolerHost"] == f"{CLUSTER}-pooler.{NAMESPACE}.svc"
        role = plane.get(f"databaseroles.{CNPG}", f"{CLUSTER}-{_dashed(owner)}", NAMESPACE)
        assert role is not None, f"no DatabaseRole {CLUSTER}-{_dashed(owner)}"
        assert role["spec"]["name"] == owner and role["spec"]["cluster"] == {"name": CLUSTER}
        assert role["spec"]["passwordSecret"] == {"name": status["secretName"]}
        db = plane.get(f"databases.{CNPG}", f"{CLUSTER}-{_dashed(database)}", NAMESPACE)
        assert db is not None, f"no Database {CLUSTER}-{_dashed(database)}"
        assert (db["spec"]["name"], db["spec"]["owner"], db["spec"]["cluster"]) == (database, owner, {"name": CLUSTER})
        secret = plane.get("secret", status["secretName"], NAMESPACE)
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        assert data["username"] == owner
        assert f"@{CLUSTER}-rw.{NAMESPACE}.svc:5432/{database}" in data["DATABASE_URL"]
        assert f"@{CLUSTER}-pooler.{NAMESPACE}.svc:5432/{database}" in data["DATABASE_POOLER_URL"]


def _hba_admits_only_owners(hba: list[str], database: str, owner: str) -> bool:
    """pg_hba lets `owner` into `database` (scram-sha-256) before a line rejecting everyone else from it."""
    rules = [shlex.split(line) for line in hba]
    allow = ["host", database, owner, "all", "scram-sha-256"]
    reject = ["host", database, "all", "all", "reject"]
    return allow in rules and reject in rules and rules.index(allow) < rules.index(reject)


def test_the_instance_lists_both_databases_and_its_cluster_lets_their_owners_in(where, shared: dict) -> None:
    plane, _ = where
    want = set(DATABASES.values())
    seen: dict = {}

    def listed() -> dict | None:
        # The instance learns of a database on a reconcile after its Database exists (Crossplane polls: ~1 min).
        live = claims.get_claim(plane, _instance())
        got = {(d["name"], d["owner"]) for d in (live.get("status") or {}).get("databases") or []}
        cluster_ = plane.get(f"clusters.{CNPG}", CLUSTER, NAMESPACE)
        hba = ((cluster_["spec"].get("postgresql") or {}).get("pg_hba")) or []
        seen.update(databases=sorted(got), pg_hba=hba)
        ok = got == want and all(_hba_admits_only_owners(hba, d, o) for d, o in want)
        return {"live": live, "hba": hba} if ok else None

    try:
        found = plane.wait("the instance to list both databases and admit their owners", listed, timeout=240,
                           interval=3)  # fmt: skip
    except cluster.ControlPlaneError as error:
        raise AssertionError(f"{error}; last seen: {seen}") from None
    assert claims.is_true(found["live"], "Ready")
    assert {d["claim"] for d in found["live"]["status"]["databases"]} == set(DATABASES)


def test_a_database_asking_for_a_taken_name_is_refused_naming_the_field(where, shared: dict) -> None:
    plane, _ = where
    claim = _database("wiki-again", databaseName="wiki", owner="wiki_again_user")
    claims.apply_claim(plane, claim)

    def refused() -> dict | None:
        cond = claims.condition(claims.get_claim(plane, claim), "DatabaseReady")
        return cond if cond.get("reason") == "InvalidSpec" else None

    cond = plane.wait("the taken name to be refused", refused, timeout=120, interval=2)
    assert "databaseName" in cond["message"] and "wiki" in cond["message"], cond
    # Nothing of it reaches the cluster: wiki's Database is still wiki's alone.
    assert claims.composed_objects(plane, claim) == []
    databases = plane.items(f"databases.{CNPG}", namespace=NAMESPACE)
    assert sorted(d["metadata"]["name"] for d in databases) == sorted(
        f"{CLUSTER}-{_dashed(d)}" for d, _ in DATABASES.values())  # fmt: skip


def test_a_database_on_a_missing_instance_waits_and_says_so(where, shared: dict) -> None:
    plane, _ = where
    claim = _database("lost", instance="nowhere")
    claims.apply_claim(plane, claim)

    def waiting() -> dict | None:
        live = claims.get_claim(plane, claim)
        cond = claims.condition(live, "DatabaseReady")
        return live if cond.get("status") == "False" and "nowhere" in cond.get("message", "") else None

    live = plane.wait("the database to wait for its instance", waiting, timeout=120, interval=2)
    assert live["status"]["phase"] == "Waiting"
    assert live["status"]["instance"] == "nowhere"
    assert not claims.is_true(live, "Ready")
    time.sleep(5)  # a reconcile or two more: still nothing composed
    assert claims.composed_objects(plane, claim) == []
