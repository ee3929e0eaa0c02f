"""A claim over time on the real control plane: gated resources, updates, refusals, the password, deletion."""

from __future__ import annotations

import copy
import pathlib
import tempfile
import time

import pytest
import yaml

from tests.controlplane import claims

pytestmark = pytest.mark.controlplane

NAMESPACE = "lifecycle"
CLAIM = {
    "apiVersion": "tau.home.arpa/v1alpha1",
    "kind": "PostgresDatabase",
    "metadata": {"name": "orders", "namespace": NAMESPACE},
    "spec": {"extensions": ["pgcrypto"], "instance": {"storage": {"size": "2Gi"}}},
}
CLUSTER = "clusters.postgresql.cnpg.io"
DATABASE = "databases.postgresql.cnpg.io"


def names(objects: list[dict]) -> set[str]:
    """Composition resource names of composed Objects."""
    return {o["metadata"]["annotations"]["crossplane.io/composition-resource-name"] for o in objects}


def rendered_names(claim: dict, *, assume_ready: bool) -> set[str]:
    """What render composes for the claim, on its first reconcile or at steady state."""
    path = _write(claim)
    return set(claims.rendered_objects(claims.render(str(path), assume_ready=assume_ready)))


def _write(claim: dict) -> pathlib.Path:
    path = pathlib.Path(tempfile.mkstemp(suffix=".yaml", prefix="claim-")[1])
    path.write_text(yaml.safe_dump(claim))
    return path


@pytest.fixture(scope="module")
def orders(plane, standin) -> dict:
    """The `orders` claim, applied; the gating observed on the way to Ready (what appeared when)."""
    claims.apply_claim(plane, CLAIM)
    # Without the stand-in: only what does not wait for a healthy cluster is composed.
    seen: dict[str, float] = {}

    def stable_before_ready() -> bool:
        objects = claims.composed_objects(plane, CLAIM)
        for n in names(objects):
            seen.setdefault(n, time.monotonic())
        return (
            bool(objects)
            and all(claims.is_true(o, "Synced") for o in objects)
            and time.monotonic() - max(seen.values()) > 15
        )

    plane.wait("the first Objects Synced and nothing new for 15s", stable_before_ready, timeout=240, interval=1)
    before = set(seen)
    reported = time.monotonic()
    state = claims.converge(plane, standin, [CLAIM], timeout=300)[claims.claim_key(CLAIM)]
    after = names(state["objects"])
    return {"before": before, "after": after, "reported": reported, "state": state}


def test_gated_resources_appear_in_order(orders: dict) -> None:
    # Before CNPG reports the cluster healthy: the credentials and the cluster, nothing that needs it.
    first_stage = rendered_names(CLAIM, assume_ready=False)
    assert first_stage <= orders["before"]
    assert "postgres-cluster" in orders["before"]
    assert "postgres-database" not in orders["before"]
    assert "postgres-scheduled-backup" not in orders["before"]
    # Then everything render promises at steady state, and nothing else.
    assert orders["after"] == rendered_names(CLAIM, assume_ready=True)
    assert orders["after"] > orders["before"]


def test_an_extension_added_reaches_the_database(plane, orders: dict) -> None:
    claim = copy.deepcopy(CLAIM)
    claim["spec"]["extensions"] = ["pgcrypto", "pg_trgm"]
    claims.apply_claim(plane, claim)

    def extensions() -> list | None:
        databases = plane.items(DATABASE, namespace=NAMESPACE)
        for db in databases:
            got = sorted(e["name"] for e in db["spec"].get("extensions", []) if e.get("ensure", "present") == "present")
            if "pg_trgm" in got:
                return got
        return None

    assert plane.wait("pg_trgm in the Database", extensions, timeout=120, interval=1) == ["pg_trgm", "pgcrypto"]


def _live_resources(plane, objects: list[dict]) -> dict:
    out = {}
    for obj in objects:
        live = claims.inner(plane, obj)
        name = obj["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        out[name] = None if live is None else (live["metadata"]["uid"], live.get("spec"), live.get("data"))
    return out


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"instance": {"storage": {"size": "1Gi"}}}, "shrink"),
        ({"instance": {"version": 14}}, "downgrade"),
    ],
    ids=["storage-shrink", "major-downgrade"],
)
def test_a_refused_change_leaves_every_resource_in_place_and_the_claim_says_why(
    plane,
    orders: dict,
    change: dict,
    words: str,
) -> None:
    before = _live_resources(plane, claims.composed_objects(plane, CLAIM))
    claim = copy.deepcopy(CLAIM)
    claim["spec"]["extensions"] = ["pgcrypto", "pg_trgm"]
    for key, value in change.items():
        claim["spec"][key] = {**claim["spec"].get(key, {}), **value}
    claims.apply_claim(plane, claim)

    def refusal() -> dict | None:
        live = claims.get_claim(plane, CLAIM) or {}
        for cond in (live.get("status") or {}).get("conditions", []):
            if cond.get("reason") == "InvalidSpec" and words in cond.get("message", ""):
                return cond
        return None

    try:
        cond = plane.wait(f"the claim to say why ({words})", refusal, timeout=90, interval=1)
        assert words in cond["message"]
        time.sleep(5)  # a reconcile or two after the refusal
        after = _live_resources(plane, claims.composed_objects(plane, CLAIM))
        assert after == before, "a refused change altered or removed a composed resource"
    finally:
        restored = copy.deepcopy(CLAIM)
        restored["spec"]["extensions"] = ["pgcrypto", "pg_trgm"]
        claims.apply_claim(plane, restored)


def test_the_password_survives_deleting_the_secret_object(plane, orders: dict) -> None:
    objects = claims.composed_objects(plane, CLAIM)
    secret_object = next(o for o in objects if claims.manifest(o)["kind"] == "Secret")
    secret_name = claims.manifest(secret_object)["metadata"]["name"]
    password = plane.secret_data(secret_name, NAMESPACE)["password"]
    # The Object goes (deletionPolicy Orphan: the Secret stays); Crossplane composes it again, the
    # function reads the live Secret and keeps its password; provider-kubernetes adopts the Secret.
    # Not --wait: Crossplane recreates it under the same name at once, and kubectl waits on the name.
    plane.kubectl("delete", claims.OBJECT, secret_object["metadata"]["name"], "--wait=false")

    def recreated() -> dict | None:
        for obj in claims.composed_objects(plane, CLAIM):
            if (
                claims.manifest(obj)["kind"] == "Secret"
                and obj["metadata"]["uid"] != secret_object["metadata"]["uid"]
                and claims.is_true(obj, "Synced")
            ):
                return obj
        return None

    plane.wait("the Secret's Object composed again and Synced", recreated, timeout=120, interval=1)
    time.sleep(3)
    assert plane.secret_data(secret_name, NAMESPACE)["password"] == password
    assert plane.secret_data(secret_name, NAMESPACE).get("DB_PASSWORD", password) == password
