"""The manifests of a CNPGOperator: the operator's and the plugin's Helm releases, and a VolumeSnapshotClass.

The releases are provider-helm `helm.crossplane.io/v1beta1` Releases, the
cluster-scoped kind an XRD v1 (LegacyCluster) composite can compose. Both use
`wait: true`: provider-helm then reports `deployed` (and Ready) only once Helm
saw every resource of the chart become ready, so Ready means the operator's
webhook answers, not just that the manifests were applied.
"""

from __future__ import annotations

from function import keys, objects
from function.api.operator import CNPGOperatorSpec
from function.outcome import Requirement

RELEASE_API_VERSION = "helm.crossplane.io/v1beta1"
CHART_REPOSITORY = "https://cloudnative-pg.github.io/charts"
# A Raspberry Pi pulling the operator image over Wi-Fi can take longer than
# Helm's default five minutes; a release that times out is failed and retried.
WAIT_TIMEOUT = "10m"
# provider-helm retries a failed release only with a rollback limit (a first
# install that failed is uninstalled and installed again).
ROLLBACK_LIMIT = 3

# The plugin's chart needs cert-manager: this CRD tells whether it is installed.
CERT_MANAGER_CRD = "certificates.cert-manager.io"

SNAPSHOT_API_VERSION = "snapshot.storage.k8s.io/v1"
LONGHORN_DRIVER = "driver.longhorn.io"


def cert_manager_requirement() -> Requirement:
    """cert-manager's Certificate CRD (cluster-scoped), asked for while the plugin waits for it."""
    return Requirement(keys.CERT_MANAGER, "apiextensions.k8s.io/v1", "CustomResourceDefinition", CERT_MANAGER_CRD)


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
