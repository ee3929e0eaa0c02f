"""Secrets never leave the Secrets (SPEC §6), checked on every output channel of the real server.

The function is served with `--debug` (the most it ever logs), its log captured. Every kind
is driven over gRPC from its first reconcile to steady state, then through refusals: the
credentials a claim gets (a password the server draws, and passwords adopted from a live
Secret) and the object store's access keys the admin shares. Then every channel a user or
an operator can read is scanned for each secret, as it is and base64-encoded:

- results (Crossplane turns them into events on the composite and the claim),
- conditions (on the composite and the claim),
- the desired composite, status included (Crossplane copies status to the claim),
- every desired resource but the Secret that holds it,
- the server's log.

Only the credentials Secret (and, for the access keys, the claim's copy of them) may hold them.
"""

from __future__ import annotations

import base64
import dataclasses
import pathlib

import pytest
import structlog
from crossplane.function import logging
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys, simulate
from function.postgres import credentials
from tests.support import crossplane
from tests.support import function as f
from tests.support.data import OBJECT_STORE_INPUT
from tests.support.strategies import OPERATOR

# Marked, so they cannot occur by accident: a hit is a leak.
ADOPTED = "~pw~Adopted-Passw0rd/with:odd@chars%~pw~"
ACCESS_KEY_ID = "~ak~AKIAEXAMPLEKEYID~ak~"
SECRET_ACCESS_KEY = "~sk~wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY~sk~"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def live_secret(name: str, namespace: str, password: str) -> dict:
    """An existing credentials Secret, handed over to the function for adoption (labelled)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "function-tau"}},
        "data": {"password": _b64(password), "username": _b64("legacy")},
    }


S3 = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {"name": "minio", "namespace": "crossplane-system"},
    "data": {"ACCESS_KEY_ID": _b64(ACCESS_KEY_ID), "ACCESS_SECRET_KEY": _b64(SECRET_ACCESS_KEY)},
}


@dataclasses.dataclass
class Run:
    """Every response of one scenario, and where each secret may sit."""

    name: str
    responses: list[fnv1.RunFunctionResponse]
    secrets: dict[str, frozenset[str]]  # secret -> keys of the desired resources allowed to hold it


def drive(address: str, xr: dict, required: dict | None = None, function_input: dict | None = None,
          rounds: int = 10) -> tuple[list[fnv1.RunFunctionResponse], list[dict]]:  # fmt: skip
    """Reconcile over gRPC to steady state; every response, and what Crossplane then observes."""
    steps = list(
        simulate.settle(
            lambda seen: crossplane.call(address, f.request(xr, seen, required, function_input)), max_rounds=rounds - 1
        )
    )
    return [rsp for rsp, _ in steps], steps[-1][1]


def password_of(rsp: fnv1.RunFunctionResponse) -> str:
    """The password in a response's credentials Secret."""
    return base64.b64decode(f.manifests(rsp)[keys.CREDENTIALS]["data"]["password"]).decode()


CREDENTIALS_ONLY = frozenset({keys.CREDENTIALS})


def scenarios(address: str) -> list[Run]:
    """Every kind, to steady state and through refusals."""
    runs = []

    # PostgresDatabase: a drawn password, then refusals with everything in place.
    xr = f.composite("PostgresDatabase", {"extensions": ["pgcrypto"]})
    responses, observed = drive(address, xr)
    drawn = password_of(responses[-1])
    for bad in ({"databaseName": "postgres"}, {"instance": {"storage": {"size": "1Mi"}}}, {"backup": "daily"}):
        responses.append(crossplane.call(address, f.request(f.composite("PostgresDatabase", bad), observed)))
    runs.append(Run("postgres, drawn password", responses, {drawn: CREDENTIALS_ONLY}))

    # PostgresDatabase adopting a live Secret, with object store backups (the admin's keys copied in).
    xr = f.composite("PostgresDatabase", {"backup": {"method": "objectStore"}}, name="legacy", namespace="legacy")
    required = {
        keys.LIVE_SECRET: [live_secret("legacy-postgres-credentials", "legacy", ADOPTED)],
        keys.S3_SECRET: [S3],
    }
    responses, observed = drive(address, xr, required, OBJECT_STORE_INPUT)
    assert password_of(responses[-1]) == ADOPTED
    refused = f.composite(
        "PostgresDatabase", {"backup": {"method": "objectStore", "retentionDays": -1}}, "legacy", "legacy"
    )
    responses.append(crossplane.call(address, f.request(refused, observed, required, OBJECT_STORE_INPUT)))
    keys_copy = frozenset({keys.OBJECT_STORE_SECRET})
    runs.append(Run("postgres, adopted, object store", responses,
                    {ADOPTED: CREDENTIALS_ONLY, ACCESS_KEY_ID: keys_copy, SECRET_ACCESS_KEY: keys_copy}))  # fmt: skip

    # TauApplication with its database: a drawn password, then the database switched off (refused).
    spec = {"image": "nginx", "port": 80, "ingress": {"host": "shop.home.arpa", "tls": {"clusterIssuer": "ca"}},
            "database": {"enabled": True}}  # fmt: skip
    responses, observed = drive(address, f.composite("TauApplication", spec))
    app_password = password_of(responses[-1])
    for bad in ({**spec, "database": {"enabled": False}}, {**spec, "replicas": -1}, {"database": {"enabled": True}}):
        responses.append(crossplane.call(address, f.request(f.composite("TauApplication", bad), observed)))
    runs.append(Run("application, drawn password", responses, {app_password: CREDENTIALS_ONLY}))

    # TauApplication adopting a live Secret; its own env must not pull the password in either.
    spec = {"image": "nginx", "env": [{"name": "GREETING", "value": "hello"}], "database": {"enabled": True}}
    required = {keys.LIVE_SECRET: [live_secret("shop-postgres-credentials", "shop", ADOPTED)]}
    responses, observed = drive(address, f.composite("TauApplication", spec), required)
    assert password_of(responses[-1]) == ADOPTED
    for bad in ({**spec, "database": {"enabled": True, "name": "other"}}, {**spec, "image": "Not An Image"}):
        responses.append(crossplane.call(address, f.request(f.composite("TauApplication", bad), observed, required)))
    runs.append(Run("application, adopted", responses, {ADOPTED: CREDENTIALS_ONLY}))

    # CNPGOperator: no credentials of its own; it must not echo anything it was sent.
    responses, _ = drive(address, OPERATOR.composite({"barmanCloudPlugin": {"enabled": True}}), OPERATOR.required)
    responses.append(
        crossplane.call(address, f.request(OPERATOR.composite({"replicas": 0}), required=OPERATOR.required))
    )
    runs.append(Run("operator", responses, {drawn: frozenset(), ADOPTED: frozenset()}))
    return runs


def forms(secret: str) -> list[str]:
    """A secret as it could leak: as it is, and base64-encoded as in a Secret's data."""
    return [secret, _b64(secret)]


def channels(rsp: fnv1.RunFunctionResponse, allowed: frozenset[str]) -> dict[str, str]:
    """Everything a response shows a user or an operator, by channel, but the resources allowed to hold a secret."""
    out = {
        "results (and so events)": "\n".join(f"{r.reason} {r.message}" for r in rsp.results),
        "conditions": "\n".join(f"{c.type} {c.reason} {c.message}" for c in rsp.conditions),
        "composite (status included)": str(f.status(rsp)) + str(rsp.desired.composite),
        "meta and requirements": str(rsp.meta) + str(rsp.requirements),
    }
    for key, body in f.desired(rsp).items():
        if key not in allowed:
            out[f"desired resource {key}"] = str(body)
    return out


@pytest.fixture(scope="module")
def debug_server(tmp_path_factory) -> tuple[list[Run], str]:
    """The scenarios, run against `function-tau serve --debug`; their runs and the server's whole log."""
    log = tmp_path_factory.mktemp("server") / "server.log"
    with crossplane.served("--insecure", "--debug", log=log) as address:
        runs = scenarios(address)
    return runs, pathlib.Path(log).read_text(errors="replace")


def test_no_secret_reaches_results_conditions_status_or_other_resources(debug_server):
    runs, _ = debug_server
    checked = 0
    for run in runs:
        assert any(f.fatal(r) for r in run.responses), f"{run.name}: drive a refusal too"
        for index, rsp in enumerate(run.responses):
            for secret, allowed in run.secrets.items():
                for channel, text in channels(rsp, allowed).items():
                    for form in forms(secret):
                        assert form not in text, f"{run.name}, response {index}: a secret in {channel}"
                        checked += 1
    assert checked > 500  # runs x responses x secrets x channels x forms: the loops ran


def test_the_secrets_sit_where_they_belong(debug_server):
    """The scan above would pass on empty responses: the secrets must be in their Secrets."""
    runs, _ = debug_server
    for run in runs:
        steady = [r for r in run.responses if not f.fatal(r)][-1]
        for secret, allowed in run.secrets.items():
            for key in allowed:
                data = f.manifests(steady)[key]["data"]
                assert _b64(secret) in data.values(), (run.name, key)


def test_no_secret_reaches_the_debug_log(debug_server):
    runs, log = debug_server
    calls = sum(len(run.responses) for run in runs)
    assert log.count("composed") + log.count("composition failed") >= calls - 8, log[-2000:]  # it does log each call
    for run in runs:
        for secret in run.secrets:
            for form in forms(secret):
                assert form not in log, f"{run.name}: a secret in the server's log"


def test_an_unexpected_failure_logs_no_secret(monkeypatch):
    """A bug while the password is in hand: the traceback goes to the log (without locals), the claim gets a
    readable result; neither holds the password."""

    def broken(plan, password, **_):
        raise RuntimeError("the manifest could not be built")

    monkeypatch.setattr(credentials, "secret_manifest", broken)
    required = {keys.LIVE_SECRET: [live_secret("shop-postgres-credentials", "shop", ADOPTED)]}
    logging.configure(level=logging.Level.DEBUG)
    try:
        with structlog.testing.capture_logs() as logs:
            rsp = f.run(f.request(f.composite("PostgresDatabase"), required=required))
    finally:
        logging.configure(level=logging.Level.DISABLED)
    # A warning (Crossplane makes it an event, on the claim too), then the fatal result that stops the pipeline.
    assert [(r.severity, r.reason) for r in rsp.results] == [
        (fnv1.SEVERITY_WARNING, "InternalError"),
        (fnv1.SEVERITY_FATAL, "InternalError"),
    ]
    text = str(logs)
    assert "the manifest could not be built" in text and "Traceback" in text  # the log has the details...
    for form in forms(ADOPTED):  # ...but not the password
        assert form not in text
        assert form not in str(rsp)
