"""TauApplication with the real Crossplane CLI, beyond what tests/test_function_crossplane.py
does for every example (render against golden files, validate every Object and
manifest):

- `crossplane render` gives an application's database exactly the resources
  it gives a PostgresDatabase of the same name;
- `crossplane beta validate` with the generated XRD refuses the claims the
  function refuses, on the field the function names, and accepts the rest.
"""

from __future__ import annotations

import re

import pytest

from function import keys
from tests.support import crossplane
from tests.support import function as f
from tests.support.data import live_secret
from tests.support.paths import APIS, EXAMPLES

pytestmark = pytest.mark.crossplane_cli

RESOURCE_NAME = "crossplane.io/composition-resource-name"
CLAIM = {"name": "postgres-example", "namespace": "apps"}
DATABASE = {"extensions": ["uuid-ossp", "pgcrypto"], "storageSize": "5Gi", "name": "example"}
LIVE_SECRET = live_secret("TheSamePasswordForBothClaims0123", "postgres-example-postgres-credentials", "apps")


def _database_objects(docs: list[dict]) -> dict[str, dict]:
    """The rendered database Objects by key, without what names their composite."""
    out = {}
    for doc in docs:
        key = (doc.get("metadata") or {}).get("annotations", {}).get(RESOURCE_NAME)
        if doc.get("kind") == "Object" and key not in keys.APPLICATION_KEYS:
            out[key] = {"metadata": {"annotations": doc["metadata"]["annotations"]}, "spec": doc["spec"]}
    return out


def test_render_gives_the_database_of_a_postgres_database_of_the_same_name(function_address, tmp_path):
    tau = f.composite(
        "TauApplication", {"image": "postgres:15-alpine", "database": {"enabled": True, **DATABASE}}, **CLAIM
    )
    pg = f.composite("PostgresDatabase", {"extensions": DATABASE["extensions"], "databaseName": "example",
                                          "instance": {"storage": {"size": "5Gi"}}}, **CLAIM)  # fmt: skip
    answers = {keys.LIVE_SECRET: [LIVE_SECRET]}
    rendered = {}
    for name, xr, directory in (("tau", tau, "tauapplication"), ("pg", pg, "postgresdatabase")):
        composition = APIS / directory / "composition.yaml"
        code, first, stderr = crossplane.render(
            function_address, xr, composition, required=[LIVE_SECRET], results=False
        )
        assert code == 0, stderr
        _, observed = f.converge(xr, required=answers)
        code, steady, stderr = crossplane.render(
            function_address, xr, composition, observed=observed, required=[LIVE_SECRET], results=False
        )
        assert code == 0, stderr
        rendered[name] = (_database_objects(first), _database_objects(steady), first[0]["status"], steady[0]["status"])
    tau_first, tau_steady, tau_status_first, tau_status_steady = rendered["tau"]
    pg_first, pg_steady, pg_status_first, pg_status_steady = rendered["pg"]
    assert tau_first == pg_first and list(tau_first) == ["postgres-credentials"]
    assert tau_steady == pg_steady and "postgres-cluster" in tau_steady and "postgres-database" in tau_steady
    assert tau_status_first["database"] == {k: v for k, v in pg_status_first.items() if k != "conditions"}
    assert tau_status_steady["database"] == {k: v for k, v in pg_status_steady.items() if k != "conditions"}


def _claim(name: str, spec: dict) -> dict:
    return {"apiVersion": "tau.home.arpa/v1alpha1", "kind": "TauApplication",
            "metadata": {"name": name, "namespace": "apps"}, "spec": spec}  # fmt: skip


IMAGE = "nginx:1.27"
WEB = {"image": IMAGE, "port": 8080}
REFUSED = [
    ("image-missing", {"port": 80}, "spec.image"),
    ("image-capitals", {"image": "Nginx:1.27"}, "spec.image"),
    ("image-space", {"image": "nginx 1.27"}, "spec.image"),
    ("replicas-negative", {"image": IMAGE, "replicas": -1}, "spec.replicas"),
    ("port-too-high", {"image": IMAGE, "port": 65536}, "spec.port"),
    ("env-name", {"image": IMAGE, "env": [{"name": "1A", "value": "x"}]}, "spec.env[0].name"),
    ("env-no-name", {"image": IMAGE, "env": [{"value": "x"}]}, "spec.env[0].name"),
    ("host-scheme", {**WEB, "ingress": {"host": "https://a.b"}}, "spec.ingress.host"),
    ("host-wildcard", {**WEB, "ingress": {"host": "*.a.b"}}, "spec.ingress.host"),
    ("tls-no-issuer", {**WEB, "ingress": {"host": "a.b", "tls": {}}}, "spec.ingress.tls.clusterIssuer"),
    ("database-name", {"image": IMAGE, "database": {"enabled": True, "name": "Shop"}}, "spec.database.name"),
    ("storage-size", {"image": IMAGE, "database": {"enabled": True, "storageSize": "ten"}}, "spec.database.storageSize"),
    ("cron", {"image": IMAGE, "database": {"enabled": True, "backup": {"schedule": "0 3 * * *"}}},
     "spec.database.backup.schedule"),
    ("database-namespace", {"image": IMAGE, "database": {"enabled": True, "namespace": "x"}}, "spec.database.namespace"),
]  # fmt: skip
ACCEPTED = [
    ("minimal", {"image": IMAGE}),
    ("digest", {"image": "registry.home.arpa:5000/a/b:1@sha256:" + "0" * 64}),
    ("everything", {**WEB, "replicas": 0, "command": ["a"], "args": ["b"], "env": [{"name": "a.b-c_D", "value": ""}],
                    "resources": {"requests": {"cpu": 1, "memory": "1Gi"}},
                    "ingress": {"host": "a.home.arpa", "className": "nginx", "tls": {"clusterIssuer": "ca", "secretName": "s"}},
                    "database": {"enabled": True, "name": "a", "storageSize": "1Gi", "owner": "a_user",
                                 "instance": {"version": 17, "instances": 2}, "backup": {"method": "none"},
                                 "deletionPolicy": "Delete", "credentialsSecretName": "a-db"}}),
]  # fmt: skip


def test_the_generated_xrd_refuses_what_the_function_refuses(tmp_path):
    claims = [_claim(name, spec) for name, spec, _ in REFUSED] + [_claim(name, spec) for name, spec in ACCEPTED]
    path = crossplane.write_documents(tmp_path, "claims.yaml", claims)
    code, output = crossplane.validate([APIS / "tauapplication" / "definition.yaml"], [path])
    assert code != 0, output
    failures: dict[str, str] = {}
    for line in output.splitlines():
        match = re.match(r"\[x\] .*Kind=TauApplication, (\S+) : (.*)$", line)
        if match:
            failures[match.group(1)] = failures.get(match.group(1), "") + match.group(2)
    for name, spec, field in REFUSED:
        assert name in failures, f"{name}: accepted by the XRD\n{output}"
        assert f"{field}:" in failures[name] or f"{field}: Required value" in failures[name], failures[name]
        # ...and the function names the same field.
        message = f.fatal(f.run(f.request(f.composite("TauApplication", spec, name=name))))
        assert message is not None and f"{field}:" in message, message
    for name, spec in ACCEPTED:
        assert name not in failures, failures.get(name)
        assert f.fatal(f.run(f.request(f.composite("TauApplication", spec, name=name)))) is None
    assert f"{len(ACCEPTED)} success cases" in output, output


def test_the_tauapplication_examples_are_valid_claims():
    examples = sorted(EXAMPLES.glob("tauapplication-*/claim.yaml"))
    assert [p.parent.name for p in examples] == [
        "tauapplication-no-database", "tauapplication-on-pooler", "tauapplication-postgres-example",
        "tauapplication-web",
    ]  # fmt: skip
    code, output = crossplane.validate([APIS / "tauapplication" / "definition.yaml"], examples)
    assert code == 0, output
    assert "4 success cases" in output, output
