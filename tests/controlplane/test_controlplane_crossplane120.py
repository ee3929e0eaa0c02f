"""The claim APIs on Crossplane 1.20.11 core (the docs' 1.20 promise), on a control plane of its own.

Issue #12: the Function package's input CRD once set `default` on its
top-level apiVersion/kind, which the API server refuses (`must not be set in
top-level apiVersion`), so 1.20 kept the FunctionRevision unhealthy; and the
function asked 1.20 for the credentials Secret by name and namespace, which
1.20 cannot fetch (`an empty namespace may not be set when a resource name is
provided`), failing every pipeline. Now the input CRD has no such default, and
1.20 is asked by labels (function.outcome.Requirement): every example claim
(restores and object store credentials included, their required resources
labelled as docs/POSTGRES_USAGE.md says) composes and becomes Ready on 1.20.11,
and a Backup without the label is reported with the command that labels it.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Iterator

import pytest
import yaml

from tests.controlplane import claims, cluster
from tests.controlplane.conftest import require, running
from tests.controlplane.kubelet_standin import CNPGStatusStandIn
from tests.support.paths import REPO

pytestmark = pytest.mark.controlplane

# provider-helm cannot fetch a chart here: the CNPGOperator example is not run on 1.20.
EXAMPLES = [e for e in claims.examples() if e.kind not in ("CNPGOperator", "XCNPGOperator")]
INPUT_CRD = sorted((REPO / "package" / "input").glob("*.yaml"))


@pytest.fixture(scope="module")
def plane120() -> Iterator[cluster.ControlPlane]:
    """A second control plane, running Crossplane 1.20.11 core."""
    require("crossplane-1.20")
    plane = cluster.ControlPlane(crossplane="crossplane-1.20", netns=f"tau-cp120-{os.getpid()}")
    yield from running(plane, "the 1.20 control plane")


@pytest.fixture(scope="module")
def standin120(plane120: cluster.ControlPlane) -> CNPGStatusStandIn:
    """The kubelet / instance manager stand-in of the 1.20 control plane."""
    return CNPGStatusStandIn(plane120)


@pytest.fixture(scope="module")
def applied120(plane120: cluster.ControlPlane, standin120: CNPGStatusStandIn) -> dict:
    """Every example (but the Helm one) applied at once on 1.20 with its labelled required resources, converged."""
    # A database's instance (examples/postgresinstance) first; required.yaml's composite is never applied.
    for example in claims.with_dependencies(EXAMPLES):
        claims.apply_required(plane120, standin120, example)
        composition = claims.install_example_composition(plane120, example)
        claims.apply_claim(plane120, example.claim, composition)
    state = claims.converge(plane120, standin120, [e.claim for e in EXAMPLES], timeout=600, fail=False)
    return {e.name: state[claims.claim_key(e.claim)] for e in EXAMPLES}


def test_the_claim_apis_are_offered_on_120(plane120: cluster.ControlPlane) -> None:
    xrds = plane120.items("compositeresourcedefinitions.apiextensions.crossplane.io")
    assert {x["spec"]["names"]["kind"] for x in xrds} >= {"XPostgresDatabase", "XTauApplication"}
    for xrd in xrds:
        assert claims.is_true(xrd, "Established"), xrd["metadata"]["name"]
        if xrd["spec"].get("claimNames"):
            assert claims.is_true(xrd, "Offered"), xrd["metadata"]["name"]


def test_the_function_package_installs_healthy_on_120(plane120: cluster.ControlPlane) -> None:
    healthy = plane120.function_conditions.get("Healthy", {})
    assert healthy.get("status") == "True", healthy.get("message")


@pytest.mark.parametrize("path", INPUT_CRD, ids=[p.name for p in INPUT_CRD])
def test_the_api_server_accepts_the_input_crd_and_refuses_top_level_defaults(
    plane120: cluster.ControlPlane, path
) -> None:
    """The package's input CRD as generated, created (server-side dry run, under another group) on kube-apiserver."""
    crd = next(d for d in yaml.safe_load_all(path.read_text()) if d)
    probe = copy.deepcopy(crd)
    probe["spec"]["group"] = "probe." + crd["spec"]["group"]
    probe["metadata"]["name"] = f"{crd['spec']['names']['plural']}.{probe['spec']['group']}"
    created = plane120.kubectl("create", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(probe), check=False)
    assert created.returncode == 0, created.stderr
    # What the generator wrote before (issue #12): refused, with the API server's words.
    probe["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["apiVersion"]["default"] = "x/v1"
    refused = plane120.kubectl("create", "--dry-run=server", "-f", "-", stdin=yaml.safe_dump(probe), check=False)
    assert refused.returncode != 0 and "must not be set in top-level apiVersion" in refused.stderr, refused.stderr


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_every_example_claim_becomes_ready_on_120(applied120: dict, example: claims.Example) -> None:
    state = applied120[example.name]
    assert state["converged"], f"{example.name} is not Ready on 1.20: {claims._summary(state)}"
    assert claims.is_true(state["claim"], "Ready")


def test_the_composed_credentials_secret_carries_the_labels_120_finds_it_by(
    plane120: cluster.ControlPlane, applied120: dict
) -> None:
    example = next(e for e in EXAMPLES if e.name == "postgresdatabase")
    assert applied120[example.name]["converged"]
    status = applied120[example.name]["claim"]["status"]
    secret = plane120.get("secret", status["secretName"], example.namespace)
    assert secret is not None
    assert (
        secret["metadata"]["labels"].items()
        >= {
            "app.kubernetes.io/managed-by": "function-tau",
            "tau.home.arpa/cluster": status["cluster"],
            "tau.home.arpa/namespace": example.namespace,
        }.items()
    )


def test_a_backup_without_the_label_is_reported_with_the_command_on_120(
    plane120: cluster.ControlPlane, standin120: CNPGStatusStandIn, applied120: dict
) -> None:
    """1.20 can only list Backups by label: an unlabelled one is not found, and the claim says how to label it."""
    restore = next(e for e in EXAMPLES if e.name == "postgresdatabase-restore")
    backup = copy.deepcopy(next(d for d in restore.required if d["kind"] == "Backup"))
    namespace = "restore-unlabelled"
    backup["metadata"] = {"name": backup["metadata"]["name"], "namespace": namespace}
    claim = copy.deepcopy(restore.claim)
    claim["metadata"]["namespace"] = namespace
    claims.ensure_namespace(plane120, namespace)
    status = backup.pop("status")
    plane120.apply([backup])
    standin120.backup_completed(namespace, backup["metadata"]["name"], status)
    claims.apply_claim(plane120, claim)
    command = (
        f"kubectl label backup.postgresql.cnpg.io {backup['metadata']['name']} -n {namespace} --overwrite "
        f"tau.home.arpa/backup={backup['metadata']['name']}"
    )
    deadline, message = time.monotonic() + 120, ""
    while time.monotonic() < deadline and command not in message:
        message = claims.condition(claims.get_claim(plane120, claim), "DatabaseReady").get("message", "")
        time.sleep(2)
    assert command in message
    # Run the command the claim gives: the restore goes ahead.
    plane120.kubectl(*command.split()[1:])
    state = claims.converge(plane120, standin120, [claim], timeout=300)
    assert state[claims.claim_key(claim)]["converged"]
