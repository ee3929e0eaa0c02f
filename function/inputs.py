"""The typed inputs of a reconcile: the composite's spec, who it speaks for, and the function input."""

from __future__ import annotations

import dataclasses
from typing import TypeVar

import pydantic

from function.api.platform import PlatformDefaults
from function.errors import Problem, SpecError, from_validation_error, show

CLAIM_NAME_LABEL = "crossplane.io/claim-name"
CLAIM_NAMESPACE_LABEL = "crossplane.io/claim-namespace"

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


@dataclasses.dataclass(frozen=True)
class Identity:
    """Who a composite speaks for: its claim, or itself when created directly."""

    name: str
    namespace: str
    claimed: bool

    @classmethod
    def of(cls, composite: dict, spec_namespace: str | None) -> Identity:
        """The identity of a composite, from the claim labels Crossplane copies onto it."""
        labels = (composite.get("metadata") or {}).get("labels") or {}
        claim_name, claim_namespace = labels.get(CLAIM_NAME_LABEL), labels.get(CLAIM_NAMESPACE_LABEL)
        if claim_name and claim_namespace:
            return cls(name=claim_name, namespace=claim_namespace, claimed=True)
        name = (composite.get("metadata") or {}).get("name") or ""
        namespace = (composite.get("metadata") or {}).get("namespace")
        if isinstance(namespace, str) and namespace:
            # A namespaced (Crossplane 2) composite speaks for itself, as a claim does:
            # its resources go to its own namespace, whatever its spec says.
            return cls(name=name, namespace=namespace, claimed=True)
        return cls(name=name, namespace=spec_namespace or "default", claimed=False)

    def namespace_problems(self, spec_namespace: str | None, field: str) -> list[Problem]:
        """A claim naming a namespace other than its own is refused (the field is for composites only)."""
        if not self.claimed or spec_namespace is None or spec_namespace == self.namespace:
            return []
        return [
            Problem(
                field,
                f"{show(spec_namespace)} differs from the claim's namespace {show(self.namespace)}; "
                "a claim's resources always go to its own namespace",
            )
        ]


def parse_spec(model: type[ModelT], composite: dict) -> ModelT:
    """The composite's `spec` as `model`, or a SpecError naming every bad field."""
    spec = composite.get("spec")
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise SpecError.one("spec", "must be an object")
    try:
        return model.model_validate(spec)
    except pydantic.ValidationError as err:
        raise from_validation_error("spec", err, model) from None


def parse_input(raw: dict | None) -> PlatformDefaults:
    """The function input, or the built-in defaults when the Composition gives none."""
    if not raw:
        return PlatformDefaults()
    try:
        return PlatformDefaults.model_validate(raw)
    except pydantic.ValidationError as err:
        raise from_validation_error("input", err, PlatformDefaults) from None
