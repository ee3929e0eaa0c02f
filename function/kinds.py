"""The registry of the kinds function-tau composes: one entry per kind, read by everything that lists kinds.

The dispatcher (`function.dispatch`) picks the composer by composite kind;
the generator (`function.generate`) writes each kind's XRD and Composition;
the simulator (`function.simulate`) turns claims into composites; the tests
and the docs check every kind listed here.
"""

from __future__ import annotations

import dataclasses

from function import shapes
from function.api import definitions
from function.api.definitions import CompositeDefinition
from function.application.composer import ApplicationComposer
from function.application.status import APPLICATION_READY
from function.instance.composer import InstanceComposer
from function.instance.status import INSTANCE_READY
from function.operator.composer import OperatorComposer
from function.operator.status import OPERATOR_READY
from function.outcome import Composer
from function.postgres.composer import DatabaseComposer
from function.postgres.status import DATABASE_READY
from function.shapes import Shape


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind: its definition (names, schemas), the condition that carries a refusal, and its composer."""

    definition: CompositeDefinition
    condition_type: str
    composer: type[Composer]

    @property
    def composite_kind(self) -> str:
        """The composite's kind (XPostgresDatabase)."""
        return self.definition.kind

    @property
    def claim_kind(self) -> str | None:
        """The claim's kind (PostgresDatabase), None for a kind without claims."""
        return self.definition.claim_kind


KINDS: tuple[Kind, ...] = (
    Kind(definitions.POSTGRES_DATABASE, DATABASE_READY, DatabaseComposer),
    Kind(definitions.TAU_APPLICATION, APPLICATION_READY, ApplicationComposer),
    Kind(definitions.CNPG_OPERATOR, OPERATOR_READY, OperatorComposer),
    Kind(definitions.POSTGRES_INSTANCE, INSTANCE_READY, InstanceComposer),
)


def by_composite_kind(kind: object) -> Kind | None:
    """The kind whose composites have this `kind`, if function-tau composes it."""
    return next((k for k in KINDS if k.composite_kind == kind), None)


def of_composite(api_version: object, kind: object) -> tuple[Kind, Shape] | None:
    """The kind of a composite and how it is served: by its group, a Crossplane 2 composite or a claim's.

    The same kind name (CNPGOperator) can exist in both groups; only a
    composite of the Crossplane 2 group (definitions.V2_GROUP) is served the
    Crossplane 2 way, anything else by its kind, as a claim's composite.
    """
    if shapes.is_modern(api_version):
        entry = next((k for k in KINDS if k.definition.v2_kind == kind), None)
        return None if entry is None else (entry, Shape(entry.definition.v2_scope))
    entry = by_composite_kind(kind)
    return None if entry is None else (entry, Shape.CLAIM)


def of_document(kind: object) -> tuple[Kind, bool] | None:
    """The kind of a claim or composite document, and whether it is a claim."""
    for entry in KINDS:
        if kind == entry.claim_kind:
            return entry, True
        if kind == entry.composite_kind:
            return entry, False
    return None
