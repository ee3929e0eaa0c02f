"""Release versions: what the CI workflow publishes, and where.

One place for the version logic, as pure functions the tests call with tables,
and a small command line the workflow calls (standard library only, so it runs
before any virtual environment exists):

    python3 -m function.release ci            # key=value lines for $GITHUB_OUTPUT
    python3 -m function.release set-version 1.2.3   # writes function/__version__.py

The scheme:

- A tag `v1.2.3` (or `v1.2.3-rc.1`) releases version 1.2.3: the image tag, both
  package tags (`v1.2.3`), `function/__version__.py` and the Configuration's
  dependency on the function all say so.
- Any other build (main, a pull request) gets a development version that sorts
  after the last release and before the next one: `<next>-dev.<n>.g<sha>`,
  where <next> is the last tag with its patch bumped (or the committed
  `__version__`, when that is newer) and <n> the commits since that tag, e.g.
  `0.1.1-dev.3.g1a2b3c4d5e6f`. A semver pre-release, not build metadata: OCI
  tags cannot hold `+`.
- The Configuration depends on the function with `>=v<X.Y.Z>-0, <v<X+1>.0.0-0`
  (X.Y.Z the version's release part). Crossplane checks dependency versions
  with Masterminds semver (v1.5.0 in Crossplane 1.20 and 2.2, v3.4.0 in 2.3),
  whose comparisons skip pre-release versions unless the constraint names a
  pre-release: "`>=1.2.3` will skip pre-releases ... while `>=1.2.3-0` will
  evaluate and find pre-releases" (Masterminds/semver README, "Working With
  Pre-release Versions"). v1.5.0 applies that rule to each comparison of an
  AND group on its own, v3.4.0 to the group as a whole; both bounds carry
  `-0`, so a development build satisfies the constraint built with it on both.
  `satisfies` below reads constraints the way both do (tests/test_release_version.py
  checks it against the real libraries when Go is available).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re
import subprocess
import sys

REGISTRY_HOST = "ghcr.io"
FUNCTION_REPOSITORY = "function-tau"
CONFIGURATION_REPOSITORY = "function-tau-apis"
# The plain runtime image (the Function package embeds the same image).
RUNTIME_REPOSITORY = "function-tau-runtime"

_NUMBER = r"0|[1-9]\d*"
_IDENTIFIER = r"[0-9A-Za-z-]+"
SEMVER = re.compile(
    rf"^v?(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    rf"(?:-(?P<pre>{_IDENTIFIER}(?:\.{_IDENTIFIER})*))?(?:\+(?P<build>{_IDENTIFIER}(?:\.{_IDENTIFIER})*))?$"
)
# What a release tag may be: v1.2.3, or a pre-release v1.2.3-alpha.1 / -beta.1 / -rc.1
# (the forms that map one to one onto Python's versions, which the wheel needs).
RELEASE_TAG = re.compile(
    rf"^v(?P<core>(?:{_NUMBER})\.(?:{_NUMBER})\.(?:{_NUMBER}))(?:-(?P<kind>alpha|beta|rc)\.(?P<n>{_NUMBER}))?$"
)
OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")


class ReleaseError(ValueError):
    """A tag, owner or version that cannot be released."""


@dataclasses.dataclass(frozen=True, order=False)
class Version:
    """A semantic version (https://semver.org), compared by precedence."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        """A version, with or without the leading `v`; build metadata is dropped (it has no precedence)."""
        match = SEMVER.match(text.strip())
        if not match:
            raise ReleaseError(f"{text!r} is not a semantic version (such as 1.2.3 or v1.2.3-rc.1)")
        pre = tuple(match.group("pre").split(".")) if match.group("pre") else ()
        return cls(int(match.group("major")), int(match.group("minor")), int(match.group("patch")), pre)

    @property
    def core(self) -> str:
        """The release part, X.Y.Z."""
        return f"{self.major}.{self.minor}.{self.patch}"

    def __str__(self) -> str:
        return self.core + ("-" + ".".join(self.pre) if self.pre else "")

    def key(self) -> tuple:
        """The precedence order of semver section 11: numeric identifiers below alphanumeric ones."""
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.pre)
        # A release (no pre-release) sorts after every pre-release of it.
        return (self.major, self.minor, self.patch, 1 if not self.pre else 0, pre)


def compare(a: Version, b: Version) -> int:
    """-1, 0 or 1 as a sorts before, with or after b."""
    ka, kb = a.key(), b.key()
    return (ka > kb) - (ka < kb)


_OPS = {
    ">=": lambda c: c >= 0,
    "=>": lambda c: c >= 0,
    ">": lambda c: c > 0,
    "<=": lambda c: c <= 0,
    "=<": lambda c: c <= 0,
    "<": lambda c: c < 0,
    "=": lambda c: c == 0,
    "": lambda c: c == 0,
    "!=": lambda c: c != 0,
}
_PART = re.compile(r"^\s*(>=|=>|<=|=<|!=|>|<|=)?\s*(\S+)\s*$")


def _parts(group: str) -> list[tuple[str, Version]]:
    out = []
    for part in group.split(","):
        match = _PART.match(part)
        if not match:
            raise ReleaseError(f"{part.strip()!r} is not a comparison such as >=v1.2.3")
        out.append((match.group(1) or "", Version.parse(match.group(2))))
    return out


def satisfies(version: str, constraint: str, library: str = "both") -> bool:
    """Whether `version` satisfies `constraint` as Crossplane checks it (comparisons, `,` AND, `||` OR).

    `library`: "v1" reads it as Masterminds semver v1.5.0 (Crossplane 1.20, 2.2),
    "v3" as v3.4.0 (Crossplane 2.3+), "both" (the default) requires both to
    agree it is satisfied, since the packages are installed on either line.
    """
    if library == "both":
        return satisfies(version, constraint, "v1") and satisfies(version, constraint, "v3")
    if library not in ("v1", "v3"):
        raise ValueError(library)
    v = Version.parse(version)
    for group in constraint.split("||"):
        parts = _parts(group)
        group_has_pre = any(c.pre for _, c in parts)
        ok = True
        for op, c in parts:
            # The pre-release rule: v1 per comparison, v3 per AND group.
            pre_allowed = bool(c.pre) if library == "v1" else group_has_pre
            if v.pre and not pre_allowed:
                ok = False
                break
            if not _OPS[op](compare(v, c)):
                ok = False
                break
        if ok:
            return True
    return False


# ---------------------------------------------------------------------------------------------------------------
# Versions from git.


def tag_version(tag: str) -> str:
    """The version a release tag publishes: `v1.2.3` → `1.2.3`, `v1.2.3-rc.1` → `1.2.3-rc.1`."""
    name = tag.removeprefix("refs/tags/")
    match = RELEASE_TAG.match(name)
    if not match:
        raise ReleaseError(
            f"tag {name!r} is not a release tag: use vMAJOR.MINOR.PATCH (v1.2.3) or a pre-release "
            "v1.2.3-alpha.N, -beta.N or -rc.N"
        )
    return name[1:]


def next_release(last_tag: str | None, floor: str) -> Version:
    """The release a development build leads to: the last tag's patch bumped, or `floor` when newer."""
    candidate = Version.parse(floor)
    candidate = Version(candidate.major, candidate.minor, candidate.patch)
    if last_tag is None:
        return candidate
    last = Version.parse(last_tag)
    # A pre-release tag (v1.3.0-rc.1) leads to its own release; a release to the next patch.
    bumped = Version(last.major, last.minor, last.patch if last.pre else last.patch + 1)
    return bumped if compare(bumped, candidate) >= 0 else candidate


def dev_version(last_tag: str | None, commits: int, sha: str, floor: str) -> str:
    """A development build's version: `<next>-dev.<commits since the tag>.g<sha>`.

    It sorts after `last_tag` and before the release it leads to, and satisfies
    the dependency constraint built with it (see the module docstring).
    """
    if commits < 0:
        raise ReleaseError(f"commit count {commits} is negative")
    short = sha.strip().lower()[:12]
    if not re.fullmatch(r"[0-9a-f]{7,12}", short):
        raise ReleaseError(f"{sha!r} is not a git commit id")
    following = next_release(last_tag, floor)
    if last_tag is not None and (last := Version.parse(last_tag)).pre and last.core == following.core:
        # After v1.3.0-rc.1: 1.3.0-rc.1.dev.4.g<sha>, above rc.1 and below rc.2 and 1.3.0
        # (`dev` would sort below `rc`).
        return f"{last}.dev.{commits}.g{short}"
    return f"{following.core}-dev.{commits}.g{short}"


def parse_describe(describe: str) -> tuple[str, int, str]:
    """`git describe --tags --long` output (`v1.2.3-4-gabc1234`) → (tag, commits since, sha)."""
    match = re.fullmatch(r"(?P<tag>.+)-(?P<n>\d+)-g(?P<sha>[0-9a-f]+)", describe.strip())
    if not match:
        raise ReleaseError(f"{describe!r} is not `git describe --long` output")
    return match.group("tag"), int(match.group("n")), match.group("sha")


# ---------------------------------------------------------------------------------------------------------------
# What a version means elsewhere.


_PRE_KINDS = {"alpha": "a", "beta": "b", "rc": "rc"}
_PUBLISHED_PRE = re.compile(
    r"^(?:(?P<kind>alpha|beta|rc)\.(?P<n>\d+))?(?:\.?dev\.(?P<commits>\d+)\.(?P<sha>g[0-9a-f]+))?$"
)


def python_version(version: str) -> str:
    """The version as Python (PEP 440) writes it, for function/__version__.py and the wheel.

    1.2.3 → 1.2.3; 1.2.3-rc.1 → 1.2.3rc1; 0.1.1-dev.3.gabc → 0.1.1.dev3+gabc;
    1.3.0-rc.1.dev.4.gabc → 1.3.0rc1.dev4+gabc.
    """
    v = Version.parse(version)
    match = _PUBLISHED_PRE.match(".".join(v.pre))
    if not match:
        raise ReleaseError(
            f"{version!r} has a pre-release this project does not publish (alpha.N, beta.N, rc.N, dev.N.gSHA)"
        )
    out = v.core
    if match.group("kind"):
        out += f"{_PRE_KINDS[match.group('kind')]}{int(match.group('n'))}"
    if match.group("commits"):
        out += f".dev{int(match.group('commits'))}+{match.group('sha')}"
    return out


def function_constraint(version: str) -> str:
    """The Configuration's dependency on the function built with it: this release or newer, same major."""
    v = Version.parse(version)
    return f">=v{v.core}-0, <v{v.major + 1}.0.0-0"


def registry_for(owner: str) -> str:
    """The GitHub container registry of a repository owner: `ghcr.io/<owner, lower-cased>`.

    OCI repository names are lower case; GitHub owners need not be (`My-Org`).
    """
    if not OWNER.match(owner or ""):
        raise ReleaseError(f"{owner!r} is not a GitHub user or organisation name")
    return f"{REGISTRY_HOST}/{owner.lower()}"


def version_file(version: str) -> str:
    """The content of function/__version__.py for a build of `version`."""
    return (
        '"""The version of function-tau; the release workflow sets it from the git tag."""\n\n'
        f'__version__ = "{python_version(version)}"\n'
    )


@dataclasses.dataclass(frozen=True)
class Release:
    """Everything one build publishes."""

    version: str  # semver, no `v`: 1.2.3 or 0.1.1-dev.3.gabc
    registry: str  # ghcr.io/<owner>

    @property
    def tag(self) -> str:
        """The OCI tag of every artifact: `v<version>` (Crossplane wants semver tags)."""
        return f"v{self.version}"

    @property
    def function_package(self) -> str:
        """The Function package (its image embedded, linux/amd64 and linux/arm64)."""
        return f"{self.registry}/{FUNCTION_REPOSITORY}:{self.tag}"

    @property
    def configuration_package(self) -> str:
        """The Configuration package (the XRDs and Compositions)."""
        return f"{self.registry}/{CONFIGURATION_REPOSITORY}:{self.tag}"

    @property
    def runtime_image(self) -> str:
        """The function's runtime image on its own."""
        return f"{self.registry}/{RUNTIME_REPOSITORY}:{self.tag}"

    def outputs(self) -> dict[str, str]:
        """The workflow step's outputs."""
        return {
            "version": self.version,
            "tag": self.tag,
            "python-version": python_version(self.version),
            "registry": self.registry,
            "function-package": self.function_package,
            "configuration-package": self.configuration_package,
            "runtime-image": self.runtime_image,
            "function-constraint": function_constraint(self.version),
        }


def release_for(ref: str, owner: str, last_tag: str | None, commits: int, sha: str, floor: str) -> Release:
    """What a build of git `ref` by repository `owner` publishes (pure: git's answers are arguments)."""
    is_tag = ref.startswith("refs/tags/")
    version = tag_version(ref) if is_tag else dev_version(last_tag, commits, sha, floor)
    return Release(version=version, registry=registry_for(owner))


# ---------------------------------------------------------------------------------------------------------------
# The command line the workflow calls.

ROOT = pathlib.Path(__file__).resolve().parents[1]
VERSION_FILE = ROOT / "function" / "__version__.py"


def committed_version(path: pathlib.Path = VERSION_FILE) -> str:
    """The `__version__` committed in function/__version__.py (the floor of development versions)."""
    match = re.search(r'^__version__ = "([^"]+)"', path.read_text(), re.MULTILINE)
    if not match:
        raise ReleaseError(f"{path}: no __version__")
    return match.group(1)


def _git(*args: str) -> str | None:
    proc = subprocess.run(["git", *args], capture_output=True, text=True, cwd=ROOT, check=False)  # noqa: S603,S607
    return proc.stdout.strip() if proc.returncode == 0 else None


def from_environment(env: dict[str, str]) -> Release:
    """The release of this checkout in GitHub Actions (GITHUB_REF, GITHUB_SHA, OWNER or GITHUB_REPOSITORY_OWNER)."""
    ref = env.get("GITHUB_REF", "")
    owner = env.get("OWNER") or env.get("GITHUB_REPOSITORY_OWNER", "")
    sha = env.get("GITHUB_SHA") or _git("rev-parse", "HEAD") or ""
    describe = _git("describe", "--tags", "--long", "--match", "v[0-9]*", sha or "HEAD")
    if describe:
        last_tag, commits, _ = parse_describe(describe)
    else:  # no release tag yet: count every commit
        last_tag, commits = None, int(_git("rev-list", "--count", sha or "HEAD") or 0)
    return release_for(ref, owner, last_tag, commits, sha, committed_version())


def main(argv: list[str] | None = None) -> int:
    """`ci`: print the workflow outputs; `set-version VERSION`: write function/__version__.py."""
    args = sys.argv[1:] if argv is None else argv
    try:
        match args:
            case ["ci"]:
                for key, value in from_environment(dict(os.environ)).outputs().items():
                    print(f"{key}={value}")
                return 0
            case ["set-version", version]:
                VERSION_FILE.write_text(version_file(version.removeprefix("v")))
                return 0
    except ReleaseError as error:
        print(f"function.release: {error}", file=sys.stderr)
        return 1
    print("usage: python3 -m function.release ci | set-version VERSION", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
