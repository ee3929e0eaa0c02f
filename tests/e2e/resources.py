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
from function.postgres import dumps
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
# Logical dumps (issue #9) need a ReadWriteMany StorageClass: make e2e-kind makes `nfs-client` (csi-driver-nfs
# and an NFS server in the cluster, manifests/nfs*.yaml), as on the seed's cluster; kind's own class cannot.
DUMP_STORAGE_CLASS = os.environ.get("TAU_E2E_DUMP_STORAGE_CLASS", "nfs-client")
DUMP_IMAGE = os.environ.get("TAU_E2E_DUMP_IMAGE")  # None: the platform's default dump image
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


def platform_input(public_key: str | None = None) -> dict:
    """The suite's platform input (kind: object store backups to MinIO, kind's storage class).

    With `public_key` (the dump steps' throwaway key pair, made when they run), logical dumps can
    be asked for (not on by default): encrypted to that key, on the suite's ReadWriteMany class,
    with the dump image make e2e-kind built (TAU_E2E_DUMP_IMAGE; else the platform's default).
    """
    (doc,) = documents(MANIFESTS / "platform-defaults.yaml")
    if STORAGE_CLASS:
        doc["postgres"]["storageClass"] = STORAGE_CLASS
    if public_key is not None:
        doc["dumps"] = {"publicKey": public_key, "storageClass": DUMP_STORAGE_CLASS}
        if DUMP_IMAGE:
            doc["dumps"]["image"] = DUMP_IMAGE
    return doc


def composition_name(definition: definitions.CompositeDefinition) -> str:
    """The suite's copy of a Composition."""
    return f"{definition.plural}-e2e.{definitions.GROUP}"


def compositions(public_key: str | None = None) -> list[dict]:
    """Copies of the claims' Compositions with the suite's platform input; the cluster's own are left alone."""
    out = []
    for definition in (definitions.POSTGRES_DATABASE, definitions.TAU_APPLICATION, definitions.POSTGRES_INSTANCE):
        composition = definition.composition()
        composition["metadata"]["name"] = composition_name(definition)
        composition["spec"]["pipeline"][0]["input"] = platform_input(public_key)
        out.append(composition)
    return out


def operator(*, snapshot_class: bool, longhorn: bool) -> dict:
    """examples/cnpgoperator: the plugin on (objectStore backups need it); the class only where its CRD exists,
    Longhorn's snapshot clean-up settings only where Longhorn is."""
    (doc,) = documents(EXAMPLES / "cnpgoperator" / "claim.yaml")
    doc["spec"]["barmanCloudPlugin"] = {"enabled": True}
    doc["spec"]["volumeSnapshotClass"] = {"create": snapshot_class, "localSnapshotCleanup": longhorn}
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
    """The suite's own manifests (MinIO, the kind registry, kind's NFS server and its StorageClass)."""
    return [
        MANIFESTS / "minio.yaml",
        MANIFESTS / "registry.yaml",
        MANIFESTS / "nfs.yaml",
        MANIFESTS / "nfs-storage-class.yaml",
    ]


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


# ---------------------------------------------------------------------------------------------------------------
# Logical dumps (issue #9, docs/POSTGRES_USAGE.md "Logical dumps on the NFS server"): examples/postgresdatabase-dumps
# dumped on demand, then a second claim filled from its newest dump with restore.dump.

DUMPED = "dumped"
DUMP_RESTORED = "dumped-restored"
DUMP_KEY_SECRET = "tau-e2e-dump-key"


def dumped() -> dict:
    """examples/postgresdatabase-dumps (uuid-ossp, pgcrypto, dumps on) as `dumped`, on the suite's Composition.

    No physical backups (`method: none`): the dumps are what this claim is about, and they do not need them.
    """
    (doc,) = documents(EXAMPLES / "postgresdatabase-dumps" / "claim.yaml")
    assert doc["spec"]["backup"]["dump"]["enabled"] is True
    doc["metadata"] = {"name": DUMPED, "namespace": NAMESPACE}
    doc["spec"]["backup"]["method"] = "none"
    doc["spec"]["compositionRef"] = {"name": composition_name(definitions.POSTGRES_DATABASE)}
    return doc


def dump_key_secret(private_key: str) -> dict:
    """The Secret restore.dump names: the throwaway private key under `private.asc` (no passphrase)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": DUMP_KEY_SECRET, "namespace": NAMESPACE},
        "type": "Opaque",
        "stringData": {dumps.PRIVATE_KEY: private_key},
    }


def dump_restored() -> dict:
    """A new PostgresDatabase filled from `dumped`'s newest dump: same database, owner and extensions.

    `file: latest` picks the newest dump of the claim's own database name in the folder (restore.sh), so the
    database keeps the source's name; the folder is the source cluster's. deletionPolicy Delete.
    """
    source = dumped()
    source_names = database_names(DUMPED)
    return {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": "PostgresDatabase",
        "metadata": {"name": DUMP_RESTORED, "namespace": NAMESPACE},
        "spec": {
            "compositionRef": {"name": composition_name(definitions.POSTGRES_DATABASE)},
            "databaseName": source_names["database"],
            "owner": source_names["owner"],
            "extensions": source["spec"]["extensions"],
            "backup": {"method": "none"},
            "restore": {
                "dump": {"file": "latest", "cluster": source_names["cluster"], "privateKeySecret": DUMP_KEY_SECRET}
            },
            "deletionPolicy": "Delete",
        },
    }


# ---------------------------------------------------------------------------------------------------------------
# A failing WAL archive shows on the claim (issue #10, item 2): a PostgresDatabase on a copy of the Composition
# whose platform input gives the suite's MinIO keys that MinIO does not know.

ARCHIVE_FAILS = "archive-fails"
WRONG_KEYS = "tau-e2e-wrong-object-store-keys"
WRONG_KEYS_COMPOSITION = f"{definitions.POSTGRES_DATABASE.plural}-e2e-wrong-keys.{definitions.GROUP}"


def wrong_keys() -> dict:
    """Access keys MinIO refuses (its user, not its password), where an admin keeps keys (crossplane-system)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": WRONG_KEYS, "namespace": "crossplane-system"},
        "type": "Opaque",
        "stringData": {"ACCESS_KEY_ID": "tau-e2e", "ACCESS_SECRET_KEY": "not-minios-password"},
    }


def wrong_keys_composition() -> dict:
    """The suite's PostgresDatabase Composition, its object store credentials the wrong keys."""
    composition = definitions.POSTGRES_DATABASE.composition()
    composition["metadata"]["name"] = WRONG_KEYS_COMPOSITION
    doc = platform_input()
    doc["backup"]["objectStore"]["credentials"] = {"name": WRONG_KEYS, "namespace": "crossplane-system"}
    composition["spec"]["pipeline"][0]["input"] = doc
    return composition


def archive_fails() -> dict:
    """A PostgresDatabase whose WAL archive (Barman Cloud to MinIO, wrong keys) fails; deletionPolicy Delete."""
    return {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": "PostgresDatabase",
        "metadata": {"name": ARCHIVE_FAILS, "namespace": NAMESPACE},
        "spec": {"compositionRef": {"name": WRONG_KEYS_COMPOSITION}, "deletionPolicy": "Delete"},
    }
