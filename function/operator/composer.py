"""What a CNPGOperator becomes, in dependency order.

The Barman Cloud plugin's release and the Longhorn VolumeSnapshotClass for
snapshot backups are optional.

Ordering: the plugin is installed after the operator is up (it registers with
the operator, and a plugin release that times out while the operator is still
starting would fail) and once cert-manager exists (the plugin's chart issues
its certificates with a cert-manager Issuer; without cert-manager, Helm would
wait, time out and give up after its retries). Once a release was observed it
is emitted on every call, ready or not: a resource missing from the desired
state is deleted by Crossplane.

Deleting the composite uninstalls both charts. Their CRDs carry
`helm.sh/resource-policy: keep`, so Clusters, Backups and ObjectStores survive
and a re-created CNPGOperator takes them over again.
"""

from __future__ import annotations

from function import objects
from function.api.operator import CNPGOperatorSpec
from function.api.platform import PlatformDefaults
from function.inputs import parse_spec
from function.keys import (
    CERT_MANAGER,
    DUMP_STORAGE_CLASS,
    LONGHORN_CLEANUP_AFTER_BACKUP,
    LONGHORN_CLEANUP_WITH_BACKUP,
    OPERATOR_RELEASE,
    PLUGIN_RELEASE,
    SNAPSHOT_CLASS,
)
from function.observed import Observed, condition, dig
from function.operator import manifests
from function.operator.plan import OPERATOR_CHART, PLUGIN_CHART, OperatorPlan, plan_operator
from function.operator.status import operator_conditions, operator_status
from function.outcome import Composer, Outcome


class OperatorComposer(Composer):
    """Composes one CNPGOperator."""

    def __init__(self, plan: OperatorPlan, observed: Observed) -> None:
        # Deleting the composite uninstalls the charts and deletes the snapshot class.
        super().__init__(observed, "Delete")
        self.plan = plan

    @classmethod
    def compose(cls, observed: Observed, platform: PlatformDefaults) -> Outcome:
        """An CNPGOperator (the platform input has nothing for it)."""
        del platform
        spec = parse_spec(CNPGOperatorSpec, observed.composite)
        name = dig(observed.composite, "metadata", "name") or ""
        return cls(plan_operator(name, spec, observed), observed).run()

    def run(self) -> Outcome:
        """Compose the releases and the snapshot class, in dependency order, then the status."""
        spec = self.plan.spec
        operator_ready = self._operator()
        self._plugin(operator_ready=operator_ready)
        self._snapshot_class()
        self._longhorn_settings()
        self._dump_storage_class()
        self.outcome.status = operator_status(spec, self.observed, self.outcome)
        self.outcome.conditions = operator_conditions(spec, self.outcome)
        return self.outcome

    def _problem(self, key: str) -> str | None:
        """Why a composed resource is not ready, in the provider's words (a failed sync, a failed release)."""
        body = self.observed.get(key)
        synced = condition(body, "Synced")
        if synced is not None and synced.get("status") == "False" and synced.get("message"):
            return str(synced["message"])
        description = dig(body, "status", "atProvider", "releaseDescription")
        state = dig(body, "status", "atProvider", "state")
        if isinstance(state, str) and state != "deployed":
            return f"state: {state}" + (f", {description}" if isinstance(description, str) and description else "")
        return None

    def _emit_awaited(self, key: str, body: dict, readiness: objects.Readiness | None, what: str) -> bool:
        """Emit `key`; until it is ready, the composite waits for `what`.

        The provider's reason is added when it gives one; the message is built only when needed.
        """

        def waiting() -> str:
            problem = self._problem(key)
            return what + (f" ({problem})" if problem else "")

        return self.emit(key, body, readiness, waiting=waiting)

    def _operator(self) -> bool:
        spec = self.plan.spec
        values = manifests.operator_values(spec)
        body = manifests.release_manifest(
            self.plan.operator_release, OPERATOR_CHART, spec.chartVersion, spec.namespace, values
        )
        what = f"the {OPERATOR_CHART} chart {spec.chartVersion} to be deployed in {spec.namespace}"
        return self._emit_awaited(OPERATOR_RELEASE, body, None, what)

    def _plugin(self, *, operator_ready: bool) -> None:
        spec = self.plan.spec
        plugin = spec.barmanCloudPlugin
        if not plugin.enabled:
            return  # Not emitted: a plugin switched off is uninstalled.
        if not self.observed.has(PLUGIN_RELEASE) and not self._plugin_may_install(operator_ready=operator_ready):
            return
        body = manifests.release_manifest(
            self.plan.plugin_release, PLUGIN_CHART, plugin.chartVersion, spec.namespace, {}
        )
        what = f"the {PLUGIN_CHART} chart {plugin.chartVersion} to be deployed in {spec.namespace}"
        self._emit_awaited(PLUGIN_RELEASE, body, None, what)

    def _plugin_may_install(self, *, operator_ready: bool) -> bool:
        """Before its first install the plugin waits for the operator and for cert-manager."""
        self.require(manifests.cert_manager_requirement())
        crds = self.observed.required(CERT_MANAGER)
        if not operator_ready:
            self.wait("the operator before installing the Barman Cloud plugin")
        elif crds is None:
            self.wait(f"Crossplane to look up cert-manager (CRD {manifests.CERT_MANAGER_CRD})")
        elif not crds:
            self.wait(
                f"cert-manager (CRD {manifests.CERT_MANAGER_CRD} not found): the Barman Cloud plugin's chart issues "
                "its TLS certificates with cert-manager; install cert-manager first"
            )
        else:
            return True
        return False

    def _snapshot_class(self) -> None:
        vsc = self.plan.spec.volumeSnapshotClass
        if not vsc.create:
            return  # Not emitted: a class switched off is deleted (its snapshots are not).
        # CNPG looks for the snapshot CRDs once, when it starts (pkg/utils/discovery.go
        # DetectVolumeSnapshotExist), and refuses snapshot backups without them.
        what = (
            f"VolumeSnapshotClass {vsc.name} to be created (it needs the CSI snapshot CRDs, "
            f"{manifests.SNAPSHOT_API_VERSION}; installed after the operator started, restart the operator too: "
            f"kubectl rollout restart deployment -n {self.plan.spec.namespace} {self.plan.operator_release})"
        )
        self._emit_awaited(SNAPSHOT_CLASS, manifests.snapshot_class_manifest(self.plan.spec), objects.CREATED, what)

    def _longhorn_settings(self) -> None:
        """Longhorn's two snapshot clean-up settings, "true", so snapshot backups leave no local snapshots.

        Orphaned when the composite goes or the field turns false: the settings stay as they are (Longhorn
        refuses to delete a known setting anyway: webhook/resources/setting/validator.go).
        """
        vsc = self.plan.spec.volumeSnapshotClass
        if not (vsc.create and vsc.localSnapshotCleanup):
            return
        settings = (
            (LONGHORN_CLEANUP_AFTER_BACKUP, manifests.CLEANUP_AFTER_BACKUP),
            (LONGHORN_CLEANUP_WITH_BACKUP, manifests.CLEANUP_WITH_BACKUP),
        )
        # One wait for the pair (a refusal by Longhorn still shows per setting, with its message).
        ready = [
            self.emit(
                key,
                manifests.longhorn_setting_manifest(setting, vsc.longhornNamespace, "true"),
                objects.CREATED,
                deletion_policy="Orphan",
            )
            for key, setting in settings
        ]
        if not all(ready):
            self.wait(
                f'Longhorn settings {" and ".join(s for _, s in settings)} to be "true" in {vsc.longhornNamespace} '
                "(they need Longhorn 1.9.0 or later there; or set spec.volumeSnapshotClass.localSnapshotCleanup: false)"
            )

    def _dump_storage_class(self) -> None:
        dsc = self.plan.spec.dumpStorageClass
        if not dsc.create:
            return  # Not emitted: a class switched off is deleted (the volumes made from it stay).
        what = (
            f"StorageClass {dsc.name} to be created (it needs csi-driver-nfs, provisioner {manifests.NFS_PROVISIONER})"
        )
        manifest = manifests.dump_storage_class_manifest(self.plan.spec)
        self._emit_awaited(DUMP_STORAGE_CLASS, manifest, objects.CREATED, what)
