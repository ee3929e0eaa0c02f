"""`function-tau render`: the project's main job for a person without a cluster."""

from __future__ import annotations

import base64
import subprocess

import yaml

from tests.support import crossplane
from tests.support.paths import EXAMPLES, REPO


def _render(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        crossplane.function_command("render", *args), capture_output=True, text=True, timeout=120, cwd=REPO, check=False
    )


def _secret(docs: list[dict]) -> dict:
    return next(d["spec"]["forProvider"]["manifest"] for d in docs if d.get("kind") == "Object"
                and d["spec"]["forProvider"]["manifest"]["kind"] == "Secret")  # fmt: skip


def test_renders_the_first_reconcile_like_crossplane():
    proc = _render("examples/postgresdatabase/claim.yaml")
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert docs[0]["kind"] == "XPostgresDatabase"
    assert [d["metadata"]["annotations"]["crossplane.io/composition-resource-name"] for d in docs[1:]] == [
        "postgres-credentials"
    ]
    assert proc.stderr == ""  # no log noise on the terminal


def test_assume_ready_shows_everything_the_claim_becomes_with_secrets_masked():
    proc = _render("--assume-ready", "examples/postgresdatabase/claim.yaml")
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert len(docs) == 9
    data = _secret(docs)["data"]
    assert base64.b64decode(data["password"]) == b"<redacted>"
    assert b"<redacted>@postgres-shop-rw" in base64.b64decode(data["DATABASE_URL"])


def test_show_secrets_reveals_the_generated_password():
    docs = [
        d for d in yaml.safe_load_all(_render("--show-secrets", "examples/postgresdatabase/claim.yaml").stdout) if d
    ]
    password = base64.b64decode(_secret(docs)["data"]["password"]).decode()
    assert len(password) == 32 and password.isalnum()


def test_a_refused_claim_exits_3_and_says_why(tmp_path):
    claim = tmp_path / "bad.yaml"
    claim.write_text(
        "apiVersion: tau.home.arpa/v1alpha1\nkind: PostgresDatabase\nmetadata: {name: shop, namespace: shop}\n"
        "spec: {backup: {schedule: '0 3 * * *'}}\n"
    )
    proc = _render(str(claim))
    assert proc.returncode == 3
    assert "spec.backup.schedule: '0 3 * * *' has five fields" in proc.stderr


def test_input_can_be_a_platform_defaults_or_a_composition(tmp_path):
    platform = tmp_path / "platform.yaml"
    platform.write_text("apiVersion: fn.tau.home.arpa/v1alpha1\nkind: PlatformDefaults\npostgres: {version: 17}\n")
    for source in (platform, REPO / "apis" / "postgresdatabase" / "composition.yaml"):
        docs = [
            d
            for d in yaml.safe_load_all(
                _render("--assume-ready", "--input", str(source), "examples/postgresdatabase/claim.yaml").stdout
            )
            if d
        ]
        cluster = next(d["spec"]["forProvider"]["manifest"] for d in docs if d.get("kind") == "Object"
                       and d["spec"]["forProvider"]["manifest"]["kind"] == "Cluster")  # fmt: skip
        expected = "17" if source == platform else "15"
        assert cluster["spec"]["imageName"].endswith(f":{expected}-standard-trixie")


def test_several_claims_in_one_go():
    claims = sorted(str(p) for p in EXAMPLES.glob("postgresdatabase/claim.yaml")) * 2
    proc = _render(*claims)
    assert proc.returncode == 0
    assert sum(1 for d in yaml.safe_load_all(proc.stdout) if d and d["kind"] == "XPostgresDatabase") == 2


def test_clear_errors_for_files_that_are_not_claims(tmp_path):
    other = tmp_path / "deployment.yaml"
    other.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n")
    proc = _render(str(other))
    assert proc.returncode == 1
    assert "kind 'Deployment' is not one of" in proc.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: [unclosed\n")
    proc = _render(str(broken))
    assert proc.returncode == 1 and "broken.yaml" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_generate_check_passes_on_the_committed_tree():
    proc = subprocess.run(
        crossplane.function_command("generate", "--check"), capture_output=True, text=True, cwd=REPO, check=False
    )
    assert proc.returncode == 0, proc.stderr
