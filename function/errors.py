"""Errors a user can act on: the field, the value, and what is allowed.

Every problem with a claim becomes a `SpecError`. The composer collects them and
returns one fatal result whose message lists them all, so a user fixes a claim
in one round trip instead of one error per reconcile.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

import annotated_types
import pydantic

# A value is echoed back so the user sees what was refused, but never in full:
# a hostile claim must not be able to blow up a result or a condition message.
_MAX_SHOWN = 64


def show(value: Any) -> str:
    """Render a refused value for a message, quoted and truncated."""
    if isinstance(value, str):
        text = value if len(value) <= _MAX_SHOWN else f"{value[:_MAX_SHOWN]}… ({len(value)} characters)"
        return repr(text)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else f"{text[:_MAX_SHOWN]}…"


@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with a claim: where it is and what to do about it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class SpecError(Exception):
    """A claim (or the platform input) cannot be composed as written."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, field: str, message: str) -> SpecError:
        """A SpecError with a single problem."""
        return cls([Problem(field, message)])


def field_path(prefix: str, loc: Iterable[str | int]) -> str:
    """Turn a pydantic location into the dotted path a user sees in kubectl.

    A key no printable path can show (a newline in a `parameters` key) is quoted and escaped
    as JSON, so the path stays on the message's first line.
    """
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and not part.isprintable():
            path += f"[{json.dumps(part)}]"
        elif part:
            path += f".{part}" if path else str(part)
    return path


def _clean(message: str) -> str:
    # pydantic prefixes custom validator messages; users need only ours.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def _model_of(annotation: Any) -> Any:
    """The pydantic model (or list item type) inside Optional/Union/list annotations, else the annotation."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _model_of(inner[0]) if len(inner) == 1 else annotation
    return annotation


def _field(model: Any, loc: Sequence[str | int]) -> pydantic.fields.FieldInfo | None:
    """The pydantic field a validation error's location points at, if it can be followed."""
    info = None
    for part in loc:
        current = _model_of(info.annotation) if info is not None else model
        if isinstance(part, int):
            if typing.get_origin(current) is not list:
                return None
            (item,) = typing.get_args(current) or (None,)
            info = pydantic.fields.FieldInfo(annotation=item)
            continue
        fields = getattr(current, "model_fields", None)
        if not isinstance(fields, dict) or part not in fields:
            return None
        info = fields[part]
    return info


def _range(model: Any, loc: Sequence[str | int]) -> str | None:
    """`between 14 and 18` when the field has both bounds: one message gives the whole allowed range."""
    info = _field(model, loc)
    if info is None:
        return None
    low = next((m.ge for m in info.metadata if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in info.metadata if isinstance(m, annotated_types.Le)), None)
    return f"must be between {low} and {high}" if low is not None and high is not None else None


def from_validation_error(prefix: str, err: pydantic.ValidationError, model: Any = None) -> SpecError:
    """Translate a pydantic ValidationError into problems that name each field.

    With the `model`, a value out of a field's range says the whole range, not one bound.
    """
    problems = []
    for item in err.errors(include_url=False):
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-after["))]
        message = _clean(item["msg"])
        if item["type"] in {"greater_than_equal", "less_than_equal"} and (whole := _range(model, loc)):
            message = whole
        if item["type"] not in {"value_error", "assertion_error", "missing"} and "input" in item:
            message = f"{show(item['input'])} is not valid: {message}"
        elif item["type"] == "missing":
            message = "is required"
        problems.append(Problem(field_path(prefix, loc), message))
    return SpecError(problems)
