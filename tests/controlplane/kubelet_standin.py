"""A stand-in for what needs a kubelet: the status that running pods would make CNPG (and Kubernetes) write.

The local control plane has no kubelet and no container runtime, so no
PostgreSQL pod ever runs: CNPG's instance manager never reports a healthy
instance, never applies a Database, and no Deployment's pods become available.
This helper writes that status, and nothing else: never a spec, never an object
of its own, only the `status` subresource of objects the function composed. It
acts in namespaces the CNPG operator does not watch (the control plane's
operator watches only `cluster.OPERATED_NAMESPACE`), so the operator's
controllers never fight it; CNPG's admission webhooks still judge every object.

Each field is what CNPG v1.30.0 (github.com/cloudnative-pg/cloudnative-pg) or
Kubernetes v1.34.2 would set once the pods run; the method docstrings cite the
source file that sets it.
"""

from __future__ import annotations

import datetime
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.controlplane.cluster import ControlPlane


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class CNPGStatusStandIn:
    """Writes the status CNPG's instance manager, its operator (fed by running pods) and a kubelet would write."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.reports: list[tuple[str, str, str, float]] = []

    def _report(self, kind: str, namespace: str, name: str) -> None:
        import time  # noqa: PLC0415

        self.reports.append((kind, namespace, name, time.monotonic()))

    def cluster_healthy(self, namespace: str, name: str) -> None:
        """A CNPG Cluster whose instances all run and are ready.

        - `status.phase: "Cluster in healthy state"`: `apiv1.PhaseHealthy` (api/v1/cluster_types.go),
          registered last by the cluster controller once every instance reports ready
          (internal/controller/cluster_controller.go, internal/controller/plugins.go: RegisterPhase).
        - the `Ready` condition, `True`/`ClusterIsReady`/"Cluster is Ready", which CNPG derives from
          that phase (pkg/resources/status/transactions.go: SetClusterReadyCondition).
        - `status.instances` / `status.readyInstances`: the number of instance pods and of ready ones
          (pkg/reconciler/persistentvolumeclaim/status.go, `utils.CountReadyPods`).
        - `status.currentPrimary` / `status.targetPrimary`: the first instance's pod, `<cluster>-1`,
          set by the primary's instance manager (internal/management/controller/instance_controller.go).
        - `status.writeService` / `status.readService`: `<cluster>-rw` / `<cluster>-r`, the Services the
          operator creates (api/v1/cluster_funcs.go: GetServiceReadWriteName, GetServiceReadName).
        - `status.image` and `status.pgDataImageInfo` (`image`, `majorVersion`): the image the data directory
          was created with, set by the operator's cluster controller on its first reconcile
          (internal/controller/cluster_image.go via pkg/resources/status/transactions.go: SetImage,
          SetPGDataImageInfo). CNPG's webhook refuses a major downgrade only against this
          (internal/webhook/v1/cluster_webhook.go: validateImageChange).
        """
        cluster = self.plane.get("clusters.postgresql.cnpg.io", name, namespace)
        if cluster is None:
            raise LookupError(f"no CNPG Cluster {namespace}/{name}")
        instances = int(cluster["spec"].get("instances", 1))
        image = cluster["spec"].get("imageName", "")
        major = re.search(r":(\d+)", image.rsplit("/", 1)[-1])
        self.plane.patch_status("clusters.postgresql.cnpg.io", name, namespace, {
            "image": image,
            "pgDataImageInfo": {"image": image, "majorVersion": int(major.group(1)) if major else 0},
            "phase": "Cluster in healthy state",
            "instances": instances,
            "readyInstances": instances,
            "currentPrimary": f"{name}-1",
            "targetPrimary": f"{name}-1",
            "writeService": f"{name}-rw",
            "readService": f"{name}-r",
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "ClusterIsReady", "message": "Cluster is Ready",
                "lastTransitionTime": _now(), "observedGeneration": cluster["metadata"].get("generation", 1),
            }],
        })  # fmt: skip
        self._report("Cluster", namespace, name)

    def database_applied(self, namespace: str, name: str) -> None:
        """A CNPG Database the primary's instance manager has reconciled (CREATE DATABASE / EXTENSION ran).

        - `status.applied: true`, `status.message: ""`, `status.observedGeneration: metadata.generation`:
          `Database.SetAsReady` (api/v1/database_funcs.go), called by the instance manager's database
          reconciler (internal/management/controller/database_controller.go, via common.go).
        """
        database = self.plane.get("databases.postgresql.cnpg.io", name, namespace)
        if database is None:
            raise LookupError(f"no CNPG Database {namespace}/{name}")
        self.plane.patch_status("databases.postgresql.cnpg.io", name, namespace, {
            "applied": True, "message": "", "observedGeneration": database["metadata"].get("generation", 1),
        })  # fmt: skip
        self._report("Database", namespace, name)

    def database_role_applied(self, namespace: str, name: str) -> None:
        """A CNPG DatabaseRole the primary's instance manager has reconciled (CREATE/ALTER ROLE ran).

        - `status.applied: true`, `status.message: ""`, `status.observedGeneration: metadata.generation`:
          the same ready status as a Database's (`applied` is "true if the role was reconciled correctly",
          the DatabaseRole CRD's status schema), written by the instance manager's reconciler of the role.
        """
        role = self.plane.get("databaseroles.postgresql.cnpg.io", name, namespace)
        if role is None:
            raise LookupError(f"no CNPG DatabaseRole {namespace}/{name}")
        self.plane.patch_status("databaseroles.postgresql.cnpg.io", name, namespace, {
            "applied": True, "message": "", "observedGeneration": role["metadata"].get("generation", 1),
        })  # fmt: skip
        self._report("DatabaseRole", namespace, name)

    def backup_completed(self, namespace: str, name: str, status: dict) -> None:
        """A CNPG Backup that has completed (a restore starts from it).

        - `status.phase: completed` and the fields of the example's Backup (`method`, `backupId`,
          `startedAt`, `stoppedAt`, `snapshotBackupStatus`): `BackupStatus.SetAsCompleted`
          (api/v1/backup_funcs.go), called for volume snapshots by the operator once the snapshots are
          ready (pkg/reconciler/backup/volumesnapshot/reconciler.go) and for plugin backups by the
          instance manager (pkg/management/postgres/webserver/plugin_backup.go).
        """
        self.plane.patch_status("backups.postgresql.cnpg.io", name, namespace, status)
        self._report("Backup", namespace, name)

    def deployment_available(self, namespace: str, name: str) -> None:
        """A Deployment whose pods all run and are available (written by kube-controller-manager).

        - `status.replicas`, `updatedReplicas`, `readyReplicas`, `availableReplicas`,
          `observedGeneration`, and the `Available` condition (`MinimumReplicasAvailable`) and
          `Progressing` (`NewReplicaSetAvailable`): Kubernetes v1.34.2 pkg/controller/deployment/sync.go
          (calculateStatus) and pkg/controller/deployment/util/deployment_util.go (NewDeploymentCondition).
          Only the garbage collector of kube-controller-manager runs here, so its deployment controller
          does not overwrite this.
        """
        deployment = self.plane.get("deployments.apps", name, namespace)
        if deployment is None:
            raise LookupError(f"no Deployment {namespace}/{name}")
        replicas = int(deployment["spec"].get("replicas", 1))
        now = _now()
        self.plane.patch_status("deployments.apps", name, namespace, {
            "observedGeneration": deployment["metadata"].get("generation", 1),
            "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
                 "message": "Deployment has minimum availability.", "lastTransitionTime": now, "lastUpdateTime": now},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable",
                 "message": f'ReplicaSet "{name}" has successfully progressed.',
                 "lastTransitionTime": now, "lastUpdateTime": now},
            ],
        })  # fmt: skip
        self._report("Deployment", namespace, name)
