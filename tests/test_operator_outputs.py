"""CNPGOperator: what it becomes, every field as whole outputs (golden files).

Releases are validated against provider-helm's Release CRD and the
VolumeSnapshotClass inside its Object against the external-snapshotter CRD
(the Go module kubernetes-csi/external-snapshotter/client/v8, which carries the
CRDs; it is not among the pinned CRDs of tests/support/upstream.py) with jsonschema and, CEL included, with
`crossplane beta validate`.
"""

from __future__ import annotations

import json
import pathlib

import jsonschema
import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys
from function.api import operator as op_api
from function.api.platform import PlatformDefaults
from function.operator import manifests as op_manifests
from tests.support import crossplane, golden, gomod, schemas
from tests.support import function as f
from tests.support.function import Case
from tests.support.operator import CERT_MANAGER, KIND, xr
from tests.support.paths import EXAMPLES, GOLDEN

# ---------------------------------------------------------------------------------------------------------------
# What it becomes: every field, as whole outputs.


CASES = [
    Case("defaults", {}, claim_name="cnpg", required=CERT_MANAGER),
    Case("barman-cloud-plugin", {"barmanCloudPlugin": {"enabled": True}}, claim_name="cnpg", required=CERT_MANAGER),
    Case("volume-snapshot-class", {"volumeSnapshotClass": {"create": True}}, claim_name="cnpg", required=CERT_MANAGER),
    Case("monitoring", {"monitoring": {"podMonitor": True, "grafanaDashboard": True}}, claim_name="cnpg", required=CERT_MANAGER),
    Case("every-field", {
        "namespace": "databases", "chartVersion": "0.28.3", "replicas": 2,
        "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "monitoring": {"podMonitor": True},
        "barmanCloudPlugin": {"enabled": True, "chartVersion": "0.6.0"},
        "volumeSnapshotClass": {"create": True, "name": "nfs-backup", "deletionPolicy": "Retain"},
    }, claim_name="operator", required=CERT_MANAGER),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_field(case: Case):
    rsp = f.steady(xr(case.spec, case.claim_name), case)
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    for body in f.desired(rsp).values():
        schemas.validate(body)  # the VolumeSnapshotClass inside its Object: see the external-snapshotter tests
    golden.check_steady(
        GOLDEN / "operator" / f"{case.name}.yaml",
        rsp,
        f"# CNPGOperator {case.claim_name} with spec {json.dumps(case.spec)}, converged "
        "(every release deployed, cert-manager installed).\n",
    )


def test_the_default_release_is_the_plans_operator():
    """The spec's defaults, spelled out: chart, repository, namespace, wait, one replica of 100m / 200Mi."""
    release = f.desired(f.run(f.request(xr())))[keys.OPERATOR_RELEASE]
    provider = release["spec"]["forProvider"]
    assert release["metadata"]["name"] == "cnpg-cloudnative-pg"
    assert provider["chart"] == {
        "name": "cloudnative-pg", "repository": "https://cloudnative-pg.github.io/charts", "version": "0.29.0",
    }  # fmt: skip
    assert provider["namespace"] == "cnpg-system"
    assert provider["wait"] is True
    assert provider["values"]["replicaCount"] == 1
    amounts = {"cpu": "100m", "memory": "200Mi"}
    assert provider["values"]["resources"] == {"limits": amounts, "requests": amounts}
    assert release["spec"]["providerConfigRef"] == {"name": "default"}


def test_the_snapshot_class_is_longhorns_backup_class():
    rsp = f.run(f.request(xr({"volumeSnapshotClass": {"create": True}})))
    body = f.desired(rsp)[keys.SNAPSHOT_CLASS]
    assert body["kind"] == "Object"
    assert body["spec"]["deletionPolicy"] == "Delete"
    manifest = f.manifests(rsp)[keys.SNAPSHOT_CLASS]
    assert (manifest["metadata"]["name"], manifest["driver"]) == ("longhorn-backup", "driver.longhorn.io")
    assert manifest["parameters"] == {"type": "bak"}
    assert manifest["deletionPolicy"] == "Delete"


def test_the_snapshot_class_is_the_platforms_default_class():
    """CNPGOperator creates exactly the class PostgresDatabase snapshot backups use by default."""
    assert op_manifests.snapshot_class_manifest(op_api.CNPGOperatorSpec())["metadata"]["name"] == (
        PlatformDefaults().backup.volumeSnapshot.className
    )


# ---------------------------------------------------------------------------------------------------------------
# The VolumeSnapshotClass against its real CRD (external-snapshotter), CEL rules included.


def snapshot_class_crd() -> pathlib.Path:
    """The VolumeSnapshotClass CRD of external-snapshotter v8.7.0 (from the Go module cache)."""
    return gomod.module_file(gomod.SNAPSHOTTER, "config/crd/snapshot.storage.k8s.io_volumesnapshotclasses.yaml")


def _snapshot_classes() -> list[dict]:
    classes = []
    for spec in ({"create": True}, {"create": True, "name": "nfs-backup", "deletionPolicy": "Retain"}):
        rsp = f.run(f.request(xr({"volumeSnapshotClass": spec})))
        classes.append(f.manifests(rsp)[keys.SNAPSHOT_CLASS])
    return classes


def test_the_snapshot_class_validates_against_the_external_snapshotter_crd():
    crd = yaml.safe_load(snapshot_class_crd().read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    schema = schemas._strict(
        {**version["schema"]["openAPIV3Schema"], "properties": {
            **version["schema"]["openAPIV3Schema"]["properties"], "metadata": {"type": "object"}}}
    )  # fmt: skip
    for manifest in _snapshot_classes():
        jsonschema.Draft7Validator(schema).validate(manifest)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate({**manifest, "deletionPolicy": "Orphan"})


@pytest.mark.crossplane_cli
def test_the_snapshot_class_passes_crossplane_beta_validate(tmp_path):
    crd = snapshot_class_crd()
    path = crossplane.write_documents(tmp_path, "classes.yaml", _snapshot_classes())
    code, output = crossplane.validate([crd], [path])
    assert code == 0, output
    assert "0 failure cases" in output and "could not find CRD/XRD" not in output, output


def test_the_example_is_the_home_cluster_setup():
    doc = yaml.safe_load((EXAMPLES / "cnpgoperator" / "claim.yaml").read_text())
    assert (doc["apiVersion"], doc["kind"]) == ("tau.home.arpa/v1alpha1", KIND)
    assert "namespace" not in doc["metadata"]  # cluster-scoped
    schemas.validate(doc)
    assert doc["spec"] == {"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True}}
