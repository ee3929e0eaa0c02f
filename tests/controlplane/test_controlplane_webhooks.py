"""The function's own refusals, checked against CNPG's real admission webhooks on the same spec.

The function refuses, in place of CNPG's webhook, what the webhook would refuse
(so the claim says why instead of an Object failing). For each case: the
function refuses the claim (`function-tau render`, or the live claim's
condition for changes to an existing database), and the CNPG operator's
webhook, wired to the API server, refuses the Cluster the claim would have
become (server-side dry run). The unchanged Cluster is admitted, as a control.
"""

from __future__ import annotations

import copy
import json
import pathlib
import re
import tempfile

import pytest
import yaml

from tests.controlplane import claims

pytestmark = pytest.mark.controlplane

NAMESPACE = "webhooks"
LONG_NAME = "a-cluster-name-that-is-exactly-fifty-one-characters"
BASE = {
    "apiVersion": "tau.home.arpa/v1alpha1",
    "kind": "PostgresDatabase",
    "metadata": {"name": "verdicts", "namespace": NAMESPACE},
    "spec": {
        "instance": {
            "version": 16,
            "storage": {"size": "2Gi"},
            "walStorage": {"size": "1Gi"},
            "resources": {"requests": {"memory": "512Mi"}},
        }
    },
}


def _merge(base: dict, change: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in change.items():
        out[key] = _merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def _render_file(claim: dict) -> pathlib.Path:
    path = pathlib.Path(tempfile.mkstemp(suffix=".yaml", prefix="claim-")[1])
    path.write_text(yaml.safe_dump(claim))
    return path


def function_verdict(claim: dict) -> tuple[int, str]:
    """`function-tau render` of the claim: exit status and output."""
    import subprocess  # noqa: PLC0415

    from tests.controlplane.cluster import FUNCTION_TAU  # noqa: PLC0415

    proc = subprocess.run([str(FUNCTION_TAU), "render", str(_render_file(claim))], capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


def rendered_cluster(claim: dict) -> dict:
    """The CNPG Cluster render composes for a valid claim (steady state)."""
    docs = claims.render(str(_render_file(claim)))
    return next(
        claims.manifest(d) for d in docs[1:] if d["kind"] == "Object" and claims.manifest(d)["kind"] == "Cluster"
    )


def webhook_verdict(plane, cluster: dict, operation: str = "create") -> tuple[bool, str]:
    """Whether the API server (CRD schema, CEL, CNPG's webhooks) admits the Cluster (dry run); its message."""
    args = [operation, "--dry-run=server", "-o", "name", "-f", "-"]
    proc = plane.kubectl(*args, stdin=json.dumps(cluster), check=False)
    return proc.returncode == 0, proc.stderr.strip()


def _set_parameter(name: str, value: str):
    def mutate(cluster: dict) -> None:
        cluster["spec"].setdefault("postgresql", {}).setdefault("parameters", {})[name] = value

    return mutate


def _shared_buffers(cluster: dict) -> None:
    cluster["spec"]["resources"]["requests"]["memory"] = "256Mi"
    _set_parameter("shared_buffers", "1GB")(cluster)


def _long_name(cluster: dict) -> None:
    cluster["metadata"]["name"] = LONG_NAME


CREATION = [
    ("managed-parameter", {"spec": {"instance": {"parameters": {"port": "5433"}}}}, _set_parameter("port", "5433"),
     "'port' is managed by CloudNativePG", "Can't set fixed configuration parameter"),
    ("shared-buffers-over-memory-request",
     {"spec": {"instance": {"resources": {"requests": {"memory": "256Mi"}}, "parameters": {"shared_buffers": "1GB"}}}},
     _shared_buffers, "lower than parameters.shared_buffers",
     "Memory request is lower than PostgreSQL `shared_buffers` value"),
    # Refused by the XRD's schema already (maxLength), as the API server refuses the claim.
    ("cluster-name-over-50", {"spec": {"instance": {"name": LONG_NAME}}}, _long_name,
     "spec.instance.name: Too long", "the maximum length of a cluster name is 50 characters"),
]  # fmt: skip


@pytest.mark.shared  # server-side dry runs only: also against a given cluster (TAU_TARGET=kubeconfig)
@pytest.mark.parametrize(
    ("change", "mutate", "function_says", "cnpg_says"), [c[1:] for c in CREATION], ids=[c[0] for c in CREATION]
)
def test_creation_refusals_match_the_webhook(plane, change: dict, mutate, function_says: str, cnpg_says: str) -> None:
    claims.ensure_namespace(plane, NAMESPACE)
    control = rendered_cluster(BASE)
    admitted, message = webhook_verdict(plane, control)
    assert admitted, f"the valid Cluster was refused: {message}"

    status, output = function_verdict(_merge(BASE, change))
    assert status != 0, f"the function accepted it:\n{output[-2000:]}"
    assert function_says in output

    cluster = copy.deepcopy(control)
    mutate(cluster)
    admitted, message = webhook_verdict(plane, cluster)
    assert not admitted, "CNPG's webhook admitted what the function refuses"
    assert cnpg_says in message


def _image_major(cluster: dict, major: int) -> None:
    cluster["spec"]["imageName"] = re.sub(r":\d+", f":{major}", cluster["spec"]["imageName"], count=1)


UPDATES = [
    ("major-downgrade", {"spec": {"instance": {"version": 15}}}, lambda c: _image_major(c, 15), "downgrade",
     "can't downgrade from major"),
    ("storage-shrink", {"spec": {"instance": {"storage": {"size": "1Gi"}}}},
     lambda c: c["spec"]["storage"].update(size="1Gi"), "shrink", "can't shrink existing storage"),
]  # fmt: skip


@pytest.fixture(scope="module")
def live_cluster(plane, standin) -> dict:
    """The Cluster of the claim BASE, composed by the real function on the control plane."""
    claims.apply_claim(plane, BASE)

    def cluster() -> dict | None:
        items = plane.items("clusters.postgresql.cnpg.io", namespace=NAMESPACE)
        return items[0] if items else None

    found = plane.wait("the claim's Cluster", cluster, timeout=180, interval=1)
    # What CNPG's operator records on its first reconcile (the image PGDATA was made with): its webhook
    # judges a downgrade against it.
    standin.cluster_healthy(NAMESPACE, found["metadata"]["name"])
    return found


@pytest.mark.parametrize(
    ("change", "mutate", "words", "cnpg_says"), [u[1:] for u in UPDATES], ids=[u[0] for u in UPDATES]
)
def test_update_refusals_match_the_webhook(
    plane, live_cluster: dict, change: dict, mutate, words: str, cnpg_says: str
) -> None:
    cluster = copy.deepcopy(plane.get("clusters.postgresql.cnpg.io", live_cluster["metadata"]["name"], NAMESPACE))
    for field in ("managedFields", "creationTimestamp", "generation", "uid"):
        cluster["metadata"].pop(field, None)
    cluster.pop("status", None)
    admitted, message = webhook_verdict(plane, cluster, "replace")
    assert admitted, f"the unchanged Cluster was refused: {message}"
    mutate(cluster)
    admitted, message = webhook_verdict(plane, cluster, "replace")
    assert not admitted, "CNPG's webhook admitted the change the function refuses"
    assert cnpg_says in message

    claims.apply_claim(plane, _merge(BASE, change))
    try:

        def refused() -> dict | None:
            live = claims.get_claim(plane, BASE) or {}
            for cond in (live.get("status") or {}).get("conditions", []):
                if cond.get("reason") == "InvalidSpec" and words in cond.get("message", ""):
                    return cond
            return None

        plane.wait(f"the function to refuse ({words})", refused, timeout=90, interval=1)
    finally:
        claims.apply_claim(plane, BASE)
