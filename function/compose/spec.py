"""Reading typed specs out of a composite and the function input out of a request."""

from __future__ import annotations

from typing import TypeVar

import pydantic

from function.api.platform import PlatformDefaults
from function.errors import SpecError, from_validation_error

ModelT = TypeVar("ModelT", bound=pydantic.BaseModel)


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
        raise from_validation_error("spec", err) from None


def parse_input(raw: dict | None) -> PlatformDefaults:
    """The function input, or the built-in defaults when the Composition gives none."""
    if not raw:
        return PlatformDefaults()
    try:
        return PlatformDefaults.model_validate(raw)
    except pydantic.ValidationError as err:
        raise from_validation_error("input", err) from None
