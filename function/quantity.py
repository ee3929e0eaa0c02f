"""Kubernetes resource quantities: validate them and compare them.

The function needs to compare quantities (a storage size may only grow, a
memory request must cover `shared_buffers`, a request may not exceed its
limit), so it parses them exactly as Kubernetes does, into `Decimal`s.
"""

from __future__ import annotations

import re
from decimal import Decimal

# The canonical pattern from k8s.io/apimachinery/pkg/api/resource (as in CRDs).
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
    r"(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
_QUANTITY = re.compile(QUANTITY_PATTERN)
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)")

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}
# A quantity is at most this long in practice; longer input is refused before parsing.
_MAX_LENGTH = 64


def is_quantity(text: str) -> bool:
    """Whether `text` is a valid Kubernetes quantity."""
    return len(text) <= _MAX_LENGTH and bool(_QUANTITY.match(text))


def parse(text: str) -> Decimal:
    """The value of a quantity in base units (bytes, cores).

    Raises:
        ValueError: `text` is not a quantity.
    """
    if not is_quantity(text):
        raise ValueError(f"{text!r} is not a Kubernetes quantity")
    number = _NUMBER.match(text)
    assert number is not None  # guaranteed by the pattern
    suffix = text[number.end() :]
    try:
        value = Decimal(number.group(0))
        if suffix in _BINARY:
            return value * _BINARY[suffix]
        if suffix in _DECIMAL:
            return value * _DECIMAL[suffix]
        return value * (Decimal(10) ** int(suffix[1:]))  # e / E exponent
    except (ArithmeticError, ValueError) as exc:  # decimal's Overflow (1e999999999) is an ArithmeticError too
        raise ValueError(f"{text!r} is not a Kubernetes quantity") from exc


def normalise(value: str | int | float) -> str:
    """A quantity as the string Kubernetes stores (`2` for 2, `0.5` for 0.5)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a Kubernetes quantity")
    if isinstance(value, float):
        value = int(value) if value.is_integer() else value
    return str(value)
