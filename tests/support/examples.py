"""The examples under examples/: a claim, and optionally the platform input and
the resources Crossplane would fetch for it (required.yaml)."""

from __future__ import annotations

import copy
import dataclasses
import pathlib

import yaml

from function import kinds
from function.api import definitions
from tests.support.paths import APIS, EXAMPLES


@dataclasses.dataclass(frozen=True)
class Example:
    """One example directory."""

    name: str
    directory: pathlib.Path

    @property
    def claim(self) -> dict:
        """The claim (or composite) to render."""
        (doc,) = [d for d in yaml.safe_load_all((self.directory / "claim.yaml").read_text()) if d]
        return doc

    @property
    def required(self) -> list[dict]:
        """Resources the function may ask for."""
        path = self.directory / "required.yaml"
        return [d for d in yaml.safe_load_all(path.read_text()) if d] if path.exists() else []

    @property
    def function_input(self) -> dict | None:
        """The platform input the example needs, if not the Composition's defaults."""
        path = self.directory / "input.yaml"
        return yaml.safe_load(path.read_text()) if path.exists() else None

    @property
    def definition(self) -> definitions.CompositeDefinition:
        """The composite type of the example."""
        kind = self.claim["kind"]
        return next(k.definition for k in kinds.KINDS if kind in (k.composite_kind, k.claim_kind))

    def composition(self) -> dict:
        """The Composition as shipped, with the example's input when it has one."""
        composition = yaml.safe_load((APIS / self.definition.directory / "composition.yaml").read_text())
        if self.function_input is not None:
            composition = copy.deepcopy(composition)
            composition["spec"]["pipeline"][0]["input"] = self.function_input
        return composition


def all_examples() -> list[Example]:
    """Every example with a claim.yaml."""
    return [Example(p.parent.name, p.parent) for p in sorted(EXAMPLES.glob("*/claim.yaml"))]
