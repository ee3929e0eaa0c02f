"""The composite types this function serves, and their generated manifests.

`function-tau generate` writes these to `apis/` and `package/input/`; a test
fails when the committed files differ from what the models generate. The
registry of kinds (`function.kinds`) pairs each definition with its composer.
"""

from __future__ import annotations

import dataclasses

import pydantic

from function.api import platform
from function.api.application import TauApplicationSpec, TauApplicationStatus
from function.api.operator import CNPGOperatorSpec, CNPGOperatorStatus
from function.api.postgres import DatabaseStatus, PostgresDatabaseSpec
from function.api.schema import openapi_schema

GROUP = "tau.home.arpa"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
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
        Column("AVAILABLE", ".status.availableReplicas", "integer"),
        Column("URL", ".status.url"),
        Column("DATABASE", ".status.database.phase"),
        Column("SECRET", ".status.database.secretName", priority=1),
    ),
)

CNPG_OPERATOR = CompositeDefinition(
    kind="XCNPGOperator",
    plural="xcnpgoperators",
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
                        "openAPIV3Schema": openapi_schema(
                            platform.PlatformDefaults,
                            "The function-tau input: the platform's defaults for every claim. "
                            "Set it in the Composition's pipeline step.",
                        )
                    },
                }
            ],
        },
    }
