"""`function-tau render`: the project's main job for a person without a cluster."""

from __future__ import annotations

import base64
import pathlib
import subprocess

import pytest
import yaml

from function import simulate
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


def test_assume_ready_shows_everything_the_claim_becomes_with_secrets_masked_readably():
    """Masked values are shown as `<redacted>` in stringData, where a person sees them; the rest stays in data."""
    proc = _render("--assume-ready", "examples/postgresdatabase/claim.yaml")
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert len(docs) == 9
    secret = _secret(docs)
    assert secret["stringData"] == {
        "DATABASE_URL": "postgresql://shop_user:<redacted>@postgres-shop-rw.shop.svc:5432/shop?sslmode=require",
        "DB_PASSWORD": "<redacted>",
        "PGPASSWORD": "<redacted>",
        "password": "<redacted>",
    }
    plain = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert not any("<redacted>" in v for v in plain.values())  # every masked value moved to stringData
    assert plain["DB_HOST"] == "postgres-shop-rw.shop.svc" and plain["username"] == "shop_user"


def test_show_secrets_reveals_the_generated_password():
    docs = [
        d for d in yaml.safe_load_all(_render("--show-secrets", "examples/postgresdatabase/claim.yaml").stdout) if d
    ]
    secret = _secret(docs)
    assert "stringData" not in secret
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert len(password) == 32 and password.isalnum()


def _claim_file(tmp_path, spec: str, *, name: str = "shop") -> str:
    claim = tmp_path / f"{name}.yaml"
    claim.write_text(
        f"apiVersion: tau.home.arpa/v1alpha1\nkind: PostgresDatabase\nmetadata: {{name: {name}, namespace: shop}}\n"
        f"spec: {spec}\n"
    )
    return str(claim)


def test_a_claim_the_function_refuses_renders_nothing_exits_3_and_says_why_with_file_kind_and_name(tmp_path):
    """As `crossplane render` with a fatal result: no resources, a non-zero exit, the message (here with where)."""
    path = _claim_file(tmp_path, "{databaseName: postgres}")
    proc = _render(path)
    assert proc.returncode == 3
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"{path}: PostgresDatabase shop/shop: the function refused it: spec.databaseName")
    assert "Ready" not in proc.stdout


@pytest.mark.crossplane_cli
def test_a_fatal_result_fails_crossplane_render_the_same_way(tmp_path, function_address):
    """The real `crossplane render` on the same refused claim: non-zero, nothing rendered, the same message."""
    path = _claim_file(tmp_path, "{databaseName: postgres}")
    ours = _render(path)
    claim = yaml.safe_load(pathlib.Path(path).read_text())
    composition = REPO / "apis" / "postgresdatabase" / "composition.yaml"
    code, docs, stderr = crossplane.render(function_address, simulate.to_composite(claim), composition)
    assert code != 0 and docs == []
    message = ours.stderr.split("the function refused it: ", 1)[1].strip()
    assert f"returned a fatal result: {message}" in " ".join(stderr.split())


# What `kubectl apply` would be refused for: every problem at once, exit 4, nothing rendered.
ADMISSION_CASES = [
    (
        "typos and types, all at once",
        '{extentions: [pgcrypto], instance: {verison: 16, version: "16", parameters: {max_connections: 200}}, '
        'backup: {enabled: "no", retentionDays: "14"}}',
        "shop",
        [
            'unknown field "spec.extentions"',
            'unknown field "spec.instance.verison"',
            'spec.instance.version: Invalid value: "string": spec.instance.version in body must be of type integer: "string"',
            'spec.instance.parameters.max_connections: Invalid value: "integer": spec.instance.parameters.max_connections '
            'in body must be of type string: "integer" (quote it: YAML reads 200, 1.5 or on as a number or boolean, '
            "'200' as a string)",
            'spec.backup.enabled: Invalid value: "string": spec.backup.enabled in body must be of type boolean: "string"',
            'spec.backup.retentionDays: Invalid value: "string": spec.backup.retentionDays in body must be of type integer: "string"',
        ],
    ),
    ("spec as a list", "[]", "shop", ['spec: Invalid value: "array": spec in body must be of type object: "array"']),
    (
        "a five-field cron, by the XRD's CEL rule",
        "{backup: {schedule: '0 3 * * *'}}",
        "shop",
        [
            'spec.backup.schedule: Invalid value: "0 3 * * *": CloudNativePG schedules have six fields, seconds first '
            "(daily at 03:00 is '0 0 3 * * *'); a five-field cron would run at the wrong times"
        ],
    ),
    (
        "an upper-case name: one cause, one line",
        "{}",
        "Wiki",
        [
            'metadata.name: Invalid value: "Wiki": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character "
            "(e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ],
    ),
]


@pytest.mark.parametrize(
    ("spec", "name", "problems"), [c[1:] for c in ADMISSION_CASES], ids=[c[0] for c in ADMISSION_CASES]
)
def test_what_the_api_server_would_refuse_is_refused_with_every_problem(tmp_path, spec, name, problems):
    path = _claim_file(tmp_path, spec, name=name)
    proc = _render(path)
    assert proc.returncode == 4
    assert proc.stdout == ""
    where = f"PostgresDatabase shop/{name}"
    expected = [f"{path}: the API server would refuse {where}: {len(problems)} problem(s):"]
    assert proc.stderr.splitlines() == expected + [f"  - {p}" for p in problems]


def test_an_empty_file_is_an_error_not_an_empty_render(tmp_path):
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n")
    proc = _render(str(empty))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"Error: {empty}: no YAML documents in it: nothing to render"


def test_a_bad_document_is_reported_under_its_own_file(tmp_path):
    good = EXAMPLES / "postgresdatabase" / "claim.yaml"
    bad = tmp_path / "list.yaml"
    bad.write_text("- not\n- an object\n")
    proc = _render(str(good), str(bad))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"Error: {bad}: every YAML document must be an object, found list"


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
