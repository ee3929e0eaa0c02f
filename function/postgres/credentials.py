"""The credentials Secret: generated once, then kept.

The password is drawn once from `secrets` (a CSPRNG) and then never changes by
accident. Each call takes it, in this order, from:
  1. the Secret Object the function composed before (Crossplane always passes
     the observed composed resources back);
  2. the live Secret, fetched as a required resource (adoption of an existing
     Secret, or a claim re-created after a Retain delete);
  3. only when neither exists, a new random password.
The live Secret is adopted only when it carries the label
app.kubernetes.io/managed-by=function-tau (see `foreign_secret`), and keeps
its type (a Secret's type cannot change): kubernetes.io/basic-auth or Opaque,
both of which CNPG reads (see `type_problem`).
The password never leaves this module except inside the Secret manifest.
"""

from __future__ import annotations

import base64
import secrets
import string
from urllib.parse import quote

from function import labels as lookup_labels
from function.errors import SpecError, show
from function.keys import CREDENTIALS, LIVE_SECRET
from function.observed import Observed, decode_secret_value, dig
from function.outcome import Requirement
from function.postgres.plan import PORT, DatabasePlan

PASSWORD_LENGTH = 32
# A Secret the function may adopt carries this label: its own (a claim
# re-created after a Retain delete), or one an admin handed over on purpose.
MANAGED_BY = ("app.kubernetes.io/managed-by", "function-tau")
# Letters and digits only: safe in a URL, a shell and a libpq connection string.
_ALPHABET = string.ascii_letters + string.digits
# A password found in a Secret is used only when it is printable and at most this long.
_MAX_PASSWORD = 1024
BASIC_AUTH = "kubernetes.io/basic-auth"
# The Secret types that can hold the credentials: CNPG reads only the username and
# password keys, whatever the type (cloudnative-pg v1.30.0
# internal/management/utils/secrets.go, GetUserPasswordFromSecret).
ACCEPTED_TYPES = (BASIC_AUTH, "Opaque")
# On the Secret (and a TauApplication's pod template): the rotation its password belongs to
# (spec.credentials.rotation); absent means 0, the first password.
ROTATION_ANNOTATION = "tau.home.arpa/password-rotation"
_MAX_ROTATION_DIGITS = 10


def requirement(plan: DatabasePlan) -> Requirement:
    """Ask Crossplane for the live credentials Secret (adoption, re-created claims).

    Crossplane 1.20 finds it by the labels the function composes it with
    (`labels.credentials_labels`): a list that returns only this claim's Secret.
    """
    selector = lookup_labels.credentials_labels(plan.cluster, plan.namespace)
    return Requirement(LIVE_SECRET, "v1", "Secret", plan.secret, plan.namespace, labels=selector)


def waiting(plan: DatabasePlan, observed: Observed) -> str:
    """What the claim waits for while its credentials Secret is not there yet.

    On Crossplane 1.20 (it answered the look-up the 1.20 way) a Secret of the
    credentials' name that lacks the labels cannot be seen, so it would be
    overwritten, not adopted: until 1.20 finds the Secret (the composed one
    carries the labels), say how to label one brought on purpose.
    """
    message = f"credentials Secret {plan.secret} to be created"
    if not observed.answered_by_1_20(LIVE_SECRET) or observed.required(LIVE_SECRET):
        return message
    command = lookup_labels.kubectl_label(
        "secret", plan.secret, plan.namespace, lookup_labels.credentials_labels(plan.cluster, plan.namespace)
    )
    return (
        f"{message} (on Crossplane 1.20 an existing Secret {plan.secret} is adopted, not replaced, only when "
        f"labelled: {command})"
    )


def _usable(password: str | None) -> str | None:
    """`password` if it can be used as it is, else None."""
    return password if password and password.isprintable() and len(password) <= _MAX_PASSWORD else None


def generate_password() -> str:
    """A new random password: 32 letters and digits, about 190 bits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))


def foreign_secret(observed: Observed) -> dict | None:
    """A live Secret of the credentials' name that the function may not take over, if any.

    Before the function has composed its Secret, a Secret of that name that
    lacks the managed-by label belongs to someone else: adopting it would hand
    its password to the claim's author (a TauApplication injects it into pods
    they control) and, with deletionPolicy Delete, delete it with the claim.
    """
    if observed.has(CREDENTIALS):
        return None
    for live in observed.required(LIVE_SECRET) or ():
        labels = (live.get("metadata") or {}).get("labels") or {}
        if labels.get(MANAGED_BY[0]) != MANAGED_BY[1]:
            return live
    return None


def _live_secret(observed: Observed) -> dict | None:
    """The live Secret of the credentials' name, if it was asked for (`needs_live_secret`) and found."""
    try:
        found = observed.required(LIVE_SECRET)
    except LookupError:  # not asked for: the function reads the Secret it composed
        return None
    return next(iter(found or ()), None)


def _composed_password(observed: Observed) -> str | None:
    """The password of the Secret the function composed before, if usable."""
    return _usable(decode_secret_value((observed.manifest(CREDENTIALS) or {}).get("data"), "password"))


def needs_live_secret(observed: Observed) -> bool:
    """Whether to ask Crossplane for the live Secret: only until the function has composed a Secret of its own.

    Every rule that reads the live Secret (adoption, its owner, its type, its rotation) reads it only
    before that. Asking for nothing afterwards spares a call per reconcile: Crossplane calls a function
    again whenever it states requirements (crossplane v2.2.1 internal/xfn/required_resources.go).
    """
    return _composed_password(observed) is None


def secret_type(observed: Observed) -> str:
    """The Secret's type: as composed before, else the live Secret's (a type cannot change), else basic-auth."""
    composed = (observed.manifest(CREDENTIALS) or {}).get("type")
    if isinstance(composed, str) and composed:
        return composed
    live = _live_secret(observed)
    if live is None:
        return BASIC_AUTH
    typ = live.get("type")
    return typ if isinstance(typ, str) and typ else "Opaque"  # the API server's default


def type_problem(observed: Observed, plan: DatabasePlan) -> str | None:
    """Why the live Secret cannot hold the credentials (its type), with the commands that make one that can."""
    if observed.has(CREDENTIALS):
        return None
    typ = secret_type(observed)
    if typ in ACCEPTED_TYPES:
        return None
    name, ns = plan.secret, plan.namespace
    return (
        f"Secret {show(name)} in namespace {show(ns)} has type {show(typ)}, which cannot change and cannot hold "
        f"the database credentials ({BASIC_AUTH} or Opaque with username and password keys can); replace it: "
        f"kubectl delete secret {name} -n {ns} && kubectl create secret generic {name} -n {ns} "
        f"--type={BASIC_AUTH} --from-literal=username={plan.owner} --from-literal=password='<password>' && "
        + lookup_labels.kubectl_label("secret", name, ns, lookup_labels.credentials_labels(plan.cluster, ns))
    )


def _rotation(value: object) -> int | None:
    """A rotation annotation's value as a count, or None when absent or not one."""
    if isinstance(value, str) and value.isdigit() and len(value) <= _MAX_ROTATION_DIGITS:
        return int(value)
    return None


def recorded_rotation(observed: Observed) -> int:
    """The rotation the current password belongs to: the composed Secret's, else the live Secret's, else 0."""
    if observed.has(CREDENTIALS):
        return _rotation(dig(observed.manifest(CREDENTIALS), "metadata", "annotations", ROTATION_ANNOTATION)) or 0
    return _rotation(dig(_live_secret(observed), "metadata", "annotations", ROTATION_ANNOTATION)) or 0


def live_rotation(observed: Observed) -> int:
    """The rotation of the Secret as the API server holds it: what pods starting now read."""
    return _rotation(observed.live_at(CREDENTIALS, "metadata", "annotations", ROTATION_ANNOTATION)) or 0


def resolve(observed: Observed, plan: DatabasePlan, field: str) -> tuple[str, int]:
    """(password, rotation): a new password when the claim asks for a rotation not done yet, else the kept one.

    The new password is drawn once: the next call reads it, and its rotation, back from the composed Secret.
    """
    done = recorded_rotation(observed)
    wanted = plan.rotation
    if wanted is not None and wanted < done:
        raise SpecError.one(
            f"{field}.credentials.rotation",
            f"{wanted} is lower than {done}, the rotation the password already belongs to; it only goes up "
            f"(set {done + 1} to draw a new password)",
        )
    if wanted is not None and wanted > done:
        return generate_password(), wanted
    return resolve_password(observed), done


def resolve_password(observed: Observed) -> str:
    """The password to use: the composed Secret's, else the live Secret's, else a new one."""
    password = _composed_password(observed)
    if password:
        return password
    live = _live_secret(observed)
    password = _usable(decode_secret_value(live.get("data"), "password")) if live is not None else None
    return password or generate_password()


# TLS required. CNPG always serves TLS (pkg/postgres/configuration.go: ssl on,
# its own CA) but its pg_hba accepts passwords over plaintext too (`host all all
# all scram-sha-256`), and without sslmode libpq only prefers TLS and many
# drivers use none. Not verify-full: that needs the cluster's CA as a file in
# the pod (sslrootcert), which a URL cannot carry; the host is one of the
# server certificate's names (api/v1/cluster_funcs.go GetClusterAltDNSNames:
# <cluster>-rw.<namespace>.svc), so an application that mounts the CA
# (Secret <cluster>-ca, key ca.crt) can verify fully.
SSLMODE = "require"


def connection_values(plan: DatabasePlan, password: str) -> dict[str, str]:
    """Every key of the Secret, in clear text."""
    url = (
        f"postgresql://{quote(plan.owner, safe='')}:{quote(password, safe='')}"
        f"@{plan.host}:{PORT}/{quote(plan.database, safe='')}?sslmode={SSLMODE}"
    )
    return {
        # What CNPG reads (kubernetes.io/basic-auth).
        "username": plan.owner,
        "password": password,
        # What applications read (the Pulumi plan's keys).
        "DATABASE_URL": url,
        "DB_HOST": plan.host,
        "DB_PORT": str(PORT),
        "DB_NAME": plan.database,
        "DB_USER": plan.owner,
        "DB_PASSWORD": password,
        # What libpq reads, so `psql` works with no arguments.
        "PGHOST": plan.host,
        "PGPORT": str(PORT),
        "PGDATABASE": plan.database,
        "PGUSER": plan.owner,
        "PGPASSWORD": password,
        "PGSSLMODE": SSLMODE,
    } | _pooler_values(plan, password)


def _pooler_values(plan: DatabasePlan, password: str) -> dict[str, str]:
    """The same database through the instance's pooler (PgBouncer), when it has one: the app chooses."""
    if plan.pooler_host is None:
        return {}
    url = (
        f"postgresql://{quote(plan.owner, safe='')}:{quote(password, safe='')}"
        f"@{plan.pooler_host}:{PORT}/{quote(plan.database, safe='')}?sslmode={SSLMODE}"
    )
    return {"DATABASE_POOLER_URL": url, "DB_POOLER_HOST": plan.pooler_host}


def secret_manifest(plan: DatabasePlan, password: str, *, secret_type: str = BASIC_AUTH, rotation: int = 0) -> dict:
    """The credentials Secret, with `data` base64-encoded so it round-trips exactly.

    `secret_type` is kubernetes.io/basic-auth, or the type of a Secret adopted as it was (`secret_type()`);
    `rotation`, when not 0, is recorded in an annotation (never anything derived from the password).
    """
    values = connection_values(plan, password)
    identity = lookup_labels.credentials_labels(plan.cluster, plan.namespace)  # what Crossplane 1.20 finds it by
    secret_labels = plan.labels("credentials") | {"cnpg.io/reload": "true"} | identity
    assert secret_labels[MANAGED_BY[0]] == MANAGED_BY[1]  # what makes it adoptable again after a Retain delete
    metadata: dict = {"name": plan.secret, "namespace": plan.namespace, "labels": secret_labels}
    if rotation:
        metadata["annotations"] = {ROTATION_ANNOTATION: str(rotation)}
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": secret_type,
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in values.items()},
    }
