"""The install manifests for a registry, the admin's Compositions, and the preflight check.

Pure functions (the CLI in function/main.py and the release workflow call them):

- `package_files(registry, version)`: the four files that name packages, the
  Function package's and the Configuration package's metadata and the install
  manifests 08 and 09. The committed copies are this for `UPSTREAM_REGISTRY`
  and the committed `__version__` (tests/test_install_generate.py fails when
  they drift); the workflow writes them for the repository owner's registry and
  the tag's version before it builds the packages.
- `install_set(root, registry, version)`: every numbered file of
  examples/install/, for a registry: `function-tau install-manifests`.
- `compositions(defaults)`: the Compositions with an admin's platform defaults
  as their function input, the defaults validated first, unknown fields
  refused by name: `function-tau compositions`.
- `preflight(state)`: what applying 01-07 would replace in a cluster that
  already runs provider-kubernetes or provider-helm: `function-tau preflight`.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import pathlib
import subprocess
import sys
import types
import typing

import click
import pydantic
import yaml

from function import release
from function.api import definitions, platform
from function.generate import dump

# Where the upstream repository publishes (the committed install files name it).
UPSTREAM_OWNER = "function-tau"
UPSTREAM_REGISTRY = release.registry_for(UPSTREAM_OWNER)

FUNCTION_METADATA = "package/crossplane.yaml"
CONFIGURATION_METADATA = "apis/crossplane.yaml"
FUNCTION_INSTALL = "examples/install/08-function.yaml"
CONFIGURATION_INSTALL = "examples/install/09-configuration.yaml"
INSTALL_DIR = "examples/install"

# Crossplane 1.20 (claims, extra resources) and every 2.x (LegacyCluster XRs).
CROSSPLANE_CONSTRAINT = ">=v1.20.0-0, <v3.0.0-0"
# The providers the install manifests install: name → (package, tag, the Configuration's constraint).
PROVIDERS = {
    "provider-kubernetes": (
        "xpkg.crossplane.io/crossplane-contrib/provider-kubernetes", "v1.2.1", ">=v1.2.1, <v2.0.0-0",
    ),
    "provider-helm": ("xpkg.crossplane.io/crossplane-contrib/provider-helm", "v1.4.0", ">=v1.4.0, <v2.0.0-0"),
}  # fmt: skip
ANNOTATIONS = {
    "meta.crossplane.io/maintainer": "function-tau maintainers",
    "meta.crossplane.io/license": "Apache-2.0",
}
REGENERATE = "function-tau install-manifests --registry {registry} --version {version} --in-place"
# The dump jobs' image (the Dockerfile's pgdump target): the release workflow publishes it beside
# the function, <registry>/function-tau-pgdump:<tag>. No install file names it: it is the platform
# default dumps.image (platform.DUMP_IMAGE, the upstream image), which only the admin's
# PlatformDefaults (`function-tau compositions`) change, so install-manifests says what to set.
DUMP_REPOSITORY = platform.DUMP_IMAGE.rpartition(":")[0].rpartition("/")[2]


def source_for(registry: str) -> str:
    """The source repository a registry's packages are built from: ghcr.io/<owner> → github.com/<owner>/function-tau."""
    host, _, owner = registry.partition("/")
    if host == release.REGISTRY_HOST and owner and "/" not in owner:
        return f"github.com/{owner}/function-tau"
    return "github.com/function-tau/function-tau"


def _text(comment: str, doc: dict) -> str:
    lines = "".join(f"# {line}".rstrip() + "\n" for line in comment.strip().splitlines())
    return lines + dump([doc])[len("---\n") :]


def function_metadata(source: str) -> dict:
    """package/crossplane.yaml: the Function package's metadata."""
    return {
        "apiVersion": "meta.pkg.crossplane.io/v1",
        "kind": "Function",
        "metadata": {
            "name": definitions.FUNCTION_NAME,
            "annotations": {
                "meta.crossplane.io/maintainer": ANNOTATIONS["meta.crossplane.io/maintainer"],
                "meta.crossplane.io/source": source,
                "meta.crossplane.io/license": ANNOTATIONS["meta.crossplane.io/license"],
                "meta.crossplane.io/description": "PostgreSQL databases as a service on CloudNativePG for home "
                "clusters:\nPostgresDatabase, PostgresInstance, TauApplication and CNPGOperator, composed in Python.\n",
            },
        },
        "spec": {"crossplane": {"version": CROSSPLANE_CONSTRAINT}},
    }


def configuration_metadata(registry: str, version: str, source: str) -> dict:
    """apis/crossplane.yaml: the Configuration package's metadata, depending on the function built with it."""
    dependencies = [
        {
            "apiVersion": "pkg.crossplane.io/v1",
            "kind": "Function",
            "package": f"{registry}/{release.FUNCTION_REPOSITORY}",
            "version": release.function_constraint(version),
        }
    ]
    for package, _, constraint in PROVIDERS.values():
        dependencies.append({"apiVersion": "pkg.crossplane.io/v1", "kind": "Provider", "package": package,
                             "version": constraint})  # fmt: skip
    return {
        "apiVersion": "meta.pkg.crossplane.io/v1",
        "kind": "Configuration",
        "metadata": {
            "name": release.CONFIGURATION_REPOSITORY,
            "annotations": {
                "meta.crossplane.io/maintainer": ANNOTATIONS["meta.crossplane.io/maintainer"],
                "meta.crossplane.io/source": source,
                "meta.crossplane.io/license": ANNOTATIONS["meta.crossplane.io/license"],
                "meta.crossplane.io/description": "PostgresDatabase, PostgresInstance, TauApplication and "
                "CNPGOperator (group tau.home.arpa):\nPostgreSQL databases as a service on CloudNativePG for home "
                "clusters.\n",
            },
        },
        "spec": {"crossplane": {"version": CROSSPLANE_CONSTRAINT}, "dependsOn": dependencies},
    }


def function_install(registry: str, version: str) -> dict:
    """08: the Function, from the registry's Function package."""
    pkg = release.Release(version, registry)
    return {
        "apiVersion": "pkg.crossplane.io/v1",
        "kind": "Function",
        "metadata": {"name": definitions.FUNCTION_NAME},
        "spec": {"package": pkg.function_package},
    }


def configuration_install(registry: str, version: str) -> dict:
    """09: the Configuration, from the registry's Configuration package."""
    pkg = release.Release(version, registry)
    return {
        "apiVersion": "pkg.crossplane.io/v1",
        "kind": "Configuration",
        "metadata": {"name": release.CONFIGURATION_REPOSITORY},
        "spec": {"package": pkg.configuration_package},
    }


def dump_image(registry: str, version: str) -> str:
    """The dump jobs' image published with the packages of `registry` and `version` (same registry and tag)."""
    version = str(release.Version.parse(version))
    return f"{registry}/{DUMP_REPOSITORY}:{release.Release(version, registry).tag}"


def dump_image_note(registry: str, version: str) -> str | None:
    """What install-manifests tells the admin when the default dumps.image is not the one published with these."""
    image = dump_image(registry, version)
    if image == platform.DUMP_IMAGE:
        return None
    return (
        f"dumps.image: the platform default is {platform.DUMP_IMAGE}; the dump jobs' image published with "
        f"these packages is {image}. Set dumps.image: {image} in your PlatformDefaults and install the "
        "Compositions made from them (function-tau compositions)."
    )


def package_files(registry: str, version: str, source: str | None = None) -> dict[str, str]:
    """The four files that name packages, for `registry` and `version`: path relative to the repository → text."""
    version = release.Version.parse(version).__str__()
    source = source or source_for(registry)
    regenerate = REGENERATE.format(registry=registry, version=version)
    generated = f"Generated by function-tau; do not edit by hand. Regenerate with\n  {regenerate}"
    return {
        FUNCTION_METADATA: _text(
            f"""
The Function package: this file, and the CRD of the function input under input/
(the PlatformDefaults kind a Composition's pipeline step passes to the function).
The release workflow builds it with the runtime image embedded, one package per
architecture (linux/amd64, linux/arm64), and pushes them as one multi-arch
package, {registry}/{release.FUNCTION_REPOSITORY}:v<version>.
{generated}
""",
            function_metadata(source),
        ),
        CONFIGURATION_METADATA: _text(
            f"""
The Configuration package: the XRDs and Compositions under apis/ (generated by
`function-tau generate`), and what they need. Installing it installs the
dependencies that are missing; install the providers and the function first
with the manifests in examples/install/, so that they run with their
least-privilege RBAC and runtime configs (Crossplane then finds them installed).
It depends on the Function package built with it: {release.function_constraint(version)}
is "this version or newer, same major", pre-releases of it included (Crossplane's
Masterminds semver skips pre-releases unless a bound names one: function/release.py).
{generated}
""",
            configuration_metadata(registry, version, source),
        ),
        FUNCTION_INSTALL: _text(
            f"""
The function, version {version}. Its name is the one the Compositions call
(functionRef function-tau). The package holds the image for linux/amd64 and
linux/arm64 (a Raspberry Pi runs it too).
For another registry or version (a fork publishes to ghcr.io/<its owner>):
  function-tau install-manifests --registry ghcr.io/<owner> --version <version> --output <dir>
{generated}
""",
            function_install(registry, version),
        ),
        CONFIGURATION_INSTALL: _text(
            f"""
The APIs: PostgresDatabase, PostgresInstance, TauApplication and CNPGOperator (the
Configuration package built from apis/), version {version}. Its dependencies (the function and
both providers) are installed already by 02, 04 and 08, so Crossplane only
checks their versions.
Instead of the package, a development install (or one with your own platform
defaults: `function-tau compositions`) applies the XRDs and Compositions directly.
{generated}
""",
            configuration_install(registry, version),
        ),
    }


def install_set(root: pathlib.Path, registry: str, version: str, source: str | None = None) -> dict[str, str]:
    """Every numbered install file for `registry` and `version`: file name → text (01-07 as committed)."""
    generated = package_files(registry, version, source)
    out = {}
    for path in sorted((root / INSTALL_DIR).glob("*.yaml")):
        relative = f"{INSTALL_DIR}/{path.name}"
        out[path.name] = generated.get(relative) or path.read_text()
    for relative in (FUNCTION_INSTALL, CONFIGURATION_INSTALL):
        out.setdefault(pathlib.PurePosixPath(relative).name, generated[relative])
    return out


def write(directory: pathlib.Path, files: dict[str, str], *, check: bool = False) -> list[str]:
    """Write `files` under `directory` (or, with `check`, only list the ones that differ)."""
    stale = []
    for relative, content in files.items():
        path = directory / relative
        if path.exists() and path.read_text() == content:
            continue
        stale.append(relative)
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
    return stale


# ---------------------------------------------------------------------------------------------------------------
# The admin's platform defaults → their Compositions.


class DefaultsError(ValueError):
    """A platform defaults file that cannot be used; `problems` lists every one, each naming its field."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def _submodels(annotation: object) -> list[tuple[type[pydantic.BaseModel], bool]]:
    """The models a field holds, and whether in a list."""
    origin = typing.get_origin(annotation)
    if origin is list:
        return [(model, True) for model, _ in _submodels(typing.get_args(annotation)[0])]
    if origin in (typing.Union, types.UnionType):
        return [found for arg in typing.get_args(annotation) for found in _submodels(arg)]
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [(annotation, False)]
    return []


def unknown_fields(model: type[pydantic.BaseModel], data: object, prefix: str = "") -> list[str]:
    """Every key of `data` the model does not have, as `path: unknown field ...`, with the closest known name.

    The API models ignore unknown fields (Crossplane adds its own to a
    composite); a defaults file an admin writes must not: a typo would
    silently fall back to the built-in default.
    """
    if not isinstance(data, dict):
        return []
    fields = {(field.alias or name): field for name, field in model.model_fields.items()}
    problems = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        field = fields.get(key)
        if field is None:
            close = difflib.get_close_matches(str(key), list(fields), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(fields))})"
            problems.append(f"{path}: unknown field{hint}")
            continue
        for sub, in_list in _submodels(field.annotation):
            items = value if in_list and isinstance(value, list) else [value]
            for index, item in enumerate(items):
                problems += unknown_fields(sub, item, f"{path}[{index}]." if in_list else f"{path}.")
    return problems


def load_defaults(text: str, source: str = "<defaults>") -> platform.PlatformDefaults:
    """The PlatformDefaults of a YAML document, validated: unknown fields and wrong types refused, all at once.

    The document is a PlatformDefaults (`apiVersion: fn.tau.home.arpa/v1alpha1`,
    `kind: PlatformDefaults`, optional `metadata`), or a Composition whose first
    pipeline step's input is one (an existing Composition, to carry it over).
    """
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        raise DefaultsError(source, [f"not YAML: {error}"]) from None
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise DefaultsError(source, [f"expected one PlatformDefaults document, found {len(docs)} documents"])
    (doc,) = docs
    if doc.get("kind") == "Composition":
        doc = (((doc.get("spec") or {}).get("pipeline") or [{}])[0] or {}).get("input") or {}
    doc = {k: v for k, v in doc.items() if k != "metadata"}
    if doc.get("apiVersion") != platform.API_VERSION or doc.get("kind") != platform.KIND:
        raise DefaultsError(
            source,
            [f"apiVersion/kind: expected {platform.API_VERSION} {platform.KIND}, "
             f"found {doc.get('apiVersion')} {doc.get('kind')}"],
        )  # fmt: skip
    problems = unknown_fields(platform.PlatformDefaults, doc)
    try:
        # Strict: `version: "16"` or `retentionDays: "14"` is refused, as the CRD's schema would.
        model = platform.PlatformDefaults.model_validate(doc, strict=True)
    except pydantic.ValidationError as error:
        for item in error.errors():
            path = ".".join(str(part) for part in item["loc"])
            problems.append(f"{path}: {item['msg']}")
        model = None
    if problems:
        raise DefaultsError(source, problems)
    assert model is not None
    return model


def compositions(
    defaults: platform.PlatformDefaults, source: str = "the defaults file", *, crossplane_2: bool = False
) -> dict[str, str]:
    """The Compositions that pass the platform defaults to the function: `<directory>/composition.yaml` → text.

    The same Compositions as apis/*/composition.yaml (`function-tau generate`),
    with `defaults` as the input; the layout is apis/'s, so written over a copy
    of apis/ they make a Configuration package of your own. With
    `crossplane_2`, the Crossplane 2 APIs' (apis-v2/).
    """
    out = {}
    function_input = defaults.model_dump(mode="json", exclude_none=True)
    from function import kinds  # noqa: PLC0415 - the composers load only for this command

    for definition in (kind.definition for kind in kinds.KINDS):
        if not definition.platform_input:
            continue
        composition = definition.composition_v2() if crossplane_2 else definition.composition()
        composition["spec"]["pipeline"][0]["input"] = function_input
        header = (
            f"# Generated by `function-tau compositions` from {source}: the platform defaults of this\n"
            "# cluster. Change the defaults file and run it again rather than editing this.\n"
        )
        out[f"{definition.directory}/composition.yaml"] = "---\n" + header + dump([composition])[len("---\n") :]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Preflight: a cluster that already runs provider-kubernetes or provider-helm.

NAMESPACE = "crossplane-system"
PROVIDER_CONFIG_KINDS = {
    "provider-kubernetes": "providerconfigs.kubernetes.crossplane.io",
    "provider-helm": "providerconfigs.helm.crossplane.io",
}
RBAC_FILES = {"provider-kubernetes": ("01", "02"), "provider-helm": ("03", "04")}


@dataclasses.dataclass(frozen=True)
class ClusterState:
    """What `kubectl get ... -o json` returned: the `items` of each list."""

    providers: tuple[dict, ...] = ()
    runtime_configs: tuple[dict, ...] = ()
    cluster_role_bindings: tuple[dict, ...] = ()
    provider_configs: dict[str, tuple[dict, ...]] = dataclasses.field(default_factory=dict)


def _package_name(package: str) -> str:
    """A package's last path segment, without tag or digest: any registry's and organisation's `provider-helm`.

    (xpkg.crossplane.io/crossplane-contrib/, xpkg.upbound.io/crossplane-contrib/ and the
    older Docker Hub crossplanecontrib/ all publish the same providers.)
    """
    return package.split("@")[0].rsplit("/", 1)[-1].split(":")[0]


def _provider_findings(name: str, providers: tuple[dict, ...]) -> list[str]:
    package, tag, _ = PROVIDERS[name]
    rbac_file, provider_file = RBAC_FILES[name]
    findings = []
    for provider in providers:
        spec = provider.get("spec") or {}
        if _package_name(spec.get("package", "")) != _package_name(package):
            continue
        pname = provider["metadata"]["name"]
        runtime = (spec.get("runtimeConfigRef") or {}).get("name", "default")
        if pname == name and spec.get("package") == f"{package}:{tag}" and runtime == name:
            continue  # installed from these manifests already
        if pname == name:
            findings.append(
                f"Provider {pname} exists (package {spec.get('package')}, runtime config {runtime}): "
                f"{provider_file} would replace its package and runtime config, and with them the identity and "
                f"permissions every other user of {name} relies on. Keep yours: skip {rbac_file} and "
                f"{provider_file}, and grant its ServiceAccount the rules of ClusterRole function-tau:{name} "
                f"(bind that ClusterRole to it)."
            )
        else:
            findings.append(
                f"Provider {pname} already runs {name} (package {spec.get('package')}): {provider_file} would "
                f"install a second one, which Crossplane cannot run next to it (both own the same CRDs). "
                f"Keep yours: skip {rbac_file} and {provider_file} and bind ClusterRole function-tau:{name} "
                f"(from {rbac_file}) to its ServiceAccount."
            )
    return findings


def _runtime_config_findings(name: str, configs: tuple[dict, ...]) -> list[str]:
    findings = []
    for config in configs:
        if config["metadata"]["name"] != name:
            continue
        pod = (((config.get("spec") or {}).get("deploymentTemplate") or {}).get("spec") or {}).get("template") or {}
        account = (pod.get("spec") or {}).get("serviceAccountName")
        if account != name:
            findings.append(
                f"DeploymentRuntimeConfig {name} exists (service account {account or 'from Crossplane'}): "
                f"{RBAC_FILES[name][1]} would replace it. Merge: keep yours and bind ClusterRole function-tau:{name} "
                "to the ServiceAccount it names."
            )
    return findings


def _binding_findings(name: str, bindings: tuple[dict, ...]) -> list[str]:
    findings = []
    for binding in bindings:
        bname = binding["metadata"]["name"]
        subjects = {(s.get("kind"), s.get("name"), s.get("namespace")) for s in binding.get("subjects") or []}
        if bname != f"function-tau:{name}" and ("ServiceAccount", name, NAMESPACE) in subjects:
            role = (binding.get("roleRef") or {}).get("name")
            findings.append(
                f"ClusterRoleBinding {bname} grants ClusterRole {role} to ServiceAccount {NAMESPACE}/{name}, "
                f"the one {RBAC_FILES[name][0]} creates: {name} would hold {role} as well as function-tau:{name}, "
                "not least privilege. Delete that binding if nothing else needs it, or accept it knowingly."
            )
    return findings


def _provider_config_findings(name: str, configs: tuple[dict, ...]) -> list[str]:
    findings = []
    for config in configs:
        credentials = (config.get("spec") or {}).get("credentials") or {}
        if config["metadata"]["name"] == "default" and credentials != {"source": "InjectedIdentity"}:
            findings.append(
                f"{PROVIDER_CONFIG_KINDS[name]} default exists (credentials source {credentials.get('source')}): "
                "07 would replace it, and every Object or Release that uses it would act with the provider's "
                f"own ServiceAccount from then on. Keep yours (skip that document of 07) if it reaches this "
                f"cluster with at least the rules of ClusterRole function-tau:{name}."
            )
    return findings


def preflight(state: ClusterState) -> list[str]:
    """What applying 01-07 would silently replace or widen; empty when it is safe.

    Each finding names the object, what would happen, and what to do.
    """
    findings = []
    for name in PROVIDERS:
        findings += _provider_findings(name, state.providers)
        findings += _runtime_config_findings(name, state.runtime_configs)
        findings += _binding_findings(name, state.cluster_role_bindings)
        findings += _provider_config_findings(name, state.provider_configs.get(name, ()))
    return findings


# ---------------------------------------------------------------------------------------------------------------
# The commands (function/main.py adds them to `function-tau`).


def _default_version() -> str:
    from function.__version__ import __version__  # noqa: PLC0415 - the stamped version, read when asked

    return __version__


@click.command("install-manifests")
@click.option(
    "--registry", default=UPSTREAM_REGISTRY, show_default=True,
    help="Where the packages are published: ghcr.io/<owner> for a fork's workflow, or your own registry.",
)  # fmt: skip
@click.option("--version", "version", help="The published version, e.g. 1.2.3 [default: function/__version__.py].")
@click.option("--source", help="The source repository the package metadata names [default: from the registry].")
@click.option(
    "--output", "-o", type=click.Path(file_okay=False),
    help="Write every numbered install file (01-09) for this registry into this directory.",
)  # fmt: skip
@click.option(
    "--in-place", is_flag=True,
    help="Rewrite the files in the repository that name packages (08, 09, package/ and apis/crossplane.yaml).",
)  # fmt: skip
@click.option("--check", is_flag=True, help="Fail if those files differ from what would be written.")
@click.option("--root", type=click.Path(file_okay=False), default=".", help="The repository root.")
def install_manifests(  # noqa: PLR0913 - click passes one parameter per option
    *,
    registry: str,
    version: str | None,
    source: str | None,
    output: str | None,
    in_place: bool,
    check: bool,
    root: str,
) -> None:
    """Generate the install manifests for a registry and version: no hand edits.

    No install file names the dump jobs' image: when the platform default
    dumps.image is not the one published with these packages, it says which to set.
    """
    if sum(map(bool, (output, in_place, check))) != 1:
        raise click.UsageError("give one of --output DIR, --in-place or --check")
    version = version or _default_version()
    try:
        version = str(release.Version.parse(version))
        files = package_files(registry, version, source)
    except release.ReleaseError as error:
        raise click.ClickException(str(error)) from None
    repo = pathlib.Path(root)
    note = dump_image_note(registry, version)
    if output:
        for path in write(pathlib.Path(output), install_set(repo, registry, version, source)):
            click.echo(f"wrote {pathlib.Path(output) / path}")
        if note:
            click.echo(note)
        return
    stale = write(repo, files, check=check)
    if check and stale:
        raise click.ClickException(
            "out of date (run `" + REGENERATE.format(registry=registry, version=version) + "`): " + ", ".join(stale)
        )
    for path in [] if check else stale:
        click.echo(f"wrote {path}")
    if note and in_place:
        click.echo(note)


@click.command("compositions")
@click.argument("defaults", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--output-dir", "-o", type=click.Path(file_okay=False),
    help="Write <dir>/<kind>/composition.yaml for every kind that reads the platform defaults "
    "(apis/'s layout) instead of printing them.",
)  # fmt: skip
@click.option(
    "--crossplane-2", "crossplane_2", is_flag=True,
    help="The Compositions of the Crossplane 2 APIs (group m.tau.home.arpa, apis-v2/'s layout) instead.",
)  # fmt: skip
def compositions_command(defaults: str, output_dir: str | None, *, crossplane_2: bool = False) -> None:
    """Write the Compositions with your platform defaults (a PlatformDefaults file), validated first."""
    path = pathlib.Path(defaults)
    try:
        model = load_defaults(path.read_text(), path.name)
    except DefaultsError as error:
        raise click.ClickException(
            f"{error.source}: {len(error.problems)} problem(s), nothing written:\n  " + "\n  ".join(error.problems)
        ) from None
    files = compositions(model, path.name, crossplane_2=crossplane_2)
    if output_dir:
        for relative in write(pathlib.Path(output_dir), files):
            click.echo(f"wrote {pathlib.Path(output_dir) / relative}", err=True)
        return
    click.echo("".join(files.values()), nl=False)


def _kubectl_items(kubectl: list[str], resource: str, *args: str) -> tuple[dict, ...]:
    proc = subprocess.run([*kubectl, "get", resource, *args, "-o", "json"], capture_output=True, text=True,  # noqa: S603
                          timeout=60, check=False)  # fmt: skip
    if proc.returncode != 0:
        if "doesn't have a resource type" in proc.stderr or "NotFound" in proc.stderr:
            return ()  # that provider's CRDs are not installed
        raise click.ClickException(f"kubectl get {resource}: {proc.stderr.strip()}")
    return tuple(json.loads(proc.stdout).get("items") or ())


def cluster_state(kubectl: list[str]) -> ClusterState:
    """What preflight reads, with kubectl (the current context, or `--context`)."""
    return ClusterState(
        providers=_kubectl_items(kubectl, "providers.pkg.crossplane.io"),
        runtime_configs=_kubectl_items(kubectl, "deploymentruntimeconfigs.pkg.crossplane.io"),
        cluster_role_bindings=_kubectl_items(kubectl, "clusterrolebindings.rbac.authorization.k8s.io"),
        provider_configs={name: _kubectl_items(kubectl, kind) for name, kind in PROVIDER_CONFIG_KINDS.items()},
    )


@click.command("preflight")
@click.option("--kubectl", "kubectl", default="kubectl", show_default=True, help="The kubectl to run.")
@click.option("--context", help="The kubeconfig context [default: the current one].")
def preflight_command(kubectl: str, context: str | None) -> None:
    """Before applying examples/install/01-07: stop if they would replace an existing provider's permissions."""
    command = [kubectl, *(["--context", context] if context else [])]
    findings = preflight(cluster_state(command))
    if findings:
        click.echo(f"{len(findings)} thing(s) in this cluster that examples/install/01-07 would change:", err=True)
        for finding in findings:
            click.echo(f"- {finding}", err=True)
        click.echo("Nothing was changed. See docs/POSTGRES_USAGE.md, 'A cluster that already runs the providers'.",
                   err=True)  # fmt: skip
        sys.exit(1)
    click.echo("No provider-kubernetes or provider-helm of another install: examples/install/01-07 can be applied.")


# ---------------------------------------------------------------------------------------------------------------
# The Crossplane 2 APIs (issue #13): their Configuration package, function-tau-apis-v2 (apis-v2/).

CONFIGURATION_V2_REPOSITORY = "function-tau-apis-v2"
CONFIGURATION_V2_METADATA = "apis-v2/crossplane.yaml"
CONFIGURATION_V2_INSTALL = "examples/v2/install/09-configuration.yaml"
# apiextensions.crossplane.io/v2 XRDs: Crossplane 2.x only (1.20 serves no such API).
CROSSPLANE_V2_CONSTRAINT = ">=v2.0.0-0, <v3.0.0-0"
REGENERATE_V2 = "function-tau install-manifests-v2 --registry {registry} --version {version} --in-place"


def configuration_v2_metadata(registry: str, version: str, source: str) -> dict:
    """apis-v2/crossplane.yaml: the Crossplane 2 APIs' package, with the claim package's dependencies.

    The dependencies are the same packages with the same constraints: Crossplane
    resolves one version of a shared dependency for every package that needs it,
    so both API packages can be installed together (a migration needs that).
    """
    meta = configuration_metadata(registry, version, source)
    meta["metadata"]["name"] = CONFIGURATION_V2_REPOSITORY
    meta["metadata"]["annotations"]["meta.crossplane.io/description"] = (
        f"PostgresDatabase, PostgresInstance and TauApplication (namespaced) and CNPGOperator (cluster-scoped), group "
        f"{definitions.V2_GROUP}:\nCrossplane 2 composites, no claims, for PostgreSQL databases as a service on "
        "CloudNativePG for home clusters.\n"
    )
    meta["spec"]["crossplane"]["version"] = CROSSPLANE_V2_CONSTRAINT
    return meta


def configuration_v2_install(registry: str, version: str) -> dict:
    """examples/v2/install/09: the Configuration of the Crossplane 2 APIs, from the registry."""
    pkg = release.Release(version, registry)
    return {
        "apiVersion": "pkg.crossplane.io/v1",
        "kind": "Configuration",
        "metadata": {"name": CONFIGURATION_V2_REPOSITORY},
        "spec": {"package": f"{registry}/{CONFIGURATION_V2_REPOSITORY}:{pkg.tag}"},
    }


def v2_package_files(registry: str, version: str, source: str | None = None) -> dict[str, str]:
    """The two files that name the Crossplane 2 APIs' package, for `registry` and `version`."""
    version = str(release.Version.parse(version))
    source = source or source_for(registry)
    regenerate = REGENERATE_V2.format(registry=registry, version=version)
    generated = f"Generated by function-tau; do not edit by hand. Regenerate with\n  {regenerate}"
    return {
        CONFIGURATION_V2_METADATA: _text(
            f"""
The Configuration package of the Crossplane 2 APIs: the apiextensions.crossplane.io/v2
XRDs and Compositions under apis-v2/ (generated by `function-tau generate` from the
same models as the claim APIs in apis/), and what they need. Group
{definitions.V2_GROUP}, so that it can be installed beside function-tau-apis (group
{definitions.GROUP}, whose claim CRD postgresdatabases.{definitions.GROUP} a v2
PostgresDatabase of that group would collide with); its dependencies are the claim
package's, with the same constraints, so Crossplane resolves one version of each for both.
{generated}
""",
            configuration_v2_metadata(registry, version, source),
        ),
        CONFIGURATION_V2_INSTALL: _text(
            f"""
The Crossplane 2 APIs: PostgresDatabase, PostgresInstance and TauApplication (namespaced
composites) and CNPGOperator (cluster-scoped), group {definitions.V2_GROUP}: the Configuration
package built from apis-v2/, version {version}. It replaces examples/install/09 for
the Crossplane 2 APIs, and may be installed beside it (for a migration from claims).
Crossplane 2.x only. Without the package, apply the XRDs and Compositions directly:
  kubectl apply -f apis-v2/postgresdatabase/ -f apis-v2/postgresinstance/ -f apis-v2/tauapplication/ \
    -f apis-v2/cnpgoperator/
{generated}
""",
            configuration_v2_install(registry, version),
        ),
    }


@click.command("install-manifests-v2")
@click.option("--registry", default=UPSTREAM_REGISTRY, show_default=True, help="Where the packages are published.")
@click.option("--version", "version", help="The published version, e.g. 1.2.3 [default: function/__version__.py].")
@click.option("--source", help="The source repository the package metadata names [default: from the registry].")
@click.option("--in-place", is_flag=True, help="Rewrite apis-v2/crossplane.yaml and examples/v2/install/09.")
@click.option("--check", is_flag=True, help="Fail if those files differ from what would be written.")
@click.option("--root", type=click.Path(file_okay=False), default=".", help="The repository root.")
def install_manifests_v2(
    *, registry: str, version: str | None, source: str | None, in_place: bool, check: bool, root: str
) -> None:
    """The files that name the Crossplane 2 APIs' package (function-tau-apis-v2), for a registry and version."""
    if in_place == check:
        raise click.UsageError("give one of --in-place or --check")
    version = version or _default_version()
    try:
        files = v2_package_files(registry, version, source)
    except release.ReleaseError as error:
        raise click.ClickException(str(error)) from None
    stale = write(pathlib.Path(root), files, check=check)
    if check and stale:
        regenerate = REGENERATE_V2.format(registry=registry, version=version)
        raise click.ClickException(f"out of date (run `{regenerate}`): " + ", ".join(stale))
    for path in [] if check else stale:
        click.echo(f"wrote {path}")
