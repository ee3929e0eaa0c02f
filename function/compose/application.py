"""What a TauApplication becomes. (Stub: issue #3.)"""

from __future__ import annotations

from function.api.platform import PlatformDefaults
from function.compose.types import Outcome
from function.errors import SpecError
from function.observed import Observed


def compose_tau_application(observed: Observed, platform: PlatformDefaults) -> Outcome:
    """An XTauApplication (and its TauApplication claim)."""
    raise SpecError.one("spec", "TauApplication is not implemented yet")
