"""What a TauApplication tells its user: status fields and its condition from observed state."""

from __future__ import annotations

from function.api.application import TauApplicationStatus
from function.api.postgres import DatabaseStatus
from function.application.plan import ApplicationPlan
from function.keys import DEPLOYMENT
from function.observed import Observed, as_int
from function.outcome import Condition, waiting

APPLICATION_READY = "ApplicationReady"


def replicas(observed: Observed) -> tuple[int, int] | None:
    """(available, desired) replicas of the live Deployment, or None before it exists.

    Reads the two numbers only: converting the whole live Deployment was a
    seventh of an uncached call (docs/PERFORMANCE.md). Kubernetes omits a zero
    count, and a Deployment's replicas default to one.
    """
    if not observed.has_live(DEPLOYMENT):
        return None
    available = as_int(observed.live_at(DEPLOYMENT, "status", "availableReplicas"))
    desired = as_int(observed.live_at(DEPLOYMENT, "spec", "replicas"))
    return (0 if available is None else available, 1 if desired is None else desired)


def application_condition(plan: ApplicationPlan, observed: Observed, awaited: list[str]) -> Condition:
    """ApplicationReady: the Deployment is available and its Service and Ingress exist."""
    if awaited:
        return waiting(APPLICATION_READY, awaited)
    counts = replicas(observed)
    message = f"Deployment {plan.name} is available"
    if counts:
        message += f" ({counts[0]} of {counts[1]} replicas)"
    if plan.url:
        message += f"; served at {plan.url}"
    return Condition(type=APPLICATION_READY, status=True, reason="Available", message=message)


def application_status(plan: ApplicationPlan, observed: Observed, database: dict | None) -> dict:
    """The status fields of a TauApplication (SPEC §3); `database` is its database's status, if it has one."""
    counts = replicas(observed)
    out = TauApplicationStatus(
        availableReplicas=counts[0] if counts else None,
        url=plan.url,
        database=DatabaseStatus.model_validate(database) if database is not None else None,
    )
    return out.model_dump(exclude_none=True)
