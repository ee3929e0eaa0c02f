"""Resolve a TauApplication spec into a plan, and the checks that need more than the spec.

The claim's name, what exists already, two fields together: these are judged
here; what the spec alone can tell is judged by the model
(`function.api.application`).
"""

from __future__ import annotations

import dataclasses

from function import names, quantity
from function.api.application import TauApplicationSpec
from function.errors import Problem, show
from function.inputs import Identity
from function.keys import CLUSTER, CREDENTIALS, DATABASE_KEYS
from function.observed import Observed, dig

# Where the database's fields live in a TauApplication.
DATABASE_FIELD = "spec.database"


@dataclasses.dataclass(frozen=True)
class ApplicationPlan:
    """A TauApplication with every value resolved."""

    name: str
    namespace: str
    spec: TauApplicationSpec
    # The credentials Secret to inject, when the application has a database.
    secret: str | None
    # The database is filled from a logical dump (restore.dump): the Deployment waits for the restore Job.
    restore_job: str | None = None
    # The database is on an instance with a pooler: DATABASE_POOLER_URL is injected too.
    pooler: bool = False

    @property
    def selector(self) -> dict[str, str]:
        """The labels that pick the application's pods (immutable once the Deployment exists)."""
        return {"app.kubernetes.io/name": self.name, "app.kubernetes.io/instance": self.name}

    @property
    def labels(self) -> dict[str, str]:
        """The app.kubernetes.io labels of every application resource."""
        return {
            **self.selector,
            "app.kubernetes.io/component": "application",
            "app.kubernetes.io/part-of": self.name,
            "app.kubernetes.io/managed-by": "function-tau",
        }

    @property
    def tls_secret(self) -> str | None:
        """The Secret cert-manager writes the certificate to, when TLS is on."""
        tls = self.spec.ingress.tls if self.spec.ingress else None
        return (tls.secretName or f"{self.name}-tls") if tls else None

    @property
    def url(self) -> str | None:
        """Where the ingress serves the application."""
        ingress = self.spec.ingress
        if ingress is None:
            return None
        return f"{'https' if ingress.tls else 'http'}://{ingress.host}"


def _name_problems(identity: Identity, spec: TauApplicationSpec) -> list[Problem]:
    """The claim's name names the Deployment, its container, its labels and the Service."""
    problem = names.dns1123_label_problem(identity.name)
    if problem:
        return [Problem("metadata.name", f"{problem}; the Deployment, its container and its labels are named after it")]
    if spec.port is not None and not names.DNS1035_LABEL.match(identity.name):
        return [
            Problem(
                "metadata.name",
                f"{show(identity.name)} does not start with a letter, so it cannot name the application's "
                "Service (a DNS-1035 label); rename the claim or remove spec.port",
            )
        ]
    return []


def _database_switched_off(spec: TauApplicationSpec, observed: Observed) -> list[Problem]:
    """Switching a database off would delete it (or orphan it): refuse, say what to do instead."""
    existing = [key for key in DATABASE_KEYS if observed.has(key)]
    if spec.database.enabled or not existing:
        return []
    cluster = dig(observed.manifest(CLUSTER), "metadata", "name")
    secret = dig(observed.manifest(CREDENTIALS), "metadata", "name")
    what = f"CNPG Cluster {cluster}" if cluster else f"credentials Secret {secret}" if secret else "its resources"
    return [
        Problem(
            f"{DATABASE_FIELD}.enabled",
            f"is false, but the application's database exists ({what}); a database is never removed by "
            "switching it off: set enabled: true again, or delete the claim (with deletionPolicy Retain the "
            "data and backups stay)",
        )
    ]


def problems(spec: TauApplicationSpec, identity: Identity, observed: Observed) -> list[Problem]:
    """Everything wrong with the application that its model cannot tell alone (its database aside)."""
    found = _name_problems(identity, spec) + identity.namespace_problems(spec.namespace, "spec.namespace")
    if spec.ingress is not None and spec.port is None:
        found.append(
            Problem(
                "spec.ingress",
                "needs spec.port: the Ingress routes to the application's Service, and only port creates one",
            )
        )
    database = spec.database
    size, explicit = database.storageSize, database.instance.storage.size
    if database.enabled and size and explicit and quantity.parse(size) != quantity.parse(explicit):
        found.append(
            Problem(
                f"{DATABASE_FIELD}.storageSize",
                f"{show(size)} differs from {DATABASE_FIELD}.instance.storage.size {show(explicit)}; "
                "set only one of them",
            )
        )
    found.extend(_database_switched_off(spec, observed))
    return found


def as_application_field(problem: Problem, spec: TauApplicationSpec) -> Problem:
    """A database problem, under the field name a TauApplication uses for it."""
    renames = {f"{DATABASE_FIELD}.databaseName": f"{DATABASE_FIELD}.name"}
    if spec.database.storageSize is not None:
        renames[f"{DATABASE_FIELD}.instance.storage.size"] = f"{DATABASE_FIELD}.storageSize"
    field = renames.get(problem.field, problem.field)
    return problem if field == problem.field else Problem(field, problem.message)
