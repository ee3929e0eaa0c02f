"""A PostgresDatabase claim, reconcile by reconcile: gating, readiness, status."""

from __future__ import annotations

import base64

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys
from tests.support import function as f
from tests.support import schemas

SHOP = f.composite("PostgresDatabase", {"extensions": ["uuid-ossp", "pgcrypto"]})


def test_first_reconcile_emits_only_the_credentials_secret():
    rsp = f.run(f.request(SHOP))
    assert f.fatal(rsp) is None
    assert list(f.desired(rsp)) == [keys.CREDENTIALS]
    assert rsp.desired.composite.ready == fnv1.READY_FALSE
    assert "credentials Secret shop-postgres-credentials" in f.conditions(rsp)["DatabaseReady"].message


def test_converges_to_every_resource_of_the_spec_and_is_ready():
    rsp, _ = f.converge(SHOP)
    assert sorted(f.desired(rsp)) == sorted(
        [
            keys.CREDENTIALS, keys.CLUSTER, keys.DATABASE, keys.SCHEDULED_BACKUP, keys.PRUNE_CRON_JOB,
            keys.PRUNE_ROLE, keys.PRUNE_ROLE_BINDING, keys.PRUNE_SERVICE_ACCOUNT,
        ]
    )  # fmt: skip
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    for body in f.desired(rsp).values():
        schemas.validate_composed(body)
    status = f.status(rsp)
    assert status["host"] == "postgres-shop-rw.shop.svc"
    assert status["secretName"] == "shop-postgres-credentials"
    assert status["phase"] == "Cluster in healthy state"


def test_secret_has_every_key_and_the_password_is_stable():
    rsp, observed = f.converge(SHOP)
    data = f.manifests(rsp)[keys.CREDENTIALS]["data"]
    values = {k: base64.b64decode(v).decode() for k, v in data.items()}
    assert values["username"] == values["DB_USER"] == "shop_user"
    assert values["DB_HOST"] == "postgres-shop-rw.shop.svc"
    assert (
        values["DATABASE_URL"]
        == f"postgresql://shop_user:{values['password']}@postgres-shop-rw.shop.svc:5432/shop?sslmode=require"
    )
    again = f.run(f.request(SHOP, observed))
    assert f.manifests(again)[keys.CREDENTIALS]["data"]["password"] == data["password"]
