"""CNPGOperator: in what order its releases are installed, and when it is Ready, reconcile by reconcile."""

from __future__ import annotations

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys
from function.api import definitions
from tests.support import function as f
from tests.support.operator import CERT_MANAGER, NO_CERT_MANAGER, observed_release, xr

# ---------------------------------------------------------------------------------------------------------------
# Order and readiness, reconcile by reconcile.


def test_first_reconcile_installs_only_the_operator_the_class_and_longhorns_settings():
    rsp = f.run(f.request(xr({"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True}})))
    assert f.fatal(rsp) is None
    assert sorted(f.desired(rsp)) == sorted([keys.OPERATOR_RELEASE, keys.SNAPSHOT_CLASS,
                                             keys.LONGHORN_CLEANUP_AFTER_BACKUP, keys.LONGHORN_CLEANUP_WITH_BACKUP])  # fmt: skip
    assert rsp.desired.composite.ready == fnv1.READY_FALSE
    message = f.conditions(rsp)["OperatorReady"].message
    assert "cloudnative-pg chart 0.29.0 to be deployed in cnpg-system" in message
    assert "the operator before installing the Barman Cloud plugin" in message
    assert f.status(rsp)["state"] == "Waiting"


def test_the_plugin_waits_for_the_operator_and_cert_manager():
    spec = {"barmanCloudPlugin": {"enabled": True}}
    first = f.run(f.request(xr(spec), required=CERT_MANAGER))
    # Deployed but not Ready (still waiting): no plugin yet.
    pending = observed_release(first, keys.OPERATOR_RELEASE, "pending-install", ready=False)
    rsp = f.run(f.request(xr(spec), [pending], required=CERT_MANAGER))
    assert keys.PLUGIN_RELEASE not in f.desired(rsp)

    deployed = observed_release(first, keys.OPERATOR_RELEASE, "deployed", ready=True, version="0.29.0")
    without = f.run(f.request(xr(spec), [deployed], required=NO_CERT_MANAGER))
    assert keys.PLUGIN_RELEASE not in f.desired(without)
    assert "cert-manager (CRD certificates.cert-manager.io not found)" in f.conditions(without)["OperatorReady"].message
    assert without.desired.composite.ready == fnv1.READY_FALSE

    unresolved = f.run(f.request(xr(spec), [deployed]))
    assert keys.PLUGIN_RELEASE not in f.desired(unresolved)

    rsp = f.run(f.request(xr(spec), [deployed], required=CERT_MANAGER))
    plugin = f.desired(rsp)[keys.PLUGIN_RELEASE]
    assert plugin["metadata"]["name"] == "cnpg-plugin-barman-cloud"
    assert plugin["spec"]["forProvider"]["chart"]["name"] == "plugin-barman-cloud"
    assert plugin["spec"]["forProvider"]["chart"]["version"] == "0.7.0"
    assert plugin["spec"]["forProvider"]["namespace"] == "cnpg-system"  # next to the operator, where CNPG finds it
    assert plugin["spec"]["forProvider"]["wait"] is True
    assert rsp.desired.resources[keys.PLUGIN_RELEASE].ready == fnv1.READY_FALSE
    assert rsp.desired.composite.ready == fnv1.READY_FALSE


@pytest.mark.parametrize("legacy", [False, True], ids=["crossplane-2", "crossplane-1.20"])
def test_cert_manager_is_asked_for_the_way_both_crossplane_versions_read_it(*, legacy: bool):
    spec = {"barmanCloudPlugin": {"enabled": True}}
    first = f.run(f.request(xr(spec)))
    for field in (first.requirements.resources, first.requirements.extra_resources):
        selector = field[keys.CERT_MANAGER]
        assert (selector.api_version, selector.kind, selector.match_name) == (
            "apiextensions.k8s.io/v1", "CustomResourceDefinition", "certificates.cert-manager.io",
        )  # fmt: skip
        assert not selector.HasField("namespace")  # a CRD is cluster-scoped
    deployed = observed_release(first, keys.OPERATOR_RELEASE, "deployed", ready=True)
    rsp = f.run(f.request(xr(spec), [deployed], required=CERT_MANAGER, legacy=legacy))
    assert keys.PLUGIN_RELEASE in f.desired(rsp)


def test_no_requirement_once_the_plugin_exists_or_when_it_is_off():
    assert not f.run(f.request(xr())).requirements.resources
    spec = {"barmanCloudPlugin": {"enabled": True}}
    _, observed = f.converge(xr(spec), required=CERT_MANAGER)
    again = f.run(f.request(xr(spec), observed))
    assert keys.PLUGIN_RELEASE in f.desired(again)
    assert not again.requirements.resources and not again.requirements.extra_resources


def test_an_installed_plugin_is_kept_while_the_operator_is_upgraded():
    """Once observed, a release is emitted on every call (dropping it would uninstall it)."""
    spec = {"barmanCloudPlugin": {"enabled": True}}
    rsp, observed = f.converge(xr(spec), required=CERT_MANAGER)
    upgrading = [
        observed_release(rsp, keys.OPERATOR_RELEASE, "pending-upgrade", ready=False)
        if o["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == keys.OPERATOR_RELEASE
        else o
        for o in observed
    ]
    again = f.run(f.request(xr(spec), upgrading, required=NO_CERT_MANAGER))
    assert keys.PLUGIN_RELEASE in f.desired(again)
    assert again.desired.composite.ready == fnv1.READY_FALSE
    assert "(state: pending-upgrade)" in f.conditions(again)["OperatorReady"].message


def test_switching_the_plugin_and_the_class_off_removes_them():
    spec = {"barmanCloudPlugin": {"enabled": True}, "volumeSnapshotClass": {"create": True}}
    _, observed = f.converge(xr(spec), required=CERT_MANAGER)
    rsp = f.run(f.request(xr({"volumeSnapshotClass": {"create": False}}), observed))
    assert list(f.desired(rsp)) == [keys.OPERATOR_RELEASE]
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    assert "barmanCloudPlugin" not in f.status(rsp) and "volumeSnapshotClass" not in f.status(rsp)


def test_ready_only_when_every_release_is_deployed():
    spec = {"barmanCloudPlugin": {"enabled": True}}
    rsp, observed = f.converge(xr(spec), required=CERT_MANAGER)
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    failed = [
        observed_release(
            rsp,
            keys.PLUGIN_RELEASE,
            "failed",
            ready=False,
            version="0.7.0",
            releaseDescription="context deadline exceeded",
        )
        if o["metadata"]["annotations"]["crossplane.io/composition-resource-name"] == keys.PLUGIN_RELEASE
        else o
        for o in observed
    ]
    again = f.run(f.request(xr(spec), failed))
    assert again.desired.composite.ready == fnv1.READY_FALSE
    assert again.desired.resources[keys.PLUGIN_RELEASE].ready == fnv1.READY_FALSE
    assert again.desired.resources[keys.OPERATOR_RELEASE].ready == fnv1.READY_TRUE
    condition = f.conditions(again)["OperatorReady"]
    assert condition.status == fnv1.STATUS_CONDITION_FALSE
    assert (
        "plugin-barman-cloud chart 0.7.0 to be deployed in cnpg-system (state: failed, context deadline exceeded)"
        in (condition.message)
    )
    assert f.status(again)["barmanCloudPlugin"] == {"chartVersion": "0.7.0", "state": "failed"}


def test_a_release_that_cannot_sync_says_why():
    first = f.run(f.request(xr()))
    release = observed_release(first, keys.OPERATOR_RELEASE, "", ready=False)
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
        "VolumeSnapshotClass longhorn-backup exists; Longhorn deletes each backup's local snapshot"
    )


def test_the_composition_passes_no_platform_input():
    """The operator reads nothing from the platform defaults, so its Composition has no input."""
    (step,) = definitions.CNPG_OPERATOR.composition()["spec"]["pipeline"]
    assert step == {"step": "compose", "functionRef": {"name": "function-tau"}}


def test_the_snapshot_class_is_created_by_default_and_says_to_restart_the_operator_while_it_waits():
    """The platform's default backup method is volumeSnapshot with class longhorn-backup, so the class is created
    by default. CNPG looks for the CSI snapshot CRDs only when it starts (pkg/utils/discovery.go
    DetectVolumeSnapshotExist) and then refuses snapshot backups, so while the class waits for those CRDs the
    condition says to restart the operator once they are installed."""
    rsp = f.run(f.request(xr({})))
    assert keys.SNAPSHOT_CLASS in f.desired(rsp)
    message = f.conditions(rsp)["OperatorReady"].message
    assert "kubectl rollout restart deployment -n cnpg-system cnpg-cloudnative-pg" in message
