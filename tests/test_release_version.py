"""The release versions (function/release.py) and the workflow that publishes them.

Tags and main builds as tables; constraints read as Crossplane reads them,
checked against the real Masterminds semver libraries (v1.5.0 in Crossplane
1.20 and 2.2, v3.4.0 in 2.3) where Go can fetch them; the workflow parsed and
checked to call the script and derive the registry from the repository owner.
"""

from __future__ import annotations

import itertools
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
import yaml

from function import release
from function.__version__ import __version__
from tests.support.paths import REPO

WORKFLOW = yaml.safe_load((REPO / ".github" / "workflows" / "ci.yml").read_text())
SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"

# ---------------------------------------------------------------------------------------------------------------
# Tags and main.


@pytest.mark.parametrize(
    ("ref", "version"),
    [
        ("refs/tags/v1.2.3", "1.2.3"),
        ("refs/tags/v0.1.0", "0.1.0"),
        ("refs/tags/v10.20.30", "10.20.30"),
        ("refs/tags/v1.3.0-rc.1", "1.3.0-rc.1"),
        ("refs/tags/v2.0.0-alpha.0", "2.0.0-alpha.0"),
        ("refs/tags/v2.0.0-beta.12", "2.0.0-beta.12"),
    ],
)
def test_a_tag_releases_its_version(ref: str, version: str):
    built = release.release_for(ref, "function-tau", None, 5, SHA, "0.1.0")
    assert built.version == version
    assert built.tag == f"v{version}"
    assert built.function_package == f"ghcr.io/function-tau/function-tau:v{version}"
    assert built.configuration_package == f"ghcr.io/function-tau/function-tau-apis:v{version}"
    assert built.runtime_image == f"ghcr.io/function-tau/function-tau-runtime:v{version}"
    assert release.satisfies(version, release.function_constraint(version))


@pytest.mark.parametrize(
    "tag",
    ["refs/tags/1.2.3", "refs/tags/v1.2", "refs/tags/v01.2.3", "refs/tags/v1.2.3-dev", "refs/tags/v1.2.3+build",
     "refs/tags/release-1", "refs/tags/v1.2.3-rc1", "refs/tags/v1.2.3-RC.1"],
)  # fmt: skip
def test_a_tag_that_is_not_a_release_is_refused(tag: str):
    with pytest.raises(release.ReleaseError, match="not a release tag"):
        release.release_for(tag, "function-tau", None, 0, SHA, "0.1.0")


@pytest.mark.parametrize(
    ("last_tag", "commits", "floor", "version"),
    [
        (None, 17, "0.1.0", "0.1.0-dev.17.g1a2b3c4d5e6f"),  # no release yet: leads to the committed version
        ("v0.1.0", 3, "0.1.0", "0.1.1-dev.3.g1a2b3c4d5e6f"),  # after a release: the next patch
        ("v0.1.0", 0, "0.1.0", "0.1.1-dev.0.g1a2b3c4d5e6f"),
        ("v0.1.0", 3, "0.2.0", "0.2.0-dev.3.g1a2b3c4d5e6f"),  # __version__ bumped ahead of the tag
        ("v0.3.1", 2, "0.2.0", "0.3.2-dev.2.g1a2b3c4d5e6f"),  # __version__ left behind: the tag wins
        ("v1.3.0-rc.1", 4, "1.2.0", "1.3.0-rc.1.dev.4.g1a2b3c4d5e6f"),  # after an rc: above it, below rc.2
        ("v1.3.0-rc.1", 4, "1.4.0", "1.4.0-dev.4.g1a2b3c4d5e6f"),
    ],
)
def test_main_builds_get_a_development_version(last_tag, commits, floor, version):
    built = release.release_for("refs/heads/main", "function-tau", last_tag, commits, SHA, floor)
    assert built.version == version
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", built.tag), "an OCI tag"
    dev = release.Version.parse(version)
    if last_tag:
        assert release.compare(release.Version.parse(last_tag), dev) < 0, "after the last release"
    assert release.compare(dev, release.next_release(last_tag, floor)) < 0, "before the next release"
    if last_tag and release.Version.parse(last_tag).pre and dev.core == "1.3.0":
        assert release.compare(dev, release.Version.parse("1.3.0-rc.2")) < 0, "before the next pre-release"
    # ...and it satisfies the Configuration built with it, on every Crossplane line.
    assert release.satisfies(version, release.function_constraint(version), "v1")
    assert release.satisfies(version, release.function_constraint(version), "v3")


def test_development_versions_sort_by_commit_count():
    versions = [release.dev_version("v0.1.0", n, SHA, "0.1.0") for n in (0, 1, 2, 9, 10, 100)]
    parsed = [release.Version.parse(v) for v in versions]
    assert all(release.compare(a, b) < 0 for a, b in itertools.pairwise(parsed))
    assert release.compare(parsed[-1], release.Version.parse("0.1.1")) < 0


def test_the_old_main_version_could_never_satisfy_the_dependency():
    """What issue 12 found: `v0.0.0-g<sha>` against `>=v0.1.0` is refused on both semver lines."""
    for library in ("v1", "v3"):
        assert not release.satisfies("v0.0.0-g1a2b3c4", ">=v0.1.0, <v1.0.0-0", library)
    # ...and a development version against a bound without `-0` (the pre-release rule).
    assert not release.satisfies("0.1.1-dev.3.gabc1234", ">=v0.1.0", "v1")
    assert not release.satisfies("0.1.1-dev.3.gabc1234", ">=v0.1.0", "v3")


@pytest.mark.parametrize(
    ("owner", "registry"),
    [("function-tau", "ghcr.io/function-tau"), ("My-Org", "ghcr.io/my-org"), ("alice42", "ghcr.io/alice42")],
)
def test_the_registry_is_the_owners_lower_cased(owner: str, registry: str):
    assert release.registry_for(owner) == registry
    assert release.release_for("refs/tags/v1.0.0", owner, None, 0, SHA, "0.1.0").registry == registry


@pytest.mark.parametrize("owner", ["", "-x", "a/b", "a b", "x" * 40, "ghcr.io/x"])
def test_an_owner_that_is_not_a_github_name_is_refused(owner: str):
    with pytest.raises(release.ReleaseError):
        release.registry_for(owner)


@pytest.mark.parametrize(
    ("version", "python"),
    [
        ("1.2.3", "1.2.3"),
        ("1.3.0-rc.1", "1.3.0rc1"),
        ("2.0.0-alpha.0", "2.0.0a0"),
        ("2.0.0-beta.12", "2.0.0b12"),
        ("0.1.1-dev.3.g1a2b3c4d5e6f", "0.1.1.dev3+g1a2b3c4d5e6f"),
        ("1.3.0-rc.1.dev.4.g1a2b3c4d5e6f", "1.3.0rc1.dev4+g1a2b3c4d5e6f"),
    ],
)
def test_the_version_python_writes(version: str, python: str):
    assert release.python_version(version) == python
    content = release.version_file(version)
    namespace: dict = {}
    exec(compile(content, "__version__.py", "exec"), namespace)  # noqa: S102 - our own generated file
    assert namespace["__version__"] == python
    packaging = pytest.importorskip("packaging.version")
    assert str(packaging.Version(python)) == python  # valid PEP 440, as hatchling requires to build the wheel


def test_the_committed_version_is_a_release():
    assert release.committed_version() == __version__
    assert release.Version.parse(__version__).pre == ()


@pytest.mark.parametrize(
    ("describe", "parsed"),
    [("v0.1.0-3-g1a2b3c4", ("v0.1.0", 3, "1a2b3c4")), ("v1.2.3-rc.1-0-gabcdef0", ("v1.2.3-rc.1", 0, "abcdef0"))],
)
def test_git_describe_is_read(describe: str, parsed: tuple):
    assert release.parse_describe(describe) == parsed


# ---------------------------------------------------------------------------------------------------------------
# Constraints, as Crossplane reads them.

# (version, constraint, Masterminds v1.5.0, Masterminds v3.4.0)
CONSTRAINT_CASES = [
    ("v1.20.11", ">=v1.20.0-0, <v3.0.0-0", True, True),
    ("v1.19.5", ">=v1.20.0-0, <v3.0.0-0", False, False),
    ("v2.3.0-rc.0", ">=v1.20.0-0, <v3.0.0-0", True, True),
    ("v3.0.0", ">=v1.20.0-0, <v3.0.0-0", False, False),
    ("v0.1.0", ">=v0.1.0-0, <v1.0.0-0", True, True),
    ("v0.1.0-dev.17.g1a2b3c4d5e6f", ">=v0.1.0-0, <v1.0.0-0", True, True),
    ("v0.1.1-dev.3.g1a2b3c4d5e6f", ">=v0.1.0-0, <v1.0.0-0", True, True),
    ("v0.0.9", ">=v0.1.0-0, <v1.0.0-0", False, False),
    ("v1.0.0", ">=v0.1.0-0, <v1.0.0-0", False, False),
    ("v1.0.0-rc.1", ">=v0.1.0-0, <v1.0.0-0", False, False),
    # The committed constraint before: a pre-release fails `>=v0.1.0` on v1.5.0 (each
    # comparison on its own) but passes on v3.4.0 (the AND group names a pre-release).
    ("v0.1.1-dev.3.g1a2b3c4d5e6f", ">=v0.1.0, <v1.0.0-0", False, True),
    ("v0.0.0-g1a2b3c4", ">=v0.1.0, <v1.0.0-0", False, False),
    ("v0.2.0", ">=v0.1.0", True, True),
    ("v0.2.0-rc.1", ">=v0.1.0", False, False),
    ("v1.2.1", ">=v1.2.1, <v2.0.0-0", True, True),
    ("v1.4.0", ">=v1.4.0, <v2.0.0-0", True, True),
    ("v1.2.3", "<v1.2.3-0 || >=v1.2.4", False, False),
    ("v1.2.3-rc.1", ">=v1.2.3-rc.1, <v1.2.3", False, True),  # v1.5.0: `<v1.2.3` skips pre-releases
    ("v1.2.3-rc.10", ">v1.2.3-rc.9", True, True),
    ("v1.2.3-rc.1", ">=v1.2.3-beta.9", True, True),
    ("v1.2.3-1", ">=v1.2.3-alpha", False, False),
]


@pytest.mark.parametrize(("version", "constraint", "v1", "v3"), CONSTRAINT_CASES)
def test_constraints_read_as_crossplane_reads_them(version: str, constraint: str, v1, v3):
    assert release.satisfies(version, constraint, "v1") is v1
    assert release.satisfies(version, constraint, "v3") is v3
    assert release.satisfies(version, constraint) is (v1 and v3)


SEMVER_CHECK = textwrap.dedent(
    """\
    package main

    import (
    \t"bufio"
    \t"fmt"
    \t"os"
    \t"strings"

    \tsemver1 "github.com/Masterminds/semver"
    \tsemver3 "github.com/Masterminds/semver/v3"
    )

    func main() {
    \tscanner := bufio.NewScanner(os.Stdin)
    \tfor scanner.Scan() {
    \t\tparts := strings.SplitN(scanner.Text(), "\\t", 2)
    \t\tc1, _ := semver1.NewConstraint(parts[1])
    \t\tv1, _ := semver1.NewVersion(parts[0])
    \t\tc3, _ := semver3.NewConstraint(parts[1])
    \t\tv3, _ := semver3.NewVersion(parts[0])
    \t\tfmt.Printf("%t %t\\n", c1.Check(v1), c3.Check(v3))
    \t}
    }
    """
)


def test_the_constraint_table_agrees_with_the_real_libraries(tmp_path: pathlib.Path):
    """The same cases through Masterminds semver v1.5.0 and v3.4.0 themselves (Go and its module proxy)."""
    go = shutil.which("go")
    if go is None:
        reason = "needs Go to build the Masterminds semver check"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    (tmp_path / "go.mod").write_text(
        "module semvercheck\n\ngo 1.22\n\nrequire (\n\tgithub.com/Masterminds/semver v1.5.0\n"
        "\tgithub.com/Masterminds/semver/v3 v3.4.0\n)\n"
    )
    (tmp_path / "main.go").write_text(SEMVER_CHECK)
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    tidy = subprocess.run([go, "mod", "tidy"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
                          check=False)  # fmt: skip
    if tidy.returncode != 0:
        reason = f"go mod tidy could not fetch Masterminds semver: {tidy.stderr.strip()[-300:]}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cases = CONSTRAINT_CASES + [
        (f"v{release.dev_version(t, n, SHA, f)}", release.function_constraint(release.dev_version(t, n, SHA, f)), True,
         True)
        for t, n, f in ((None, 17, "0.1.0"), ("v0.1.0", 3, "0.1.0"), ("v1.3.0-rc.1", 4, "1.2.0"))
    ]  # fmt: skip
    proc = subprocess.run(
        [go, "run", "."], cwd=tmp_path, input="".join(f"{v}\t{c}\n" for v, c, _, _ in cases),
        capture_output=True, text=True, timeout=300, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    real = [tuple(word == "true" for word in line.split()) for line in proc.stdout.splitlines()]
    ours = [(release.satisfies(v, c, "v1"), release.satisfies(v, c, "v3")) for v, c, _, _ in cases]
    table = [(v1, v3) for _, _, v1, v3 in cases]
    assert real == table, [(c[:2], r) for c, r, t in zip(cases, real, table, strict=True) if r != t]
    assert ours == table


# ---------------------------------------------------------------------------------------------------------------
# The command line the workflow calls.


def _ci(env: dict[str, str]) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "OWNER"))}
    proc = subprocess.run(
        [sys.executable, "-m", "function.release", "ci"], cwd=REPO, capture_output=True, text=True,
        env={**clean, **env}, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return dict(line.split("=", 1) for line in proc.stdout.splitlines())


def test_the_script_gives_a_tag_build_its_outputs():
    out = _ci({"GITHUB_REF": "refs/tags/v1.2.3", "GITHUB_REPOSITORY_OWNER": "Some-Fork", "GITHUB_SHA": SHA})
    assert out == {
        "version": "1.2.3",
        "tag": "v1.2.3",
        "python-version": "1.2.3",
        "registry": "ghcr.io/some-fork",
        "function-package": "ghcr.io/some-fork/function-tau:v1.2.3",
        "configuration-package": "ghcr.io/some-fork/function-tau-apis:v1.2.3",
        "runtime-image": "ghcr.io/some-fork/function-tau-runtime:v1.2.3",
        "function-constraint": ">=v1.2.3-0, <v2.0.0-0",
    }


def test_the_script_gives_a_main_build_a_development_version():
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs the git checkout")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True)
    out = _ci({"GITHUB_REF": "refs/heads/main", "OWNER": "function-tau", "GITHUB_SHA": head.stdout.strip()})
    assert re.fullmatch(r"\d+\.\d+\.\d+-dev\.\d+\.g[0-9a-f]{12}", out["version"]), out
    assert out["version"].endswith(head.stdout.strip()[:12])
    assert release.satisfies(out["version"], out["function-constraint"])


def test_the_script_refuses_a_bad_tag():
    proc = subprocess.run(
        [sys.executable, "-m", "function.release", "ci"], cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "GITHUB_REF": "refs/tags/v1.2", "OWNER": "x", "GITHUB_SHA": SHA}, check=False,
    )  # fmt: skip
    assert proc.returncode == 1 and "not a release tag" in proc.stderr and not proc.stdout


def test_set_version_writes_the_version_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
    target = tmp_path / "__version__.py"
    monkeypatch.setattr(release, "VERSION_FILE", target)
    assert release.main(["set-version", "v1.2.3"]) == 0
    assert target.read_text() == release.version_file("1.2.3")
    assert release.committed_version(target) == "1.2.3"
    assert release.main(["set-version", "nonsense"]) == 1
    assert release.main([]) == 2


# ---------------------------------------------------------------------------------------------------------------
# The workflow.


def _image_steps() -> list[dict]:
    return WORKFLOW["jobs"]["image"]["steps"]


def _step(name_part: str) -> dict:
    (step,) = [s for s in _image_steps() if name_part in (s.get("name") or "")]
    return step


def test_the_workflow_derives_the_version_and_registry_with_the_script():
    checkout = _image_steps()[0]
    assert checkout["uses"].startswith("actions/checkout@") and checkout["with"]["fetch-depth"] == 0
    step = _step("version and registry")
    assert step["id"] == "version"
    assert "python3 -m function.release ci" in step["run"] and '"$GITHUB_OUTPUT"' in step["run"]
    assert step["env"]["OWNER"] == "${{ github.repository_owner }}"
    text = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    assert "your-org" not in text and "sed -i" not in text, "no placeholder rewriting: the generator names packages"
    assert "v0.0.0-g" not in text


def test_the_workflow_stamps_the_version_before_it_builds():
    names = [s.get("name") or s.get("uses", "") for s in _image_steps()]
    stamp = _step("stamp the version")
    assert 'python3 -m function.release set-version "${{ steps.version.outputs.version }}"' in stamp["run"]
    assert "function-tau install-manifests --in-place" in stamp["run"]
    assert '--registry "${{ steps.version.outputs.registry }}"' in stamp["run"]
    assert '--version "${{ steps.version.outputs.version }}"' in stamp["run"]
    first_build = min(i for i, s in enumerate(_image_steps()) if "docker/build-push-action" in s.get("uses", "")
                      or "xpkg build" in s.get("run", "") or "buildx build" in s.get("run", ""))  # fmt: skip
    assert names.index(stamp["name"]) < first_build


def test_the_workflow_publishes_the_image_and_both_packages_under_the_version():
    runs = "\n".join(s.get("run", "") for s in _image_steps())
    assert '"${{ steps.version.outputs.function-package }}"' in runs
    assert '"${{ steps.version.outputs.configuration-package }}"' in runs
    push = _step("push the runtime image")
    assert push["with"]["push"] is True and push["with"]["tags"] == "${{ steps.version.outputs.runtime-image }}"
    assert push["with"]["platforms"] == "${{ env.PLATFORMS }}"
    assert WORKFLOW["env"]["PLATFORMS"] == "linux/amd64,linux/arm64"
    for step in _image_steps():
        if "push" in (step.get("name") or "") or "login" in step.get("uses", ""):
            assert step["if"] == "env.PUBLISH == 'true'", step
    assert WORKFLOW["jobs"]["image"]["env"]["PUBLISH"] == "${{ github.event_name == 'push' }}"
    assert WORKFLOW["jobs"]["image"]["permissions"]["packages"] == "write"
    assert "v*" in WORKFLOW[True]["push"]["tags"]  # `on:` reads as True in YAML 1.1
    artifacts = [s["with"]["name"] for s in _image_steps() if s.get("uses", "").startswith("actions/upload-artifact")]
    assert artifacts == ["packages", "install-manifests"]


def test_the_lint_job_checks_the_committed_install_files():
    runs = "\n".join(s.get("run", "") for s in WORKFLOW["jobs"]["lint"]["steps"])
    assert ".venv/bin/function-tau install-manifests --check" in runs
