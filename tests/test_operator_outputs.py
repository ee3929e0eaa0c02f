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
    Case("longhorn-settings-left-alone", {"volumeSnapshotClass": {"localSnapshotCleanup": False}}, claim_name="cnpg",
         required=CERT_MANAGER),
    Case("dump-storage-class", {"dumpStorageClass": {"create": True, "server": "nas.home.arpa"}}, claim_name="cnpg",
         required=CERT_MANAGER),
    Case("every-field", {
        "namespace": "databases", "chartVersion": "0.28.3", "replicas": 2,
        "resources": {"requests": {"cpu": "200m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "monitoring": {"podMonitor": True},
        "barmanCloudPlugin": {"enabled": True, "chartVersion": "0.6.0"},
        "volumeSnapshotClass": {"create": True, "name": "nfs-backup", "deletionPolicy": "Retain",
                                "longhornNamespace": "storage"},
        "dumpStorageClass": {"create": True, "name": "nas-dumps", "server": "192.168.1.10", "share": "/volume1/dumps"},
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


def _snapshot_classes() -> list[dict]:
    classes = []
    for spec in ({"create": True}, {"create": True, "name": "nfs-backup", "deletionPolicy": "Retain"}):
        rsp = f.run(f.request(xr({"volumeSnapshotClass": spec})))
        classes.append(f.manifests(rsp)[keys.SNAPSHOT_CLASS])
    return classes


def test_the_snapshot_class_validates_against_the_external_snapshotter_crd():
    validator = schemas.crd_validator(yaml.safe_load(gomod.snapshot_class_crd_file().read_text()), "v1")
    for manifest in _snapshot_classes():
        validator.validate(manifest)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**manifest, "deletionPolicy": "Orphan"})


@pytest.mark.crossplane_cli
def test_the_snapshot_class_passes_crossplane_beta_validate(tmp_path):
    crd = gomod.snapshot_class_crd_file()
    path = crossplane.write_documents(tmp_path, "classes.yaml", _snapshot_classes())
    code, output = crossplane.validate([crd], [path])
    assert code == 0, output
    assert "0 failure cases" in output and "could not find CRD/XRD" not in output, output


# ---------------------------------------------------------------------------------------------------------------
# Longhorn's snapshot clean-up settings (issue #10, item 3), against longhorn-manager v1.9.0, the first release
# with both settings (from the Go module cache: github.com/longhorn/longhorn-manager).

SETTINGS = (keys.LONGHORN_CLEANUP_AFTER_BACKUP, keys.LONGHORN_CLEANUP_WITH_BACKUP)


def longhorn_file(path: str) -> pathlib.Path:
    return gomod.module_file(gomod.LONGHORN, path)


def _settings(spec: dict) -> dict[str, dict]:
    rsp = f.run(f.request(xr(spec)))
    return {k: v for k, v in f.desired(rsp).items() if k in SETTINGS}


def test_the_default_turns_on_both_clean_up_settings_and_never_deletes_them():
    """Both settings "true" in longhorn-system, applied over the ones longhorn-manager made, orphaned on delete."""
    settings = _settings({})
    assert set(settings) == set(SETTINGS)
    for body in settings.values():
        assert body["spec"]["deletionPolicy"] == "Orphan"
        assert body["spec"]["readiness"] == {"policy": "SuccessfulCreate"}
        manifest = body["spec"]["forProvider"]["manifest"]
        assert manifest["value"] == "true" and manifest["metadata"]["namespace"] == "longhorn-system"
    names = {b["spec"]["forProvider"]["manifest"]["metadata"]["name"] for b in settings.values()}
    assert names == {"auto-cleanup-snapshot-after-on-demand-backup-completed", "auto-cleanup-when-delete-backup"}


@pytest.mark.parametrize(
    "spec",
    [{"volumeSnapshotClass": {"localSnapshotCleanup": False}}, {"volumeSnapshotClass": {"create": False}}],
    ids=["cleanup-off", "no-longhorn-class"],
)
def test_no_settings_without_the_longhorn_class_or_when_turned_off(spec):
    assert _settings(spec) == {}


def test_a_setting_longhorn_refuses_says_what_to_do():
    """An older Longhorn's webhook refuses an unknown setting: the condition says which version it needs."""
    _, observed = f.converge(xr(), required=CERT_MANAGER)
    refusal = 'admission webhook "validator.longhorn.io" denied the request: invalid setting name'
    for body in observed:
        if (
            body["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
            == keys.LONGHORN_CLEANUP_AFTER_BACKUP
        ):
            body["status"] = {"conditions": [
                {"type": "Ready", "status": "False", "reason": "Creating"},
                {"type": "Synced", "status": "False", "reason": "ReconcileError", "message": refusal},
            ]}  # fmt: skip
    rsp = f.run(f.request(xr(), observed, required=CERT_MANAGER))
    assert rsp.desired.composite.ready == fnv1.READY_FALSE
    message = f.conditions(rsp)["OperatorReady"].message
    assert message == (
        "waiting for Setting auto-cleanup-snapshot-after-on-demand-backup-completed to be applied (not synced: "
        'admission webhook "validator.longhorn.io" denied the request: invalid setting name); Longhorn settings '
        'auto-cleanup-snapshot-after-on-demand-backup-completed and auto-cleanup-when-delete-backup to be "true" in '
        "longhorn-system (they need Longhorn 1.9.0 or later there; or set "
        "spec.volumeSnapshotClass.localSnapshotCleanup: false)"
    ), message


def test_the_settings_validate_against_longhorns_crd():
    validator = schemas.crd_validator(gomod.longhorn_setting_crd(), "v1beta2")
    manifests = [
        b["spec"]["forProvider"]["manifest"]
        for b in _settings({"volumeSnapshotClass": {"longhornNamespace": "storage"}}).values()
    ]
    assert len(manifests) == 2
    for manifest in manifests:
        validator.validate(manifest)
    with pytest.raises(jsonschema.ValidationError):  # a YAML boolean is not Longhorn's string value
        validator.validate({**manifest, "value": True})


@pytest.mark.crossplane_cli
def test_the_settings_pass_crossplane_beta_validate(tmp_path):
    crd = crossplane.write_documents(tmp_path, "crd.yaml", [gomod.longhorn_setting_crd()])
    manifests = [b["spec"]["forProvider"]["manifest"] for b in _settings({}).values()]
    path = crossplane.write_documents(tmp_path, "settings.yaml", manifests)
    code, output = crossplane.validate([crd], [path])
    assert code == 0, output
    assert "0 failure cases" in output and "could not find CRD/XRD" not in output, output


def test_the_settings_are_longhorns_and_what_they_do_is_what_the_docs_say():
    """longhorn-manager v1.9.0: both names are boolean settings, off by default (so they must be turned on);
    controller/backup_controller.go deletes a completed backup's snapshot under the first unless the Backup
    came from a recurring job (a CSI `bak` snapshot's does not), and its snapshot on deletion under the second."""
    settings = longhorn_file("types/setting.go").read_text()
    for constant, name in (("AutoCleanupSnapshotAfterOnDemandBackupCompleted", op_manifests.CLEANUP_AFTER_BACKUP),
                           ("AutoCleanupSnapshotWhenDeleteBackup", op_manifests.CLEANUP_WITH_BACKUP)):  # fmt: skip
        assert f"SettingName{constant}" in settings and f'SettingName("{name}")' in settings
        definition = settings.split(f"SettingDefinition{constant} = SettingDefinition{{", 1)[1].split("}", 1)[0]
        assert "SettingTypeBool" in definition and 'Default:     "false"' in definition, definition
    controller = longhorn_file("controller/backup_controller.go").read_text()
    after = controller.split("func (bc *BackupController) deleteSnapshotAfterBackupCompleted", 1)[1].split("\n}\n", 1)[
        0
    ]
    assert "types.RecurringJobLabel" in after and "SettingNameAutoCleanupSnapshotAfterOnDemandBackupCompleted" in after
    assert "bc.ds.DeleteSnapshot(backup.Spec.SnapshotName)" in after
    assert "SettingNameAutoCleanupSnapshotWhenDeleteBackup" in controller
    csi = longhorn_file("csi/controller_server.go").read_text()
    assert "RecurringJobLabel" not in csi  # the CSI driver's backups are on-demand ones


def test_the_dump_storage_class_is_what_the_platforms_dump_volumes_need():
    """csi-driver-nfs on the named server and share (docs/driver-parameters.md), a folder per namespace and
    volume claim, kept when a claim goes (Retain); its name is what the function input's dumps.storageClass
    takes, and each claim's dump volume (ReadWriteMany) is provisioned from it."""
    rsp = f.run(f.request(xr({"dumpStorageClass": {"create": True, "server": "nas.home.arpa"}})))
    body = f.desired(rsp)[keys.DUMP_STORAGE_CLASS]
    assert body["spec"]["deletionPolicy"] == "Delete"  # the class; never the volumes made from it
    manifest = body["spec"]["forProvider"]["manifest"]
    assert manifest["provisioner"] == "nfs.csi.k8s.io" and manifest["reclaimPolicy"] == "Retain"
    assert manifest["parameters"] == {
        "server": "nas.home.arpa", "share": "/mnt/backups/postgres",
        "subDir": "${pvc.metadata.namespace}/${pvc.metadata.name}",
    }  # fmt: skip
    assert manifest["metadata"]["name"] == op_api.DUMP_STORAGE_CLASS == "tau-dumps"
    schemas.validate(manifest)  # Kubernetes' own StorageClass schema
    dumps = PlatformDefaults.model_validate({"dumps": {"storageClass": manifest["metadata"]["name"]}}).dumps
    assert dumps.storageClass == "tau-dumps"


def test_the_example_is_the_home_cluster_setup():
    doc = yaml.safe_load((EXAMPLES / "cnpgoperator" / "claim.yaml").read_text())
    assert (doc["apiVersion"], doc["kind"]) == ("tau.home.arpa/v1alpha1", KIND)
    assert "namespace" not in doc["metadata"]  # cluster-scoped
    schemas.validate(doc)
    assert doc["spec"] == {"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True}}
