"""The Crossplane 2 shape (issue #13): a v2 composite composes exactly what its
claim composes, wrapped for a namespaced composite.

Every example, first reconcile and steady state: the same keys, the same
manifests inside the Objects and the same Releases, the same status; only the
wrapping differs (namespaced Objects and Releases in the composite's
namespace, managementPolicies instead of deletionPolicy, the
ClusterProviderConfig). Tenancy as properties: a namespaced composite never
composes outside its namespace, nor a cluster-scoped resource. And the
migration path: a v2 composite applied after its claim was deleted with Retain
takes over what the claim left behind, password included.
"""

from __future__ import annotations

import base64
import copy

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import given
from hypothesis import strategies as st

from function import keys, shapes, simulate
from function.api import definitions
from tests.support import function as f
from tests.support import golden, schemas, strategies, v2
from tests.support.data import OBJECT_STORE_INPUT, S3_SECRET
from tests.support.examples import all_examples

EXAMPLES = v2.v2_examples()
IDS = [e.name for e in EXAMPLES]
# The kinds a namespaced composite may have provider-kubernetes apply: namespaced ones only.
NAMESPACED_INNER = {
    ("v1", "Secret"), ("v1", "ServiceAccount"), ("v1", "Service"), ("apps/v1", "Deployment"),
    ("batch/v1", "CronJob"), ("networking.k8s.io/v1", "Ingress"), ("rbac.authorization.k8s.io/v1", "Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("postgresql.cnpg.io/v1", "Cluster"),
    ("postgresql.cnpg.io/v1", "Database"), ("postgresql.cnpg.io/v1", "ScheduledBackup"),
    ("barmancloud.cnpg.io/v1", "ObjectStore"), ("postgresql.cnpg.io/v1", "DatabaseRole"),
    ("postgresql.cnpg.io/v1", "Pooler"), ("v1", "ConfigMap"), ("v1", "PersistentVolumeClaim"), ("batch/v1", "Job"),
}  # fmt: skip


def _masked(rsp: fnv1.RunFunctionResponse) -> dict[str, dict]:
    return {key: golden.masked([body])[0] for key, body in f.desired(rsp).items()}


def _conditions(rsp: fnv1.RunFunctionResponse) -> list[tuple]:
    return [(c.type, c.status, c.reason, c.message) for c in rsp.conditions]


def _both(example: v2.V2Example, *, assume_ready: bool) -> tuple[fnv1.RunFunctionResponse, fnv1.RunFunctionResponse]:
    step = simulate.converge if assume_ready else simulate.run
    # The same required resources, each shape's own (the instance an instanceRef names as its composite).
    claim = step(simulate.to_composite(example.claim_example.claim), required=example.claim_example.required,
                 function_input=example.function_input)  # fmt: skip
    modern = step(example.xr, required=example.required, function_input=example.function_input)
    return claim, modern


def test_there_is_a_v2_example_for_every_claim_example():
    assert [e.name for e in EXAMPLES] == [e.name for e in all_examples()]


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_each_v2_example_is_its_claim_example_as_a_v2_composite(example: v2.V2Example):
    assert example.xr == v2.as_v2(example.claim_example.claim)
    schemas.validate(example.xr)  # against the generated v2 XRD


@pytest.mark.parametrize("state", ["first-reconcile", "steady-state"])
@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_a_v2_composite_composes_what_its_claim_composes_only_the_wrapping_differs(example: v2.V2Example, state: str):
    claim, modern = _both(example, assume_ready=state == "steady-state")
    assert f.fatal(claim) is None and f.fatal(modern) is None
    # The first password is random: both are masked (the migration test below shows one is kept).
    claim_desired, modern_desired = _masked(claim), _masked(modern)
    assert sorted(modern_desired) == sorted(claim_desired)
    namespace = v2.home_namespace(example.xr)
    for key, body in claim_desired.items():
        assert v2.inner(modern_desired[key]) == v2.inner(body), key
        assert modern_desired[key] == shapes.namespaced(body, namespace), key
        assert modern.desired.resources[key].ready == claim.desired.resources[key].ready, key
        schemas.validate(modern_desired[key])  # the namespaced providers' CRDs (the inner ones: the claims' tests)
    assert f.status(modern) == f.status(claim)
    assert modern.desired.composite.ready == claim.desired.composite.ready
    assert _conditions(modern) == _conditions(claim)
    # The one requirement asked differently: the instance an instanceRef names, which a claim's composite finds
    # as the XPostgresInstance by the claim labels, a v2 composite as the PostgresInstance by name (issue #14).
    modern_asked, claim_asked = dict(modern.requirements.resources), dict(claim.requirements.resources)
    assert (keys.INSTANCE in modern_asked) == (keys.INSTANCE in claim_asked)
    if keys.INSTANCE in claim_asked:
        _assert_the_instance_is_asked_the_v2_way(example, modern_asked.pop(keys.INSTANCE))
        claim_asked.pop(keys.INSTANCE)
    assert modern_asked == claim_asked
    assert modern.meta.ttl == claim.meta.ttl


def _assert_the_instance_is_asked_the_v2_way(example: v2.V2Example, selector: fnv1.ResourceSelector) -> None:
    spec = example.xr["spec"]
    ref = (spec.get("instanceRef") or (spec.get("database") or {}).get("instanceRef"))["name"]
    assert selector.api_version == definitions.V2_API_VERSION
    assert selector.kind == definitions.POSTGRES_INSTANCE.v2_kind
    assert selector.match_name == ref
    assert selector.namespace == example.namespace


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_the_v2_wrapping_is_the_namespaced_providers(example: v2.V2Example):
    _, modern = _both(example, assume_ready=True)
    namespace = v2.home_namespace(example.xr)
    for key, body in f.desired(modern).items():
        assert body["apiVersion"] in (shapes.NAMESPACED_OBJECT, shapes.NAMESPACED_RELEASE), key
        assert body["metadata"]["namespace"] == namespace, key
        assert body["spec"]["providerConfigRef"] == {"kind": "ClusterProviderConfig", "name": "default"}, key
        assert "deletionPolicy" not in body["spec"], key
        assert tuple(body["spec"]["managementPolicies"]) in (shapes.RETAIN, shapes.DELETE), key


@pytest.mark.parametrize(
    ("name", "wanted"), [("postgresdatabase", shapes.RETAIN), ("postgresdatabase-full", shapes.DELETE)]
)
def test_a_databases_deletion_policy_becomes_its_management_policies(name: str, wanted: tuple[str, ...]):
    """Retain (the default) keeps every resource when the composite goes: no Delete among the policies."""
    (example,) = [e for e in EXAMPLES if e.name == name]
    _, modern = _both(example, assume_ready=True)
    assert {tuple(b["spec"]["managementPolicies"]) for b in f.desired(modern).values()} == {wanted}


@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_v2_states_requirements_and_conditions_the_crossplane_2_way(example: v2.V2Example):
    _, modern = _both(example, assume_ready=False)
    assert not modern.requirements.extra_resources  # 1.20's field: the v2 package needs Crossplane 2
    assert all(c.target == fnv1.TARGET_COMPOSITE for c in modern.conditions)  # no claim to copy them to
    assert all(r.target == fnv1.TARGET_COMPOSITE for r in modern.results)


def test_a_refusal_targets_the_composite_only():
    xr = v2.as_v2(f.claim("PostgresDatabase", {"backup": {"schedule": "0 3 * * *"}}))
    rsp = f.run(f.request(xr))
    assert "spec.backup.schedule" in f.fatal(rsp)
    assert {r.target for r in rsp.results} == {fnv1.TARGET_COMPOSITE}
    assert [c.target for c in rsp.conditions] == [fnv1.TARGET_COMPOSITE]
    assert not rsp.desired.resources


def test_a_namespaced_composite_without_a_namespace_is_refused_by_name():
    xr = v2.as_v2(f.claim("PostgresDatabase"))
    del xr["metadata"]["namespace"]
    rsp = f.run(f.request(xr))
    assert "metadata.namespace" in f.fatal(rsp)
    assert not rsp.desired.resources


def test_a_namespaced_composite_naming_another_namespace_in_its_spec_is_refused():
    """`namespace` is not in the v2 schema (the API server prunes it); a raw caller sending it still cannot escape."""
    xr = v2.as_v2(f.claim("PostgresDatabase"))
    xr["spec"]["namespace"] = "kube-system"
    rsp = f.run(f.request(xr))
    assert "spec.namespace" in f.fatal(rsp)
    assert not rsp.desired.resources


def test_the_claim_shape_is_served_as_before_for_the_same_kind_name():
    """`CNPGOperator`-style kind names exist in both groups: the group decides the shape."""
    claim_xr = simulate.to_composite(f.claim("PostgresDatabase"))
    rsp = f.run(f.request(claim_xr))
    assert {b["apiVersion"] for b in f.desired(rsp).values()} == {shapes.LEGACY_OBJECT}
    assert all(c.target == fnv1.TARGET_COMPOSITE_AND_CLAIM for c in rsp.conditions)
    assert rsp.requirements.extra_resources


def test_an_unknown_kind_in_the_v2_group_is_refused():
    rsp = f.run(f.request({"apiVersion": definitions.V2_API_VERSION, "kind": "XPostgresDatabase",
                           "metadata": {"name": "x", "namespace": "shop"}}))  # fmt: skip
    assert "not composed by function-tau" in f.fatal(rsp)


# ---------------------------------------------------------------------------------------------------------------
# Tenancy, as properties.


def _namespaced_xr(kind: strategies.Kind, spec: dict, name: str, namespace: str) -> dict:
    return v2.as_v2({"apiVersion": definitions.API_VERSION, "kind": kind.claim, "metadata": {"name": name,
                     "namespace": namespace}, "spec": spec})  # fmt: skip


def _assert_within(rsp: fnv1.RunFunctionResponse, namespace: str, platform_namespaces: set[str]) -> None:
    for key, body in f.desired(rsp).items():
        assert body["apiVersion"] == shapes.NAMESPACED_OBJECT, key  # no Release, no cluster-scoped resource
        assert body["metadata"]["namespace"] == namespace, key
        manifest = body["spec"]["forProvider"]["manifest"]
        assert (manifest["apiVersion"], manifest["kind"]) in NAMESPACED_INNER, key
        assert manifest["metadata"]["namespace"] == namespace, key
    for selector in rsp.requirements.resources.values():
        assert selector.namespace in {namespace} | platform_namespaces, selector


@strategies.budget(25)
@given(data=st.data(), namespace=st.sampled_from(["shop", "team-a", "apps", "default"]))
def test_a_namespaced_postgres_database_never_composes_outside_its_namespace(data, namespace):
    spec = data.draw(strategies.postgres_specs)
    xr = _namespaced_xr(strategies.POSTGRES, spec, "db", namespace)
    responses = f.trace(xr, (S3_SECRET,), OBJECT_STORE_INPUT)
    platform = {OBJECT_STORE_INPUT["backup"]["objectStore"]["credentials"]["namespace"]}
    for rsp in responses:
        if f.fatal(rsp) is None:
            _assert_within(rsp, namespace, platform)


@strategies.budget(25)
@given(data=st.data(), namespace=st.sampled_from(["shop", "team-a", "apps"]))
def test_a_namespaced_tau_application_never_composes_outside_its_namespace(data, namespace):
    spec = data.draw(strategies.application_specs())
    xr = _namespaced_xr(strategies.APPLICATION, spec, "web", namespace)
    responses = f.trace(xr, (S3_SECRET,), OBJECT_STORE_INPUT)
    platform = {OBJECT_STORE_INPUT["backup"]["objectStore"]["credentials"]["namespace"]}
    for rsp in responses:
        if f.fatal(rsp) is None:
            _assert_within(rsp, namespace, platform)


@strategies.budget(25)
@given(data=st.data(), namespace=st.sampled_from(["shop", "team-a", "apps"]))
def test_a_namespaced_postgres_instance_never_composes_outside_its_namespace(data, namespace):
    spec = data.draw(strategies.instance_specs)
    xr = _namespaced_xr(strategies.INSTANCE_KIND, spec, "shared", namespace)
    responses = f.trace(xr, (S3_SECRET,), OBJECT_STORE_INPUT)
    platform = {OBJECT_STORE_INPUT["backup"]["objectStore"]["credentials"]["namespace"]}
    for rsp in responses:
        if f.fatal(rsp) is None:
            _assert_within(rsp, namespace, platform)


# ---------------------------------------------------------------------------------------------------------------
# Migration: claim deleted with Retain, the v2 composite applied in its place.


def _left_behind(rsp: fnv1.RunFunctionResponse) -> list[dict]:
    """What a claim at `rsp` leaves in the cluster when deleted with Retain: what its orphaning Objects applied.

    With Retain, what holds the data and the password (the Cluster, the Database,
    the credentials Secret) is orphaned; what is deleted with the claim (an
    application's Deployment, Service and Ingress) is re-created as it was.
    """
    assert f.fatal(rsp) is None
    bodies = f.desired(rsp)
    for key in (keys.CREDENTIALS, keys.CLUSTER, keys.DATABASE):  # what holds the data and the password
        assert bodies[key]["spec"]["deletionPolicy"] == "Orphan", key
    return [copy.deepcopy(b["spec"]["forProvider"]["manifest"]) for b in bodies.values()
            if b["spec"]["deletionPolicy"] == "Orphan"]  # fmt: skip


def _password(rsp: fnv1.RunFunctionResponse, key: str = keys.CREDENTIALS) -> str:
    return base64.b64decode(f.manifests(rsp)[key]["data"]["password"]).decode()


@pytest.mark.parametrize(
    "claim",
    [
        f.claim("PostgresDatabase", {"extensions": ["uuid-ossp", "pgcrypto"]}),
        f.claim("TauApplication", {"image": "nginx:1.27", "port": 8080, "database": {"enabled": True}}),
    ],
    ids=["postgres-database", "tau-application"],
)
def test_a_v2_composite_takes_over_what_its_deleted_claim_left_behind(claim: dict):
    before = simulate.converge(simulate.to_composite(claim))
    left = _left_behind(before)
    modern = v2.as_v2(claim)
    # First reconcile: nothing observed yet; the live Secret answers the requirement.
    first = simulate.run(modern, required=left)
    assert f.fatal(first) is None
    assert _password(first) == _password(before)  # the database owner's password does not change
    # At steady state every resource is what the claim had applied: nothing for the providers to change.
    after = simulate.converge(modern, required=left)
    assert {k: v2.inner(b) for k, b in f.desired(after).items()} == {
        k: v2.inner(b) for k, b in f.desired(before).items()
    }
    # And the move is protected the same way: without Delete, deleting the v2 composite leaves them too.
    claim_bodies = f.desired(before)
    for key, body in f.desired(after).items():
        wanted = shapes.management_policies(claim_bodies[key]["spec"]["deletionPolicy"])
        assert body["spec"]["managementPolicies"] == wanted, key
    for key in (keys.CREDENTIALS, keys.CLUSTER, keys.DATABASE):
        assert tuple(f.desired(after)[key]["spec"]["managementPolicies"]) == shapes.RETAIN, key


def test_migration_refuses_a_secret_that_function_tau_did_not_make():
    """Adoption is for what the claim left behind (labelled managed-by function-tau), as for claims."""
    claim = f.claim("PostgresDatabase")
    left = _left_behind(simulate.converge(simulate.to_composite(claim)))
    for doc in left:
        if doc["kind"] == "Secret":
            doc["metadata"]["labels"].pop("app.kubernetes.io/managed-by")
    rsp = simulate.run(v2.as_v2(claim), required=left)
    assert "credentialsSecretName" in f.fatal(rsp)
