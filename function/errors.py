"""Errors a user can act on: the field, the value, and what is allowed.

Every problem with a claim becomes a `SpecError`. The composer collects them and
returns one fatal result whose message lists them all, so a user fixes a claim
in one round trip instead of one error per reconcile.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

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
    """Turn a pydantic location into the dotted path a user sees in kubectl."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part:
            path += f".{part}" if path else str(part)
    return path


def _clean(message: str) -> str:
    # pydantic prefixes custom validator messages; users need only ours.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def from_validation_error(prefix: str, err: pydantic.ValidationError) -> SpecError:
    """Translate a pydantic ValidationError into problems that name each field."""
    problems = []
    for item in err.errors(include_url=False):
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-after["))]
        message = _clean(item["msg"])
        if item["type"] not in {"value_error", "assertion_error", "missing"} and "input" in item:
            message = f"{show(item['input'])} is not valid: {message}"
        elif item["type"] == "missing":
            message = "is required"
        problems.append(Problem(field_path(prefix, loc), message))
    return SpecError(problems)
