"""The composite types this function serves, and their generated manifests.

`function-tau generate` writes these to `apis/` and `package/input/`; a test
fails when the committed files differ from what the models generate. The
registry of kinds (`function.kinds`) pairs each definition with its composer.
"""

from __future__ import annotations

import copy
import dataclasses

import pydantic

from function.api import platform
from function.api.application import TauApplicationSpec, TauApplicationStatus
from function.api.instance import InstanceStatus, PostgresInstanceSpec
from function.api.operator import CNPGOperatorSpec, CNPGOperatorStatus
from function.api.postgres import DatabaseStatus, PostgresDatabaseSpec
from function.api.schema import openapi_schema

GROUP = "tau.home.arpa"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
# The Crossplane 2 APIs (apiextensions.crossplane.io/v2 XRDs, no claims; package
# function-tau-apis-v2, apis-v2/): the same kinds in a group of their own, because
# a v2 PostgresDatabase in GROUP would be CRD postgresdatabases.tau.home.arpa,
# which the claim XRD owns for its claim (see function.shapes).
V2_GROUP = f"m.{GROUP}"
V2_API_VERSION = f"{V2_GROUP}/{VERSION}"
FUNCTION_NAME = "function-tau"


@dataclasses.dataclass(frozen=True)
class Column:
    """An additional printer column."""

    name: str
    json_path: str
    type: str = "string"
    priority: int = 0

    def manifest(self) -> dict:
        """The CRD printer column."""
        out = {"name": self.name, "type": self.type, "jsonPath": self.json_path}
        if self.priority:
            out["priority"] = self.priority
        return out


def _unprefixed(name: str, prefix: str) -> str:
    """`XPostgresDatabase` → `PostgresDatabase`; a name without the prefix as it is."""
    rest = name[len(prefix) :]
    return rest if name.startswith(prefix) and rest[:1].isupper() else name


@dataclasses.dataclass(frozen=True)
class CompositeDefinition:
    """One composite type: its names, schemas and where its files go."""

    kind: str
    plural: str
    spec: type[pydantic.BaseModel]
    status: type[pydantic.BaseModel]
    description: str
    directory: str
    claim_kind: str | None = None
    claim_plural: str | None = None
    columns: tuple[Column, ...] = ()
    required_spec: bool = False
    # Whether the Composition passes the platform defaults as the function input
    # (the operator composite reads none of them).
    platform_input: bool = True

    @property
    def name(self) -> str:
        """The XRD (and Composition) name."""
        return f"{self.plural}.{GROUP}"

    def xrd(self) -> dict:
        """The CompositeResourceDefinition (apiextensions.crossplane.io/v1)."""
        properties = {
            "spec": openapi_schema(self.spec),
            "status": openapi_schema(self.status),
        }
        schema = {"type": "object", "description": self.description, "properties": properties}
        if self.required_spec:
            schema["required"] = ["spec"]
        spec: dict = {
            "group": GROUP,
            "names": {"kind": self.kind, "plural": self.plural},
        }
        if self.claim_kind:
            spec["claimNames"] = {"kind": self.claim_kind, "plural": self.claim_plural}
        spec["defaultCompositionRef"] = {"name": self.name}
        spec["versions"] = [
            {
                "name": VERSION,
                "served": True,
                "referenceable": True,
                "additionalPrinterColumns": [c.manifest() for c in self.columns],
                "schema": {"openAPIV3Schema": schema},
            }
        ]
        return {
            "apiVersion": "apiextensions.crossplane.io/v1",
            "kind": "CompositeResourceDefinition",
            "metadata": {"name": self.name},
            "spec": spec,
        }

    @property
    def v2_kind(self) -> str:
        """The Crossplane 2 composite's kind: the claim's (PostgresDatabase), else the composite's, never X-prefixed.

        The X told a composite from its claim; a Crossplane 2 composite has no claim.
        """
        return self.claim_kind or _unprefixed(self.kind, "X")

    @property
    def v2_plural(self) -> str:
        """The Crossplane 2 composite's plural."""
        if self.claim_plural:
            return self.claim_plural
        return self.plural[1:] if self.v2_kind != self.kind else self.plural

    @property
    def v2_scope(self) -> str:
        """A kind with a claim is a team's own resource: Namespaced; the others are Cluster-scoped."""
        return "Namespaced" if self.claim_kind else "Cluster"

    @property
    def v2_name(self) -> str:
        """The Crossplane 2 XRD (and Composition) name."""
        return f"{self.v2_plural}.{V2_GROUP}"

    def xrd_v2(self) -> dict:
        """The Crossplane 2 CompositeResourceDefinition (apiextensions.crossplane.io/v2): the same schema, no claim.

        The version, its schema and printer columns are the claim XRD's. A
        namespaced kind leaves out `spec.namespace`, the field for a composite
        created without a claim: a namespaced composite's resources always go
        to its own namespace. `scope` is written even where it is v2's default:
        `crossplane beta validate` reads a v2 XRD into the v1 type, whose
        default is LegacyCluster.
        """
        version = copy.deepcopy(self.xrd()["spec"]["versions"][0])
        if self.v2_scope == "Namespaced":
            version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"].pop("namespace", None)
        return {
            "apiVersion": "apiextensions.crossplane.io/v2",
            "kind": "CompositeResourceDefinition",
            "metadata": {"name": self.v2_name},
            "spec": {
                "scope": self.v2_scope,
                "group": V2_GROUP,
                "names": {"kind": self.v2_kind, "plural": self.v2_plural},
                "defaultCompositionRef": {"name": self.v2_name},
                "versions": [version],
            },
        }

    def composition_v2(self) -> dict:
        """The Crossplane 2 Composition: the claim API's pipeline, for the v2 composite."""
        composition = copy.deepcopy(self.composition())
        composition["metadata"]["name"] = self.v2_name
        composition["spec"]["compositeTypeRef"] = {"apiVersion": V2_API_VERSION, "kind": self.v2_kind}
        return composition

    def composition(self) -> dict:
        """The Composition: one pipeline step, the function with the platform defaults as input."""
        step: dict = {"step": "compose", "functionRef": {"name": FUNCTION_NAME}}
        if self.platform_input:
            step["input"] = platform.PlatformDefaults().model_dump(mode="json", exclude_none=True)
        return {
            "apiVersion": "apiextensions.crossplane.io/v1",
            "kind": "Composition",
            "metadata": {"name": self.name, "labels": {"app.kubernetes.io/part-of": FUNCTION_NAME}},
            "spec": {
                "compositeTypeRef": {"apiVersion": API_VERSION, "kind": self.kind},
                "mode": "Pipeline",
                "pipeline": [step],
            },
        }


POSTGRES_DATABASE = CompositeDefinition(
    kind="XPostgresDatabase",
    plural="xpostgresdatabases",
    claim_kind="PostgresDatabase",
    claim_plural="postgresdatabases",
    spec=PostgresDatabaseSpec,
    status=DatabaseStatus,
    description="A PostgreSQL database on CloudNativePG, with credentials, extensions, backups and restore.",
    directory="postgresdatabase",
    columns=(
        # The reason of DatabaseReady: Available, Waiting, or InvalidSpec when the last change was refused
        # (Crossplane leaves SYNCED and READY True then: a refusal never reaches them on a claim).
        Column("STATE", ".status.conditions[?(@.type=='DatabaseReady')].reason"),
        Column("HOST", ".status.host"),
        Column("PHASE", ".status.phase"),
        Column("LAST-BACKUP", ".status.lastSuccessfulBackup"),
        Column("SECRET", ".status.secretName", priority=1),
    ),
)

TAU_APPLICATION = CompositeDefinition(
    kind="XTauApplication",
    plural="xtauapplications",
    claim_kind="TauApplication",
    claim_plural="tauapplications",
    spec=TauApplicationSpec,
    status=TauApplicationStatus,
    description="An application (Deployment, Service, Ingress) that can own a PostgreSQL database, "
    "whose credentials its containers get as environment variables.",
    directory="tauapplication",
    required_spec=True,
    columns=(
        Column("STATE", ".status.conditions[?(@.type=='ApplicationReady')].reason"),
        Column("AVAILABLE", ".status.availableReplicas", "integer"),
        Column("URL", ".status.url"),
        Column("DATABASE", ".status.database.phase"),
        Column("SECRET", ".status.database.secretName", priority=1),
    ),
)

CNPG_OPERATOR = CompositeDefinition(
    kind="CNPGOperator",
    plural="cnpgoperators",
    spec=CNPGOperatorSpec,
    status=CNPGOperatorStatus,
    description="The CloudNativePG operator, installed with provider-helm (cluster-scoped, no claim).",
    directory="cnpgoperator",
    columns=(
        Column("NAMESPACE", ".status.namespace"),
        Column("CHART", ".status.chartVersion"),
        Column("STATE", ".status.state"),
        Column("PLUGIN", ".status.barmanCloudPlugin.state", priority=1),
    ),
    platform_input=False,
)

POSTGRES_INSTANCE = CompositeDefinition(
    kind="XPostgresInstance",
    plural="xpostgresinstances",
    claim_kind="PostgresInstance",
    claim_plural="postgresinstances",
    spec=PostgresInstanceSpec,
    status=InstanceStatus,
    description="A PostgreSQL instance (a CloudNativePG cluster) that several PostgresDatabases of its "
    "namespace live on, with backups, restore and a connection pooler.",
    directory="postgresinstance",
    columns=(
        Column("STATE", ".status.conditions[?(@.type=='InstanceReady')].reason"),
        Column("HOST", ".status.host"),
        Column("PHASE", ".status.phase"),
        Column("LAST-BACKUP", ".status.lastSuccessfulBackup"),
        Column("POOLER", ".status.poolerHost", priority=1),
    ),
)

# The API server refuses a CRD with `default` on the top-level apiVersion, kind
# or metadata (k8s.io/apiextensions-apiserver pkg/apis/apiextensions/validation
# validation.go, ValidateCustomResourceDefinitionOpenAPISchema: "must not be
# set in top-level apiVersion"); Crossplane 1.20 then keeps the
# FunctionRevision unhealthy. Their enum stays (only defaults are forbidden).
_TOP_LEVEL_META = ("apiVersion", "kind", "metadata")


def _without_top_level_defaults(schema: dict) -> dict:
    """`schema` without a default on its top-level apiVersion, kind and metadata."""
    for field in _TOP_LEVEL_META:
        schema.get("properties", {}).get(field, {}).pop("default", None)
    return schema


def input_crd() -> dict:
    """The CRD of the function input, shipped in the Function package (`package/input/`)."""
    group, version = platform.API_VERSION.split("/")
    plural = "platformdefaults"
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "names": {"kind": platform.KIND, "listKind": f"{platform.KIND}List", "plural": plural, "singular": plural},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": version,
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": _without_top_level_defaults(
                            openapi_schema(
                                platform.PlatformDefaults,
                                "The function-tau input: the platform's defaults for every claim. "
                                "Set it in the Composition's pipeline step.",
                            )
                        )
                    },
                }
            ],
        },
    }
