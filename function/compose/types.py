"""The values composition passes around: who a claim is and what it becomes."""

from __future__ import annotations

import dataclasses

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

CLAIM_NAME_LABEL = "crossplane.io/claim-name"
CLAIM_NAMESPACE_LABEL = "crossplane.io/claim-namespace"


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
        return cls(name=name, namespace=spec_namespace or "default", claimed=False)


@dataclasses.dataclass
class Composed:
    """One desired composed resource: its stable key, body and readiness."""

    key: str
    body: dict
    ready: bool


@dataclasses.dataclass(frozen=True)
class Requirement:
    """A resource the function asks Crossplane to fetch (a required / extra resource)."""

    name: str
    api_version: str
    kind: str
    match_name: str
    namespace: str | None = None  # None for a cluster-scoped resource (a CRD)

    def selector(self) -> fnv1.ResourceSelector:
        """The selector, as both Crossplane 1.20 and 2.x read it."""
        selector = fnv1.ResourceSelector(api_version=self.api_version, kind=self.kind, match_name=self.match_name)
        if self.namespace is not None:
            selector.namespace = self.namespace
        return selector


@dataclasses.dataclass(frozen=True)
class Condition:
    """A condition on the composite and its claim."""

    type: str
    status: bool
    reason: str
    message: str


def waiting(condition_type: str, parts: list[str]) -> Condition:
    """A condition that says, in words, what a composite waits for (the composer cuts long messages)."""
    return Condition(condition_type, False, "Waiting", "waiting for " + "; ".join(parts))


@dataclasses.dataclass
class Outcome:
    """Everything one reconcile of a composite decided."""

    resources: list[Composed] = dataclasses.field(default_factory=list)
    status: dict = dataclasses.field(default_factory=dict)
    conditions: list[Condition] = dataclasses.field(default_factory=list)
    requirements: list[Requirement] = dataclasses.field(default_factory=list)
    # What the composite waits for, in words a user understands.
    waiting: list[str] = dataclasses.field(default_factory=list)

    def add(self, key: str, body: dict, ready: bool) -> None:
        """Add a desired composed resource."""
        self.resources.append(Composed(key, body, ready))

    @property
    def ready(self) -> bool:
        """Ready when nothing is awaited and every composed resource is ready."""
        return not self.waiting and all(r.ready for r in self.resources)
