"""CNPGOperator: what it becomes (golden files), in what order, when it is
Ready, what it refuses, and the invariants of SPEC §7 under generated input.

Releases are validated against provider-helm's Release CRD and the
VolumeSnapshotClass inside its Object against the external-snapshotter CRD
(the Go module kubernetes-csi/external-snapshotter/client/v8, which carries the
CRDs; it is not among ../shared/crds) with jsonschema and, CEL included, with
`crossplane beta validate`.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import pathlib

import jsonschema
import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import HealthCheck, given, settings

from function.api import definitions
from function.api.platform import PlatformDefaults
from function.compose import operator as op
from tests.support import crossplane, golden, gomod, schemas, strategies
from tests.support import function as f
from tests.support.paths import EXAMPLES, GOLDEN

KIND = "XCNPGOperator"
CERT_MANAGER_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "certificates.cert-manager.io"},
}
CERT_MANAGER = {op.CERT_MANAGER: [CERT_MANAGER_CRD]}
NO_CERT_MANAGER: dict[str, list[dict]] = {op.CERT_MANAGER: []}
SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def xr(spec: dict | None = None, name: str = "cnpg") -> dict:
    """A CNPGOperator composite (cluster-scoped, created directly: no claim)."""
    return {"apiVersion": "tau.home.arpa/v1alpha1", "kind": KIND, "metadata": {"name": name}, "spec": spec or {}}


def observed_release(rsp: fnv1.RunFunctionResponse, key: str, state: str, ready: bool, **at: object) -> dict:
    """The Release `key` of a response as provider-helm would report it."""
    body = copy.deepcopy(f.desired(rsp)[key])
    body.setdefault("metadata", {}).setdefault("annotations", {})["crossplane.io/composition-resource-name"] = key
    conditions = [
        {"type": "Ready", "status": "True" if ready else "False", "reason": "Available" if ready else "Unavailable"}
    ]
    body["status"] = {"atProvider": {"state": state, **at}, "conditions": conditions}
    return body


# ---------------------------------------------------------------------------------------------------------------
# What it becomes: every field, as whole outputs.


@dataclasses.dataclass
class Case:
    name: str
    spec: dict
    composite_name: str = "cnpg"


CASES = [
    Case("defaults", {}),
    Case("barman-cloud-plugin", {"barmanCloudPlugin": {"enabled": True}}),
    Case("volume-snapshot-class", {"volumeSnapshotClass": {"create": True}}),
    Case("monitoring", {"monitoring": {"podMonitor": True, "grafanaDashboard": True}}),
    Case("every-field", {
        "namespace": "databases", "chartVersion": "0.28.3", "replicas": 2,
        "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "monitoring": {"podMonitor": True},
        "barmanCloudPlugin": {"enabled": True, "chartVersion": "0.6.0"},
        "volumeSnapshotClass": {"create": True, "name": "nfs-backup", "deletionPolicy": "Retain"},
    }, composite_name="operator"),
]  # fmt: skip


def _conditions(rsp: fnv1.RunFunctionResponse) -> list[dict]:
    return [
        {"type": c.type, "status": fnv1.Status.Name(c.status), "reason": c.reason, "message": c.message}
        for c in rsp.conditions
    ]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_field(case: Case):
    rsp, _ = f.converge(xr(case.spec, case.composite_name), required=CERT_MANAGER)
    assert f.fatal(rsp) is None, f.fatal(rsp)
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    resources = f.desired(rsp)
    for body in resources.values():
        schemas.validate(body)  # the VolumeSnapshotClass inside its Object: see the external-snapshotter tests
    documents = [
        {"status": f.status(rsp), "conditions": _conditions(rsp), "ready": fnv1.Ready.Name(rsp.desired.composite.ready)}
    ]
    documents += [{"key": key, **resources[key]} for key in sorted(resources)]
    golden.check(
        GOLDEN / "operator" / f"{case.name}.yaml",
        documents,
        f"# XCNPGOperator {case.composite_name} with spec {json.dumps(case.spec)}, converged "
        "(every release deployed, cert-manager installed).\n",
    )


def test_the_default_release_is_the_plans_operator():
    """The spec's defaults, spelled out: chart, repository, namespace, wait, one replica of 100m / 200Mi."""
    release = f.desired(f.run(f.request(xr())))[op.OPERATOR_RELEASE]
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
    body = f.desired(rsp)[op.SNAPSHOT_CLASS]
    assert body["kind"] == "Object"
    assert body["spec"]["deletionPolicy"] == "Delete"
    manifest = f.manifests(rsp)[op.SNAPSHOT_CLASS]
    assert (manifest["metadata"]["name"], manifest["driver"]) == ("longhorn-backup", "driver.longhorn.io")
    assert manifest["parameters"] == {"type": "bak"}
    assert manifest["deletionPolicy"] == "Delete"


def test_the_snapshot_class_is_the_platforms_default_class():
    """CNPGOperator creates exactly the class PostgresDatabase snapshot backups use by default."""
    assert op.snapshot_class_manifest(op.CNPGOperatorSpec())["metadata"]["name"] == (
        PlatformDefaults().backup.volumeSnapshot.className
    )


# ---------------------------------------------------------------------------------------------------------------
# Order and readiness, reconcile by reconcile.


def test_first_reconcile_installs_only_the_operator_and_the_class():
    rsp = f.run(f.request(xr({"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True}})))
    assert f.fatal(rsp) is None
    assert sorted(f.desired(rsp)) == sorted([op.OPERATOR_RELEASE, op.SNAPSHOT_CLASS])
    assert rsp.desired.composite.ready == fnv1.READY_FALSE
    message = f.conditions(rsp)["OperatorReady"].message
    assert "cloudnative-pg chart 0.29.0 to be deployed in cnpg-system" in message
    assert "the operator before installing the Barman Cloud plugin" in message
    assert f.status(rsp)["state"] == "Waiting"


def test_the_plugin_waits_for_the_operator_and_cert_manager():
    spec = {"barmanCloudPlugin": {"enabled": True}}
    first = f.run(f.request(xr(spec), required=CERT_MANAGER))
    # Deployed but not Ready (still waiting): no plugin yet.
    pending = observed_release(first, op.OPERATOR_RELEASE, "pending-install", ready=False)
    rsp = f.run(f.request(xr(spec), [pending], required=CERT_MANAGER))
    assert op.PLUGIN_RELEASE not in f.desired(rsp)

    deployed = observed_release(first, op.OPERATOR_RELEASE, "deployed", ready=True, version="0.29.0")
    without = f.run(f.request(xr(spec), [deployed], required=NO_CERT_MANAGER))
    assert op.PLUGIN_RELEASE not in f.desired(without)
    assert "cert-manager (CRD certificates.cert-manager.io not found)" in f.conditions(without)["OperatorReady"].message
    assert without.desired.composite.ready == fnv1.READY_FALSE

    unresolved = f.run(f.request(xr(spec), [deployed]))
    assert op.PLUGIN_RELEASE not in f.desired(unresolved)

    rsp = f.run(f.request(xr(spec), [deployed], required=CERT_MANAGER))
    plugin = f.desired(rsp)[op.PLUGIN_RELEASE]
    assert plugin["metadata"]["name"] == "cnpg-plugin-barman-cloud"
    assert plugin["spec"]["forProvider"]["chart"]["name"] == "plugin-barman-cloud"
    assert plugin["spec"]["forProvider"]["chart"]["version"] == "0.7.0"
    assert plugin["spec"]["forProvider"]["namespace"] == "cnpg-system"  # next to the operator, where CNPG finds it
    assert plugin["spec"]["forProvider"]["wait"] is True
    assert rsp.desired.resources[op.PLUGIN_RELEASE].ready == fnv1.READY_FALSE
    assert rsp.desired.composite.ready == fnv1.READY_FALSE


@pytest.mark.parametrize("legacy", [False, True], ids=["crossplane-2", "crossplane-1.20"])
def test_cert_manager_is_asked_for_the_way_both_crossplane_versions_read_it(legacy: bool):
    spec = {"barmanCloudPlugin": {"enabled": True}}
    first = f.run(f.request(xr(spec)))
    for field in (first.requirements.resources, first.requirements.extra_resources):
        selector = field[op.CERT_MANAGER]
        assert (selector.api_version, selector.kind, selector.match_name) == (
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", "certificates.cert-manager.io",
        )  # fmt: skip
        assert not selector.HasField("namespace")  # a CRD is cluster-scoped
    deployed = observed_release(first, op.OPERATOR_RELEASE, "deployed", ready=True)
    rsp = f.run(f.request(xr(spec), [deployed], required=CERT_MANAGER, legacy=legacy))
    assert op.PLUGIN_RELEASE in f.desired(rsp)


def test_no_requirement_once_the_plugin_exists_or_when_it_is_off():
    assert not f.run(f.request(xr())).requirements.resources
    spec = {"barmanCloudPlugin": {"enabled": True}}
    _, observed = f.converge(xr(spec), required=CERT_MANAGER)
    again = f.run(f.request(xr(spec), observed))
    assert op.PLUGIN_RELEASE in f.desired(again)
    assert not again.requirements.resources and not again.requirements.extra_resources


def test_an_installed_plugin_is_kept_while_the_operator_is_upgraded():
    """Once observed, a release is emitted on every call (dropping it would uninstall it)."""
    spec = {"barmanCloudPlugin": {"enabled": True}}
    rsp, observed = f.converge(xr(spec), required=CERT_MANAGER)
    upgrading = [
        observed_release(rsp, op.OPERATOR_RELEASE, "pending-upgrade", ready=False)
        if o["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == op.OPERATOR_RELEASE
        else o
        for o in observed
    ]
    again = f.run(f.request(xr(spec), upgrading, required=NO_CERT_MANAGER))
    assert op.PLUGIN_RELEASE in f.desired(again)
    assert again.desired.composite.ready == fnv1.READY_FALSE
    assert "(state: pending-upgrade)" in f.conditions(again)["OperatorReady"].message


def test_switching_the_plugin_and_the_class_off_removes_them():
    spec = {"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True}}
    _, observed = f.converge(xr(spec), required=CERT_MANAGER)
    rsp = f.run(f.request(xr({}), observed))
    assert list(f.desired(rsp)) == [op.OPERATOR_RELEASE]
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    assert "barmanCloudPlugin" not in f.status(rsp) and "volumeSnapshotClass" not in f.status(rsp)


def test_ready_only_when_every_release_is_deployed():
    spec = {"barmanCloudPlugin": {"enabled": True}}
    rsp, observed = f.converge(xr(spec), required=CERT_MANAGER)
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    failed = [
        observed_release(
            rsp,
            op.PLUGIN_RELEASE,
            "failed",
            ready=False,
            version="0.7.0",
            releaseDescription="context deadline exceeded",
        )
        if o["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == op.PLUGIN_RELEASE
        else o
        for o in observed
    ]
    again = f.run(f.request(xr(spec), failed))
    assert again.desired.composite.ready == fnv1.READY_FALSE
    assert again.desired.resources[op.PLUGIN_RELEASE].ready == fnv1.READY_FALSE
    assert again.desired.resources[op.OPERATOR_RELEASE].ready == fnv1.READY_TRUE
    condition = f.conditions(again)["OperatorReady"]
    assert condition.status == fnv1.STATUS_CONDITION_FALSE
    assert (
        "plugin-barman-cloud chart 0.7.0 to be deployed in cnpg-system (state: failed, context deadline exceeded)"
        in (condition.message)
    )
    assert f.status(again)["barmanCloudPlugin"] == {"chartVersion": "0.7.0", "state": "failed"}


def test_a_release_that_cannot_sync_says_why():
    first = f.run(f.request(xr()))
    release = observed_release(first, op.OPERATOR_RELEASE, "", ready=False)
    release["status"]["conditions"].append(
        {
            "type": "Synced",
            "status": "False",
            "reason": "ReconcileError",
            "message": "failed to install release: forbidden",
        }
    )
    rsp = f.run(f.request(xr(), [release]))
    assert "(failed to install release: forbidden)" in f.conditions(rsp)["OperatorReady"].message


def test_status_reports_what_provider_helm_deployed():
    rsp, _ = f.converge(xr({"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True}}),
                        required=CERT_MANAGER)  # fmt: skip
    assert f.status(rsp) == {
        "namespace": "cnpg-system",
        "chartVersion": "0.29.0",
        "state": "deployed",
        "barmanCloudPlugin": {"chartVersion": "0.7.0", "state": "deployed"},
        "volumeSnapshotClass": "longhorn-backup",
    }
    condition = f.conditions(rsp)["OperatorReady"]
    assert condition.status == fnv1.STATUS_CONDITION_TRUE
    assert condition.message == (
        "CloudNativePG chart 0.29.0 is deployed in cnpg-system; the Barman Cloud plugin chart 0.7.0 is deployed; "
        "VolumeSnapshotClass longhorn-backup exists"
    )


def test_the_composition_passes_no_platform_input():
    """The operator reads nothing from the platform defaults, so its Composition has no input."""
    (step,) = definitions.CNPG_OPERATOR.composition()["spec"]["pipeline"]
    assert step == {"step": "compose", "functionRef": {"name": "function-tau"}}


# ---------------------------------------------------------------------------------------------------------------
# What it refuses.


REFUSALS = [
    ({"chartVersion": "latest"}, "spec.chartVersion"),
    ({"chartVersion": "0.29"}, "spec.chartVersion"),
    ({"replicas": 0}, "spec.replicas"),
    ({"replicas": 6}, "spec.replicas"),
    ({"namespace": "CNPG"}, "spec.namespace"),
    ({"resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "200Mi"}}}, "spec.resources"),
    ({"barmanCloudPlugin": {"chartVersion": "v0.7"}}, "spec.barmanCloudPlugin.chartVersion"),
    ({"volumeSnapshotClass": {"name": "Longhorn Backup"}}, "spec.volumeSnapshotClass.name"),
    ({"volumeSnapshotClass": {"deletionPolicy": "Orphan"}}, "spec.volumeSnapshotClass.deletionPolicy"),
]


@pytest.mark.parametrize(("spec", "field"), REFUSALS, ids=[r[1] + "=" + json.dumps(r[0]) for r in REFUSALS])
def test_an_invalid_spec_is_refused_naming_the_field(spec: dict, field: str):
    rsp = f.run(f.request(xr(spec)))
    message = f.fatal(rsp)
    assert message is not None and message.startswith(field + ":"), message
    assert not f.desired(rsp)
    assert f.conditions(rsp)["OperatorReady"].status == fnv1.STATUS_CONDITION_FALSE


def test_a_name_too_long_for_helm_is_refused():
    rsp = f.run(f.request(xr(name="x" * (op.MAX_NAME + 1))))
    assert f.fatal(rsp).startswith("metadata.name: ")
    assert "Helm allows at most 53 characters" in f.fatal(rsp)
    assert f.fatal(f.run(f.request(xr(name="x" * op.MAX_NAME)))) is None
    assert f.fatal(f.run(f.request(xr(name="cnpg.home")))).startswith("metadata.name: ")


def test_moving_an_installed_operator_is_refused_and_destroys_nothing():
    _, observed = f.converge(xr({"barmanCloudPlugin": {"enabled": True}}), required=CERT_MANAGER)
    moved = f.run(f.request(xr({"namespace": "databases", "barmanCloudPlugin": {"enabled": True}}), observed))
    assert f.fatal(moved) == (
        "spec.namespace: cannot change from 'cnpg-system' to 'databases' once the operator is installed; "
        "delete the CNPGOperator and create it again to move it"
    )
    assert not f.desired(moved)  # a fatal result: Crossplane keeps what exists


def test_renaming_the_snapshot_class_is_refused_and_destroys_nothing():
    spec = {"volumeSnapshotClass": {"create": True}}
    _, observed = f.converge(xr(spec))
    renamed = f.run(f.request(xr({"volumeSnapshotClass": {"create": True, "name": "nfs-backup"}}), observed))
    assert f.fatal(renamed).startswith(
        "spec.volumeSnapshotClass.name: cannot change from 'longhorn-backup' to 'nfs-backup'"
    )
    assert not f.desired(renamed)
    # Switching it off is allowed (it deletes the class); the new name can then be created.
    off = f.run(f.request(xr({"volumeSnapshotClass": {"create": False, "name": "nfs-backup"}}), observed))
    assert f.fatal(off) is None and op.SNAPSHOT_CLASS not in f.desired(off)


# ---------------------------------------------------------------------------------------------------------------
# Invariants under generated input (SPEC §7).

valid_specs = strategies.operator_specs
any_specs = strategies.operator_garbage


@SETTINGS
@given(spec=valid_specs)
def test_every_valid_spec_converges_ready_deterministically_to_valid_manifests(spec: dict):
    rsp, observed = f.converge(xr(spec), required=CERT_MANAGER)
    assert f.fatal(rsp) is None, f.fatal(rsp)
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    desired = f.desired(rsp)
    for body in desired.values():
        schemas.validate(body)
        if body["kind"] == "Release":
            assert body["spec"]["forProvider"]["wait"] is True
            assert body["spec"]["forProvider"]["namespace"] == spec.get("namespace", "cnpg-system")
        else:
            assert body["spec"]["forProvider"]["manifest"]["parameters"] == {"type": "bak"}
    assert (op.PLUGIN_RELEASE in desired) is spec.get("barmanCloudPlugin", {}).get("enabled", False)
    assert (op.SNAPSHOT_CLASS in desired) is spec.get("volumeSnapshotClass", {}).get("create", False)
    again = f.run(f.request(xr(spec), observed, required=CERT_MANAGER))
    assert again.SerializeToString(deterministic=True) == rsp.SerializeToString(deterministic=True)


@SETTINGS
@given(spec=any_specs)
def test_no_input_crashes_and_a_refusal_names_a_field(spec: dict):
    rsp = f.run(f.request(xr(spec), required=CERT_MANAGER))
    message = f.fatal(rsp)
    assert all(r.reason != "InternalError" for r in rsp.results), message
    if message is not None:
        assert message.startswith("spec"), message
        assert not f.desired(rsp)


# ---------------------------------------------------------------------------------------------------------------
# The VolumeSnapshotClass against its real CRD (external-snapshotter), CEL rules included.


def snapshot_class_crd() -> pathlib.Path:
    """The VolumeSnapshotClass CRD of external-snapshotter v8.7.0 (from the Go module cache)."""
    return gomod.module_file(gomod.SNAPSHOTTER, "config/crd/snapshot.storage.k8s.io_volumesnapshotclasses.yaml")


def _snapshot_classes() -> list[dict]:
    classes = []
    for spec in ({"create": True}, {"create": True, "name": "nfs-backup", "deletionPolicy": "Retain"}):
        rsp = f.run(f.request(xr({"volumeSnapshotClass": spec})))
        classes.append(f.manifests(rsp)[op.SNAPSHOT_CLASS])
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
