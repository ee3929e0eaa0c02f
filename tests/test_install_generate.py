"""The install-manifest generator, the admin's Compositions and the preflight check (function/install.py).

The committed files that name packages are the generator's output for the
upstream registry and the committed version (drift fails here); for any
registry and version the generated manifests validate against the upstream
schemas (and with `crossplane beta validate`), the Configuration's dependency
is satisfied by the Function they install, and the packages build. A platform
defaults file becomes Compositions only when it is valid, every problem named
by its field; what it writes validates with the real CLI and renders claims on
those defaults. Preflight finds every existing provider install that 01-07
would replace or widen.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import stat
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from function import install, release
from function import render as render_module
from function.__version__ import __version__
from function.api import definitions
from function.api.platform import PlatformDefaults
from tests.support import crossplane, schemas
from tests.support.paths import APIS, CRDS, REPO

REGISTRIES = [
    (install.UPSTREAM_REGISTRY, __version__),
    ("ghcr.io/some-fork", "1.2.3"),
    ("ghcr.io/some-fork", "0.1.1-dev.3.g1a2b3c4d5e6f"),
    ("registry.home.arpa:5000/platform", "2.0.0-rc.1"),
]


def _docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d]


# ---------------------------------------------------------------------------------------------------------------
# The files that name packages.


def test_the_committed_files_are_the_generators_output():
    """Drift: regenerate with `function-tau install-manifests --in-place` (the registry and version of the header)."""
    files = install.package_files(install.UPSTREAM_REGISTRY, __version__)
    assert sorted(files) == sorted(
        [install.FUNCTION_METADATA, install.CONFIGURATION_METADATA, install.FUNCTION_INSTALL,
         install.CONFIGURATION_INSTALL]
    )  # fmt: skip
    stale = [path for path, text in files.items() if (REPO / path).read_text() != text]
    assert not stale, f"out of date (run `function-tau install-manifests --in-place`): {stale}"
    for path in files:
        assert "your-org" not in (REPO / path).read_text(), path


@pytest.mark.parametrize(("registry", "version"), REGISTRIES)
def test_the_generated_manifests_name_the_registrys_packages(registry: str, version: str):
    files = install.package_files(registry, version)
    (function,) = _docs(files[install.FUNCTION_INSTALL])
    (configuration,) = _docs(files[install.CONFIGURATION_INSTALL])
    (meta,) = _docs(files[install.CONFIGURATION_METADATA])
    assert function["spec"]["package"] == f"{registry}/function-tau:v{version}"
    assert configuration["spec"]["package"] == f"{registry}/function-tau-apis:v{version}"
    assert function["metadata"]["name"] == definitions.FUNCTION_NAME
    deps = {d["package"]: d for d in meta["spec"]["dependsOn"]}
    dependency = deps[f"{registry}/function-tau"]
    assert dependency["kind"] == "Function" and dependency["apiVersion"] == "pkg.crossplane.io/v1"
    # The Function 08 installs satisfies the Configuration's constraint, on both semver libraries Crossplane uses.
    installed = function["spec"]["package"].rpartition(":")[2]
    assert release.satisfies(installed, dependency["version"], "v1"), dependency
    assert release.satisfies(installed, dependency["version"], "v3"), dependency
    # ...and so do the providers 02 and 04 install.
    for package, tag, _ in install.PROVIDERS.values():
        assert release.satisfies(tag, deps[package]["version"]), package
    for text in files.values():
        assert "your-org" not in text and "PLACEHOLDER" not in text
        assert f"--registry {registry} --version {version}" in text  # says how it was generated


@pytest.mark.parametrize(("registry", "version"), REGISTRIES)
def test_the_generated_install_manifests_validate_against_the_upstream_schemas(registry: str, version: str):
    files = install.install_set(REPO, registry, version)
    assert sorted(files) == sorted(p.name for p in (REPO / "examples" / "install").glob("*.yaml"))
    for name, text in files.items():
        for doc in _docs(text):
            schemas.validate(doc)
        if name not in ("08-function.yaml", "09-configuration.yaml"):
            assert text == (REPO / "examples" / "install" / name).read_text(), name  # 01-07 as committed


@pytest.mark.parametrize(("registry", "version"), REGISTRIES[1:])
def test_an_unknown_version_or_registry_does_not_change_the_committed_shape(registry: str, version: str):
    """The generated files differ from the committed ones only in the registry, the version and the source."""
    ours, theirs = (
        install.package_files(install.UPSTREAM_REGISTRY, __version__),
        install.package_files(registry, version),
    )
    for path in ours:
        (a,), (b,) = _docs(ours[path]), _docs(theirs[path])
        text = json.dumps(b).replace(release.function_constraint(version), release.function_constraint(__version__))
        text = text.replace(install.source_for(registry), install.source_for(install.UPSTREAM_REGISTRY))
        text = text.replace(registry, install.UPSTREAM_REGISTRY).replace(f"v{version}", f"v{__version__}")
        assert json.loads(text) == a, path


@pytest.mark.crossplane_cli
def test_crossplane_beta_validate_accepts_the_generated_install_manifests(tmp_path: pathlib.Path):
    install.write(tmp_path, install.install_set(REPO, "ghcr.io/some-fork", "1.2.3"))
    extensions = [CRDS / "crossplane", CRDS / "provider-kubernetes", CRDS / "provider-helm"]
    code, output = crossplane.validate(extensions, sorted(tmp_path.glob("*.yaml")))
    assert code == 0, output
    assert "0 failure cases" in output, output


@pytest.mark.crossplane_cli
@pytest.mark.parametrize(("registry", "version"), REGISTRIES[1:3])
def test_the_packages_build_with_the_generated_metadata(registry: str, version: str, tmp_path: pathlib.Path):
    """What the workflow does: stamp the metadata for the owner and version, then `crossplane xpkg build` both."""
    shutil.copytree(REPO / "package", tmp_path / "package")
    shutil.copytree(REPO / "apis", tmp_path / "apis")
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    install.write(tmp_path, install.package_files(registry, version))
    for root, examples in (("package", "examples/install"), ("apis", "examples")):
        out = tmp_path / f"{root}.xpkg"
        proc = subprocess.run(
            [str(crossplane.cli()), "xpkg", "build", f"--package-root={tmp_path / root}",
             f"--examples-root={tmp_path / examples}", "-o", str(out)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert out.stat().st_size > 1000


def test_the_install_manifests_command(tmp_path: pathlib.Path):
    runner = CliRunner()
    out = tmp_path / "install"
    result = runner.invoke(
        install.install_manifests,
        ["--registry", "ghcr.io/some-fork", "--version", "v1.2.3", "--output", str(out), "--root", str(REPO)],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.glob("*.yaml")) == sorted(install.install_set(REPO, "ghcr.io/x", "1.0.0"))
    (function,) = _docs((out / "08-function.yaml").read_text())
    assert function["spec"]["package"] == "ghcr.io/some-fork/function-tau:v1.2.3"
    # --check on the repository: the committed files are current.
    result = runner.invoke(install.install_manifests, ["--check", "--root", str(REPO)])
    assert result.exit_code == 0, result.output
    # --in-place on a copy rewrites exactly the four files, then --check passes for that registry.
    for relative in install.package_files(install.UPSTREAM_REGISTRY, __version__):
        (tmp_path / "repo" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, tmp_path / "repo" / relative)
    args = ["--registry", "ghcr.io/some-fork", "--version", "1.2.3", "--root", str(tmp_path / "repo")]
    result = runner.invoke(install.install_manifests, [*args, "--check"])
    assert result.exit_code == 1 and "out of date" in result.output
    result = runner.invoke(install.install_manifests, [*args, "--in-place"])
    assert result.exit_code == 0 and result.output.count("wrote ") == 4, result.output
    assert runner.invoke(install.install_manifests, [*args, "--check"]).exit_code == 0
    # Exactly one mode; a version that is not semver is refused.
    assert runner.invoke(install.install_manifests, ["--root", str(REPO)]).exit_code == 2
    result = runner.invoke(install.install_manifests, ["--version", "1.2", "--output", str(out)])
    assert result.exit_code == 1 and "not a semantic version" in result.output


@pytest.mark.parametrize(
    ("registry", "version", "image"),
    [
        (install.UPSTREAM_REGISTRY, __version__, f"ghcr.io/function-tau/function-tau-pgdump:v{__version__}"),
        ("ghcr.io/some-fork", "1.2.3", "ghcr.io/some-fork/function-tau-pgdump:v1.2.3"),
        ("ghcr.io/some-fork", "v1.2.3", "ghcr.io/some-fork/function-tau-pgdump:v1.2.3"),
        ("ghcr.io/some-fork", "0.1.1-dev.3.g1a2b3c4d5e6f", "ghcr.io/some-fork/function-tau-pgdump:v0.1.1-dev.3.g1a2b3c4d5e6f"),
        ("registry.home.arpa:5000/platform", "2.0.0-rc.1", "registry.home.arpa:5000/platform/function-tau-pgdump:v2.0.0-rc.1"),
    ],
)  # fmt: skip
def test_install_manifests_names_the_dump_image_of_its_registry(tmp_path: pathlib.Path, registry, version, image):
    """The default dumps.image is upstream's: the command says to set the one published beside the function."""
    out = tmp_path / "install"
    args = ["--registry", registry, "--version", version, "--root", str(REPO)]
    result = CliRunner().invoke(install.install_manifests, [*args, "--output", str(out)])
    assert result.exit_code == 0, result.output
    (function,) = _docs((out / "08-function.yaml").read_text())
    # The same registry and tag as the Function package, the repository the workflow pushes the pgdump target to.
    assert image == function["spec"]["package"].replace("/function-tau:", "/function-tau-pgdump:")
    if image == PlatformDefaults().dumps.image:
        # Upstream's own release: the default is the image published with it; nothing to set.
        assert "dumps.image" not in result.output
    else:
        assert f"Set dumps.image: {image} in your PlatformDefaults" in result.output
        assert f"the platform default is {PlatformDefaults().dumps.image}" in result.output
    # Nothing to say once the default is that image.
    assert install.dump_image(registry, version) == image
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(install.platform, "DUMP_IMAGE", image)
        assert install.dump_image_note(registry, version) is None


# ---------------------------------------------------------------------------------------------------------------
# Platform defaults → Compositions.

HOME = """\
apiVersion: fn.tau.home.arpa/v1alpha1
kind: PlatformDefaults
metadata: {name: home}
postgres:
  version: 16
  storageClass: longhorn-ssd
  storageSize: 20Gi
backup:
  retentionDays: 14
  nfs: {server: nas.home.arpa}
  objectStore:
    endpointURL: http://minio.minio.svc:9000
    destinationPath: s3://postgres-backups
    credentials: {name: minio, namespace: crossplane-system}
    encryption: none
"""


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (HOME.replace("nfs: {server:", "nfs: {sever:"), ["backup.nfs.sever: unknown field (did you mean 'server'?)"]),
        (HOME.replace("  version: 16", "  verison: 16"), ["postgres.verison: unknown field (did you mean 'version'?)"]),
        (HOME.replace("postgres:", "postgress:"), ["postgress: unknown field (did you mean 'postgres'?)"]),
        (HOME.replace("retentionDays: 14", "retentionDays: '14'"), ["backup.retentionDays: Input should be a valid integer"]),
        (HOME.replace("  version: 16", "  version: '16'"), ["postgres.version: Input should be a valid integer"]),
        (HOME.replace("  version: 16", "  version: 13"), ["postgres.version: Input should be greater than or equal to 14"]),
        (HOME.replace("encryption: none", "encryption: aes"), ["backup.objectStore.encryption: Input should be 'AES256', 'aws:kms' or 'none'"]),
        (HOME.replace("credentials: {name: minio,", "credentials: {nmae: minio,"),
         ["backup.objectStore.credentials.nmae: unknown field (did you mean 'name'?)",
          "backup.objectStore.credentials.name: Field required"]),
        # Every problem at once, each with its field.
        (HOME.replace("nfs: {server:", "nfs: {sever:").replace("  version: 16", "  version: '16'")
         .replace("storageClass", "storageclass"),
         ["postgres.storageclass: unknown field (did you mean 'storageClass'?)",
          "backup.nfs.sever: unknown field (did you mean 'server'?)", "postgres.version: Input should be a valid integer"]),
        (HOME.replace("kind: PlatformDefaults", "kind: PlatformDefault"),
         ["apiVersion/kind: expected fn.tau.home.arpa/v1alpha1 PlatformDefaults, found fn.tau.home.arpa/v1alpha1 PlatformDefault"]),
        (HOME + "---\n" + HOME, ["expected one PlatformDefaults document, found 2 documents"]),
        ("postgres: [", None),
    ],
)  # fmt: skip
def test_a_defaults_file_with_a_problem_is_refused_naming_the_field(text: str, problems: list[str] | None):
    with pytest.raises(install.DefaultsError) as caught:
        install.load_defaults(text, "home.yaml")
    if problems is None:
        assert caught.value.problems[0].startswith("not YAML")
        return
    for problem in problems:
        assert any(p.startswith(problem) for p in caught.value.problems), caught.value.problems
    assert len(caught.value.problems) == len(problems), caught.value.problems


def test_the_defaults_become_the_compositions_input():
    model = install.load_defaults(HOME, "home.yaml")
    files = install.compositions(model, "home.yaml")
    assert sorted(files) == [
        "postgresdatabase/composition.yaml", "postgresinstance/composition.yaml", "tauapplication/composition.yaml",
    ]  # fmt: skip
    for relative, text in files.items():
        (composition,) = _docs(text)
        schemas.validate(composition)
        generated = _docs((APIS / relative).read_text())[0]
        step = composition["spec"]["pipeline"][0]
        schemas.validate(step["input"])  # against the input CRD in package/input/
        assert step["input"] == model.model_dump(mode="json", exclude_none=True)
        assert step["input"]["postgres"]["storageClass"] == "longhorn-ssd"
        assert step["input"]["backup"]["nfs"]["server"] == "nas.home.arpa"
        # Everything but the input is the Composition `function-tau generate` writes.
        generated["spec"]["pipeline"][0]["input"] = step["input"]
        assert composition == generated
        assert "Generated by `function-tau compositions` from home.yaml" in text


def test_no_defaults_give_the_committed_compositions():
    files = install.compositions(PlatformDefaults(), "x")
    for relative, text in files.items():
        assert _docs(text) == _docs((APIS / relative).read_text())


def test_a_composition_carries_its_defaults_over():
    """An existing Composition is a defaults file too: its input is read (to carry edited defaults over)."""
    composition = (APIS / "postgresdatabase" / "composition.yaml").read_text()
    assert install.load_defaults(composition) == PlatformDefaults()


def test_a_claim_renders_on_the_admins_defaults():
    model = install.load_defaults(HOME, "home.yaml")
    (composition,) = _docs(install.compositions(model)["postgresdatabase/composition.yaml"])
    claim = {"apiVersion": "tau.home.arpa/v1alpha1", "kind": "PostgresDatabase",
             "metadata": {"name": "shop", "namespace": "shop"}, "spec": {}}  # fmt: skip
    rendered = render_module.render(claim, function_input=composition["spec"]["pipeline"][0]["input"],
                                    assume_ready=True)  # fmt: skip
    manifests = [r["spec"]["forProvider"]["manifest"] for r in rendered.resources if r["kind"] == "Object"]
    (cluster,) = [m for m in manifests if m["kind"] == "Cluster"]
    assert cluster["spec"]["storage"] == {"size": "20Gi", "storageClass": "longhorn-ssd"}
    assert cluster["spec"]["imageName"].endswith(":16-standard-trixie")
    assert rendered.composite["status"]["backupTarget"].startswith("nfs://nas.home.arpa:/mnt/backups/postgres")


def test_the_compositions_command(tmp_path: pathlib.Path):
    defaults = tmp_path / "home.yaml"
    defaults.write_text(HOME)
    runner = CliRunner()
    result = runner.invoke(install.compositions_command, [str(defaults)])
    assert result.exit_code == 0, result.output
    assert [d["metadata"]["name"] for d in _docs(result.output)] == [
        "xpostgresdatabases.tau.home.arpa", "xtauapplications.tau.home.arpa", "xpostgresinstances.tau.home.arpa",
    ]  # fmt: skip
    result = runner.invoke(install.compositions_command, [str(defaults), "--output-dir", str(tmp_path / "apis")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "apis" / "postgresdatabase" / "composition.yaml").exists()
    # A typo: refused with the field, nothing written.
    defaults.write_text(HOME.replace("storageSize", "storagesize"))
    result = runner.invoke(install.compositions_command, [str(defaults), "--output-dir", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "postgres.storagesize: unknown field (did you mean 'storageSize'?)" in result.output
    assert "nothing written" in result.output and not (tmp_path / "none").exists()


@pytest.mark.crossplane_cli
def test_crossplane_beta_validate_accepts_the_written_compositions(tmp_path: pathlib.Path):
    model = install.load_defaults(HOME, "home.yaml")
    install.write(tmp_path / "apis", install.compositions(model, "home.yaml"))
    inputs = crossplane.write_documents(tmp_path, "input.yaml", [model.model_dump(mode="json", exclude_none=True)])
    compositions = sorted((tmp_path / "apis").rglob("composition.yaml"))
    extensions = [CRDS / "crossplane", REPO / "package" / "input"]
    code, output = crossplane.validate(extensions, [*compositions, inputs])
    assert code == 0, output
    # Three Compositions, the input inside each (an embedded resource, checked against the input CRD), the input.
    assert "0 failure cases" in output and "7 success cases" in output, output
    # The same check refuses a hand-edited typo in a Composition's input.
    (composition,) = _docs(install.compositions(model)["postgresdatabase/composition.yaml"])
    composition["spec"]["pipeline"][0]["input"]["postgres"]["verison"] = 16
    edited = crossplane.write_documents(tmp_path, "edited.yaml", [composition])
    code, output = crossplane.validate(extensions, [edited])
    assert code != 0 and "verison" in output, output


# ---------------------------------------------------------------------------------------------------------------
# Preflight.

OURS_PROVIDER = {
    "provider-kubernetes": {"metadata": {"name": "provider-kubernetes"},
                            "spec": {"package": "xpkg.crossplane.io/crossplane-contrib/provider-kubernetes:v1.2.1",
                                     "runtimeConfigRef": {"name": "provider-kubernetes"}}},
    "provider-helm": {"metadata": {"name": "provider-helm"},
                      "spec": {"package": "xpkg.crossplane.io/crossplane-contrib/provider-helm:v1.4.0",
                               "runtimeConfigRef": {"name": "provider-helm"}}},
}  # fmt: skip


def _drc(name: str, account: str | None) -> dict:
    spec = {"deploymentTemplate": {"spec": {"template": {"spec": {"serviceAccountName": account}}}}} if account else {}
    return {"metadata": {"name": name}, "spec": spec}


def _crb(name: str, role: str, account: str) -> dict:
    return {"metadata": {"name": name}, "roleRef": {"name": role},
            "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": "crossplane-system"}]}  # fmt: skip


# The upstream example install of provider-kubernetes (reference: crossplane-providers.md §3.3).
UPSTREAM_EXAMPLE = install.ClusterState(
    providers=({"metadata": {"name": "provider-kubernetes"},
                "spec": {"package": "xpkg.crossplane.io/crossplane-contrib/provider-kubernetes:v1.0.0",
                         "runtimeConfigRef": {"name": "provider-kubernetes"}}},),
    runtime_configs=({"metadata": {"name": "provider-kubernetes"},
                      "spec": {"serviceAccountTemplate": {"metadata": {"name": "provider-kubernetes"}}}},),
    cluster_role_bindings=(_crb("provider-kubernetes-cluster-admin", "cluster-admin", "provider-kubernetes"),),
    provider_configs={"provider-kubernetes": ({"metadata": {"name": "default"},
                                               "spec": {"credentials": {"source": "InjectedIdentity"}}},)},
)  # fmt: skip


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (install.ClusterState(), []),
        # Our own install, applied before: nothing to say.
        (install.ClusterState(
            providers=tuple(OURS_PROVIDER.values()),
            runtime_configs=(_drc("provider-kubernetes", "provider-kubernetes"), _drc("provider-helm", "provider-helm")),
            cluster_role_bindings=(_crb("function-tau:provider-kubernetes", "function-tau:provider-kubernetes",
                                        "provider-kubernetes"),),
            provider_configs={"provider-helm": ({"metadata": {"name": "default"},
                                                 "spec": {"credentials": {"source": "InjectedIdentity"}}},)},
        ), []),
        (UPSTREAM_EXAMPLE, ["Provider provider-kubernetes exists (package xpkg.crossplane.io/crossplane-contrib/provider-kubernetes:v1.0.0",
                            "DeploymentRuntimeConfig provider-kubernetes exists (service account from Crossplane)",
                            "ClusterRoleBinding provider-kubernetes-cluster-admin grants ClusterRole cluster-admin"]),
        # provider-helm under another name, from another registry.
        (install.ClusterState(providers=({"metadata": {"name": "crossplane-contrib-provider-helm"},
                                          "spec": {"package": "xpkg.upbound.io/crossplane-contrib/provider-helm:v0.19.0"}},)),
         ["Provider crossplane-contrib-provider-helm already runs provider-helm (package xpkg.upbound.io/"]),
        # Our provider's name with our package, but someone else's runtime config.
        (install.ClusterState(providers=({"metadata": {"name": "provider-helm"},
                                          "spec": {"package": "xpkg.crossplane.io/crossplane-contrib/provider-helm:v1.4.0",
                                                   "runtimeConfigRef": {"name": "helm-admin"}}},)),
         ["Provider provider-helm exists (package xpkg.crossplane.io/crossplane-contrib/provider-helm:v1.4.0, runtime config helm-admin)"]),
        # A ProviderConfig default with other credentials.
        (install.ClusterState(provider_configs={"provider-helm": ({"metadata": {"name": "default"},
                                                                   "spec": {"credentials": {"source": "Secret"}}},)}),
         ["providerconfigs.helm.crossplane.io default exists (credentials source Secret): 07 would replace it"]),
        # Other providers are none of our business.
        (install.ClusterState(providers=({"metadata": {"name": "provider-aws-s3"},
                                          "spec": {"package": "xpkg.upbound.io/upbound/provider-aws-s3:v1"}},)), []),
    ],
)  # fmt: skip
def test_preflight_finds_what_the_install_would_replace(state: install.ClusterState, expected: list[str]):
    findings = install.preflight(state)
    assert len(findings) == len(expected), findings
    for finding, start in zip(findings, expected, strict=True):
        assert finding.startswith(start), finding


def _fake_kubectl(tmp_path: pathlib.Path, state: dict[str, list[dict]], missing: tuple[str, ...] = ()) -> pathlib.Path:
    """A kubectl that answers `get <resource> -o json` from `state`."""
    script = tmp_path / "kubectl"
    script.write_text(
        f"#!{sys.executable}\nimport json, sys\nstate = {json.dumps(state)!r}\nmissing = {list(missing)!r}\n"
        "args = [a for a in sys.argv[1:] if a not in ('--context', 'home')]\nresource = args[1]\n"
        "if resource in missing:\n"
        "    sys.stderr.write(f'error: the server doesn\\'t have a resource type \"{resource}\"\\n'); sys.exit(1)\n"
        "print(json.dumps({'items': json.loads(state).get(resource, [])}))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_the_preflight_command_stops_on_an_existing_install(tmp_path: pathlib.Path):
    state = {
        "providers.pkg.crossplane.io": list(UPSTREAM_EXAMPLE.providers),
        "deploymentruntimeconfigs.pkg.crossplane.io": list(UPSTREAM_EXAMPLE.runtime_configs),
        "clusterrolebindings.rbac.authorization.k8s.io": list(UPSTREAM_EXAMPLE.cluster_role_bindings),
    }
    kubectl = _fake_kubectl(tmp_path, state, missing=("providerconfigs.helm.crossplane.io",))
    result = CliRunner().invoke(install.preflight_command, ["--kubectl", str(kubectl), "--context", "home"])
    assert result.exit_code == 1, result.output
    assert "3 thing(s)" in result.output and "cluster-admin" in result.output


def test_the_preflight_command_passes_an_empty_cluster(tmp_path: pathlib.Path):
    kubectl = _fake_kubectl(tmp_path, {}, missing=tuple(install.PROVIDER_CONFIG_KINDS.values()))
    result = CliRunner().invoke(install.preflight_command, ["--kubectl", str(kubectl)])
    assert result.exit_code == 0, result.output
    assert "can be applied" in result.output


# ---------------------------------------------------------------------------------------------------------------
# The commands are `function-tau` subcommands.


@pytest.mark.parametrize("command", ["install-manifests", "compositions", "preflight"])
def test_function_tau_has_the_command(command: str):
    proc = subprocess.run(
        [sys.executable, "-c", "from function.main import cli; cli()", command, "--help"],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------------------------------------------
# The examples the install steps apply besides examples/install/.


def test_the_example_defaults_file_is_valid_and_configures_both_targets():
    model = install.load_defaults((REPO / "examples" / "platform" / "defaults.yaml").read_text(), "defaults.yaml")
    assert model.backup.nfs.server and model.backup.objectStore.credentials is not None
    assert model.backup.objectStore.encryption == "none"  # MinIO without a KMS


def test_the_example_object_store_validates_and_matches_the_defaults():
    docs = _docs((REPO / "examples" / "objectstore" / "minio.yaml").read_text())
    for doc in docs:
        schemas.validate(doc)
    defaults = install.load_defaults((REPO / "examples" / "platform" / "defaults.yaml").read_text())
    (service,) = [d for d in docs if d["kind"] == "Service"]
    name, namespace = service["metadata"]["name"], service["metadata"]["namespace"]
    port = service["spec"]["ports"][0]["port"]
    assert defaults.backup.objectStore.endpointURL == f"http://{name}.{namespace}.svc:{port}"
    (job,) = [d for d in docs if d["kind"] == "Job"]
    bucket = defaults.backup.objectStore.destinationPath.removeprefix("s3://").split("/")[0]
    assert (
        f"{defaults.backup.objectStore.endpointURL}/{bucket}"
        in job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
    )
    # No keys in the file: the docs create the Secrets with kubectl.
    assert not [d for d in docs if d["kind"] == "Secret"]
