"""The install story: examples/install/ and the two package metadata files.

Every manifest validates against its upstream schema (Crossplane 2.x's CRDs in
../shared, Crossplane 1.20's from its Go module, the providers' CRDs, Kubernetes'
own types), and with `crossplane beta validate` offline. The ClusterRoles are
derived, not trusted: provider-kubernetes' from every manifest the function
composes inside Objects (tests/support/install.py runs every code path),
provider-helm's from the record of what the charts install
(tests/test_install_charts.py), Crossplane's addition from every requirement
the function states. Each must equal its derivation exactly: a permission
missing breaks an install, one too many is a hole.
"""

from __future__ import annotations

import copy
import pathlib
import re
import subprocess

import jsonschema
import pytest
import yaml

from function.__version__ import __version__
from function.api import definitions
from function.operator import plan as op_plan
from tests.support import crossplane, gomod, install, rbac, schemas
from tests.support.paths import APIS, CRDS, GOLDEN, REPO

DOCS = install.install_documents()
NAMESPACE = "crossplane-system"  # where the Crossplane Helm chart installs Crossplane and its providers
PROVIDERS = {
    "provider-kubernetes": "xpkg.crossplane.io/crossplane-contrib/provider-kubernetes:v1.2.1",
    "provider-helm": "xpkg.crossplane.io/crossplane-contrib/provider-helm:v1.4.0",
}
FUNCTION_PACKAGE = "ghcr.io/your-org/function-tau"
FORBIDDEN_VERBS = {"*", "escalate", "bind", "impersonate"}

# What Helm itself needs besides the charts' contents (see 03-provider-helm-rbac.yaml):
# the release namespace (provider-helm creates it), release history (Secrets), and
# `wait: true`'s kstatus reading a Deployment's ReplicaSets and Pods.
HELM_OWN: set[rbac.Permission] = {
    ("", "namespaces", "create"),
    *(("", "secrets", verb) for verb in ("get", "list", "create", "update", "delete")),
    ("", "pods", "list"),
    ("apps", "replicasets", "list"),
}


def by_kind(kind: str, api_version: str | None = None) -> list[dict]:
    return [d for d in DOCS if d["kind"] == kind and (api_version is None or d["apiVersion"] == api_version)]


def permissions(role: dict) -> set[rbac.Permission]:
    return rbac.from_rules(role["rules"])


def assert_same(actual: set[rbac.Permission], derived: set[rbac.Permission], role: str) -> None:
    missing, extra = derived - actual, actual - derived
    assert not missing and not extra, (
        f"{role} disagrees with what it was derived from.\nmissing:\n{rbac.describe(missing)}\n"
        f"not needed:\n{rbac.describe(extra)}"
    )


# ---------------------------------------------------------------------------------------------------------------
# Files and schemas.


def test_files_are_numbered_in_apply_order():
    names = [p.name for p in install.install_files()]
    numbers = [int(n[:2]) for n in names]
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+(\.crossplane-2)?\.yaml", n) for n in names), names
    assert numbers == list(range(1, len(names) + 1)), names
    # Crossplane 1.20 has no ManagedResourceActivationPolicy: only that file is marked 2.x-only.
    assert [n for n in names if ".crossplane-2." in n] == ["06-managed-resource-activation-policy.crossplane-2.yaml"]


@pytest.mark.parametrize("doc", DOCS, ids=[f"{d['kind']}-{d['metadata']['name']}" for d in DOCS])
def test_every_manifest_validates_against_its_upstream_schema(doc: dict):
    schemas.validate(doc)


def _crossplane_1_20_schema(kind: str, api_version: str) -> dict | None:
    group, version = api_version.split("/")
    plural = rbac.guess_resource(kind)
    path = gomod.module_file(gomod.CROSSPLANE_1_20, f"cluster/crds/{group}_{plural}.yaml")
    crd = yaml.safe_load(path.read_text())
    for served in crd["spec"]["versions"]:
        if served["name"] == version:
            schema = copy.deepcopy(served["schema"]["openAPIV3Schema"])
            schema["properties"]["metadata"] = {"type": "object"}
            return schemas._strict(schema)
    return None


@pytest.mark.parametrize(
    "doc",
    [d for d in DOCS if d["apiVersion"].split("/")[0].endswith("crossplane.io") and d["kind"] in
     ("Provider", "Function", "Configuration", "DeploymentRuntimeConfig")],
    ids=lambda d: f"{d['kind']}-{d['metadata']['name']}",
)  # fmt: skip
def test_the_packages_validate_against_crossplane_1_20_too(doc: dict):
    schema = _crossplane_1_20_schema(doc["kind"], doc["apiVersion"])
    assert schema is not None, f"Crossplane 1.20 does not serve {doc['apiVersion']} {doc['kind']}"
    jsonschema.Draft7Validator(schema).validate(doc)


def test_crossplane_1_20_has_no_activation_policy():
    """Why 06 is 2.x-only: Crossplane 1.20 ships no ManagedResourceActivationPolicy CRD."""
    crds = gomod.module_file(gomod.CROSSPLANE_1_20, "cluster/crds")
    assert not list(crds.glob("*managedresourceactivationpolicies*"))
    assert (CRDS / "crossplane" / "apiextensions.crossplane.io_managedresourceactivationpolicies.yaml").exists()


@pytest.mark.crossplane_cli
def test_crossplane_beta_validate_accepts_every_manifest():
    extensions = [CRDS / "crossplane", CRDS / "provider-kubernetes", CRDS / "provider-helm"]
    code, output = crossplane.validate(extensions, install.install_files())
    assert code == 0, output
    assert "0 failure cases" in output, output
    # Kubernetes' own kinds have no CRD for the CLI; kubernetes-validate checks them above.
    for line in output.splitlines():
        if "could not find CRD/XRD" in line:
            assert re.search(r"for: (/v1|rbac\.authorization\.k8s\.io/v1), Kind=", line), line


# ---------------------------------------------------------------------------------------------------------------
# RBAC: each ClusterRole equals what it is derived from.


def test_no_role_has_a_wildcard_or_can_escalate_and_nothing_binds_cluster_admin():
    for role in by_kind("ClusterRole") + by_kind("Role"):
        for group, resource, verb in permissions(role):
            assert "*" not in (group, resource), role["metadata"]["name"]
            assert verb not in FORBIDDEN_VERBS, (role["metadata"]["name"], resource, verb)
    for binding in by_kind("ClusterRoleBinding") + by_kind("RoleBinding"):
        assert binding["roleRef"]["name"] != "cluster-admin"
        assert binding["roleRef"]["name"].startswith("function-tau:")


def test_provider_kubernetes_may_manage_exactly_what_the_function_composes():
    inside = install.trace().inside_objects
    derived = rbac.manage(inside) | rbac.granted(inside)  # granted: escalation prevention
    role = install.find(DOCS, "ClusterRole", "function-tau:provider-kubernetes")
    assert_same(permissions(role), derived, "function-tau:provider-kubernetes")


def test_the_function_composes_every_kind_it_has_code_for():
    """The derivation is only as good as the paths it runs: every kind the code can compose must be reached."""
    kinds = {(m["apiVersion"], m["kind"]) for m in install.trace().inside_objects}
    assert kinds == {
        ("v1", "Secret"), ("v1", "Service"), ("v1", "ServiceAccount"), ("apps/v1", "Deployment"),
        ("batch/v1", "CronJob"), ("networking.k8s.io/v1", "Ingress"), ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("postgresql.cnpg.io/v1", "Cluster"),
        ("postgresql.cnpg.io/v1", "Database"), ("postgresql.cnpg.io/v1", "ScheduledBackup"),
        ("barmancloud.cnpg.io/v1", "ObjectStore"), ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"),
    }  # fmt: skip
    composed = {(c["apiVersion"], c["kind"]) for c in install.trace().composed}
    assert composed == {("kubernetes.crossplane.io/v1alpha2", "Object"), ("helm.crossplane.io/v1beta1", "Release")}


def test_resource_names_are_guessed_as_the_crds_name_them():
    crds = [
        d
        for p in sorted(CRDS.rglob("*.yaml"))
        for d in install.documents(p)
        if d.get("kind") == "CustomResourceDefinition"
    ]
    crds.append(yaml.safe_load(gomod.module_file(gomod.SNAPSHOTTER, "config/crd/snapshot.storage.k8s.io_volumesnapshotclasses.yaml").read_text()))  # fmt: skip
    assert len(crds) > 20
    for crd in crds:
        assert rbac.guess_resource(crd["spec"]["names"]["kind"]) == crd["spec"]["names"]["plural"], crd["metadata"][
            "name"
        ]
    builtin = {"Secret": "secrets", "Service": "services", "Ingress": "ingresses", "Deployment": "deployments",
               "CronJob": "cronjobs", "ServiceAccount": "serviceaccounts", "RoleBinding": "rolebindings",
               "NetworkPolicy": "networkpolicies", "CustomResourceDefinition": "customresourcedefinitions"}  # fmt: skip
    assert {k: rbac.guess_resource(k) for k in builtin} == builtin


def _chart_permissions() -> set[rbac.Permission]:
    (record,) = install.documents(GOLDEN / "operator" / "charts.yaml")
    out: set[rbac.Permission] = set()
    for chart in record["charts"]:
        out |= rbac.manage(chart["installs"]) | rbac.from_rules(chart["grants"])  # from_rules: escalation prevention
    return out


def test_provider_helm_may_install_exactly_what_the_charts_contain():
    role = install.find(DOCS, "ClusterRole", "function-tau:provider-helm")
    assert_same(permissions(role), _chart_permissions() | HELM_OWN, "function-tau:provider-helm")


def test_the_chart_record_covers_both_charts_with_their_roles():
    (record,) = install.documents(GOLDEN / "operator" / "charts.yaml")
    charts = {c["chart"]: c for c in record["charts"]}
    assert set(charts) == {op_plan.OPERATOR_CHART, op_plan.PLUGIN_CHART}
    for chart in charts.values():
        assert {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole"} in chart["installs"]
        assert chart["grants"]


def _crossplane_core_reads() -> set[rbac.Permission]:
    """What Crossplane's own ClusterRole reads, in the Helm charts of 1.20 and 2.x (the same rules)."""
    out = None
    for module in (gomod.CROSSPLANE_1_20, "github.com/crossplane/crossplane/v2@v2.2.1"):
        text = gomod.module_file(module, "cluster/charts/crossplane/templates/clusterrole.yaml").read_text()
        rules = yaml.safe_load(text[text.index("\nrules:") :])["rules"]
        granted = rbac.from_rules(rules)
        reads = {(g, r, v) for g, r, verb in granted for v in rbac.READ_VERBS if verb in (v, "*")}
        out = reads if out is None else out & reads
    return out or set()


def test_crossplane_may_read_exactly_what_the_function_asks_for():
    wanted = {
        (rbac.api_group(s.api_version), rbac.guess_resource(s.kind), verb)
        for s in install.trace().requirements
        for verb in rbac.READ_VERBS
    }
    core = _crossplane_core_reads()
    assert ("", "secrets", "get") in core and ("apiextensions.k8s.io", "customresourcedefinitions", "get") in core
    role = install.find(DOCS, "ClusterRole", "function-tau:aggregate-to-crossplane")
    assert role["metadata"]["labels"] == {"rbac.crossplane.io/aggregate-to-crossplane": "true"}
    assert_same(permissions(role), wanted - core, "function-tau:aggregate-to-crossplane")


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_provider_runs_as_its_service_account_bound_to_its_role(provider: str):
    (pkg,) = [p for p in by_kind("Provider") if p["metadata"]["name"] == provider]
    assert pkg["spec"]["package"] == PROVIDERS[provider]
    ref = pkg["spec"]["runtimeConfigRef"]
    assert (ref["apiVersion"], ref["kind"]) == ("pkg.crossplane.io/v1beta1", "DeploymentRuntimeConfig")
    drc = install.find(DOCS, "DeploymentRuntimeConfig", ref["name"])
    pod = drc["spec"]["deploymentTemplate"]["spec"]["template"]["spec"]
    account = pod["serviceAccountName"]
    # Our ServiceAccount, not Crossplane's: with serviceAccountTemplate Crossplane would create and own it.
    assert "serviceAccountTemplate" not in drc["spec"]
    sa = install.find(DOCS, "ServiceAccount", account)
    assert sa["metadata"]["namespace"] == NAMESPACE
    binding = install.find(DOCS, "ClusterRoleBinding", f"function-tau:{provider}")
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": NAMESPACE}]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": binding["metadata"]["name"],
    }
    files = [p.name for p in install.install_files()]
    rbac_file, provider_file = f"{provider}-rbac.yaml", f"{provider}.yaml"
    assert [n[3:] for n in files].index(rbac_file) < [n[3:] for n in files].index(provider_file)


def test_provider_kubernetes_redacts_secrets_from_object_status():
    drc = install.find(DOCS, "DeploymentRuntimeConfig", "provider-kubernetes")
    (container,) = drc["spec"]["deploymentTemplate"]["spec"]["template"]["spec"]["containers"]
    assert container == {"name": "package-runtime", "args": ["--sanitize-secrets"]}


def test_the_provider_configs_are_the_ones_the_composed_resources_use():
    composed = install.trace().composed
    wanted = {(c["apiVersion"].split("/")[0], c["spec"]["providerConfigRef"]["name"]) for c in composed}
    assert wanted == {("kubernetes.crossplane.io", "default"), ("helm.crossplane.io", "default")}
    configs = {(d["apiVersion"].split("/")[0], d["metadata"]["name"]): d for d in by_kind("ProviderConfig")}
    assert set(configs) == wanted
    for config in configs.values():
        assert config["spec"] == {"credentials": {"source": "InjectedIdentity"}}


def test_the_activation_policy_activates_exactly_the_composed_kinds():
    crds = {
        (d["spec"]["group"], d["spec"]["names"]["kind"]): d["metadata"]["name"]
        for p in (CRDS / "provider-kubernetes", CRDS / "provider-helm")
        for path in sorted(p.glob("*.yaml"))
        for d in install.documents(path)
        if d.get("kind") == "CustomResourceDefinition"
    }
    composed = {(c["apiVersion"].split("/")[0], c["kind"]) for c in install.trace().composed}
    (policy,) = by_kind("ManagedResourceActivationPolicy")
    assert sorted(policy["spec"]["activate"]) == sorted(crds[k] for k in composed)


def test_the_function_is_the_one_the_compositions_call():
    (function,) = by_kind("Function")
    assert function["metadata"]["name"] == definitions.FUNCTION_NAME
    for path in APIS.glob("*/composition.yaml"):
        (composition,) = install.documents(path)
        assert {s["functionRef"]["name"] for s in composition["spec"]["pipeline"]} == {definitions.FUNCTION_NAME}
    repository, _, tag = function["spec"]["package"].rpartition(":")
    assert repository == FUNCTION_PACKAGE and tag == f"v{__version__}"
    assert "PLACEHOLDER" in (install.INSTALL / "08-function.yaml").read_text()


# ---------------------------------------------------------------------------------------------------------------
# Package metadata: Function (package/) and Configuration (apis/).


def _version(text: str) -> tuple:
    match = re.fullmatch(r"v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?", text.strip())
    assert match, text
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), 0 if pre is not None else 1, pre or "")


def satisfies(version: str, constraint: str) -> bool:
    """A semver constraint of the form Crossplane's (Masterminds) accepts: `>=vA, <vB`, ANDed by commas."""
    ops = {">=": lambda a, b: a >= b, "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b}
    for part in constraint.split(","):
        match = re.fullmatch(r"\s*(>=|<=|>|<)\s*(\S+)\s*", part)
        assert match, constraint
        if not ops[match.group(1)](_version(version), _version(match.group(2))):
            return False
    return True


def test_satisfies_reads_constraints_as_crossplane_does():
    """Checked against Masterminds semver v3 (what Crossplane uses) with the same cases."""
    constraint = ">=v1.20.0-0, <v3.0.0-0"
    results = {v: satisfies(v, constraint) for v in ("v1.19.5", "v1.20.0", "v2.3.0-rc.0", "v2.2.1", "v3.0.0")}
    assert results == {"v1.19.5": False, "v1.20.0": True, "v2.3.0-rc.0": True, "v2.2.1": True, "v3.0.0": False}


def test_the_function_package_metadata():
    (meta,) = install.documents(REPO / "package" / "crossplane.yaml")
    assert (meta["apiVersion"], meta["kind"], meta["metadata"]["name"]) == (
        "meta.pkg.crossplane.io/v1", "Function", definitions.FUNCTION_NAME,
    )  # fmt: skip
    for version in ("v1.20.0", "v1.20.11", "v2.0.0", "v2.2.1", "v2.3.4"):
        assert satisfies(version, meta["spec"]["crossplane"]["version"]), version
    # A Function package holds its metadata and CRDs only (the input's).
    others = [p for p in (REPO / "package").rglob("*") if p.is_file() and p.name != "crossplane.yaml"]
    assert others
    for path in others:
        assert path.suffix == ".yaml", path
        assert {d["kind"] for d in install.documents(path)} == {"CustomResourceDefinition"}, path


def test_the_configuration_package_metadata():
    """Its shape; `crossplane beta validate` would download every dependency, so it is not given this file."""
    (meta,) = install.documents(APIS / "crossplane.yaml")
    assert (meta["apiVersion"], meta["kind"]) == ("meta.pkg.crossplane.io/v1", "Configuration")
    for version in ("v1.20.0", "v1.20.11", "v2.0.0", "v2.3.4"):
        assert satisfies(version, meta["spec"]["crossplane"]["version"]), version
    assert not satisfies("v1.19.5", meta["spec"]["crossplane"]["version"])
    deps = {d["package"]: d for d in meta["spec"]["dependsOn"]}
    assert set(deps) == {FUNCTION_PACKAGE, *(p.rpartition(":")[0] for p in PROVIDERS.values())}
    for dep in deps.values():
        assert set(dep) == {"apiVersion", "kind", "package", "version"}  # not the deprecated provider:/function: form
        assert dep["apiVersion"] == "pkg.crossplane.io/v1"
    assert deps[FUNCTION_PACKAGE]["kind"] == "Function"
    assert satisfies(f"v{__version__}", deps[FUNCTION_PACKAGE]["version"])
    for package in PROVIDERS.values():
        repository, _, tag = package.rpartition(":")
        assert deps[repository]["kind"] == "Provider"
        assert satisfies(tag, deps[repository]["version"]), package  # what 02 and 04 install satisfies it
    assert "PLACEHOLDER" in (APIS / "crossplane.yaml").read_text()


def test_the_apis_directory_holds_only_the_package():
    """`crossplane xpkg build --package-root=apis` packages every YAML file under apis/."""
    for path in APIS.rglob("*.yaml"):
        kinds = {d["kind"] for d in install.documents(path)}
        assert kinds <= {"CompositeResourceDefinition", "Composition", "Configuration"}, path


@pytest.mark.crossplane_cli
@pytest.mark.parametrize("root", ["package", "apis"])
def test_the_crossplane_cli_builds_the_package(root: str, tmp_path: pathlib.Path):
    """`crossplane xpkg build` lints the package (offline; the runtime image is embedded in CI, not here)."""
    out = tmp_path / f"{root}.xpkg"
    examples = tmp_path / "no-examples"
    proc = subprocess.run(
        [str(crossplane.cli()), "xpkg", "build", f"--package-root={REPO / root}", f"--examples-root={examples}",
         "-o", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert out.stat().st_size > 1000


# ---------------------------------------------------------------------------------------------------------------
# The install steps (docs/sections/install.md, merged into docs/POSTGRES_USAGE.md).


def _install_doc() -> str:
    section = REPO / "docs" / "sections" / "install.md"
    if section.exists():
        return section.read_text()
    usage = (REPO / "docs" / "POSTGRES_USAGE.md").read_text()
    return usage[usage.index("## Installing the platform") :]


def test_the_steps_apply_every_install_file_in_order():
    doc = _install_doc()
    positions = [doc.index(f"examples/install/{p.name}") for p in install.install_files()]
    assert positions == sorted(positions)


def test_the_commands_in_the_steps_exist():
    doc = _install_doc()
    makefile = (REPO / "Makefile").read_text()
    for target in re.findall(r"\bmake ([\w-]+)", doc):
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), target
    for path in re.findall(r"\b((?:examples|apis|package|tests)/[\w./-]+\.(?:yaml|sh))", doc):
        assert (REPO / path).exists(), path
