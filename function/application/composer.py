"""What a TauApplication becomes: a Deployment, a Service and an Ingress, and its own database.

Service and Ingress exist where `port` and `ingress` ask for them; the
database when `database.enabled`.

The database is composed by the very composer that composes a
PostgresDatabase, with the same identity (the claim's name and namespace), so
it gets the same resources, names and keys as a PostgresDatabase of the same
name would; its outcome is merged into the application's.

Gating: the Deployment waits for the credentials Secret, so no pod starts
without its configuration. Once the Deployment exists it is emitted on every
call (a resource missing from the desired state is deleted by Crossplane);
while the Secret is not ready it is re-emitted exactly as composed before.
The Service and the Ingress are stateless: they go when `port` / `ingress`
go. A database is never removed by switching it off: that is refused.
"""

from __future__ import annotations

from function import names, objects
from function.api.application import TauApplicationSpec
from function.api.platform import PlatformDefaults
from function.application import manifests, plan
from function.application.plan import DATABASE_FIELD, ApplicationPlan
from function.application.status import application_condition, application_status, replicas
from function.errors import SpecError
from function.inputs import Identity, parse_spec
from function.keys import CREDENTIALS, DEPLOYMENT, INGRESS, SERVICE
from function.observed import Observed
from function.outcome import Composer, Outcome
from function.postgres import credentials
from function.postgres.composer import InstanceWaitComposer, database_composer
from function.postgres.plan import DatabasePlan
from function.postgres.status import dump_restore_phase


def _restore_job(database: DatabasePlan, observed: Observed) -> str | None:
    """The restore Job (restore.dump) the Deployment waits for, while the database is not restored yet."""
    if dump_restore_phase(database, observed) in {"Pending", "Restoring", "Failed"}:
        return names.dump_restore_name(database.dump_stem)
    return None


def _database(
    spec: TauApplicationSpec, identity: Identity, platform: PlatformDefaults, observed: Observed
) -> tuple[DatabasePlan | None, str, Outcome]:
    """The database, composed exactly as a PostgresDatabase with the claim's name, in its own Outcome.

    Returns its plan (None while the PostgresInstance it names is not found), its credentials Secret
    and its outcome.
    """
    try:
        composer = database_composer(spec.database.postgres_spec(), identity, platform, observed, DATABASE_FIELD)
        outcome = composer.run()
    except SpecError as err:
        raise SpecError([plan.as_application_field(p, spec) for p in err.problems]) from None
    if isinstance(composer, InstanceWaitComposer):
        if composer.asking:
            # The database asks before it refuses (shared.AskFirst): so does the application.
            raise _AskFirst(outcome)
        return None, composer.secret, outcome
    return composer.plan, composer.plan.secret, outcome


class _AskFirst(Exception):  # noqa: N818 - not an error: the database asks before it refuses
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("ask first")
        self.outcome = outcome


class ApplicationComposer(Composer):
    """Composes the application's resources, and says what they wait for."""

    def __init__(self, app: ApplicationPlan, observed: Observed) -> None:
        # Stateless resources: deleting the claim deletes them.
        super().__init__(observed, "Delete")
        self.app = app

    @classmethod
    def compose(cls, observed: Observed, platform: PlatformDefaults) -> Outcome:
        """An XTauApplication (and its TauApplication claim)."""
        spec = parse_spec(TauApplicationSpec, observed.composite)
        identity = Identity.of(observed.composite, spec.namespace)
        problems = plan.problems(spec, identity, observed)
        database: tuple[DatabasePlan | None, str, Outcome] | None = None
        if spec.database.enabled:
            try:
                database = _database(spec, identity, platform, observed)
            except SpecError as err:
                problems.extend(err.problems)
            except _AskFirst as ask:
                # Every problem, the database's included, is reported on the next call, once answered.
                return ask.outcome
        if problems:
            raise SpecError(problems)
        db_plan = database[0] if database is not None else None
        app = ApplicationPlan(
            name=identity.name,
            namespace=identity.namespace,
            spec=spec,
            secret=database[1] if database is not None else None,
            restore_job=_restore_job(db_plan, observed) if db_plan is not None else None,
            pooler=db_plan is not None and db_plan.pooler_host is not None,
        )
        own = cls(app, observed).run()
        # The application's condition first, then its database's (exactly a PostgresDatabase's).
        outcome = Outcome(conditions=[application_condition(app, observed, own.waiting)])
        if database is not None:
            outcome.merge(database[2])
        outcome.merge(own)
        outcome.status = application_status(app, observed, database[2].status if database else None)
        return outcome

    def run(self) -> Outcome:
        """The Deployment (gated on the credentials), then the Service and the Ingress."""
        app = self.app
        self._deployment()
        if (port := app.spec.port) is not None:
            self._created(SERVICE, manifests.service_manifest(app, port))
        if (ingress := app.spec.ingress) is not None:
            self._created(INGRESS, manifests.ingress_manifest(app, ingress))
        return self.outcome

    def _created(self, key: str, manifest: dict) -> None:
        """A resource that is ready once it exists (a Service, an Ingress)."""
        self.emit(key, manifest, objects.CREATED, waiting=f"{manifest['kind']} {self.app.name} to be created")

    def _deployment(self) -> None:
        app, observed = self.app, self.observed
        if app.restore_job is not None and not observed.has(DEPLOYMENT):
            # An application never starts on an empty database that is about to be filled.
            self.wait(f"restore Job {app.restore_job} to complete before the Deployment starts")
            return
        if app.secret is not None and not observed.is_ready(CREDENTIALS):
            self.wait(f"credentials Secret {app.secret} to be created before the Deployment starts")
            if observed.has(DEPLOYMENT):
                # Exists already: keep it exactly as it was until its configuration exists.
                before = observed.manifest(DEPLOYMENT) or manifests.deployment_manifest(app)
                self.emit(DEPLOYMENT, before, objects.DEPLOYMENT_AVAILABLE)
            return

        def available() -> str:
            counts = replicas(observed)
            detail = f" ({counts[0]} of {counts[1]} replicas available)" if counts else ""
            return f"Deployment {app.name} to become available{detail}"

        # After a password rotation, once the API server holds the new Secret, the pods restart to read it.
        rotation = credentials.live_rotation(observed) if app.secret is not None else 0
        pods = {credentials.ROTATION_ANNOTATION: str(rotation)} if rotation else None
        manifest = manifests.deployment_manifest(app, pod_annotations=pods)
        self.emit(DEPLOYMENT, manifest, objects.DEPLOYMENT_AVAILABLE, waiting=available)
