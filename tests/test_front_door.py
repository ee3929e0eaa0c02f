"""The README's two commands, in a fresh clone with nothing beside it, as a stranger (and CI) runs them.

The clone goes to a temporary folder with no `../shared` next to it and no
`.tools/` or `.venv/` inside: everything the commands need they must get
themselves (the Python packages from PyPI, the Crossplane CLI and the local
control plane from the Go module proxy, the upstream CRDs from their Go
modules). `make render` runs whole; `make test` runs with a small selection of
tests (the whole suite is what this run is already doing), which still goes
through every set-up step of the Makefile.

Only committed files reach the clone: run it on a clean tree (CI does).
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess

import pytest

from tests.support.paths import REPO

pytestmark = pytest.mark.skipif(
    os.environ.get("TAU_FRONT_DOOR_INNER") == "1", reason="inside the front-door run itself: no recursion"
)

README = (REPO / "README.md").read_text()


def _quick_start_commands() -> list[str]:
    block = README.split("## Quick start", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.strip().splitlines() if line.split("#", 1)[0].strip()]


def test_the_readme_quick_start_is_the_two_commands():
    assert _quick_start_commands() == ["make render", "make test"]


def _run(args: list[str], cwd: pathlib.Path, env: dict, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def fresh_clone(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    if shutil.which("git") is None or shutil.which("make") is None:
        pytest.skip("git and make are needed")
    clone = tmp_path_factory.mktemp("front-door") / "function-tau"
    proc = subprocess.run(
        ["git", "clone", "--quiet", str(REPO), str(clone)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert not (clone.parent / "shared").exists()
    return clone


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TAU_", "PYTEST_", "VIRTUAL_ENV"))}
    env["TAU_FRONT_DOOR_INNER"] = "1"
    return env


def test_make_render_in_a_fresh_clone(fresh_clone: pathlib.Path):
    proc = _run(["make", "render"], fresh_clone, _env(), timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rendered = re.findall(r"^# (examples/[^\n]+)/$", proc.stdout, flags=re.MULTILINE)
    examples = sorted(f"examples/{p.parent.name}" for p in (REPO / "examples").glob("*/claim.yaml"))
    assert sorted(rendered) == examples


def test_make_test_in_a_fresh_clone(fresh_clone: pathlib.Path):
    env = _env()
    # Every set-up step of `make test` runs; the tests it then runs are a small, telling selection.
    env["PYTEST_ADDOPTS"] = "-q -p no:cacheprovider tests/test_admission.py tests/test_function_render.py"
    proc = _run(["make", "test"], fresh_clone, env, timeout=3000)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.search(r"\d+ passed", proc.stdout), proc.stdout[-2000:]
    assert " skipped" not in proc.stdout.splitlines()[-1], proc.stdout[-2000:]
    assert (fresh_clone / ".tools" / "crds").is_dir()
