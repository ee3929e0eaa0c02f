"""The Crossplane 2 APIs on the real control plane (issue #13).

Real Crossplane core and provider-kubernetes v1.2.1 (see cluster.py), with the
v2 XRDs and Compositions of apis-v2/ applied beside the claim APIs:

- both API sets are served at once (their groups differ, so their CRDs do not
  collide: the design's reason for m.tau.home.arpa);
- a namespaced PostgresDatabase becomes namespaced Objects in its namespace,
  which provider-kubernetes applies there, through the ClusterProviderConfig;
- the migration path of docs/POSTGRES_USAGE.md, for real: a claim deleted with
  Retain, the v2 composite applied in its place takes over the same CNPG
  Cluster (same uid: not re-created) and the same credentials Secret (same
  password), and deleting it again (Retain) leaves them.
"""

from __future__ import annotations

import json
import time

import pytest

from function import shapes
from function.api import definitions
from tests.controlplane import claims
from tests.controlplane.cluster import CROSSPLANE_NAMESPACE, PROVIDER_KUBECONFIG_SECRET, ControlPlane
from tests.controlplane.kubelet_standin import CNPGStatusStandIn
from tests.support.paths import APIS_V2

pytestmark = pytest.mark.controlplane

M_OBJECT = "objects.kubernetes.m.crossplane.io"
V2_DATABASES = f"postgresdatabases.{definitions.V2_GROUP}"
SPEC = {"extensions": ["pgcrypto"], "instance": {"storage": {"size": "1Gi"}}}


@pytest.fixture(scope="module")
def v2_apis(plane: ControlPlane) -> ControlPlane:
    """The v2 XRDs (Established), their Compositions, and the namespaced provider's ClusterProviderConfig."""
    paths = sorted(APIS_V2.glob("*/definition.yaml"))
    plane.apply("\n---\n".join(p.read_text() for p in paths))
    names = [f"{d.v2_plural}.{definitions.V2_GROUP}" for d in (definitions.POSTGRES_DATABASE,
                                                                definitions.TAU_APPLICATION)]  # fmt: skip

    def established() -> bool:
        for name in names:
            xrd = plane.get("compositeresourcedefinitions.apiextensions.crossplane.io", name)
            conditions = {c["type"]: c["status"] for c in ((xrd or {}).get("status") or {}).get("conditions", [])}
            if conditions.get("Established") != "True":
                return False
        return True

    plane.wait("v2 XRDs Established", established, timeout=120, proc=plane.processes["crossplane"])
    plane.apply("\n---\n".join(p.read_text() for p in sorted(APIS_V2.glob("*/composition.yaml"))))
    # examples/v2/install/07 uses InjectedIdentity (in-cluster config); out of cluster the same identity,
    # the ServiceAccount of examples/install/01, comes as a kubeconfig (as cluster.py does for the claims).
    plane.apply([{
        "apiVersion": "kubernetes.m.crossplane.io/v1alpha1", "kind": "ClusterProviderConfig",
        "metadata": {"name": "default"},
        "spec": {"credentials": {"source": "Secret", "secretRef": {
            "namespace": CROSSPLANE_NAMESPACE, "name": PROVIDER_KUBECONFIG_SECRET, "key": "kubeconfig"}}},
    }])  # fmt: skip
    return plane


def _xr(name: str, namespace: str) -> dict:
    return {"apiVersion": definitions.V2_API_VERSION, "kind": "PostgresDatabase",
            "metadata": {"name": name, "namespace": namespace}, "spec": json.loads(json.dumps(SPEC))}  # fmt: skip


def _claim(name: str, namespace: str) -> dict:
    return {**_xr(name, namespace), "apiVersion": definitions.API_VERSION}


def _objects(plane: ControlPlane, xr: dict) -> list[dict]:
    meta = xr["metadata"]
    return plane.items(M_OBJECT, namespace=meta["namespace"], selector=f"crossplane.io/composite={meta['name']}")


def _converge(plane: ControlPlane, standin: CNPGStatusStandIn, xr: dict, timeout: float = 420) -> list[dict]:
    """Play the kubelet until the v2 composite is Ready and every Object Synced; its Objects."""
    done: set = set()
    deadline = time.monotonic() + timeout
    live, objects = None, []
    while time.monotonic() < deadline:
        objects = _objects(plane, xr)
        claims.report_ready(plane, standin, objects, done)
        live = plane.get(V2_DATABASES, xr["metadata"]["name"], xr["metadata"]["namespace"])
        if objects and all(claims.is_true(o, "Synced") for o in objects) and claims.is_true(live, "Ready"):
            return objects
        time.sleep(2)
    summary = claims._summary({"claim": live, "objects": objects})
    raise AssertionError(f"{xr['metadata']} not Ready within {timeout:.0f}s: {json.dumps(summary)[:4000]}\n"
                         f"crossplane: {plane.logs('crossplane', 15)}")  # fmt: skip


def test_both_api_sets_are_served_at_once(v2_apis: ControlPlane) -> None:
    crds = {c["metadata"]["name"] for c in v2_apis.items("customresourcedefinitions.apiextensions.k8s.io")}
    assert {f"postgresdatabases.{definitions.GROUP}", f"xpostgresdatabases.{definitions.GROUP}", V2_DATABASES} <= crds
    v2 = v2_apis.get("customresourcedefinitions.apiextensions.k8s.io", V2_DATABASES)
    assert v2["spec"]["scope"] == "Namespaced"
    assert "crossplane" in v2["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]


def test_a_namespaced_postgres_database_becomes_namespaced_objects_in_its_namespace(
    v2_apis: ControlPlane, standin: CNPGStatusStandIn
) -> None:
    xr = _xr("native", "v2-native")
    claims.ensure_namespace(v2_apis, "v2-native")
    v2_apis.apply([xr])
    objects = _converge(v2_apis, standin, xr)
    assert {claims.manifest(o)["kind"] for o in objects} >= {"Secret", "Cluster", "Database", "ScheduledBackup"}
    for obj in objects:
        assert obj["metadata"]["namespace"] == "v2-native"
        assert tuple(obj["spec"]["managementPolicies"]) == shapes.RETAIN
        assert obj["spec"]["providerConfigRef"] == {"kind": "ClusterProviderConfig", "name": "default"}
        live = claims.inner(v2_apis, obj)
        assert live is not None and live["metadata"]["namespace"] == "v2-native", claims.manifest(obj)["kind"]
    status = v2_apis.get(V2_DATABASES, "native", "v2-native")["status"]
    assert status["secretName"] == "native-postgres-credentials"
    assert status["host"] == "postgres-native-rw.v2-native.svc"


def test_a_claim_moves_to_the_v2_api_keeping_its_cluster_and_password(
    v2_apis: ControlPlane, standin: CNPGStatusStandIn
) -> None:
    plane, namespace = v2_apis, "v2-migrate"
    claim = _claim("moving", namespace)
    claims.apply_claim(plane, claim)
    claims.converge(plane, standin, [claim], timeout=420)
    cluster = plane.get("clusters.postgresql.cnpg.io", "postgres-moving", namespace)
    password = plane.secret_data("moving-postgres-credentials", namespace)["password"]

    # Retain (the default): deleting the claim deletes its Objects, and nothing they applied.
    plane.kubectl("delete", f"postgresdatabases.{definitions.GROUP}", "moving", "-n", namespace, "--wait=false")
    plane.wait(
        "the claim and its Objects gone",
        lambda: claims.get_claim(plane, claim) is None
        and not plane.items(claims.OBJECT, selector="crossplane.io/claim-name=moving"),
        timeout=180, interval=2,
    )  # fmt: skip
    assert (
        plane.get("clusters.postgresql.cnpg.io", "postgres-moving", namespace)["metadata"]["uid"]
        == (cluster["metadata"]["uid"])
    )

    # The v2 composite, same name, namespace and spec: it takes everything over.
    xr = _xr("moving", namespace)
    plane.apply([xr])
    objects = _converge(plane, standin, xr)
    after = plane.get("clusters.postgresql.cnpg.io", "postgres-moving", namespace)
    assert after["metadata"]["uid"] == cluster["metadata"]["uid"]  # adopted, not re-created
    assert plane.secret_data("moving-postgres-credentials", namespace)["password"] == password
    assert {claims.manifest(o)["kind"] for o in objects} >= {"Secret", "Cluster", "Database", "ScheduledBackup"}

    # And back out again: the v2 composite's Objects have no Delete policy, so deleting it leaves the database.
    plane.kubectl("delete", V2_DATABASES, "moving", "-n", namespace, "--wait=false")
    plane.wait("the v2 composite and its Objects gone",
               lambda: plane.get(V2_DATABASES, "moving", namespace) is None and not _objects(plane, xr),
               timeout=180, interval=2)  # fmt: skip
    assert (
        plane.get("clusters.postgresql.cnpg.io", "postgres-moving", namespace)["metadata"]["uid"]
        == (cluster["metadata"]["uid"])
    )
    assert plane.secret_data("moving-postgres-credentials", namespace)["password"] == password
