"""The credentials Secret: generated once, then kept.

The password is drawn once from `secrets` (a CSPRNG) and then never changes by
accident. Each call takes it, in this order, from:
  1. the Secret Object the function composed before (Crossplane always passes
     the observed composed resources back);
  2. the live Secret, fetched as a required resource (adoption of an existing
     Secret, or a claim re-created after a Retain delete);
  3. only when neither exists, a new random password.
The live Secret is adopted only when it carries the label
app.kubernetes.io/managed-by=function-tau (see `foreign_secret`).
The password never leaves this module except inside the Secret manifest.
"""

from __future__ import annotations

import base64
import secrets
import string
from urllib.parse import quote

from function.keys import CREDENTIALS, LIVE_SECRET
from function.observed import Observed, decode_secret_value
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


def requirement(plan: DatabasePlan) -> Requirement:
    """Ask Crossplane for the live credentials Secret (adoption, re-created claims)."""
    return Requirement(LIVE_SECRET, "v1", "Secret", plan.secret, plan.namespace)


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


def resolve_password(observed: Observed) -> str:
    """The password to use: the composed Secret's, else the live Secret's, else a new one."""
    password = _usable(decode_secret_value((observed.manifest(CREDENTIALS) or {}).get("data"), "password"))
    if password:
        return password
    for live in observed.required(LIVE_SECRET) or ():
        password = _usable(decode_secret_value(live.get("data"), "password"))
        if password:
            return password
    return generate_password()


def connection_values(plan: DatabasePlan, password: str) -> dict[str, str]:
    """Every key of the Secret, in clear text."""
    url = (
        f"postgresql://{quote(plan.owner, safe='')}:{quote(password, safe='')}"
        f"@{plan.host}:{PORT}/{quote(plan.database, safe='')}"
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
    }


def secret_manifest(plan: DatabasePlan, password: str) -> dict:
    """The credentials Secret, with `data` base64-encoded so it round-trips exactly."""
    values = connection_values(plan, password)
    labels = plan.labels("credentials") | {"cnpg.io/reload": "true"}
    assert labels[MANAGED_BY[0]] == MANAGED_BY[1]  # what makes it adoptable again after a Retain delete
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": plan.secret, "namespace": plan.namespace, "labels": labels},
        "type": "kubernetes.io/basic-auth",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in values.items()},
    }
