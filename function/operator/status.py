"""What a CNPGOperator tells its user: what is deployed, as provider-helm observed it."""

from __future__ import annotations

from function.api.operator import CNPGOperatorSpec, CNPGOperatorStatus, ReleaseStatus
from function.keys import DUMP_STORAGE_CLASS, OPERATOR_RELEASE, PLUGIN_RELEASE, SNAPSHOT_CLASS
from function.observed import Observed, dig
from function.outcome import Condition, Outcome, waiting

OPERATOR_READY = "OperatorReady"


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
        dumpStorageClass=spec.dumpStorageClass.name if DUMP_STORAGE_CLASS in emitted else None,
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
        if spec.volumeSnapshotClass.localSnapshotCleanup:
            parts.append("Longhorn deletes each backup's local snapshot")
    if spec.dumpStorageClass.create:
        parts.append(f"StorageClass {spec.dumpStorageClass.name} exists for dumps on {spec.dumpStorageClass.server}")
    return [Condition(type=OPERATOR_READY, status=True, reason="Available", message="; ".join(parts))]
