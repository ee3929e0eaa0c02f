"""Every TauApplication field, as whole outputs against reviewed golden files.

Each case is a claim (and sometimes a platform input and required resources),
converged to steady state in-process; the golden file holds every composed
resource, the composite's status and its conditions. Every composed manifest is
also validated against its upstream schema, unknown fields rejected.
UPDATE_GOLDEN=1 rewrites the files; review the diff like code.
"""

from __future__ import annotations

import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import render
from tests.support import function as f
from tests.support import golden, schemas
from tests.support.data import OBJECT_STORE_INPUT, POSTGRES_EXAMPLE
from tests.support.data import S3_SECRET as S3
from tests.support.dumps import KEY_ONLY_INPUT
from tests.support.function import Case
from tests.support.paths import EXAMPLES, GOLDEN

KIND = "TauApplication"
WEB = {"image": "ghcr.io/example/web:2.0", "port": 8080}


def _direct(spec: dict, name: str) -> dict:
    """A composite created without a claim (no claim labels, no claimRef)."""
    return {"apiVersion": "tau.home.arpa/v1alpha1", "kind": "XTauApplication", "metadata": {"name": name}, "spec": spec}


CASES = [
    Case("image-only", {"image": "nginx:1.27"}),
    Case("postgres-example", POSTGRES_EXAMPLE, claim_name="postgres-example", namespace="apps"),
    Case("command-and-args", {"image": "busybox:1.37", "command": ["/bin/sh", "-c"], "args": ["echo $(GREETING) && sleep 3600"]}),
    Case("env", {"image": "nginx:1.27", "env": [{"name": "GREETING", "value": "hello"}, {"name": "EMPTY"},
                                                 {"name": "app.mode", "value": "production"}]}),
    Case("replicas-zero", {"image": "nginx:1.27", "replicas": 0}),
    Case("replicas-three", {"image": "nginx:1.27", "replicas": 3}),
    Case("resources", {"image": "nginx:1.27", "resources": {"requests": {"cpu": 1, "memory": "64Mi"},
                                                            "limits": {"memory": "256Mi", "ephemeral-storage": "1Gi"}}}),
    Case("image-with-registry-port-and-digest",
         {"image": "registry.home.arpa:5000/team/app:1.0@sha256:" + "a" * 64}),
    Case("port", WEB),
    Case("ingress-http", {**WEB, "ingress": {"host": "shop.home.arpa", "className": "traefik"}}),
    Case("ingress-tls", {**WEB, "ingress": {"host": "shop.home.arpa", "tls": {"clusterIssuer": "letsencrypt-prod"}}}),
    Case("ingress-tls-secret-name", {**WEB, "ingress": {"host": "shop.example.org", "className": "nginx",
                                                        "tls": {"clusterIssuer": "home-ca", "secretName": "shop-cert"}}}),
    Case("database-defaults", {"image": "nginx:1.27", "database": {"enabled": True}}),
    Case("database-name-and-storage-size", {"image": "nginx:1.27", "database": {"enabled": True, "name": "store",
                                                                                 "storageSize": "5Gi"}}),
    Case("database-every-field", {"image": "nginx:1.27", "database": {
        "enabled": True, "name": "store", "owner": "store_app", "extensions": ["pg_trgm"],
        "instance": {"name": "pg-store", "instances": 2, "version": 17,
                     "storage": {"size": "20Gi", "storageClass": "longhorn-ssd"}, "walStorage": {"size": "2Gi"},
                     "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"memory": "1Gi"}},
                     "parameters": {"max_connections": "150"}},
        "backup": {"schedule": "0 30 2 * * *", "retentionDays": 30},
        "credentialsSecretName": "store-db", "deletionPolicy": "Delete"}}),
    Case("database-backups-off", {"image": "nginx:1.27", "database": {"enabled": True, "backup": {"enabled": False}}}),
    # Issue #16: the rotation is recorded on the Secret and, once the Secret holds it, on the pod template.
    Case("database-password-rotation", {"image": "nginx:1.27", "database": {"enabled": True,
                                                                             "credentials": {"rotation": 1}}}),
    Case("database-object-store", {"image": "nginx:1.27", "database": {"enabled": True,
                                                                        "backup": {"method": "objectStore"}}},
         function_input=OBJECT_STORE_INPUT, required={"postgres-object-store-admin-credentials": [S3]}),
    Case("database-env-overrides", {**WEB, "env": [
        {"name": "DB_PASSWORD", "value": "from-vault"},
        {"name": "DATABASE_URL", "value": "postgresql://$(DB_USER):$(DB_PASSWORD)@$(DB_HOST):$(DB_PORT)/$(DB_NAME)"},
        {"name": "LOG_LEVEL", "value": "debug"}], "database": {"enabled": True}}),
    Case("database-disabled-fields-ignored", {"image": "nginx:1.27", "database": {"enabled": False, "name": "store",
                                                                                   "storageSize": "5Gi"}}),
    Case("everything", {**WEB, "replicas": 2, "command": ["/app"], "args": ["--port", "8080"],
                        "env": [{"name": "MODE", "value": "web"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                        "ingress": {"host": "shop.home.arpa", "className": "nginx",
                                    "tls": {"clusterIssuer": "letsencrypt-prod"}},
                        "database": {"enabled": True, "name": "shop", "extensions": ["uuid-ossp"],
                                     "storageSize": "2Gi"}}),
    Case("platform-input", {"image": "nginx:1.27", "database": {"enabled": True}}, function_input={
        "apiVersion": "fn.tau.home.arpa/v1alpha1", "kind": "PlatformDefaults",
        "postgres": {"version": 17, "storageClass": "nvme", "storageSize": "3Gi"}, "backup": {"retentionDays": 3}}),
    Case("without-claim", {**WEB, "namespace": "team", "database": {"enabled": True}}, claim_name="team-app",
         claimed=False),
    # Issue #9: dumps, and a database filled from one before the Deployment starts.
    Case("database-dumps-and-restore-dump", {**WEB, "database": {
        "enabled": True, "extensions": ["uuid-ossp", "pgcrypto"], "backup": {"dump": {"enabled": True}},
        "restore": {"dump": {"file": "latest", "privateKeySecret": "backups-private-key"}}}},
        function_input=KEY_ONLY_INPUT),
]  # fmt: skip


def _composite(case: Case) -> dict:
    if case.claimed:
        return f.composite(KIND, case.spec, name=case.claim_name, namespace=case.namespace)
    return _direct(case.spec, case.claim_name)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_field(case: Case):
    rsp = f.steady(_composite(case), case)
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    for body in f.desired(rsp).values():
        schemas.validate_composed(body)
    golden.check_steady(
        GOLDEN / "application" / f"{case.name}.yaml",
        rsp,
        f"# TauApplication {case.claim_name} with spec {case.spec}, converged. Passwords masked.\n",
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_first_reconcile(case: Case):
    """What the first reconcile emits: with a database only its Secret; without, the application at once."""
    rsp = f.run(f.request(_composite(case), required=case.required, function_input=case.function_input))
    assert f.fatal(rsp) is None, f.fatal(rsp)
    keys = set(f.desired(rsp))
    database = case.spec.get("database", {}).get("enabled", False)
    # The Deployment waits for the credentials Secret; the Service and Ingress need not.
    assert ("application-deployment" in keys) is not database
    assert ("application-service" in keys) is ("port" in case.spec)
    assert ("application-ingress" in keys) is ("ingress" in case.spec)
    assert ("postgres-credentials" in keys) is database
    assert "postgres-cluster" not in keys
    assert rsp.desired.composite.ready == fnv1.READY_FALSE
    for body in f.desired(rsp).values():
        schemas.validate_composed(body)


def test_the_composite_status_validates_against_the_generated_xrd():
    for case in CASES:
        rsp, _ = f.converge(_composite(case), required=case.required, function_input=case.function_input)
        xr = {**_composite(case), "status": f.status(rsp)}
        schemas.validate(render.integral(xr))


ISSUE_CLAIM = """
apiVersion: tau.home.arpa/v1alpha1
kind: TauApplication
metadata: {name: postgres-example, namespace: apps}
spec:
  image: postgres:15-alpine
  command: [sleep, "3600"]
  resources:
    requests: {cpu: 50m, memory: 64Mi}
    limits: {cpu: 100m, memory: 128Mi}
  database:
    enabled: true
    extensions: [uuid-ossp, pgcrypto]
"""


def test_the_plan_example_is_the_issue_claim():
    example = yaml.safe_load((EXAMPLES / "tauapplication-postgres-example" / "claim.yaml").read_text())
    assert example == yaml.safe_load(ISSUE_CLAIM)
    assert example["spec"] == POSTGRES_EXAMPLE
