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


LONGHORN_SETTING_API_VERSION = "longhorn.io/v1beta2"
# The two Longhorn settings that keep a volume's local snapshots bounded under snapshot backups
# (longhorn-manager types/setting.go; both default "false"):
# - after-on-demand-backup-completed (new in 1.9.0): controller/backup_controller.go
#   deleteSnapshotAfterBackupCompleted deletes the Backup's snapshot when it turns Completed, unless
#   the Backup carries a RecurringJob label; a CSI `bak` snapshot's Backup is labelled with the
#   class parameters only (csi/controller_server.go createCSISnapshotTypeLonghornBackup), so it is
#   cleaned up;
# - when-delete-backup (1.7.0): deleting a Backup (the CSI DeleteSnapshot of a VolumeSnapshot whose
#   class has deletionPolicy Delete, i.e. retention; or failed-backup-ttl for failed ones) deletes
#   its snapshot too: the safety net for failed backups and a clean-up that failed once.
CLEANUP_AFTER_BACKUP = "auto-cleanup-snapshot-after-on-demand-backup-completed"
CLEANUP_WITH_BACKUP = "auto-cleanup-when-delete-backup"


def longhorn_setting_manifest(name: str, namespace: str, value: str) -> dict:
    """A Longhorn Setting: its value is a top-level string (k8s/crds.yaml settings.longhorn.io), not a spec."""
    return {
        "apiVersion": LONGHORN_SETTING_API_VERSION,
        "kind": "Setting",
        "metadata": {"name": name, "namespace": namespace},
        "value": value,
    }


NFS_PROVISIONER = "nfs.csi.k8s.io"
# csi-driver-nfs replaces these in subDir when it provisions a volume (docs/driver-parameters.md, "subDir"):
# one folder per namespace and volume claim, as the dump jobs' folder layout expects.
DUMP_SUB_DIR = "${pvc.metadata.namespace}/${pvc.metadata.name}"


def dump_storage_class_manifest(spec: CNPGOperatorSpec) -> dict:
    """A csi-driver-nfs StorageClass on the named server and share.

    Parameters as kubernetes-csi/csi-driver-nfs docs/driver-parameters.md has them (server, share, subDir).
    reclaimPolicy Retain: deleting a dump volume's claim keeps its folder and files (the dumps outlive
    the database); the function never deletes the claim anyway (its Object is orphaned).
    """
    dsc = spec.dumpStorageClass
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": dsc.name,
            "labels": {"app.kubernetes.io/managed-by": "function-tau", "app.kubernetes.io/part-of": "cnpg"},
        },
        "provisioner": NFS_PROVISIONER,
        "parameters": {"server": dsc.server, "share": dsc.share, "subDir": DUMP_SUB_DIR},
        "reclaimPolicy": "Retain",
        "volumeBindingMode": "Immediate",
    }
