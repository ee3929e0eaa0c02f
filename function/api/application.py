"""TauApplication: an application (Deployment, Service, Ingress) that can own its database.

The `database` field is a PostgresDatabase spec (every field of it, so an
application's database is exactly the database a PostgresDatabase of the same
name would be) plus `enabled`, `name` (the database name) and `storageSize`
(a shortcut for `instance.storage.size`). Validation here is what can be judged
from the claim alone; rules that need the claim's name or what exists already
live in `function.application.plan`.
"""

from __future__ import annotations

import re
from typing import Annotated

import pydantic
from pydantic import AfterValidator, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import InitErrorDetails, PydanticCustomError

from function import names
from function.api.common import CompositeNamespace, KubernetesName, PositiveQuantity, Resources, TauModel
from function.api.postgres import DatabaseName, DatabaseStatus, PostgresDatabaseSpec
from function.errors import show

# The image reference grammar of distribution/reference (what every container
# runtime parses): [host[:port]/]path[:tag][@digest]. A typo (a space, an
# upper-case repository) is refused here instead of as an ImagePullBackOff.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_HOST = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_PATTERN = rf"^(?:{_HOST}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*(?::{_TAG})?(?:@{_DIGEST})?$"
_IMAGE = re.compile(IMAGE_PATTERN)
IMAGE_MAX = 512
_NAME_MAX = 255  # distribution/reference: the repository name, host included

# Kubernetes' rule for environment variable names (IsEnvVarName). Newer
# clusters accept more, every supported one accepts this.
ENV_NAME_PATTERN = r"^[-._a-zA-Z][-._a-zA-Z0-9]*$"
_ENV_NAME = re.compile(ENV_NAME_PATTERN)
ENV_NAME_MAX = 256
ENV_VALUE_MAX = 32768
MAX_ENV = 128
MAX_ARGS = 64
ARG_MAX = 4096
# What command, args and env may hold together, in bytes (UTF-8). Each field's
# own bounds allow 4.5 MiB in all, more than gRPC carries (Crossplane sends the
# claim and the observed Deployment in one message of at most 4 MiB) and than
# etcd stores (1.5 MiB per object; provider-kubernetes keeps the Deployment
# twice in its Object, in spec and status). 256 KiB fits everywhere, with room.
MAX_CONTAINER_BYTES = 256 * 1024
MAX_REPLICAS = 100

# A host an Ingress can serve and cert-manager can get a certificate for: a
# DNS name, lower case, no wildcard (an HTTP-01 challenge cannot prove one).
HOST_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_HOST_NAME = re.compile(HOST_PATTERN)


def _check_image(value: str) -> str:
    if not value:
        raise ValueError("is empty; name the image to run, such as nginx:1.27")
    if len(value) > IMAGE_MAX:
        raise ValueError(f"{show(value)} is {len(value)} characters; at most {IMAGE_MAX} are allowed")
    if value != value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"{show(value)} contains whitespace; an image reference is one word, such as nginx:1.27")
    if not _IMAGE.match(value):
        raise ValueError(
            f"{show(value)} is not an image reference: [registry[:port]/]repository[:tag][@digest], "
            "the repository in lower case (such as ghcr.io/org/app:1.0 or postgres:15-alpine)"
        )
    name = value.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    if len(name) > _NAME_MAX:
        raise ValueError(
            f"the repository name of {show(value)} is {len(name)} characters; at most {_NAME_MAX} are allowed"
        )
    return value


Image = Annotated[
    str,
    AfterValidator(_check_image),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": IMAGE_MAX, "pattern": IMAGE_PATTERN}),
]


def _check_env_name(value: str) -> str:
    if len(value) > ENV_NAME_MAX:
        raise ValueError(f"{show(value)} is {len(value)} characters; at most {ENV_NAME_MAX} are allowed")
    if not _ENV_NAME.match(value):
        raise ValueError(
            f"{show(value)} is not an environment variable name: letters, digits, '_', '-' and '.', "
            "not starting with a digit"
        )
    return value


EnvName = Annotated[
    str,
    AfterValidator(_check_env_name),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": ENV_NAME_MAX, "pattern": ENV_NAME_PATTERN}),
]


def _check_host(value: str) -> str:
    if len(value) > names.SUBDOMAIN_MAX:
        raise ValueError(f"{show(value)} is {len(value)} characters; a DNS name has at most {names.SUBDOMAIN_MAX}")
    if not _HOST_NAME.match(value) or any(len(label) > names.LABEL_MAX for label in value.split(".")):
        raise ValueError(
            f"{show(value)} is not a DNS name such as app.home.arpa: lower-case letters, digits, '-' and '.', "
            f"each label at most {names.LABEL_MAX} characters (no scheme, port, path or wildcard)"
        )
    return value


Host = Annotated[
    str,
    AfterValidator(_check_host),
    WithJsonSchema({"type": "string", "maxLength": names.SUBDOMAIN_MAX, "pattern": HOST_PATTERN}),
]

Argument = Annotated[str, Field(max_length=ARG_MAX)]


class EnvVar(TauModel):
    """An environment variable of the application's container."""

    name: EnvName = Field(description="The name. It replaces an injected database variable of the same name.")
    value: str = Field("", max_length=ENV_VALUE_MAX, description="Its value; $(OTHER) refers to an earlier variable.")


class IngressTLS(TauModel):
    """HTTPS for the Ingress, with a certificate from cert-manager."""

    clusterIssuer: KubernetesName = Field(
        description="The cert-manager ClusterIssuer that signs the certificate (e.g. letsencrypt-prod)."
    )
    secretName: KubernetesName | None = Field(
        None, description="The Secret cert-manager writes the certificate to. Default: <claim name>-tls."
    )


class Ingress(TauModel):
    """Expose the application over HTTP(S) under a host name. Needs `port`."""

    host: Host = Field(description="The DNS name the application is served at, e.g. app.home.arpa.")
    className: KubernetesName | None = Field(
        None, description="The IngressClass (e.g. nginx, traefik). Default: the cluster's default class."
    )
    tls: IngressTLS | None = Field(None, description="Serve HTTPS with a cert-manager certificate.")


class ApplicationDatabase(PostgresDatabaseSpec):
    """The application's own PostgreSQL database: every PostgresDatabase field, plus these.

    When enabled, the database is exactly what a PostgresDatabase with the
    claim's name and these fields becomes (same resources, same names), and
    its credentials are injected into the application's container.
    """

    enabled: bool = Field(default=False, description="Give the application its own database. Default: false.")
    databaseName: DatabaseName | None = Field(
        None, alias="name", description="The database to create. Default: the claim name with '-' replaced by '_'."
    )
    storageSize: PositiveQuantity | None = Field(
        None, description="Size of the data volume, e.g. 5Gi (a shortcut for instance.storage.size). It can only grow."
    )
    # A claim's database lives in the claim's namespace; a composite created
    # without a claim sets spec.namespace for the whole application.
    namespace: SkipJsonSchema[str | None] = Field(None, exclude=True)

    @pydantic.field_validator("namespace")
    @classmethod
    def _no_namespace(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError("the database lives in the application's namespace; set spec.namespace instead")
        return value

    def postgres_spec(self) -> PostgresDatabaseSpec:
        """The PostgresDatabase spec this database is: `storageSize` folded into `instance.storage.size`."""
        fields = {name: getattr(self, name) for name in PostgresDatabaseSpec.model_fields if name != "namespace"}
        if self.storageSize is not None:
            instance = self.instance
            storage = instance.storage.model_copy(update={"size": self.storageSize})
            fields["instance"] = instance.model_copy(update={"storage": storage})
        return PostgresDatabaseSpec.model_validate(fields)


class TauApplicationSpec(TauModel):
    """The desired state of a TauApplication."""

    image: Image = Field(description="The container image to run, e.g. ghcr.io/org/app:1.0.")
    command: list[Argument] | None = Field(
        None, max_length=MAX_ARGS, description="The container's entrypoint. Default: the image's."
    )
    args: list[Argument] | None = Field(
        None, max_length=MAX_ARGS, description="Arguments to the entrypoint. Default: the image's."
    )
    replicas: int = Field(1, ge=0, le=MAX_REPLICAS, description="Pods to run. Default: 1.")
    env: list[EnvVar] = Field(
        default_factory=list,
        max_length=MAX_ENV,
        description="Environment variables. A variable named like an injected database variable "
        "(DATABASE_URL, DB_HOST, ...) replaces it. With command and args, at most 256 KiB in all.",
    )
    resources: Resources | None = Field(None, description="CPU and memory requests and limits of the container.")
    port: int | None = Field(
        None, ge=1, le=65535, description="The port the application listens on; a Service serves it on port 80."
    )
    ingress: Ingress | None = Field(None, description="Expose the application under a host name. Needs port.")
    database: ApplicationDatabase = Field(
        default_factory=ApplicationDatabase, description="The application's own PostgreSQL database."
    )
    namespace: CompositeNamespace = None

    @pydantic.field_validator("env")
    @classmethod
    def _unique_env(cls, env: list[EnvVar]) -> list[EnvVar]:
        # Kubernetes keeps the last of two equal names, silently; say so instead.
        first: dict[str, int] = {}
        for index, var in enumerate(env):
            if var.name in first:
                raise ValueError(f"{show(var.name)} is set twice (entries {first[var.name]} and {index})")
            first[var.name] = index
        return env

    @pydantic.model_validator(mode="after")
    def _container_fits(self) -> TauApplicationSpec:
        # Refused here, with the field to shorten, rather than as a gRPC or etcd error later.
        sizes = {
            "command": sum(len(arg.encode()) for arg in self.command or ()),
            "args": sum(len(arg.encode()) for arg in self.args or ()),
            "env": sum(len(var.name.encode()) + len(var.value.encode()) for var in self.env),
        }
        total = sum(sizes.values())
        if total <= MAX_CONTAINER_BYTES:
            return self
        field = max(sizes, key=lambda name: sizes[name])
        message = (
            f"holds {sizes[field]} bytes; command, args and env together may hold at most {MAX_CONTAINER_BYTES} "
            f"(they hold {total}): the Deployment must fit in one Kubernetes object, twice. "
            "Put large configuration in a ConfigMap or a Secret instead"
        )
        error = InitErrorDetails(type=PydanticCustomError("value_error", message), loc=(field,), input=None)
        raise pydantic.ValidationError.from_exception_data(type(self).__name__, [error])


class TauApplicationStatus(TauModel):
    """How the application and its database are doing."""

    availableReplicas: int | None = Field(None, description="Pods of the Deployment that are available.")
    url: str | None = Field(None, description="Where the application is served (from the ingress).")
    database: DatabaseStatus | None = Field(None, description="The application's database, when enabled.")
