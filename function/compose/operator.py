"""What a CNPGOperator becomes. (Stub: issue #4.)"""

from __future__ import annotations

from function.api.platform import PlatformDefaults
from function.compose.types import Outcome
from function.errors import SpecError
from function.observed import Observed


def compose_cnpg_operator(observed: Observed, platform: PlatformDefaults) -> Outcome:
    """An XCNPGOperator."""
    raise SpecError.one("spec", "CNPGOperator is not implemented yet")
