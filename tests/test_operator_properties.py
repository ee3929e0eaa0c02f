"""CNPGOperator: the invariants of SPEC §7 under generated input."""

from __future__ import annotations

from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import HealthCheck, given, settings

from function import keys
from tests.support import function as f
from tests.support import schemas, strategies
from tests.support.operator import CERT_MANAGER, xr

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


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
        elif body["spec"]["forProvider"]["manifest"]["kind"] == "StorageClass":
            assert body["spec"]["forProvider"]["manifest"]["reclaimPolicy"] == "Retain"  # dumps outlive their claim
        elif body["spec"]["forProvider"]["manifest"]["kind"] == "Setting":
            assert body["spec"]["deletionPolicy"] == "Orphan"  # Longhorn's settings are never deleted
            assert body["spec"]["forProvider"]["manifest"]["value"] == "true"
        else:
            assert body["spec"]["forProvider"]["manifest"]["parameters"] == {"type": "bak"}
    assert (keys.PLUGIN_RELEASE in desired) is spec.get("barmanCloudPlugin", {}).get("enabled", False)
    assert (keys.SNAPSHOT_CLASS in desired) is spec.get("volumeSnapshotClass", {}).get("create", True)
    vsc = spec.get("volumeSnapshotClass", {})
    cleanup = vsc.get("create", True) and vsc.get("localSnapshotCleanup", True)
    assert (keys.DUMP_STORAGE_CLASS in desired) is spec.get("dumpStorageClass", {}).get("create", False)
    assert (keys.LONGHORN_CLEANUP_AFTER_BACKUP in desired) is (keys.LONGHORN_CLEANUP_WITH_BACKUP in desired) is cleanup
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
