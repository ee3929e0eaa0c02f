"""Everything the end-to-end suite applies, checked here where no cluster runs.

Every manifest tests/e2e/resources.py builds or ships validates against its
upstream schema (and, with the CLI, `crossplane beta validate` with CEL), the
scenario composes in-process to Ready with the suite's own platform input, and
the suite itself skips cleanly without a cluster and fails under `make e2e`.
"""

from __future__ import annotations

import base64
import os
import pathlib
import subprocess
import sys

import pytest

from function import simulate
from function.api.platform import PlatformDefaults
from tests.e2e import resources as r
from tests.support import crossplane, install, schemas
from tests.support import function as f
from tests.support.dumps import PUBLIC_KEY
from tests.support.paths import APIS, CRDS, REPO

PACKAGE = "registry.tau-e2e-registry.svc.cluster.local:5000/function-tau:v0.0.0-e2e"
IMAGE = "function-tau:e2e"


def built() -> list[dict]:
    """Every document the suite builds (the static files are checked on their own)."""
    return [
        *r.function(PACKAGE, IMAGE),
        *r.function("ghcr.io/function-tau/function-tau:v0.1.0", None),
        *r.compositions(),
        r.operator(snapshot_class=True, longhorn=True),
        r.operator(snapshot_class=False, longhorn=False),
        r.namespace(),
        r.application(),
        r.backup(),
        r.restored(),
        # Shared instances (#14), logical dumps (#9), a failing WAL archive (#10).
        r.instance(),
        r.shared_application("shared-one"),
        r.shared_application("shared-two"),
        *r.compositions(public_key=PUBLIC_KEY),
        r.dumped(),
        r.dump_key_secret("-----BEGIN PGP PRIVATE KEY BLOCK-----\nnot a key\n-----END PGP PRIVATE KEY BLOCK-----"),
        r.dump_restored(),
        r.wrong_keys(),
        r.wrong_keys_composition(),
        r.archive_fails(),
    ]


def shipped() -> list[dict]:
    return [d for path in r.static_files() for d in r.documents(path)]


@pytest.mark.parametrize("doc", built() + shipped(), ids=lambda d: f"{d['kind']}-{d['metadata']['name']}")
def test_every_manifest_the_suite_applies_validates(doc: dict):
    schemas.validate(doc)


def test_the_suites_platform_input_is_valid():
    doc = r.platform_input()
    schemas.validate(doc)  # against the input CRD in package/input/
    platform = PlatformDefaults.model_validate(doc)
    assert platform.backup.method == "objectStore" and platform.backup.objectStore.encryption == "none"
    for composition in r.compositions():
        assert composition["spec"]["pipeline"][0]["input"] == doc


def test_the_suite_installs_the_shipped_files():
    names = [p.name for p in r.install_files(activation_policy=True)]
    assert names == [
        p.name for p in install.install_files() if p.name not in ("08-function.yaml", "09-configuration.yaml")
    ]
    assert r.MRAP_FILE not in [p.name for p in r.install_files(activation_policy=False)]
    assert all(p.parent == APIS / p.parent.name for p in r.api_files())
    assert len(r.api_files()) == 8  # an XRD and a Composition for each of the four kinds


def test_the_package_registry_is_spoken_to_over_http():
    """Crossplane's registry client (go-containerregistry) uses plain HTTP for *.local hosts."""
    host = PACKAGE.split("/")[0].rsplit(":", 1)[0]
    assert host.endswith(".local")
    (service,) = [d for d in r.documents(r.MANIFESTS / "registry.yaml") if d["kind"] == "Service"]
    assert host == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    kind = (REPO / "tests" / "e2e" / "kind.sh").read_text()
    assert "registry.$registry_namespace.svc.cluster.local:5000/$package_ref" in kind


def test_the_object_store_keys_match_minios():
    docs = r.documents(r.MANIFESTS / "minio.yaml")
    root = next(d for d in docs if d["metadata"]["name"] == "minio-root")["stringData"]
    admin = next(d for d in docs if d["metadata"]["name"] == "tau-e2e-object-store")
    store = r.platform_input()["backup"]["objectStore"]
    assert (admin["metadata"]["name"], admin["metadata"]["namespace"]) == (
        store["credentials"]["name"], store["credentials"]["namespace"],
    )  # fmt: skip
    assert admin["stringData"] == {
        "ACCESS_KEY_ID": root["MINIO_ROOT_USER"], "ACCESS_SECRET_KEY": root["MINIO_ROOT_PASSWORD"],
    }  # fmt: skip
    (service,) = [d for d in docs if d["kind"] == "Service"]
    assert store["endpointURL"] == f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:9000"


def _as_secret(doc: dict) -> dict:
    """A stringData Secret as the API server stores it (data, base64)."""
    data = {k: base64.b64encode(v.encode()).decode() for k, v in doc["stringData"].items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": doc["metadata"], "data": data}


def test_the_scenario_composes_to_ready_with_the_suites_input():
    """The application, and the restore of its backup, converge in-process with exactly the suite's inputs."""
    admin = _as_secret(next(d for d in shipped() if d["metadata"]["name"] == "tau-e2e-object-store"))
    platform = r.platform_input()
    application = simulate.to_composite(r.application())
    responses = f.trace(application, [admin], platform)
    assert responses[-1].desired.composite.ready == 1, f.conditions(responses[-1])
    cluster = f.manifests(responses[-1])["postgres-cluster"]
    assert (
        cluster["metadata"]["name"]
        == r.database_names(r.APPLICATION)["cluster"]
        == r.backup()["spec"]["cluster"]["name"]
    )
    assert cluster["spec"]["storage"]["storageClass"] == platform["postgres"]["storageClass"]

    completed = {**r.backup(), "status": {"phase": "completed", "method": "plugin", "backupId": "20260101T000000"}}
    restored = simulate.to_composite(r.restored())
    responses = f.trace(restored, [admin, completed], platform)
    assert responses[-1].desired.composite.ready == 1, f.conditions(responses[-1])
    bootstrap = f.manifests(responses[-1])["postgres-cluster"]["spec"]["bootstrap"]["recovery"]
    assert (bootstrap["database"], bootstrap["owner"]) == (r.database_names(r.APPLICATION)["database"],
                                                           r.database_names(r.APPLICATION)["owner"])  # fmt: skip


@pytest.mark.crossplane_cli
def test_crossplane_beta_validate_accepts_what_the_suite_builds(tmp_path: pathlib.Path):
    extensions = [
        CRDS / "crossplane", CRDS / "provider-kubernetes", CRDS / "provider-helm", CRDS / "cnpg",
        *sorted(APIS.glob("*/definition.yaml")), REPO / "package" / "input",
    ]  # fmt: skip
    custom = [d for d in built() if d["apiVersion"] not in schemas.BUILTIN_GROUPS]
    path = crossplane.write_documents(tmp_path, "e2e.yaml", [*custom, r.platform_input()])
    code, output = crossplane.validate(extensions, [path])
    assert code == 0, output
    assert "0 failure cases" in output and "could not find CRD/XRD" not in output, output


def _run_suite(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KUBECONFIG", "TAU_E2E"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "tests/e2e"],
        capture_output=True, text=True, timeout=300, cwd=REPO, env={**clean, **env}, check=False,
    )  # fmt: skip


def test_without_a_cluster_the_suite_skips_with_the_reason():
    proc = _run_suite({})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" not in proc.stdout and "failed" not in proc.stdout, proc.stdout
    assert "no cluster: KUBECONFIG is not set" in proc.stdout, proc.stdout


def _unreachable_kubeconfig(tmp_path: pathlib.Path) -> str:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {}}]\n"
    )
    return str(kubeconfig)


def test_with_an_unreachable_cluster_the_suite_skips_with_the_reason(tmp_path: pathlib.Path):
    proc = _run_suite({"KUBECONFIG": _unreachable_kubeconfig(tmp_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" not in proc.stdout and "failed" not in proc.stdout, proc.stdout
    assert "no cluster: kubectl" in proc.stdout, proc.stdout


def test_make_e2e_fails_without_a_cluster(tmp_path: pathlib.Path):
    proc = _run_suite({"KUBECONFIG": _unreachable_kubeconfig(tmp_path), "TAU_E2E_REQUIRED": "1"})
    assert proc.returncode != 0
    assert "no cluster: kubectl" in proc.stdout, proc.stdout


def test_a_reachable_cluster_is_not_touched_unless_asked(tmp_path: pathlib.Path):
    """`make test` with KUBECONFIG pointing at the home cluster must not install anything there."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    kubectl = bin_dir / "kubectl"  # answers `kubectl version` as a reachable cluster would, and logs every call
    kubectl.write_text(f'#!/bin/sh\necho "$*" >> {calls}\necho \'{{"serverVersion": {{"gitVersion": "v1.33.1"}}}}\'\n')
    kubectl.chmod(0o755)
    proc = _run_suite({"KUBECONFIG": _unreachable_kubeconfig(tmp_path), "PATH": f"{bin_dir}:{os.environ['PATH']}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "passed" not in proc.stdout and "failed" not in proc.stdout, proc.stdout
    assert "a cluster is reachable" in proc.stdout and "run it with `make e2e`" in proc.stdout, proc.stdout
    assert calls.read_text().splitlines() == ["version --request-timeout=10s -o json"]
