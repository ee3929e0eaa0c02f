"""The image and the CI workflow, checked where Docker does not run.

The Dockerfile is read as Docker reads it (instructions, the final stage), the
build context is filtered by .dockerignore as Docker filters it, and the build
stage's install is replayed: the wheel pip builds from that context must hold
every module and the `function-tau` command. The workflow must parse and call
only targets and scripts that exist. (CI lints both with hadolint and
shellcheck, builds the image for amd64 and arm64 and runs it.)
"""

from __future__ import annotations

import fnmatch
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
import yaml
from crossplane.function import cli as sdkcli

from tests.support.paths import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
WORKFLOW = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE)
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage (the global ARGs before the first FROM are stage -1, dropped)."""
    out: list[list[tuple[str, str]]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(instruction)
    return out


def global_args() -> dict[str, str]:
    args = {}
    for word, rest in instructions():
        if word == "FROM":
            break
        if word == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
    return args


def test_every_stage_runs_the_same_python():
    """The venv built in the first stage runs in the last: the interpreters must be one and the same."""
    # The function's stages; the dump jobs' image (`--target pgdump`, issue #9) is a stage of its own.
    function_stages = [stage for stage in stages() if not stage[0][1].endswith(" AS pgdump")]
    images = {stage[0][1].split()[0] for stage in function_stages}
    assert images == {"${PYTHON_IMAGE}"}, images
    assert len(function_stages) == 2
    image = global_args()["PYTHON_IMAGE"]
    match = re.fullmatch(r"docker\.io/library/python:(\d+)\.(\d+)-slim-[a-z]+", image)
    assert match, image
    version = (int(match.group(1)), int(match.group(2)))
    low, high = re.findall(r"(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert (int(low[0]), int(low[1])) <= version < (int(high[0]), int(high[1]))
    assert WORKFLOW["env"]["PYTHON_VERSION"] == f"{version[0]}.{version[1]}", "CI tests the Python the image runs"


def test_the_runtime_stage_is_non_root_on_9443_and_serves():
    runtime = dict(stages()[-1])
    user, _, group = runtime["USER"].partition(":")
    assert user.isdigit() and int(user) > 0 and group.isdigit() and int(group) > 0  # numeric: runAsNonRoot can check
    assert runtime["EXPOSE"] == "9443"
    assert sdkcli.DEFAULT_ADDRESS.endswith(":9443")  # where `serve` listens by default
    assert runtime["ENTRYPOINT"] == '["function-tau", "serve"]'  # exec form: signals reach the server
    assert PYPROJECT["project"]["scripts"]["function-tau"] == "function.main:cli"
    assert "COPY --from=build /venv /venv" in DOCKERFILE
    # Nothing but the venv comes from the build stage: no compilers, no pip caches.
    assert [rest for word, rest in stages()[-1] if word in ("COPY", "ADD")] == ["--from=build /venv /venv"]


def test_serve_takes_crossplanes_certificates_from_the_environment():
    """Crossplane passes no arguments; it mounts the TLS certificates and names the directory in TLS_SERVER_CERTS_DIR."""
    from function.main import serve  # noqa: PLC0415

    envvars = {p.name: p.envvar for p in serve.params}
    assert envvars["tls_certs_dir"] == "TLS_SERVER_CERTS_DIR"
    assert envvars["insecure"] == "INSECURE"


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; `!` re-includes; a directory match covers its files."""
    ignored = False
    for line in patterns:
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(part, pattern[3:]) for part in parts)
        else:
            hit = any(
                fnmatch.fnmatch(prefix, pattern) and prefix.count("/") == pattern.count("/") for prefix in prefixes
            )
        if hit:
            ignored = not negate
    return ignored


def context_files() -> list[str]:
    patterns = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    files = [p.relative_to(REPO).as_posix() for p in REPO.rglob("*") if p.is_file() and ".git" not in p.parts]
    return sorted(f for f in files if not _ignored(f, patterns))


def test_the_build_context_is_the_package_and_nothing_else():
    files = context_files()
    assert {"pyproject.toml", "README.md", "function/main.py", "function/operator/composer.py"} <= set(files)
    assert all(f in ("pyproject.toml", "README.md") or f.startswith("function/") for f in files), files
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)
    for word, rest in instructions():
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _ = rest.split()
            for source in sources:
                assert any(f == source or f.startswith(source + "/") for f in files), source


def test_the_build_stage_installs_a_complete_package(tmp_path: pathlib.Path):
    """Replays the build stage's install on the filtered context: the wheel pip builds there."""
    context = tmp_path / "context"
    for name in context_files():
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, context / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path / "wheels"), str(context)],
        capture_output=True, text=True, timeout=600, check=False, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )  # fmt: skip
    if proc.returncode != 0 and "hatchling" in proc.stderr and not os.environ.get("CI"):
        pytest.skip(f"pip could not fetch the build backend (hatchling) from PyPI: {proc.stderr.strip()[-300:]}")
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "wheels").glob("function_tau-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "function").rglob("*.py")}
    assert modules <= names, modules - names
    assert "function-tau = function.main:cli" in entry_points


# ---------------------------------------------------------------------------------------------------------------
# The workflow.


def _steps(job: str) -> list[dict]:
    return WORKFLOW["jobs"][job]["steps"]


def _runs(job: str) -> str:
    return "\n".join(step.get("run", "") for step in _steps(job))


def test_the_workflow_calls_only_what_exists():
    makefile = (REPO / "Makefile").read_text()
    for job in WORKFLOW["jobs"]:
        text = _runs(job)
        for target in re.findall(r"\bmake ([\w-]+)", text):
            assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), (job, target)
        for script in re.findall(r"(?:bash |shellcheck )?((?:\.ci|scripts|tests/e2e)/[\w./*-]+)", text):
            assert list(REPO.glob(script)), (job, script)
        for test in re.findall(r"(tests/test_[\w]+\.py)", text):
            assert (REPO / test).exists(), (job, test)


def test_the_workflow_builds_for_amd64_and_arm64_and_packages_both():
    assert WORKFLOW["env"]["PLATFORMS"] == "linux/amd64,linux/arm64"
    build = next(s for s in _steps("image") if s.get("uses", "").startswith("docker/build-push-action"))
    assert build["with"]["platforms"] == "${{ env.PLATFORMS }}"
    assert any(s.get("uses", "").startswith("docker/setup-qemu-action") for s in _steps("image"))
    runs = _runs("image")
    assert "for arch in amd64 arm64" in runs
    assert "xpkg build --package-root=package" in runs and "--embed-runtime-image-tarball=" in runs
    assert "xpkg build --package-root=apis" in runs
    assert "xpkg push -f function-tau-amd64.xpkg,function-tau-arm64.xpkg" in runs


def test_the_workflow_runs_lint_tests_charts_and_e2e_on_both_crossplane_lines():
    assert "make lint" in _runs("lint")
    assert "bash .ci/run" in _runs("test")
    assert "TAU_CHARTS_CHECK" in str(_steps("charts"))
    versions = WORKFLOW["jobs"]["e2e"]["strategy"]["matrix"]["crossplane"]
    assert {v.split(".")[0] + "." + v.split(".")[1] for v in versions} >= {"1.20"}
    assert any(v.startswith("2.") for v in versions)
    assert "make e2e-kind" in _runs("e2e")


def test_the_workflow_leaves_the_upstream_crds_to_the_tests():
    """No step fetches CRDs beside the repository: the tests get them (pinned, checksummed) on any machine."""
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    assert "../shared" not in text and "raw.githubusercontent.com" not in text


def test_make_has_the_e2e_targets():
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^e2e: venv\n\tTAU_E2E_REQUIRED=1 \$\(BIN\)/pytest -m e2e tests/e2e", makefile, re.MULTILINE)
    assert re.search(r"^e2e-kind: venv crossplane-cli\n\ttests/e2e/kind\.sh$", makefile, re.MULTILINE)
    script = REPO / "tests" / "e2e" / "kind.sh"
    assert os.access(script, os.X_OK)
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
