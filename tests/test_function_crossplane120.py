"""Crossplane 1.20: the look-ups it can answer, and never another namespace's object (issue #12, SPEC §2, §7.4).

1.20 reads only `requirements.extra_resources`, has no namespace in its
selector, cannot get a namespaced object by name (a Secret fails the pipeline),
and lists by labels across every namespace (tests/support/crossplane120.py,
modelled on crossplane v1.20.11). The function asks 2.x by name in the
namespace (`requirements.resources`) and 1.20 by labels
(`requirements.extra_resources`), and keeps only the object of the asked
namespace and name. Each table case runs a claim to steady state the 2.x way
(function.simulate) and the 1.20 way, with look-alikes in other namespaces,
and compares the whole responses.
"""

from __future__ import annotations

import base64
import copy
import pathlib

import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import json_format
from hypothesis import given
from hypothesis import strategies as st

from function import keys, labels
from function.outcome import Requirement
from tests.support import crossplane120, strategies
from tests.support import function as f

REPO = pathlib.Path(__file__).resolve().parent.parent
OBJECT_STORE_INPUT = yaml.safe_load((REPO / "examples" / "postgresdatabase-full" / "input.yaml").read_text())
CREDENTIALS_LABELS = labels.credentials_labels("postgres-shop", "shop")


def _secret(name: str, namespace: str, secret_labels: dict, **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(secret_labels)},
        "type": "kubernetes.io/basic-auth" if "password" in data else "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def _backup(name: str, namespace: str, backup_labels: dict, major: int = 16) -> dict:
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Backup",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(backup_labels)},
        "spec": {"cluster": {"name": "postgres-shop"}, "method": "volumeSnapshot"},
        "status": {
            "phase": "completed",
            "method": "volumeSnapshot",
            "majorVersion": major,
            "snapshotBackupStatus": {"elements": [{"name": name, "type": "PG_DATA"}]},
        },
    }


OWN_SECRET = _secret("shop-postgres-credentials", "shop", CREDENTIALS_LABELS, username="shop", password="own-password")
# Another tenant's Secret of the same name, labels forged to pass for this claim's: 1.20 lists it (first).
FORGED_SECRET = _secret(
    "shop-postgres-credentials", "a-team", CREDENTIALS_LABELS, username="shop", password="someone-elses-password"
)
BACKUP_LABEL = {labels.BACKUP: "nightly"}
OWN_BACKUP = _backup("nightly", "shop", BACKUP_LABEL, major=16)
OTHER_BACKUP = _backup("nightly", "a-team", BACKUP_LABEL, major=17)
S3_LABEL = {labels.OBJECT_STORE_CREDENTIALS: "minio-postgres-backups"}
OWN_S3 = _secret("minio-postgres-backups", "crossplane-system", S3_LABEL, ACCESS_KEY_ID="own-id", ACCESS_SECRET_KEY="k")
OTHER_S3 = _secret("minio-postgres-backups", "a-team", S3_LABEL, ACCESS_KEY_ID="other-id", ACCESS_SECRET_KEY="x")
DECOY_VALUES = ("someone-elses-password", "other-id")

CASES = [
    pytest.param({}, None, [OWN_SECRET, FORGED_SECRET], id="adopted-credentials"),
    pytest.param(
        {"databaseName": "shop", "restore": {"backupName": "nightly"}},
        None,
        [OWN_SECRET, FORGED_SECRET, OWN_BACKUP, OTHER_BACKUP],
        id="restore-backup",
    ),
    pytest.param(
        {"backup": {"method": "objectStore"}},
        OBJECT_STORE_INPUT,
        [OWN_SECRET, FORGED_SECRET, OWN_S3, OTHER_S3],
        id="object-store-credentials",
    ),
]


def _whole(rsp) -> dict:
    return json_format.MessageToDict(rsp)


@pytest.mark.parametrize(("spec", "function_input", "available"), CASES)
def test_crossplane_1_20_composes_what_2x_composes_from_its_own_namespace_only(spec, function_input, available):
    xr = f.composite("PostgresDatabase", spec)
    modern = f.trace(xr, available, function_input)
    legacy = crossplane120.trace(xr, available, function_input)
    assert [_whole(r) for r in legacy] == [_whole(r) for r in modern]
    # Without the other namespaces' objects, the same: they were never used.
    own = [d for d in available if d["metadata"]["namespace"] in ("shop", "crossplane-system")]
    assert [_whole(r) for r in crossplane120.trace(xr, own, function_input)] == [_whole(r) for r in legacy]
    final = legacy[-1]
    assert f.fatal(final) is None and not [c for c in final.conditions if "waiting" in c.message]
    assert base64.b64decode(f.manifests(final)[keys.CREDENTIALS]["data"]["password"]).decode() == "own-password"
    assert not any(value in str(final) for value in DECOY_VALUES)


def test_a_restore_on_1_20_takes_its_own_backups_major_not_the_look_alikes():
    xr = f.composite("PostgresDatabase", {"databaseName": "shop", "restore": {"backupName": "nightly"}})
    rsp = crossplane120.trace(xr, [OWN_SECRET, OTHER_BACKUP, OWN_BACKUP])[-1]
    assert f.manifests(rsp)[keys.CLUSTER]["spec"]["imageName"].endswith(":16-standard-trixie")


def test_only_another_namespaces_object_is_not_found_on_1_20():
    """1.20 lists the look-alikes; they are not this claim's: the claim waits, and says how to label its own."""
    xr = f.composite("PostgresDatabase", {"databaseName": "shop", "restore": {"backupName": "nightly"}})
    rsp = crossplane120.run(xr, available=[OWN_SECRET, OTHER_BACKUP])
    ready = f.conditions(rsp)["DatabaseReady"].message
    assert (
        "Backup nightly in namespace shop (not found; Crossplane 1.20 finds a Backup only by its label: "
        "kubectl label backup.postgresql.cnpg.io nightly -n shop --overwrite tau.home.arpa/backup=nightly)"
    ) in ready
    assert keys.CLUSTER not in f.desired(rsp)


def test_an_unlabelled_backup_is_found_on_2x_and_on_1_20_the_claim_gives_the_label_command():
    xr = f.composite("PostgresDatabase", {"databaseName": "shop", "restore": {"backupName": "nightly"}})
    unlabelled = _backup("nightly", "shop", {})
    modern = f.trace(xr, [OWN_SECRET, unlabelled])[-1]
    assert keys.CLUSTER in f.desired(modern) and f.fatal(modern) is None
    legacy = crossplane120.run(xr, available=[OWN_SECRET, unlabelled])
    assert "kubectl label backup.postgresql.cnpg.io nightly -n shop --overwrite tau.home.arpa/backup=nightly" in (
        f.conditions(legacy)["DatabaseReady"].message
    )


def test_an_unlabelled_object_store_secret_on_1_20_gives_the_admin_the_label_command():
    xr = f.composite("PostgresDatabase", {"backup": {"method": "objectStore"}})
    unlabelled = _secret("minio-postgres-backups", "crossplane-system", {}, ACCESS_KEY_ID="a", ACCESS_SECRET_KEY="b")
    rsp = crossplane120.run(xr, available=[OWN_SECRET, unlabelled], function_input=OBJECT_STORE_INPUT)
    assert (
        "Crossplane 1.20 finds it only by its label: kubectl label secret minio-postgres-backups -n crossplane-system "
        "--overwrite tau.home.arpa/object-store-credentials=minio-postgres-backups"
    ) in f.conditions(rsp)["DatabaseReady"].message


def test_a_new_claim_on_1_20_says_how_to_label_a_secret_brought_for_adoption():
    rsp = crossplane120.run(f.composite("PostgresDatabase", {}))
    message = f.conditions(rsp)["DatabaseReady"].message
    assert (
        "credentials Secret shop-postgres-credentials to be created (on Crossplane 1.20 an existing Secret "
        "shop-postgres-credentials is adopted, not replaced, only when labelled: kubectl label secret "
        "shop-postgres-credentials -n shop --overwrite app.kubernetes.io/managed-by=function-tau "
        "tau.home.arpa/cluster=postgres-shop tau.home.arpa/namespace=shop)"
    ) in message
    # 2.x finds a Secret by name, labelled or not: no such note.
    assert (
        "Crossplane 1.20" not in f.conditions(f.trace(f.composite("PostgresDatabase", {}))[0])["DatabaseReady"].message
    )


def test_the_credentials_secret_a_claim_composes_is_found_again_on_1_20():
    """After a Retain delete and a re-created claim, 1.20 finds the Secret by the labels it was composed with."""
    first = f.trace(f.composite("PostgresDatabase", {}))[-1]
    composed = f.manifests(first)[keys.CREDENTIALS]
    password = base64.b64decode(composed["data"]["password"]).decode()
    again = crossplane120.trace(f.composite("PostgresDatabase", {}), [composed])[-1]
    assert base64.b64decode(f.manifests(again)[keys.CREDENTIALS]["data"]["password"]).decode() == password


def test_the_old_by_name_selector_is_what_failed_1_20():
    """The model reproduces the 1.20.11 failure the function used to cause, and the new selectors avoid it."""
    by_name = Requirement("x", "v1", "Secret", "shop-postgres-credentials", "shop", labels=CREDENTIALS_LABELS)
    with pytest.raises(crossplane120.PipelineError, match="an empty namespace may not be set"):
        crossplane120.fetch(by_name.selector(), [OWN_SECRET])
    assert crossplane120.fetch(by_name.legacy_selector(), [OWN_SECRET, FORGED_SECRET]) == [FORGED_SECRET, OWN_SECRET]


def test_a_namespaced_requirement_without_labels_is_refused():
    """An empty label selector would have 1.20 list every object of the kind in the cluster."""
    with pytest.raises(ValueError, match="needs labels"):
        Requirement("x", "v1", "Secret", "name", "ns")
    crd = Requirement("crd", "apiextensions.k8s.io/v1", "CustomResourceDefinition", "certificates.cert-manager.io")
    assert crd.legacy_selector() == crd.selector()  # cluster-scoped: 1.20 gets it by name


@pytest.mark.parametrize(
    "name",
    ["nightly", "a" * 63, "a" * 64, "b" * 253, "x." * 40 + "y", "shop-" * 20 + "z"],
)
def test_a_label_value_stands_for_any_object_name(name):
    value = labels.value(name)
    assert len(value) <= 63 and value[0].isalnum() and value[-1].isalnum()
    assert all(c.isalnum() or c in "-_." for c in value)
    assert value == name if len(name) <= 63 else value != labels.value(name + "x")


def _never_asks_1_20_by_name_for_a_namespaced_object(rsp) -> None:
    for name, selector in rsp.requirements.extra_resources.items():
        if selector.WhichOneof("match") == "match_name":
            assert selector.kind == "CustomResourceDefinition", name
        else:
            assert selector.match_labels.labels, name  # never "everything of the kind"


@strategies.budget(40)
@given(
    spec=strategies.postgres_specs,
    restore=st.booleans(),
    object_store=st.booleans(),
    decoys=strategies.decoys(),
)
def test_no_other_namespaces_object_is_ever_read_on_1_20(spec, restore, object_store, decoys):
    """SPEC §7.4 under generated claims and look-alikes in other namespaces (1.20 lists them all)."""
    spec = copy.deepcopy(spec)
    if restore:
        spec["restore"] = {"backupName": "nightly"}
        spec.get("instance", {}).pop("version", None)
        spec.get("instance", {}).pop("walStorage", None)
    if object_store:
        spec["backup"] = {"method": "objectStore"}
    function_input = OBJECT_STORE_INPUT if object_store else None
    xr = f.composite("PostgresDatabase", spec)
    secret_name = spec.get("credentialsSecretName", "shop-postgres-credentials")
    own = [
        _secret(secret_name, "shop", CREDENTIALS_LABELS, username="shop", password="own-password"),
        OWN_BACKUP,
        OWN_S3,
    ]
    look_alikes = [strategies.look_alike(d, secret_name) for d in decoys]
    alone = crossplane120.run(xr, available=own, function_input=function_input)
    crowded = crossplane120.run(xr, available=own + look_alikes, function_input=function_input)
    assert _whole(crowded) == _whole(alone)
    for mark in (strategies.DECOY_MARK, base64.b64encode(strategies.DECOY_MARK.encode()).decode()):
        assert mark not in str(crowded)
    _never_asks_1_20_by_name_for_a_namespaced_object(crowded)


def test_a_crossplane_that_reads_resources_is_not_asked_twice():
    """Crossplane 2.2+ advertises CAPABILITY_REQUIRED_RESOURCES and answers both fields: it gets only `resources`;
    a request without capabilities (1.20; 2.0 and 2.1 send none) gets both."""
    xr = f.composite("PostgresDatabase", {"databaseName": "shop", "restore": {"backupName": "nightly"}})
    known = {keys.LIVE_SECRET: [OWN_SECRET]}  # the password is drawn otherwise
    plain = f.run(f.request(xr, required=known))
    asked = set(plain.requirements.resources)
    assert asked == set(plain.requirements.extra_resources) and asked >= {keys.LIVE_SECRET, keys.RESTORE_BACKUP}
    req = f.request(xr, required=known)
    req.meta.capabilities.extend([fnv1.CAPABILITY_CAPABILITIES, fnv1.CAPABILITY_REQUIRED_RESOURCES])
    modern = f.run(req)
    assert set(modern.requirements.resources) == asked
    assert not modern.requirements.extra_resources
    modern.requirements.extra_resources.MergeFrom(plain.requirements.extra_resources)
    assert modern == plain  # nothing else differs
