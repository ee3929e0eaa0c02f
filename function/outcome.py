"""What one reconcile of a composite decides, and the one way every kind's composer emits into it.

A composer (one per kind) adds each composed resource with `emit`: the
resource, whether it is ready (as observed), and, when it is not, what the
composite waits for, in words a user understands. A composite composed inside
another (a TauApplication's database) is composed into its own Outcome and
then merged (`Outcome.merge`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import objects
from function.api.platform import PlatformDefaults
from function.observed import Observed


@dataclasses.dataclass
class Composed:
    """One desired composed resource: its stable key, body and readiness."""

    key: str
    body: dict
    ready: bool


@dataclasses.dataclass(frozen=True)
class Requirement:
    """A resource the function asks Crossplane to fetch (a required / extra resource): one object.

    Crossplane 2.x fetches it by name in its namespace (`selector`, sent in
    `requirements.resources`). Crossplane 1.20 reads only
    `requirements.extra_resources`, and its selector has no namespace: by name
    it gets a namespaced object as if it were cluster-scoped (a Secret fails
    the whole pipeline, anything else comes back empty), by labels it lists
    across every namespace (crossplane v1.20.11 internal/controller/
    apiextensions/composite/extra_resources.go). So a namespaced object is
    asked of 1.20 by `labels` that pick it out (`legacy_selector`), and
    `Observed.required` keeps only the object of this namespace and name.
    """

    name: str
    api_version: str
    kind: str
    match_name: str | None  # None: every object with `labels` (in the namespace, for a namespaced kind)
    namespace: str | None = None  # None for a cluster-scoped resource (a CRD)
    # Labels that only this object carries (the 1.20 selector); required for a namespaced object.
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if (self.namespace is not None or self.match_name is None) and not self.labels:
            # An empty label selector would have 1.20 list every object of the kind in the cluster.
            raise ValueError(f"requirement {self.name}: a namespaced object or a list needs labels")

    def selector(self) -> fnv1.ResourceSelector:
        """The selector Crossplane 2.x reads (`requirements.resources`): by name (or by labels), in the namespace."""
        if self.match_name is None:
            selector = fnv1.ResourceSelector(
                api_version=self.api_version, kind=self.kind, match_labels=fnv1.MatchLabels(labels=dict(self.labels))
            )
        else:
            selector = fnv1.ResourceSelector(api_version=self.api_version, kind=self.kind, match_name=self.match_name)
        if self.namespace is not None:
            selector.namespace = self.namespace
        return selector

    def ask(self, observed: Observed) -> list[dict] | None:
        """Note this requirement in `observed` (what `Observed.required` then reads) and return its answer so far."""
        observed.ask(self.name, self.match_name, self.namespace, self.labels)
        return observed.required(self.name)

    def legacy_selector(self) -> fnv1.ResourceSelector:
        """The selector Crossplane 1.20 reads (`requirements.extra_resources`).

        By name for a cluster-scoped object (1.20 gets those right); by labels
        for a namespaced one, with the namespace, which 2.x honours (it answers
        both fields) and 1.20 does not know.
        """
        if self.namespace is None or self.match_name is None:
            return self.selector()
        return fnv1.ResourceSelector(
            api_version=self.api_version,
            kind=self.kind,
            match_labels=fnv1.MatchLabels(labels=dict(self.labels)),
            namespace=self.namespace,
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Condition:
    """A condition on the composite and its claim."""

    type: str
    status: bool
    reason: str
    message: str


def waiting(condition_type: str, parts: list[str]) -> Condition:
    """A condition that says, in words, what a composite waits for (the dispatcher cuts long messages)."""
    return Condition(type=condition_type, status=False, reason="Waiting", message="waiting for " + "; ".join(parts))


@dataclasses.dataclass
class Outcome:
    """Everything one reconcile of a composite decided."""

    resources: list[Composed] = dataclasses.field(default_factory=list)
    status: dict = dataclasses.field(default_factory=dict)
    conditions: list[Condition] = dataclasses.field(default_factory=list)
    requirements: list[Requirement] = dataclasses.field(default_factory=list)
    # What the composite waits for, in words a user understands.
    waiting: list[str] = dataclasses.field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Ready when nothing is awaited and every composed resource is ready."""
        return not self.waiting and all(r.ready for r in self.resources)

    def merge(self, part: Outcome) -> None:
        """Take in the outcome of a part composed on its own: its resources, requirements, waits and conditions.

        The part's status is not merged: where it goes in this composite's
        status is for this composite's kind to say.
        """
        self.resources.extend(part.resources)
        self.requirements.extend(part.requirements)
        self.waiting.extend(part.waiting)
        self.conditions.extend(part.conditions)


Waiting = str | Callable[[], str] | None


def _applied(manifest: dict) -> str:
    """What the composite waits for when a resource without a waiting message cannot be applied."""
    name = (manifest.get("metadata") or {}).get("name")
    return f"{manifest.get('kind', 'resource')} {name} to be applied"


class Composer:
    """The base of every kind's composer: emits composed resources into one Outcome."""

    def __init__(self, observed: Observed, deletion_policy: objects.DeletionPolicy) -> None:
        self.observed = observed
        self.outcome = Outcome()
        # What deleting the composite does to the resources wrapped in Objects.
        self.deletion_policy: objects.DeletionPolicy = deletion_policy

    @classmethod
    def compose(cls, observed: Observed, platform: PlatformDefaults) -> Outcome:
        """Compose a composite of this composer's kind: parse, plan, emit, status.

        Raises:
            SpecError: the composite cannot be composed as written.
        """
        raise NotImplementedError

    def emit(
        self,
        key: str,
        manifest: dict,
        readiness: objects.Readiness | None,
        *,
        waiting: Waiting = None,
        deletion_policy: objects.DeletionPolicy | None = None,
    ) -> bool:
        """Add a composed resource; returns whether it is ready.

        With a readiness policy the manifest is wrapped in a provider-kubernetes
        Object; without one it is a managed resource itself (a Helm Release).
        While it is not ready, `waiting` (or what it returns: a message that
        reads the observed state is only built when needed) says what the
        composite waits for. `deletion_policy` overrides the composer's for this one Object.
        """
        policy = deletion_policy or self.deletion_policy
        body = manifest if readiness is None else objects.wrap(manifest, readiness=readiness, deletion_policy=policy)
        ready = self.observed.is_ready(key)
        self.outcome.resources.append(Composed(key, body, ready))
        if not ready:
            # What the provider said when it could not apply it (a missing CRD, a webhook's refusal).
            failure = self.observed.sync_failure(key)
            if waiting is not None or failure is not None:
                text = waiting if isinstance(waiting, str) else waiting() if waiting else _applied(manifest)
                if failure is not None:
                    text += f" (not synced: {objects.failure_note(failure, manifest)})"
                self.wait(text)
        return ready

    def keep(self, key: str, readiness: objects.Readiness) -> None:
        """Emit a resource exactly as composed before, if it was (it can no longer be rebuilt)."""
        manifest = self.observed.manifest(key)
        if manifest is not None:
            self.emit(key, manifest, readiness)

    def wait(self, what: str) -> None:
        """Record something the composite waits for."""
        self.outcome.waiting.append(what)

    def require(self, *requirements: Requirement | None) -> None:
        """Ask Crossplane for resources (None: nothing to ask for); `Observed.required` reads the answers."""
        for requirement in requirements:
            if requirement is not None:
                self.outcome.requirements.append(requirement)
                requirement.ask(self.observed)
