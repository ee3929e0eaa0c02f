"""CNPGOperator: what it refuses, and the message that says so.

The whole response of every refusal in the table is compared with its golden
file (tests/golden/errors/operator/), so any change to a message is a reviewed diff.
"""

from __future__ import annotations

import json

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys
from function.operator import plan as op_plan
from tests.support import function as f
from tests.support import golden
from tests.support.function import Case
from tests.support.operator import CERT_MANAGER, xr

# ---------------------------------------------------------------------------------------------------------------
# What it refuses.


REFUSALS = [
    ({"chartVersion": "latest"}, "spec.chartVersion"),
    ({"chartVersion": "0.29"}, "spec.chartVersion"),
    ({"replicas": 0}, "spec.replicas"),
    ({"replicas": 6}, "spec.replicas"),
    ({"namespace": "CNPG"}, "spec.namespace"),
    ({"resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "200Mi"}}}, "spec.resources"),
    ({"barmanCloudPlugin": {"chartVersion": "v0.7"}}, "spec.barmanCloudPlugin.chartVersion"),
    ({"volumeSnapshotClass": {"name": "Longhorn Backup"}}, "spec.volumeSnapshotClass.name"),
    ({"volumeSnapshotClass": {"deletionPolicy": "Orphan"}}, "spec.volumeSnapshotClass.deletionPolicy"),
    ({"volumeSnapshotClass": {"longhornNamespace": "Longhorn"}}, "spec.volumeSnapshotClass.longhornNamespace"),
    ({"dumpStorageClass": {"create": True}}, "spec.dumpStorageClass"),
    ({"dumpStorageClass": {"create": True, "server": "nas home"}}, "spec.dumpStorageClass.server"),
    ({"dumpStorageClass": {"create": True, "server": "nas", "share": "mnt/backups"}}, "spec.dumpStorageClass.share"),
]


CASES = [Case(f"{field}={json.dumps(spec)}", spec, field) for spec, field in REFUSALS]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_an_invalid_spec_is_refused_naming_the_field(case: Case):
    rsp = f.run(f.request(xr(case.spec)))
    message = f.fatal(rsp)
    assert message is not None and message.startswith(f"{case.field}:"), message
    assert not f.desired(rsp)
    assert f.conditions(rsp)["OperatorReady"].status == fnv1.STATUS_CONDITION_FALSE
    golden.check_refusal("CNPGOperator", case.name, rsp)


def test_a_name_too_long_for_helm_is_refused():
    rsp = f.run(f.request(xr(name="x" * (op_plan.MAX_NAME + 1))))
    assert f.fatal(rsp).startswith("metadata.name: ")
    assert "Helm allows at most 53 characters" in f.fatal(rsp)
    assert f.fatal(f.run(f.request(xr(name="x" * op_plan.MAX_NAME)))) is None
    assert f.fatal(f.run(f.request(xr(name="cnpg.home")))).startswith("metadata.name: ")


def test_moving_an_installed_operator_is_refused_and_destroys_nothing():
    _, observed = f.converge(xr({"barmanCloudPlugin": {"enabled": True}}), required=CERT_MANAGER)
    moved = f.run(f.request(xr({"namespace": "databases", "barmanCloudPlugin": {"enabled": True}}), observed))
    assert f.fatal(moved) == (
        "spec.namespace: cannot change from 'cnpg-system' to 'databases' once the operator is installed; "
        "delete the CNPGOperator and create it again to move it"
    )
    assert not f.desired(moved)  # a fatal result: Crossplane keeps what exists


def test_renaming_the_snapshot_class_is_refused_and_destroys_nothing():
    spec = {"volumeSnapshotClass": {"create": True}}
    _, observed = f.converge(xr(spec))
    renamed = f.run(f.request(xr({"volumeSnapshotClass": {"create": True, "name": "nfs-backup"}}), observed))
    assert f.fatal(renamed).startswith(
        "spec.volumeSnapshotClass.name: cannot change from 'longhorn-backup' to 'nfs-backup'"
    )
    assert not f.desired(renamed)
    # Switching it off is allowed (it deletes the class); the new name can then be created.
    off = f.run(f.request(xr({"volumeSnapshotClass": {"create": False, "name": "nfs-backup"}}), observed))
    assert f.fatal(off) is None and keys.SNAPSHOT_CLASS not in f.desired(off)


@pytest.mark.parametrize(
    ("change", "field"),
    [({"server": "nas2.home.arpa"}, "server"), ({"share": "/srv/dumps"}, "share"), ({"name": "dumps"}, "name")],
)
def test_changing_the_dump_storage_class_is_refused_and_destroys_nothing(change: dict, field: str):
    """Kubernetes refuses updates to a StorageClass's parameters (and a rename would leave the old one behind)."""
    spec = {"dumpStorageClass": {"create": True, "server": "nas.home.arpa"}}
    _, observed = f.converge(xr(spec), required=CERT_MANAGER)
    changed = f.run(f.request(xr({"dumpStorageClass": {**spec["dumpStorageClass"], **change}}), observed))
    assert f.fatal(changed).startswith(f"spec.dumpStorageClass.{field}: cannot change from ")
    assert "set create: false first" in f.fatal(changed)
    assert not f.desired(changed)
    off = f.run(f.request(xr({"dumpStorageClass": {"create": False, **change}}), observed, required=CERT_MANAGER))
    assert f.fatal(off) is None and keys.DUMP_STORAGE_CLASS not in f.desired(off)
