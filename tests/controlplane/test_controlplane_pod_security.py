"""Pod Security Admission, the real one in kube-apiserver, on every pod the examples compose.

The jobs the function runs (the dump, the restore of a dump, the prune of old
snapshots) promise the `restricted` profile (docs/POSTGRES_USAGE.md, "Logical
dumps"); the application's Deployment keeps the user its image chooses and
promises `baseline` only (docs/SECURITY.md). Pod Security Admission enforces on
Pods, not on the workloads that make them (for those it only warns:
kubernetes.io/docs/concepts/security/pod-security-admission, "Workload resources
and Pod templates"), so each pod template the examples render is created as a
Pod, server-side dry run, in a namespace whose `enforce` label is the profile.
The render is the composed output (tests/controlplane/test_controlplane_examples
shows it equal to what the control plane holds).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator

import pytest

from tests.controlplane import claims

# Server-side dry runs only: the same checks run against a given cluster (TAU_TARGET=kubeconfig, `make e2e`).
pytestmark = [pytest.mark.controlplane, pytest.mark.shared]

JOB_KINDS = ("CronJob", "Job")
PROFILES = ("baseline", "restricted")
RUN = f"{os.getpid()}-{int(time.time()) % 100000}"
# No example restores a dump (it needs a dump on the NFS server); the restore Job is judged with this claim.
RESTORE_DUMP = {
    "apiVersion": "tau.home.arpa/v1alpha1",
    "kind": "PostgresDatabase",
    "metadata": {"name": "ledger-restored", "namespace": "accounts"},
    "spec": {"instance": {"storage": {"size": "1Gi"}},
             "restore": {"dump": {"file": "latest", "privateKeySecret": "ledger-backup-key"}}},
}  # fmt: skip


def _workloads(docs: list[dict], source: str) -> list[tuple[str, str, dict]]:
    out = []
    for doc in docs[1:]:
        if doc.get("kind") != "Object":
            continue
        manifest = claims.manifest(doc)
        spec = manifest.get("spec") or {}
        if manifest["kind"] == "CronJob":
            template = spec["jobTemplate"]["spec"]["template"]
        elif manifest["kind"] in ("Job", "Deployment"):
            template = spec["template"]
        else:
            continue
        out.append((source, f"{manifest['kind']}/{manifest['metadata']['name']}", template))
    return out


@pytest.fixture(scope="module")
def templates(tmp_path_factory) -> list[tuple[str, str, dict]]:
    """(example, `Kind/name`, pod template) of every workload every example composes, and of a dump restore."""
    out = []
    for example in claims.examples():
        out += _workloads(claims.render(*example.render_args()), example.name)
    claim = tmp_path_factory.mktemp("pod-security") / "claim.yaml"
    claim.write_text(json.dumps(RESTORE_DUMP))
    dumps_input = claims.EXAMPLES / "postgresdatabase-dumps" / "input.yaml"
    out += _workloads(claims.render(str(claim), "--input", str(dumps_input)), "restore.dump")
    return out


@pytest.fixture(scope="module", autouse=True)
def _namespaces(plane) -> Iterator[None]:
    """The namespaces this file makes go with it (a given cluster keeps nothing of these checks)."""
    yield
    for profile in PROFILES:
        plane.kubectl("delete", "namespace", _name(profile), "--ignore-not-found", "--wait=false", check=False)


def _name(profile: str) -> str:
    # One per run: a namespace deleted by an earlier run may still be terminating (for good on the local
    # control plane, which runs no namespace controller).
    return f"pod-security-{profile}-{RUN}"


def _namespace(plane, profile: str) -> str:
    assert profile in PROFILES
    name = _name(profile)
    if plane.get("namespaces", name) is None:
        plane.apply([{"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": name, "labels": {"pod-security.kubernetes.io/enforce": profile,
                                                            "pod-security.kubernetes.io/enforce-version": "latest"}}}])  # fmt: skip
    return name


def _admitted(plane, template: dict, namespace: str) -> tuple[bool, str]:
    """Whether the API server admits a Pod of this template in `namespace` (dry run); its refusal.

    A real cluster's ServiceAccount admission refuses a pod whose account does not exist, before Pod
    Security judges it: the account is made first (it goes with the namespace).
    """
    account = template["spec"].get("serviceAccountName")
    if account and plane.get("serviceaccounts", account, namespace) is None:
        plane.apply(
            [{"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account, "namespace": namespace}}]
        )
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "pod-security-probe", "namespace": namespace,
                        "labels": template.get("metadata", {}).get("labels", {})},
           "spec": template["spec"]}  # fmt: skip
    proc = plane.kubectl("create", "--dry-run=server", "-o", "name", "-f", "-", stdin=json.dumps(pod), check=False)
    return proc.returncode == 0, proc.stderr.strip()


def test_the_examples_compose_every_workload_the_function_makes(templates) -> None:
    """A control for the two tests below: each kind of workload, and each job, is among what they judge."""
    names = {what for _, what, _ in templates}
    assert {n.split("/")[0] for n in names} == {"CronJob", "Job", "Deployment"}, names
    for suffix in ("-dump", "-backup-prune", "-dump-restore"):
        assert any(n.endswith(suffix) for n in names), (suffix, names)


def test_every_job_the_function_runs_is_admitted_under_restricted(plane, templates) -> None:
    namespace = _namespace(plane, "restricted")
    refused = []
    for source, what, template in templates:
        if what.split("/")[0] in JOB_KINDS:
            admitted, refusal = _admitted(plane, template, namespace)
            if not admitted:
                refused.append(f"{source}: {what}: {refusal}")
    assert not refused, "refused under enforce=restricted:\n" + "\n".join(refused)


def test_an_application_is_admitted_under_baseline_and_refused_under_restricted_for_what_the_docs_say(
    plane, templates
) -> None:
    """docs/SECURITY.md: the app keeps its image's user, so `baseline` admits it and `restricted` does not.

    The refusal names exactly what the function leaves to the image (runAsNonRoot, the dropped
    capabilities): if the function ever sets them, this test tells the docs to change.
    """
    apps = [t for t in templates if t[1].startswith("Deployment/")]
    assert apps
    for source, what, template in apps:
        admitted, refusal = _admitted(plane, template, _namespace(plane, "baseline"))
        assert admitted, f"{source}: a pod of {what} is refused under enforce=baseline: {refusal}"
        admitted, refusal = _admitted(plane, template, _namespace(plane, "restricted"))
        assert not admitted, f"{source}: {what} is admitted under restricted: docs/SECURITY.md says it is not"
        assert "violates PodSecurity" in refusal and "runAsNonRoot" in refusal and "capabilities" in refusal, refusal
        assert "allowPrivilegeEscalation" not in refusal and "seccompProfile" not in refusal, refusal
