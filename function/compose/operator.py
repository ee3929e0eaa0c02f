"""What a CNPGOperator becomes: the operator's and the plugin's Helm releases, and a VolumeSnapshotClass.

The Barman Cloud plugin's release and the Longhorn VolumeSnapshotClass for
snapshot backups are optional.

The releases are provider-helm `helm.crossplane.io/v1beta1` Releases, the
cluster-scoped kind an XRD v1 (LegacyCluster) composite can compose. Both use
`wait: true`: provider-helm then reports `deployed` (and Ready) only once Helm
saw every resource of the chart become ready, so Ready means the operator's
webhook answers, not just that the manifests were applied.

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

from function import names, objects
from function.api.operator import CNPGOperatorSpec, CNPGOperatorStatus, ReleaseStatus
from function.api.platform import PlatformDefaults
from function.compose.spec import parse_spec
from function.compose.types import Condition, Outcome, Requirement, waiting
from function.errors import SpecError, show
from function.observed import Observed, condition, dig

# Keys of the composed resources.
OPERATOR_RELEASE = "cnpg-operator-release"
PLUGIN_RELEASE = "cnpg-barman-cloud-plugin-release"
SNAPSHOT_CLASS = "cnpg-volume-snapshot-class"
OPERATOR_KEYS = (OPERATOR_RELEASE, PLUGIN_RELEASE, SNAPSHOT_CLASS)

RELEASE_API_VERSION = "helm.crossplane.io/v1beta1"
CHART_REPOSITORY = "https://cloudnative-pg.github.io/charts"
OPERATOR_CHART = "cloudnative-pg"
PLUGIN_CHART = "plugin-barman-cloud"
# Helm refuses release names longer than 53 characters.
HELM_RELEASE_NAME_MAX = 53
MAX_NAME = HELM_RELEASE_NAME_MAX - len(f"-{PLUGIN_CHART}")
# A Raspberry Pi pulling the operator image over Wi-Fi can take longer than
# Helm's default five minutes; a release that times out is failed and retried.
WAIT_TIMEOUT = "10m"
# provider-helm retries a failed release only with a rollback limit (a first
# install that failed is uninstalled and installed again).
ROLLBACK_LIMIT = 3

# The plugin's chart needs cert-manager: this CRD tells whether it is installed.
CERT_MANAGER = "cert-manager-certificates-crd"
CERT_MANAGER_CRD = "certificates.cert-manager.io"

SNAPSHOT_API_VERSION = "snapshot.storage.k8s.io/v1"
LONGHORN_DRIVER = "driver.longhorn.io"

OPERATOR_READY = "OperatorReady"


def cert_manager_requirement() -> Requirement:
    """cert-manager's Certificate CRD (cluster-scoped), asked for while the plugin waits for it."""
    return Requirement(CERT_MANAGER, "apiextensions.k8s.io/v1", "CustomResourceDefinition", CERT_MANAGER_CRD)


def release_names(composite_name: str) -> tuple[str, str]:
    """The Helm release names of the operator and the plugin.

    provider-helm names a Helm release after the Release resource. Each name
    contains its chart's name, so the charts name their resources after the
    release alone: `cnpg-cloudnative-pg`, `cnpg-plugin-barman-cloud`.
    """
    return f"{composite_name}-{OPERATOR_CHART}", f"{composite_name}-{PLUGIN_CHART}"


def check_name(composite_name: str) -> None:
    """Refuse a composite name the Helm release names cannot be derived from."""
    problem = names.dns1123_label_problem(composite_name, MAX_NAME)
    if problem:
        raise SpecError.one(
            "metadata.name",
            f"{problem} (the Helm releases are named <name>-{OPERATOR_CHART} and <name>-{PLUGIN_CHART}, "
            f"and Helm allows at most {HELM_RELEASE_NAME_MAX} characters)",
        )


def check_namespace(spec: CNPGOperatorSpec, observed: Observed) -> None:
    """Refuse moving an installed operator: Helm cannot move a release between namespaces."""
    installed = dig(observed.get(OPERATOR_RELEASE), "spec", "forProvider", "namespace")
    if isinstance(installed, str) and installed != spec.namespace:
        raise SpecError.one(
            "spec.namespace",
            f"cannot change from {show(installed)} to {show(spec.namespace)} once the operator is installed; "
            "delete the CNPGOperator and create it again to move it",
        )


def check_snapshot_class_name(spec: CNPGOperatorSpec, observed: Observed) -> None:
    """Refuse renaming the class: provider-kubernetes would create the new one and leave the old one behind."""
    created = dig(observed.manifest(SNAPSHOT_CLASS), "metadata", "name")
    wanted = spec.volumeSnapshotClass
    if wanted.create and isinstance(created, str) and created != wanted.name:
        raise SpecError.one(
            "spec.volumeSnapshotClass.name",
            f"cannot change from {show(created)} to {show(wanted.name)} once the class exists; set create: false "
            "first (which deletes it), then create it under the new name",
        )


def release_manifest(name: str, chart: str, version: str, namespace: str, values: dict) -> dict:
    """A provider-helm Release of a chart from the CloudNativePG repository.

    The Release is named (rather than named by Crossplane after the composite
    with a random suffix) because its name is the Helm release name, which
    the chart's resource names derive from.
    """
    return {
        "apiVersion": RELEASE_API_VERSION,
        "kind": "Release",
        "metadata": {"name": name},
        "spec": {
            "deletionPolicy": "Delete",
            "forProvider": {
                "chart": {"name": chart, "repository": CHART_REPOSITORY, "version": version},
                "namespace": namespace,
                "wait": True,
                "waitTimeout": WAIT_TIMEOUT,
                "values": values,
            },
            "rollbackLimit": ROLLBACK_LIMIT,
            "providerConfigRef": {"name": objects.DEFAULT_PROVIDER_CONFIG},
        },
    }


def operator_values(spec: CNPGOperatorSpec) -> dict:
    """The cloudnative-pg chart values the spec sets (chart 0.29.0 values.yaml)."""
    return {
        "replicaCount": spec.replicas,
        "resources": spec.resources.manifest(),
        "monitoring": {
            "podMonitorEnabled": spec.monitoring.podMonitor,
            "grafanaDashboard": {"create": spec.monitoring.grafanaDashboard},
        },
    }


def snapshot_class_manifest(spec: CNPGOperatorSpec) -> dict:
    """The Longhorn VolumeSnapshotClass whose snapshots are backups on Longhorn's backup target.

    `type: bak` makes Longhorn upload each CSI snapshot to its backup target
    (the NFS server) instead of keeping it next to the volume, so a snapshot
    backup survives the loss of the node and of the volume.
    """
    vsc = spec.volumeSnapshotClass
    return {
        "apiVersion": SNAPSHOT_API_VERSION,
        "kind": "VolumeSnapshotClass",
        "metadata": {
            "name": vsc.name,
            "labels": {"app.kubernetes.io/managed-by": "function-tau", "app.kubernetes.io/part-of": "cnpg"},
        },
        "driver": LONGHORN_DRIVER,
        "deletionPolicy": vsc.deletionPolicy,
        "parameters": {"type": "bak"},
    }


def _problem(observed: Observed, key: str) -> str | None:
    """Why a composed resource is not ready, in the provider's words (a failed sync, a failed release)."""
    body = observed.get(key)
    synced = condition(body, "Synced")
    if synced is not None and synced.get("status") == "False" and synced.get("message"):
        return str(synced["message"])
    description = dig(body, "status", "atProvider", "releaseDescription")
    state = dig(body, "status", "atProvider", "state")
    if isinstance(state, str) and state != "deployed":
        return f"state: {state}" + (f", {description}" if isinstance(description, str) and description else "")
    return None


def _waiting(what: str, problem: str | None) -> str:
    return what + (f" ({problem})" if problem else "")


class OperatorComposer:
    """Composes one CNPGOperator into an Outcome."""

    def __init__(self, name: str, spec: CNPGOperatorSpec, observed: Observed, outcome: Outcome):
        self.spec = spec
        self.observed = observed
        self.outcome = outcome
        self.operator_name, self.plugin_name = release_names(name)

    def compose(self) -> None:
        """Compose the releases and the snapshot class, in dependency order."""
        operator_ready = self._operator()
        self._plugin(operator_ready)
        self._snapshot_class()

    def _operator(self) -> bool:
        spec = self.spec
        values = operator_values(spec)
        body = release_manifest(self.operator_name, OPERATOR_CHART, spec.chartVersion, spec.namespace, values)
        ready = self.observed.is_ready(OPERATOR_RELEASE)
        self.outcome.add(OPERATOR_RELEASE, body, ready)
        if not ready:
            what = f"the {OPERATOR_CHART} chart {spec.chartVersion} to be deployed in {spec.namespace}"
            self.outcome.waiting.append(_waiting(what, _problem(self.observed, OPERATOR_RELEASE)))
        return ready

    def _plugin(self, operator_ready: bool) -> None:
        plugin = self.spec.barmanCloudPlugin
        if not plugin.enabled:
            return  # Not emitted: a plugin switched off is uninstalled.
        exists = self.observed.has(PLUGIN_RELEASE)
        if not exists:
            self.outcome.requirements.append(cert_manager_requirement())
            crds = self.observed.required(CERT_MANAGER)
            if not operator_ready:
                self.outcome.waiting.append("the operator before installing the Barman Cloud plugin")
                return
            if crds is None:
                self.outcome.waiting.append(f"Crossplane to look up cert-manager (CRD {CERT_MANAGER_CRD})")
                return
            if not crds:
                self.outcome.waiting.append(
                    f"cert-manager (CRD {CERT_MANAGER_CRD} not found): the Barman Cloud plugin's chart issues "
                    "its TLS certificates with cert-manager; install cert-manager first"
                )
                return
        body = release_manifest(self.plugin_name, PLUGIN_CHART, plugin.chartVersion, self.spec.namespace, {})
        ready = self.observed.is_ready(PLUGIN_RELEASE)
        self.outcome.add(PLUGIN_RELEASE, body, ready)
        if not ready:
            what = f"the {PLUGIN_CHART} chart {plugin.chartVersion} to be deployed in {self.spec.namespace}"
            self.outcome.waiting.append(_waiting(what, _problem(self.observed, PLUGIN_RELEASE)))

    def _snapshot_class(self) -> None:
        vsc = self.spec.volumeSnapshotClass
        if not vsc.create:
            return  # Not emitted: a class switched off is deleted (its snapshots are not).
        body = objects.wrap(snapshot_class_manifest(self.spec), readiness=objects.CREATED, deletion_policy="Delete")
        ready = self.observed.is_ready(SNAPSHOT_CLASS)
        self.outcome.add(SNAPSHOT_CLASS, body, ready)
        if not ready:
            what = (
                f"VolumeSnapshotClass {vsc.name} to be created (it needs the CSI snapshot CRDs, {SNAPSHOT_API_VERSION})"
            )
            self.outcome.waiting.append(_waiting(what, _problem(self.observed, SNAPSHOT_CLASS)))


def _release_status(observed: Observed, key: str) -> ReleaseStatus | None:
    body = observed.get(key)
    if body is None:
        return None
    at = dig(body, "status", "atProvider") or {}
    version = at.get("version") if isinstance(at.get("version"), str) else None
    state = at.get("state") if isinstance(at.get("state"), str) else None
    return ReleaseStatus(chartVersion=version, state=state)


def operator_status(spec: CNPGOperatorSpec, observed: Observed, outcome: Outcome) -> dict:
    """The composite's status: what is deployed, as provider-helm observed it."""
    operator = _release_status(observed, OPERATOR_RELEASE)
    emitted = {r.key for r in outcome.resources}
    status = CNPGOperatorStatus(
        namespace=spec.namespace,
        chartVersion=operator.chartVersion if operator else None,
        state=operator.state if operator and operator.state else "Waiting",
        barmanCloudPlugin=_release_status(observed, PLUGIN_RELEASE) if PLUGIN_RELEASE in emitted else None,
        volumeSnapshotClass=spec.volumeSnapshotClass.name if SNAPSHOT_CLASS in emitted else None,
    )
    return status.model_dump(exclude_none=True)


def operator_conditions(spec: CNPGOperatorSpec, outcome: Outcome) -> list[Condition]:
    """OperatorReady: what is deployed, or what the composite waits for."""
    if not outcome.ready:
        return [waiting(OPERATOR_READY, outcome.waiting)]
    parts = [f"CloudNativePG chart {spec.chartVersion} is deployed in {spec.namespace}"]
    if spec.barmanCloudPlugin.enabled:
        parts.append(f"the Barman Cloud plugin chart {spec.barmanCloudPlugin.chartVersion} is deployed")
    if spec.volumeSnapshotClass.create:
        parts.append(f"VolumeSnapshotClass {spec.volumeSnapshotClass.name} exists")
    return [Condition(OPERATOR_READY, True, "Available", "; ".join(parts))]


def compose_cnpg_operator(observed: Observed, platform: PlatformDefaults) -> Outcome:
    """An XCNPGOperator (the platform input has nothing for it)."""
    del platform
    spec = parse_spec(CNPGOperatorSpec, observed.composite)
    name = dig(observed.composite, "metadata", "name") or ""
    check_name(name)
    check_namespace(spec, observed)
    check_snapshot_class_name(spec, observed)
    outcome = Outcome()
    OperatorComposer(name, spec, observed, outcome).compose()
    outcome.status = operator_status(spec, observed, outcome)
    outcome.conditions = operator_conditions(spec, outcome)
    return outcome
