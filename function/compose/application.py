"""What a TauApplication becomes: a Deployment, a Service and an Ingress, and its own database.

Service and Ingress exist where `port` and `ingress` ask for them; the
database when `database.enabled`.

The database is composed by the very code that composes a PostgresDatabase
(`compose_database`), with the same identity (the claim's name and
namespace), so it gets the same resources, names and keys as a
PostgresDatabase of the same name would. Its credentials reach the container
as `secretKeyRef` environment variables; a variable the user sets wins.

Gating: the Deployment waits for the credentials Secret, so no pod starts
without its configuration. Once the Deployment exists it is emitted on every
call (a resource missing from the desired state is deleted by Crossplane);
while the Secret is not ready it is re-emitted exactly as composed before.
The Service and the Ingress are stateless: they go when `port` / `ingress`
go. A database is never removed by switching it off: that is refused.
"""

from __future__ import annotations

import dataclasses

from function import names, objects, quantity, status
from function.api.application import TauApplicationSpec, TauApplicationStatus
from function.api.platform import PlatformDefaults
from function.api.postgres import DatabaseStatus
from function.compose import types
from function.compose.plan import CLUSTER, CREDENTIALS, DATABASE_KEYS, DatabasePlan
from function.compose.postgres import compose_database
from function.compose.spec import parse_spec
from function.compose.types import Condition, Identity, Outcome
from function.errors import Problem, SpecError, show
from function.observed import Observed, dig

# Keys of the application's composed resources; the database's are plan.DATABASE_KEYS.
DEPLOYMENT = "application-deployment"
SERVICE = "application-service"
INGRESS = "application-ingress"
APPLICATION_KEYS = (DEPLOYMENT, SERVICE, INGRESS)

APPLICATION_READY = "ApplicationReady"
PORT_NAME = "http"
SERVICE_PORT = 80
CLUSTER_ISSUER_ANNOTATION = "cert-manager.io/cluster-issuer"
# The credentials Secret keys every container gets (the Pulumi plan's
# getDatabaseEnvironmentVariables), in this order.
INJECTED_VARIABLES = ("DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
_FIELD = "spec.database"


@dataclasses.dataclass(frozen=True)
class ApplicationPlan:
    """A TauApplication with every value resolved."""

    name: str
    namespace: str
    spec: TauApplicationSpec
    # The credentials Secret to inject, when the application has a database.
    secret: str | None

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


# Checks that need more than the claim's spec: its name, what exists, two fields together.


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
            f"{_FIELD}.enabled",
            f"is false, but the application's database exists ({what}); a database is never removed by "
            "switching it off: set enabled: true again, or delete the claim (with deletionPolicy Retain the "
            "data and backups stay)",
        )
    ]


def _problems(spec: TauApplicationSpec, identity: Identity, observed: Observed) -> list[Problem]:
    problems = _name_problems(identity, spec)
    if identity.claimed and spec.namespace is not None and spec.namespace != identity.namespace:
        problems.append(
            Problem(
                "spec.namespace",
                f"{show(spec.namespace)} differs from the claim's namespace {show(identity.namespace)}; "
                "a claim's resources always go to its own namespace",
            )
        )
    if spec.ingress is not None and spec.port is None:
        problems.append(
            Problem(
                "spec.ingress",
                "needs spec.port: the Ingress routes to the application's Service, and only port creates one",
            )
        )
    database = spec.database
    size, explicit = database.storageSize, database.instance.storage.size
    if database.enabled and size and explicit and quantity.parse(size) != quantity.parse(explicit):
        problems.append(
            Problem(
                f"{_FIELD}.storageSize",
                f"{show(size)} differs from {_FIELD}.instance.storage.size {show(explicit)}; set only one of them",
            )
        )
    problems.extend(_database_switched_off(spec, observed))
    return problems


def _as_application_field(problem: Problem, spec: TauApplicationSpec) -> Problem:
    """A database problem, under the field name a TauApplication uses for it."""
    renames = {f"{_FIELD}.databaseName": f"{_FIELD}.name"}
    if spec.database.storageSize is not None:
        renames[f"{_FIELD}.instance.storage.size"] = f"{_FIELD}.storageSize"
    field = renames.get(problem.field, problem.field)
    return problem if field == problem.field else Problem(field, problem.message)


# Manifests: pure functions of the plan.


def environment(plan: ApplicationPlan) -> list[dict]:
    """The container's environment: the injected database variables, then the user's.

    A user's variable replaces the injected one of the same name (it is not
    listed twice). The user's come last, in their order, so their values can
    refer to the injected ones with $(DB_HOST).
    """
    own = {var.name for var in plan.spec.env}
    injected = (
        [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": plan.secret, "key": key}}}
            for key in INJECTED_VARIABLES
            if key not in own
        ]
        if plan.secret
        else []
    )
    return injected + [{"name": var.name, "value": var.value} for var in plan.spec.env]


def container(plan: ApplicationPlan) -> dict:
    """The application's one container, named after the claim.

    It may not gain privileges (setuid binaries, no_new_privs); the user the
    image runs as is kept, so images that start as root still work.
    """
    spec = plan.spec
    out: dict = {"name": plan.name, "image": spec.image}
    if spec.command:
        out["command"] = list(spec.command)
    if spec.args:
        out["args"] = list(spec.args)
    env = environment(plan)
    if env:
        out["env"] = env
    if spec.port is not None:
        out["ports"] = [{"name": PORT_NAME, "containerPort": spec.port, "protocol": "TCP"}]
    resources = spec.resources.manifest() if spec.resources else {}
    if resources:
        out["resources"] = resources
    out["securityContext"] = {"allowPrivilegeEscalation": False}
    return out


def deployment_manifest(plan: ApplicationPlan) -> dict:
    """The Deployment.

    Service links are off: Kubernetes would otherwise add variables such as
    POSTGRES_EXAMPLE_PORT=tcp://... for every Service in the namespace, which
    clash with application settings. The API token is not mounted: the
    application gets no Kubernetes API permissions anyway.
    """
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": plan.name, "namespace": plan.namespace, "labels": plan.labels},
        "spec": {
            "replicas": plan.spec.replicas,
            "selector": {"matchLabels": plan.selector},
            "template": {
                "metadata": {"labels": plan.labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container(plan)],
                },
            },
        },
    }


def service_manifest(plan: ApplicationPlan) -> dict:
    """The Service: http://<name>.<namespace>.svc (port 80) reaches the application's port."""
    assert plan.spec.port is not None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": plan.name, "namespace": plan.namespace, "labels": plan.labels},
        "spec": {
            "type": "ClusterIP",
            "selector": plan.selector,
            "ports": [{"name": PORT_NAME, "port": SERVICE_PORT, "targetPort": plan.spec.port, "protocol": "TCP"}],
        },
    }


def ingress_manifest(plan: ApplicationPlan) -> dict:
    """The Ingress; with TLS, cert-manager's ingress-shim issues the certificate from the ClusterIssuer."""
    ingress = plan.spec.ingress
    assert ingress is not None
    metadata: dict = {"name": plan.name, "namespace": plan.namespace, "labels": plan.labels}
    spec: dict = {}
    if ingress.className:
        spec["ingressClassName"] = ingress.className
    if ingress.tls:
        metadata["annotations"] = {CLUSTER_ISSUER_ANNOTATION: ingress.tls.clusterIssuer}
        spec["tls"] = [{"hosts": [ingress.host], "secretName": plan.tls_secret}]
    backend = {"service": {"name": plan.name, "port": {"name": PORT_NAME}}}
    spec["rules"] = [
        {"host": ingress.host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}
    ]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}


# Composition: gating, readiness, status.


def _count(value: object, default: int) -> int:
    # Kubernetes omits a zero count; protobuf Structs carry numbers as floats.
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else default


def _replicas(observed: Observed) -> tuple[int, int] | None:
    """(available, desired) replicas of the live Deployment, or None before it exists.

    Reads the two numbers only: converting the whole live Deployment was a
    seventh of an uncached call (docs/PERFORMANCE.md).
    """
    if not observed.has_live(DEPLOYMENT):
        return None
    available = observed.live_at(DEPLOYMENT, "status", "availableReplicas")
    return _count(available, 0), _count(observed.live_at(DEPLOYMENT, "spec", "replicas"), 1)


class ApplicationComposer:
    """Composes the application's resources into an Outcome, and says what they wait for."""

    def __init__(self, plan: ApplicationPlan, observed: Observed, outcome: Outcome):
        self.plan = plan
        self.observed = observed
        self.outcome = outcome
        self.waiting: list[str] = []

    def _add(self, key: str, manifest: dict, readiness: objects.Readiness) -> None:
        # Stateless resources: deleting the claim deletes them.
        body = objects.wrap(manifest, readiness=readiness, deletion_policy="Delete")
        self.outcome.add(key, body, self.observed.is_ready(key))

    def compose(self) -> None:
        """The Deployment (gated on the credentials), then the Service and the Ingress."""
        self._deployment()
        if self.plan.spec.port is not None:
            self._add(SERVICE, service_manifest(self.plan), objects.CREATED)
            if not self.observed.is_ready(SERVICE):
                self.waiting.append(f"Service {self.plan.name} to be created")
        if self.plan.spec.ingress is not None:
            self._add(INGRESS, ingress_manifest(self.plan), objects.CREATED)
            if not self.observed.is_ready(INGRESS):
                self.waiting.append(f"Ingress {self.plan.name} to be created")
        self.outcome.waiting.extend(self.waiting)

    def _deployment(self) -> None:
        plan, observed = self.plan, self.observed
        if plan.secret is not None and not observed.is_ready(CREDENTIALS):
            self.waiting.append(f"credentials Secret {plan.secret} to be created before the Deployment starts")
            if observed.has(DEPLOYMENT):
                # Exists already: keep it exactly as it was until its configuration exists.
                before = observed.manifest(DEPLOYMENT) or deployment_manifest(plan)
                self._add(DEPLOYMENT, before, objects.DEPLOYMENT_AVAILABLE)
            return
        self._add(DEPLOYMENT, deployment_manifest(plan), objects.DEPLOYMENT_AVAILABLE)
        if not observed.is_ready(DEPLOYMENT):
            replicas = _replicas(observed)
            detail = f" ({replicas[0]} of {replicas[1]} replicas available)" if replicas else ""
            self.waiting.append(f"Deployment {plan.name} to become available{detail}")


def application_condition(plan: ApplicationPlan, observed: Observed, waiting: list[str]) -> Condition:
    """ApplicationReady: the Deployment is available and its Service and Ingress exist."""
    if waiting:
        return types.waiting(APPLICATION_READY, waiting)
    replicas = _replicas(observed)
    message = f"Deployment {plan.name} is available"
    if replicas:
        message += f" ({replicas[0]} of {replicas[1]} replicas)"
    if plan.url:
        message += f"; served at {plan.url}"
    return Condition(APPLICATION_READY, True, "Available", message)


def application_status(plan: ApplicationPlan, observed: Observed, database: dict | None) -> dict:
    """The status fields of a TauApplication (SPEC §3)."""
    replicas = _replicas(observed)
    out = TauApplicationStatus(
        availableReplicas=replicas[0] if replicas else None,
        url=plan.url,
        database=DatabaseStatus.model_validate(database) if database is not None else None,
    )
    return out.model_dump(exclude_none=True)


def _compose_database(
    spec: TauApplicationSpec, identity: Identity, platform: PlatformDefaults, observed: Observed
) -> tuple[DatabasePlan, Outcome]:
    """The database, composed exactly as a PostgresDatabase with the claim's name, in its own Outcome."""
    outcome = Outcome()
    try:
        plan = compose_database(spec.database.postgres_spec(), identity, platform, observed, outcome, _FIELD)
    except SpecError as err:
        raise SpecError([_as_application_field(p, spec) for p in err.problems]) from None
    return plan, outcome


def compose_tau_application(observed: Observed, platform: PlatformDefaults) -> Outcome:
    """An XTauApplication (and its TauApplication claim)."""
    spec = parse_spec(TauApplicationSpec, observed.composite)
    identity = Identity.of(observed.composite, spec.namespace)
    problems = _problems(spec, identity, observed)
    database: tuple[DatabasePlan, Outcome] | None = None
    if spec.database.enabled:
        try:
            database = _compose_database(spec, identity, platform, observed)
        except SpecError as err:
            problems.extend(err.problems)
    if problems:
        raise SpecError(problems)

    outcome = Outcome()
    conditions: list[Condition] = []
    database_fields = None
    if database is not None:
        db_plan, db_outcome = database
        outcome.resources.extend(db_outcome.resources)
        outcome.requirements.extend(db_outcome.requirements)
        outcome.waiting.extend(db_outcome.waiting)
        # Status and conditions from the database's own outcome: exactly a PostgresDatabase's.
        database_fields = status.database_status(db_plan, observed, db_outcome)
        conditions = status.database_conditions(db_plan, observed, db_outcome)

    plan = ApplicationPlan(
        name=identity.name,
        namespace=identity.namespace,
        spec=spec,
        secret=database[0].secret if database is not None else None,
    )
    composer = ApplicationComposer(plan, observed, outcome)
    composer.compose()
    outcome.status = application_status(plan, observed, database_fields)
    outcome.conditions = [application_condition(plan, observed, composer.waiting), *conditions]
    return outcome
