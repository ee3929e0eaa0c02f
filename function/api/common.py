"""Types shared by every claim: the base model, quantities, resources, names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import pydantic
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, WithJsonSchema

from function import names, quantity
from function.errors import show


class TauModel(pydantic.BaseModel):
    """Base of every API model.

    Unknown fields are ignored, not refused: the API server already prunes
    them with the XRD's structural schema, and Crossplane adds machinery
    fields (`compositionRef`, `resourceRefs`, ...) to a composite's spec that
    the function must tolerate, including ones a future Crossplane adds.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


def _check_quantity(value: str) -> str:
    if not quantity.is_quantity(value):
        raise ValueError(f"{show(value)} is not a Kubernetes quantity (such as 10Gi, 500m or 2)")
    return value


def _normalise_quantity(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return quantity.normalise(value)
    return value


def _check_positive(value: str) -> str:
    if quantity.parse(value) <= 0:
        raise ValueError(f"{show(value)} must be greater than zero")
    return value


_QUANTITY_SCHEMA = {
    "anyOf": [{"type": "integer"}, {"type": "string"}],
    "x-kubernetes-int-or-string": True,
    "pattern": quantity.QUANTITY_PATTERN,
}

Quantity = Annotated[
    str,
    BeforeValidator(_normalise_quantity),
    AfterValidator(_check_quantity),
    WithJsonSchema(_QUANTITY_SCHEMA),
]
"""A Kubernetes quantity; numbers are accepted and kept as Kubernetes prints them."""

PositiveQuantity = Annotated[Quantity, AfterValidator(_check_positive)]
"""A quantity greater than zero (a storage size)."""


def checked_by(problem: Callable[[str], str | None]) -> AfterValidator:
    """A pydantic validator from a `*_problem` function (None: fine; else the message)."""

    def check(value: str) -> str:
        message = problem(value)
        if message:
            raise ValueError(message)
        return value

    return AfterValidator(check)


DNSLabel = Annotated[
    str,
    checked_by(names.dns1123_label_problem),
    WithJsonSchema({"type": "string", "maxLength": names.LABEL_MAX, "pattern": names.DNS1123_LABEL.pattern}),
]
"""A DNS-1123 label: a namespace, a Service port name."""

KubernetesName = Annotated[
    str,
    checked_by(names.dns1123_subdomain_problem),
    WithJsonSchema({"type": "string", "maxLength": names.SUBDOMAIN_MAX}),
]
"""A DNS-1123 subdomain: the name of a Secret, a Backup, a StorageClass."""


CompositeNamespace = Annotated[
    DNSLabel | None,
    Field(
        description="Only for a composite created without a claim: where its resources go (default: default). "
        "A claim's resources always go to the claim's namespace."
    ),
]
"""The `namespace` field of a claim kind (a claim naming another namespace is refused)."""


class ResourceList(TauModel):
    """Amounts of compute resources."""

    cpu: Quantity | None = Field(None, description="CPU, in cores or millicores (e.g. 500m).")
    memory: Quantity | None = Field(None, description="Memory, e.g. 512Mi.")
    ephemeral_storage: Quantity | None = Field(
        None, alias="ephemeral-storage", description="Local ephemeral storage, e.g. 1Gi."
    )


class Resources(TauModel):
    """Compute resource requests and limits, as in a Pod's container."""

    requests: ResourceList | None = Field(None, description="The resources the scheduler reserves.")
    limits: ResourceList | None = Field(None, description="The most the container may use.")

    @pydantic.model_validator(mode="after")
    def _requests_within_limits(self) -> Resources:
        # CNPG's webhook and the Pod API both refuse a request above its limit.
        if self.requests is None or self.limits is None:
            return self
        for key in ("cpu", "memory", "ephemeral_storage"):
            request, limit = getattr(self.requests, key), getattr(self.limits, key)
            if request is not None and limit is not None and quantity.parse(request) > quantity.parse(limit):
                field = key.replace("_", "-")
                raise ValueError(f"requests.{field} {show(request)} is greater than limits.{field} {show(limit)}")
        return self

    def manifest(self) -> dict[str, dict[str, str]]:
        """The ResourceRequirements object, without empty parts."""
        out: dict[str, dict[str, str]] = {}
        for part in ("limits", "requests"):
            amounts = getattr(self, part)
            if amounts is not None:
                values = amounts.model_dump(by_alias=True, exclude_none=True)
                if values:
                    out[part] = values
        return out
