"""Everything the end-to-end suite applies, built from the repository's own files.

Pure functions, no cluster: tests/test_install_e2e.py validates every manifest
built here against its upstream schema, so the suite never applies something
that was not checked.
"""

from __future__ import annotations

import copy
import os
import pathlib

import yaml

from function import kinds, names
from function.api import definitions
from tests.support.paths import APIS, APIS_V2, EXAMPLES

HERE = pathlib.Path(__file__).resolve().parent
MANIFESTS = HERE / "manifests"
INSTALL = EXAMPLES / "install"

NAMESPACE = os.environ.get("TAU_E2E_NAMESPACE", "tau-e2e")
STORAGE_CLASS = os.environ.get("TAU_E2E_STORAGE_CLASS")  # None: the platform input's (kind: standard)
FUNCTION_RUNTIME_CONFIG = "function-tau-e2e"
APPLICATION = "postgres-example"
RESTORED = "postgres-example-restored"
BACKUP = "postgres-example-e2e"
BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io"
MRAP_FILE = "06-managed-resource-activation-policy.crossplane-2.yaml"


def documents(path: pathlib.Path) -> list[dict]:
    """The YAML documents of a file."""
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def install_files(*, activation_policy: bool) -> list[pathlib.Path]:
    """The install manifests in apply order, without the function (the suite installs its own build)
    and the APIs package (the suite applies apis/ directly); the activation policy only on Crossplane 2.x."""
    skip = {"08-function.yaml", "09-configuration.yaml"} | (set() if activation_policy else {MRAP_FILE})
    return [p for p in sorted(INSTALL.glob("*.yaml")) if p.name not in skip]


def function(package: str, image: str | None) -> list[dict]:
    """The Function of 08-function.yaml with the package under test, and (kind) the image loaded into the nodes.

    Crossplane runs a Function's package as its image unless a
    DeploymentRuntimeConfig names another; on kind the image is loaded into
    the nodes, while the package is served by the in-cluster registry.
    """
    (fn,) = documents(INSTALL / "08-function.yaml")
    fn = copy.deepcopy(fn)
    fn["spec"]["package"] = package
    if image is None:
        return [fn]
    fn["spec"]["runtimeConfigRef"] = {
        "apiVersion": "pkg.crossplane.io/v1beta1",
        "kind": "DeploymentRuntimeConfig",
        "name": FUNCTION_RUNTIME_CONFIG,
    }
    runtime = {
        "apiVersion": "pkg.crossplane.io/v1beta1",
        "kind": "DeploymentRuntimeConfig",
        "metadata": {"name": FUNCTION_RUNTIME_CONFIG},
        "spec": {
            "deploymentTemplate": {
                "spec": {
                    "selector": {},
                    "template": {
                        "spec": {
                            "containers": [
                                {"name": "package-runtime", "image": image, "imagePullPolicy": "IfNotPresent"}
                            ]
                        }
                    },
                }
            }
        },
    }
    return [runtime, fn]


def api_files() -> list[pathlib.Path]:
    """The XRDs and the shipped Compositions (not apis/crossplane.yaml, the package metadata)."""
    return [
        p
        for d in (k.definition for k in kinds.KINDS)
        for p in (APIS / d.directory / "definition.yaml", APIS / d.directory / "composition.yaml")
    ]


def platform_input() -> dict:
    """The suite's platform input (kind: object store backups to MinIO, kind's storage class)."""
    (doc,) = documents(MANIFESTS / "platform-defaults.yaml")
    if STORAGE_CLASS:
        doc["postgres"]["storageClass"] = STORAGE_CLASS
    return doc


def composition_name(definition: definitions.CompositeDefinition) -> str:
    """The suite's copy of a Composition."""
    return f"{definition.plural}-e2e.{definitions.GROUP}"


def compositions() -> list[dict]:
    """Copies of the claims' Compositions with the suite's platform input; the cluster's own are left alone."""
    out = []
    for definition in (definitions.POSTGRES_DATABASE, definitions.TAU_APPLICATION, definitions.POSTGRES_INSTANCE):
        composition = definition.composition()
        composition["metadata"]["name"] = composition_name(definition)
        composition["spec"]["pipeline"][0]["input"] = platform_input()
        out.append(composition)
    return out


def operator(*, snapshot_class: bool) -> dict:
    """examples/cnpgoperator: the plugin on (objectStore backups need it); the class only where its CRD exists."""
    (doc,) = documents(EXAMPLES / "cnpgoperator" / "claim.yaml")
    doc["spec"]["barmanCloudPlugin"] = {"enabled": True}
    doc["spec"]["volumeSnapshotClass"] = {"create": snapshot_class}
    return doc


# The application's database runs PostgreSQL 16, not the platform's default 15, so the restore shows that a
# restored cluster takes its backup's major version (issue 10, item 1).
SOURCE_VERSION = 16


def application() -> dict:
    """examples/tauapplication-postgres-example, in the suite's namespace, on the suite's Composition."""
    (doc,) = documents(EXAMPLES / "tauapplication-postgres-example" / "claim.yaml")
    assert doc["metadata"]["name"] == APPLICATION
    doc["metadata"]["namespace"] = NAMESPACE
    doc["spec"]["database"]["instance"] = {"version": SOURCE_VERSION}
    doc["spec"]["compositionRef"] = {"name": composition_name(definitions.TAU_APPLICATION)}
    return doc


def database_names(claim: str) -> dict[str, str]:
    """What a claim's database is called (the function's defaults for a claim of that name)."""
    database = names.default_database_name(claim)
    return {
        "database": database,
        "owner": names.default_owner(database),
        "cluster": names.default_cluster_name(claim),
        "secret": names.default_credentials_secret(claim),
    }


def backup() -> dict:
    """An on-demand object store backup of the application's database."""
    return {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Backup",
        "metadata": {"name": BACKUP, "namespace": NAMESPACE},
        "spec": {
            "cluster": {"name": database_names(APPLICATION)["cluster"]},
            "method": "plugin",
            "pluginConfiguration": {"name": BARMAN_PLUGIN},
        },
    }


def restored() -> dict:
    """A new PostgresDatabase restored from the backup, with the source's database and owner; deletionPolicy Delete."""
    source = database_names(APPLICATION)
    return {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": "PostgresDatabase",
        "metadata": {"name": RESTORED, "namespace": NAMESPACE},
        "spec": {
            "compositionRef": {"name": composition_name(definitions.POSTGRES_DATABASE)},
            "databaseName": source["database"],
            "owner": source["owner"],
            "restore": {"backupName": BACKUP},
            "deletionPolicy": "Delete",
        },
    }


def namespace() -> dict:
    """The suite's namespace."""
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}


def static_files() -> list[pathlib.Path]:
    """The suite's own manifests (MinIO, the kind registry)."""
    return [MANIFESTS / "minio.yaml", MANIFESTS / "registry.yaml"]


# ---------------------------------------------------------------------------------------------------------------
# The Crossplane 2 APIs (issue #13): installed beside the claims on Crossplane 2.x, then the retained
# postgres-example taken over by a v2 TauApplication (docs/POSTGRES_USAGE.md, "Migrating from claims").

V2_INSTALL = EXAMPLES / "v2" / "install"


def v2_install_files() -> list[pathlib.Path]:
    """What the Crossplane 2 APIs add to the install: the activation policy and the ClusterProviderConfigs."""
    return [V2_INSTALL / "06-managed-resource-activation-policy.yaml", V2_INSTALL / "07-cluster-provider-configs.yaml"]


def v2_api_files() -> list[pathlib.Path]:
    """The v2 XRDs (the suite applies copies of the Compositions, with its platform input)."""
    return [APIS_V2 / k.definition.directory / "definition.yaml" for k in kinds.KINDS]


def v2_composition_name(definition: definitions.CompositeDefinition) -> str:
    """The suite's copy of a v2 Composition."""
    return f"{definition.v2_plural}-e2e.{definitions.V2_GROUP}"


def v2_compositions() -> list[dict]:
    """Copies of the v2 Compositions with the suite's platform input."""
    out = []
    for definition in (definitions.POSTGRES_DATABASE, definitions.TAU_APPLICATION):
        composition = definition.composition_v2()
        composition["metadata"]["name"] = v2_composition_name(definition)
        composition["spec"]["pipeline"][0]["input"] = platform_input()
        out.append(composition)
    return out


def application_v2() -> dict:
    """The claim of `application()` as a v2 TauApplication: same name, namespace and spec, the v2 Composition."""
    claim = application()
    spec = copy.deepcopy(claim["spec"])
    spec.pop("compositionRef", None)
    spec["crossplane"] = {"compositionRef": {"name": v2_composition_name(definitions.TAU_APPLICATION)}}
    return {"apiVersion": definitions.V2_API_VERSION, "kind": definitions.TAU_APPLICATION.v2_kind,
            "metadata": copy.deepcopy(claim["metadata"]), "spec": spec}  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# A shared PostgresInstance (issue #14, docs/SHARED_INSTANCES.md): examples/postgresinstance with its pooler, and
# two applications whose databases live on it.

INSTANCE = "shared"
SHARED_APPLICATIONS = ("shared-one", "shared-two")


def instance() -> dict:
    """examples/postgresinstance in the suite's namespace, on the suite's Composition, with the platform's storage.

    Its pooler (transaction mode) stays as the example has it; kind's volumes take the platform's size.
    """
    (doc,) = documents(EXAMPLES / "postgresinstance" / "claim.yaml")
    assert doc["metadata"]["name"] == INSTANCE and doc["spec"]["pooler"]["mode"] == "transaction"
    doc["metadata"]["namespace"] = NAMESPACE
    doc["spec"]["instance"].pop("storage", None)
    doc["spec"]["compositionRef"] = {"name": composition_name(definitions.POSTGRES_INSTANCE)}
    return doc


def instance_names() -> dict[str, str]:
    """The instance's cluster, primary and pooler hosts (the function's defaults for a claim of that name)."""
    cluster = names.default_cluster_name(INSTANCE)
    return {
        "cluster": cluster,
        "host": names.rw_service_host(cluster, NAMESPACE),
        "pooler": names.pooler_name(cluster),
        "pooler_host": names.pooler_host(cluster, NAMESPACE),
    }


def shared_application(name: str) -> dict:
    """examples/tauapplication-postgres-example (a pod with psql that sleeps) as `name`, its database on the instance."""
    assert name in SHARED_APPLICATIONS
    (doc,) = documents(EXAMPLES / "tauapplication-postgres-example" / "claim.yaml")
    doc["metadata"] = {"name": name, "namespace": NAMESPACE}
    doc["spec"]["database"] = {"enabled": True, "instanceRef": {"name": INSTANCE}}
    doc["spec"]["compositionRef"] = {"name": composition_name(definitions.TAU_APPLICATION)}
    return doc
