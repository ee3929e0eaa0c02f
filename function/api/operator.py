"""CNPGOperator: installs the CloudNativePG operator (cluster-scoped composite, no claim).

A platform admin creates one CNPGOperator per cluster. It becomes a
provider-helm Release of the `cloudnative-pg` chart and, where asked, a
Release of the Barman Cloud plugin and the Longhorn VolumeSnapshotClass that
snapshot backups use. The defaults are the original plan's: chart 0.29.0
(operator 1.30) into `cnpg-system`, one replica, 100m CPU and 200Mi memory.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic
from pydantic import Field, WithJsonSchema

from function.api.common import DNSLabel, KubernetesName, ResourceList, Resources, TauModel

OPERATOR_CHART_VERSION = "0.29.0"
PLUGIN_CHART_VERSION = "0.7.0"
SNAPSHOT_CLASS = "longhorn-backup"
DUMP_STORAGE_CLASS = "tau-dumps"
MAX_REPLICAS = 5

# A Helm chart version: semver, as `helm install --version` takes an exact one.
CHART_VERSION_PATTERN = r"^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"
ChartVersion = Annotated[
    str,
    Field(pattern=CHART_VERSION_PATTERN, max_length=64),
    WithJsonSchema({"type": "string", "maxLength": 64, "pattern": CHART_VERSION_PATTERN}),
]


def _default_resources() -> Resources:
    # The original plan's operator sizing, as both limits and requests (Guaranteed QoS).
    amounts = ResourceList(cpu="100m", memory="200Mi")
    return Resources(limits=amounts, requests=amounts)


class Monitoring(TauModel):
    """What the chart adds for monitoring the operator (both off by default)."""

    podMonitor: bool = Field(
        default=False,
        description="A PodMonitor for the operator's metrics (chart value monitoring.podMonitorEnabled). "
        "Needs the Prometheus Operator's CRDs (monitoring.coreos.com) in the cluster.",
    )
    grafanaDashboard: bool = Field(
        default=False,
        description='A ConfigMap with CloudNativePG\'s Grafana dashboard, labelled grafana_dashboard: "1" for '
        "Grafana's dashboard sidecar (chart value monitoring.grafanaDashboard.create).",
    )


class BarmanCloudPlugin(TauModel):
    """The Barman Cloud plugin: objectStore backups (base backups and WAL to S3, point-in-time recovery)."""

    enabled: bool = Field(
        default=False,
        description="Install the plugin (chart plugin-barman-cloud) next to the operator, once the operator is "
        "up. Needed by PostgresDatabases with backup method objectStore. It needs cert-manager in the cluster "
        "(the chart issues its TLS certificates with a cert-manager Issuer). Setting it back to false "
        "uninstalls the plugin; its ObjectStore CRD and ObjectStores are kept.",
    )
    chartVersion: ChartVersion = Field(
        PLUGIN_CHART_VERSION, description="Version of the plugin-barman-cloud chart (0.7.0 installs plugin v0.13.0)."
    )


class VolumeSnapshotClass(TauModel):
    """A Longhorn VolumeSnapshotClass whose snapshots are Longhorn backups (`parameters.type: bak`)."""

    create: bool = Field(
        default=True,
        description="Create the class (default: true, as the platform's default backup method, volumeSnapshot "
        "with class longhorn-backup, needs it). Snapshot backups use it: Longhorn then uploads each snapshot "
        "to its backup target, the NFS server. Needs Longhorn and the CSI snapshot CRDs and controller "
        "(snapshot.storage.k8s.io/v1), installed before the CNPG operator starts (CNPG looks for them only "
        "then: restart the operator after installing them).",
    )
    name: KubernetesName = Field(
        SNAPSHOT_CLASS,
        description="Name of the class; the platform's default snapshot class (backup.volumeSnapshot.className "
        "of the function input) is longhorn-backup.",
    )
    deletionPolicy: Literal["Delete", "Retain"] = Field(
        "Delete",
        description="What happens to the Longhorn backup when its VolumeSnapshot is deleted. Delete (default) "
        "lets backup retention free space on the NFS server; Retain keeps every backup there forever.",
    )
    localSnapshotCleanup: bool = Field(
        default=True,
        description="Turn on Longhorn's settings auto-cleanup-snapshot-after-on-demand-backup-completed and "
        'auto-cleanup-when-delete-backup (both "true"), so each snapshot backup deletes the local snapshot '
        "Longhorn took in the volume once the upload completes, and deleting a Backup (retention) deletes its "
        "snapshot too: the volume's snapshot count stays bounded (Longhorn allows 250 per volume, then every "
        "backup fails). Needs Longhorn 1.9.0 or later. The settings are left as they are when this turns false "
        "or the CNPGOperator is deleted. Longhorn's chart also writes the settings it has defaultSettings for, "
        "at every manager start: set them there to true as well, or set this to false and manage them there.",
    )
    longhornNamespace: DNSLabel = Field(
        "longhorn-system", description="Namespace Longhorn is installed in (its settings live there)."
    )


class DumpStorageClass(TauModel):
    """A csi-driver-nfs StorageClass for logical dumps that names the NFS server and path itself."""

    create: bool = Field(
        default=False,
        description="Create the class (csi-driver-nfs, provisioner nfs.csi.k8s.io, which must be installed): each "
        "dump volume becomes the folder <share>/<namespace>/<volume claim> on the server. Set the function "
        "input's dumps.storageClass to its name. Off by default: the platform's default, nfs-client, already "
        "exists on the home cluster.",
    )
    name: KubernetesName = Field(DUMP_STORAGE_CLASS, description="Name of the class.")
    server: str | None = Field(
        None, max_length=253, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.:-]*[A-Za-z0-9])?$",
        description="NFS server host name or address, e.g. nas.home.arpa. Required with create.",
    )  # fmt: skip
    share: str = Field(
        "/mnt/backups/postgres",
        max_length=512,
        pattern=r"^/\S*$",
        description="The exported path the folders go under.",
    )

    @pydantic.model_validator(mode="after")
    def _server_when_created(self) -> DumpStorageClass:
        if self.create and self.server is None:
            raise ValueError("create needs server: the NFS server's host name or address")
        return self


class CNPGOperatorSpec(TauModel):
    """The desired state of a CNPGOperator."""

    namespace: DNSLabel = Field(
        "cnpg-system", description="Namespace the operator (and the plugin) are installed into; created if missing."
    )
    chartVersion: ChartVersion = Field(
        OPERATOR_CHART_VERSION,
        description="Version of the cloudnative-pg chart from https://cloudnative-pg.github.io/charts "
        "(0.29.0 installs CloudNativePG 1.30, the version function-tau targets).",
    )
    replicas: int = Field(
        1, ge=1, le=MAX_REPLICAS, description="Operator replicas (more than one elect a leader). Default: 1."
    )
    resources: Resources = Field(
        default_factory=_default_resources,
        description="CPU and memory of the operator. Default: 100m CPU and 200Mi memory, as limits and requests.",
    )
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Monitoring of the operator.")
    barmanCloudPlugin: BarmanCloudPlugin = Field(
        default_factory=BarmanCloudPlugin, description="The Barman Cloud plugin for objectStore backups."
    )
    volumeSnapshotClass: VolumeSnapshotClass = Field(
        default_factory=VolumeSnapshotClass, description="The VolumeSnapshotClass snapshot backups use."
    )
    dumpStorageClass: DumpStorageClass = Field(
        default_factory=DumpStorageClass,
        description="A StorageClass for logical dumps on an NFS server named here (csi-driver-nfs).",
    )


class ReleaseStatus(TauModel):
    """One Helm release, as provider-helm reports it."""

    chartVersion: str | None = Field(None, description="The chart version deployed.")
    state: str | None = Field(None, description="Helm's state of the release: deployed, failed, pending-install...")


class CNPGOperatorStatus(TauModel):
    """How the operator install is doing."""

    namespace: str | None = Field(None, description="Namespace the operator is installed into.")
    chartVersion: str | None = Field(None, description="The cloudnative-pg chart version deployed.")
    state: str | None = Field(None, description="Helm's state of the operator's release (deployed once it is up).")
    barmanCloudPlugin: ReleaseStatus | None = Field(None, description="The Barman Cloud plugin's release.")
    volumeSnapshotClass: str | None = Field(None, description="The VolumeSnapshotClass created for snapshot backups.")
    dumpStorageClass: str | None = Field(None, description="The StorageClass created for logical dumps.")
