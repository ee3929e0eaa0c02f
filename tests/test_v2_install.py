"""The install of the Crossplane 2 APIs (issue #13): examples/v2/install/, the
second Configuration package (apis-v2/) and what the namespaced providers need.

Both API shapes run on the same two providers with the same ServiceAccounts:
the least-privilege ClusterRoles of examples/install/01 and 03 must cover the
v2 shape exactly as they cover the claims (derived from every code path of
both, as tests/test_install.py derives them for the claims). What the v2 shape
adds is derived too: the activation policy from the kinds it composes, the
ClusterProviderConfigs from the references it writes.
"""

from __future__ import annotations

import pathlib
import subprocess

import pytest
import yaml
from click.testing import CliRunner

from function import install as generator
from function import shapes
from function.__version__ import __version__
from function.api import definitions
from function.release import satisfies
from tests.support import crossplane, install, rbac, schemas, v2
from tests.support.paths import APIS, CRDS, REPO

V2_FILES = sorted(v2.V2_INSTALL.glob("*.yaml"))
V2_DOCS = [doc for path in V2_FILES for doc in install.documents(path)]
CLAIM_DOCS = install.install_documents()


def _by_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


@pytest.mark.parametrize("doc", V2_DOCS, ids=[f"{d['kind']}-{d['metadata']['name']}" for d in V2_DOCS])
def test_every_v2_install_manifest_validates_against_its_upstream_schema(doc: dict):
    schemas.validate(doc)


@pytest.mark.crossplane_cli
def test_crossplane_beta_validate_accepts_every_v2_install_manifest():
    extensions = [CRDS / "crossplane", CRDS / "provider-kubernetes", CRDS / "provider-helm"]
    code, output = crossplane.validate(extensions, V2_FILES)
    assert code == 0, output
    assert "0 failure cases" in output, output
    for line in output.splitlines():
        if "could not find CRD/XRD" in line:
            assert "for: /v1, Kind=Namespace" in line, line


def test_the_v2_files_replace_only_what_differs_from_the_claim_install():
    """01-05 and 08 serve both shapes; the v2 install replaces 06, 07, 09 and adds the operator's namespace."""
    claim_numbers = {p.name[:2] for p in install.install_files()}
    numbers = [p.name[:2] for p in V2_FILES]
    assert numbers == ["06", "07", "09", "10"]
    assert {"06", "07", "09"} <= claim_numbers


def test_the_composed_kinds_are_the_namespaced_providers():
    composed = {(c["apiVersion"], c["kind"]) for c in v2.trace().composed}
    assert composed == {(shapes.NAMESPACED_OBJECT, "Object"), (shapes.NAMESPACED_RELEASE, "Release")}


def test_the_activation_policy_activates_exactly_the_composed_kinds():
    crds = {
        (d["spec"]["group"], d["spec"]["names"]["kind"]): d["metadata"]["name"]
        for p in (CRDS / "provider-kubernetes", CRDS / "provider-helm")
        for path in sorted(p.glob("*.yaml"))
        for d in install.documents(path)
        if d.get("kind") == "CustomResourceDefinition"
    }
    composed = {(c["apiVersion"].split("/")[0], c["kind"]) for c in v2.trace().composed}
    (policy,) = _by_kind(V2_DOCS, "ManagedResourceActivationPolicy")
    assert sorted(policy["spec"]["activate"]) == sorted(crds[k] for k in composed)
    (claims,) = _by_kind(CLAIM_DOCS, "ManagedResourceActivationPolicy")
    assert policy["metadata"]["name"] != claims["metadata"]["name"]  # both can be applied, for a migration


def test_the_cluster_provider_configs_are_the_ones_the_composed_resources_use():
    wanted = {
        (c["apiVersion"].split("/")[0], c["spec"]["providerConfigRef"]["kind"], c["spec"]["providerConfigRef"]["name"])
        for c in v2.trace().composed
    }
    assert wanted == {("kubernetes.m.crossplane.io", "ClusterProviderConfig", "default"),
                      ("helm.m.crossplane.io", "ClusterProviderConfig", "default")}  # fmt: skip
    configs = {(d["apiVersion"].split("/")[0], d["kind"], d["metadata"]["name"]): d
               for d in V2_DOCS if d["kind"] in ("ClusterProviderConfig", "ProviderConfig")}  # fmt: skip
    assert set(configs) == wanted
    for config in configs.values():
        assert config["spec"] == {"credentials": {"source": "InjectedIdentity"}}


def test_provider_kubernetes_needs_nothing_more_for_the_v2_shape():
    """The same inner kinds: the ClusterRole derived from the claims' code paths serves the v2 shape exactly."""
    inside = v2.trace().inside_objects
    derived = rbac.manage(inside) | rbac.granted(inside)
    claims = install.trace().inside_objects
    assert derived == rbac.manage(claims) | rbac.granted(claims)
    role = install.find(CLAIM_DOCS, "ClusterRole", "function-tau:provider-kubernetes")
    assert rbac.from_rules(role["rules"]) == derived


def test_crossplane_needs_nothing_more_for_the_v2_shape():
    """The function asks Crossplane for the same kinds in both shapes (05 serves both).

    But the instance a database names (issue #14): the v2 shape asks for the v2 PostgresInstance, the claim
    shape for the XPostgresInstance; Crossplane's RBAC manager lets it read both (tests/test_install.py).
    """
    ours = {(s.api_version, s.kind) for s in v2.trace().requirements}
    theirs = {(s.api_version, s.kind) for s in install.trace().requirements}
    modern = (definitions.V2_API_VERSION, definitions.POSTGRES_INSTANCE.v2_kind)
    legacy = (definitions.API_VERSION, definitions.POSTGRES_INSTANCE.kind)
    assert modern in ours and legacy in theirs
    assert ours - {modern} == theirs - {legacy}
    assert not v2.trace().extra_requirements  # 1.20's field: never stated on the v2 path


def test_the_operator_namespace_file_is_the_operators_default_namespace():
    (namespace,) = _by_kind(V2_DOCS, "Namespace")
    default = definitions.CNPG_OPERATOR.spec.model_fields["namespace"].default
    assert namespace["metadata"]["name"] == default


# ---------------------------------------------------------------------------------------------------------------
# The second Configuration package.


def _metadata(root: pathlib.Path) -> dict:
    (meta,) = install.documents(root / "crossplane.yaml")
    return meta


def test_the_v2_package_needs_crossplane_2_and_the_same_dependencies_as_the_claim_package():
    meta, claims = _metadata(v2.APIS_V2), _metadata(APIS)
    assert (meta["apiVersion"], meta["kind"]) == ("meta.pkg.crossplane.io/v1", "Configuration")
    assert meta["metadata"]["name"] != claims["metadata"]["name"]
    constraint = meta["spec"]["crossplane"]["version"]
    for version in ("v2.0.0", "v2.2.1", "v2.3.4"):
        assert satisfies(version, constraint), version
    for version in ("v1.20.0", "v1.20.11"):
        assert not satisfies(version, constraint), version  # no apiextensions.crossplane.io/v2 there
    # One version of each dependency must satisfy both packages: keep their constraints identical.
    assert meta["spec"]["dependsOn"] == claims["spec"]["dependsOn"]


def test_the_v2_configuration_install_names_the_v2_package():
    (configuration,) = _by_kind(V2_DOCS, "Configuration")
    (claims,) = _by_kind(CLAIM_DOCS, "Configuration")
    assert configuration["metadata"]["name"] == _metadata(v2.APIS_V2)["metadata"]["name"]
    repository, _, tag = configuration["spec"]["package"].rpartition(":")
    claim_repository, _, claim_tag = claims["spec"]["package"].rpartition(":")
    assert repository == claim_repository + "-v2" and tag == claim_tag


def test_the_apis_v2_directory_holds_only_the_package():
    kinds_found = {d["kind"] for p in v2.APIS_V2.rglob("*.yaml") for d in install.documents(p)}
    assert kinds_found == {"CompositeResourceDefinition", "Composition", "Configuration"}
    for path in v2.APIS_V2.rglob("definition.yaml"):
        (xrd,) = install.documents(path)
        assert xrd["apiVersion"] == "apiextensions.crossplane.io/v2", path


@pytest.mark.crossplane_cli
def test_the_crossplane_cli_builds_the_v2_package(tmp_path: pathlib.Path):
    out = tmp_path / "apis-v2.xpkg"
    proc = subprocess.run(
        [str(crossplane.cli()), "xpkg", "build", f"--package-root={v2.APIS_V2}",
         f"--examples-root={tmp_path / 'no-examples'}", "-o", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.stat().st_size > 1000
    assert REPO  # the package root is the repository's apis-v2/


def test_the_committed_v2_package_files_are_the_generators_output():
    """Drift: regenerate with `function-tau install-manifests-v2 --in-place`."""
    files = generator.v2_package_files(generator.UPSTREAM_REGISTRY, __version__)
    assert sorted(files) == sorted([generator.CONFIGURATION_V2_METADATA, generator.CONFIGURATION_V2_INSTALL])
    stale = [path for path, text in files.items() if (REPO / path).read_text() != text]
    assert not stale, f"out of date (run `function-tau install-manifests-v2 --in-place`): {stale}"


@pytest.mark.parametrize(
    ("registry", "version"), [("ghcr.io/some-fork", "1.2.3"), ("registry.home.arpa:5000/p", "2.0.0-rc.1")]
)
def test_the_v2_package_files_name_the_registrys_packages(registry: str, version: str):
    files = generator.v2_package_files(registry, version)
    (meta,) = [d for d in yaml.safe_load_all(files[generator.CONFIGURATION_V2_METADATA]) if d]
    (configuration,) = [d for d in yaml.safe_load_all(files[generator.CONFIGURATION_V2_INSTALL]) if d]
    assert configuration["spec"]["package"] == f"{registry}/function-tau-apis-v2:v{version}"
    claims = generator.configuration_metadata(registry, version, generator.source_for(registry))
    assert meta["spec"]["dependsOn"] == claims["spec"]["dependsOn"]
    schemas.validate(configuration)


def test_the_install_manifests_v2_command(tmp_path: pathlib.Path):
    runner = CliRunner()
    for relative in generator.v2_package_files(generator.UPSTREAM_REGISTRY, __version__):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text((REPO / relative).read_text())
    assert runner.invoke(generator.install_manifests_v2, ["--check", "--root", str(REPO)]).exit_code == 0
    args = ["--registry", "ghcr.io/some-fork", "--version", "1.2.3", "--root", str(tmp_path)]
    result = runner.invoke(generator.install_manifests_v2, [*args, "--check"])
    assert result.exit_code == 1 and "out of date" in result.output
    result = runner.invoke(generator.install_manifests_v2, [*args, "--in-place"])
    assert result.exit_code == 0 and result.output.count("wrote ") == 2, result.output
    assert runner.invoke(generator.install_manifests_v2, [*args, "--check"]).exit_code == 0
    assert runner.invoke(generator.install_manifests_v2, ["--root", str(REPO)]).exit_code == 2


def test_an_admins_defaults_make_the_v2_compositions_too(tmp_path: pathlib.Path):
    """`function-tau compositions --crossplane-2`: apis-v2/'s Compositions with the admin's defaults as the input."""
    defaults = generator.load_defaults("apiVersion: fn.tau.home.arpa/v1alpha1\nkind: PlatformDefaults\n"
                                       "postgres: {version: 16}\n")  # fmt: skip
    claims = generator.compositions(defaults)
    ours = generator.compositions(defaults, crossplane_2=True)
    assert sorted(ours) == sorted(claims)
    for relative, text in ours.items():
        (composition,) = [d for d in yaml.safe_load_all(text) if d]
        (shipped,) = install.documents(v2.APIS_V2 / relative)
        assert composition["metadata"]["name"] == shipped["metadata"]["name"]
        assert composition["spec"]["compositeTypeRef"] == shipped["spec"]["compositeTypeRef"]
        (claim_composition,) = [d for d in yaml.safe_load_all(claims[relative]) if d]
        assert composition["spec"]["pipeline"] == claim_composition["spec"]["pipeline"]  # the same input
        assert composition["spec"]["pipeline"][0]["input"]["postgres"]["version"] == 16
    path = tmp_path / "defaults.yaml"
    path.write_text("apiVersion: fn.tau.home.arpa/v1alpha1\nkind: PlatformDefaults\n")
    result = CliRunner().invoke(generator.compositions_command, ["--crossplane-2", str(path)])
    assert result.exit_code == 0 and "m.tau.home.arpa/v1alpha1" in result.output, result.output


def test_what_the_e2e_suite_applies_for_the_v2_apis_validates():
    """The end-to-end suite's v2 step (tests/e2e): every manifest it builds or ships, against its schema."""
    from tests.e2e import resources as e2e  # noqa: PLC0415 - the e2e helpers only for this check

    docs = [*e2e.v2_compositions(), e2e.application_v2()]
    docs += [d for path in [*e2e.v2_install_files(), *e2e.v2_api_files()] for d in install.documents(path)]
    for doc in docs:
        schemas.validate(doc)
    application = e2e.application_v2()
    assert v2.as_v2(e2e.application()) == {**application, "spec": {k: v for k, v in application["spec"].items()
                                                                   if k != "crossplane"}}  # fmt: skip
    for composition in e2e.v2_compositions():
        assert composition["spec"]["pipeline"][0]["input"] == e2e.platform_input()
