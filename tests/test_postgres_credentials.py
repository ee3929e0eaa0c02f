"""SPEC §6: the password is generated once, then kept, and never leaks."""

from __future__ import annotations

import base64

import pytest

from function import keys
from tests.support import data
from tests.support import function as f

SHOP = f.composite("PostgresDatabase", {})


def _password(rsp) -> str:
    return base64.b64decode(f.manifests(rsp)[keys.CREDENTIALS]["data"]["password"]).decode()


def _live_secret(password: str, name: str = "shop-postgres-credentials") -> dict:
    return data.live_secret(password, name)


def test_a_new_password_is_32_random_letters_and_digits():
    first, second = _password(f.run(f.request(SHOP))), _password(f.run(f.request(SHOP)))
    assert len(first) == 32 and first.isalnum()
    assert first != second  # the one random draw: only when nothing exists yet


def test_the_password_is_taken_from_the_secret_object_composed_before():
    rsp, observed = f.converge(SHOP)
    before = _password(rsp)
    for _ in range(3):
        assert _password(f.run(f.request(SHOP, observed))) == before


def test_the_composed_secret_wins_over_the_live_one():
    rsp, observed = f.converge(SHOP)
    live = {keys.LIVE_SECRET: [_live_secret("something-else")]}
    assert _password(f.run(f.request(SHOP, observed, live))) == _password(rsp)


@pytest.mark.parametrize(
    "legacy", [False, True], ids=["crossplane-2.x-required_resources", "crossplane-1.20-extra_resources"]
)
def test_an_existing_secret_is_adopted(legacy):
    live = {keys.LIVE_SECRET: [_live_secret("adopted-password-123")]}
    rsp = f.run(f.request(SHOP, required=live, legacy=legacy))
    assert _password(rsp) == "adopted-password-123"


def test_an_adopted_password_with_url_characters_is_escaped_in_the_url():
    live = {keys.LIVE_SECRET: [_live_secret("p@ss:w/rd?#%")]}
    data = f.manifests(f.run(f.request(SHOP, required=live)))[keys.CREDENTIALS]["data"]
    url = base64.b64decode(data["DATABASE_URL"]).decode()
    assert url == "postgresql://shop_user:p%40ss%3Aw%2Frd%3F%23%25@postgres-shop-rw.shop.svc:5432/shop"
    assert base64.b64decode(data["DB_PASSWORD"]).decode() == "p@ss:w/rd?#%"


def test_unreadable_secrets_fall_through_to_a_new_password():
    garbage = _live_secret("x")
    garbage["data"]["password"] = "%%% not base64 %%%"
    rsp = f.run(f.request(SHOP, required={keys.LIVE_SECRET: [garbage]}))
    assert len(_password(rsp)) == 32


def test_the_live_secret_is_required_in_both_crossplane_fields():
    rsp = f.run(f.request(SHOP))
    for field in (rsp.requirements.resources, rsp.requirements.extra_resources):
        selector = field[keys.LIVE_SECRET]
        assert (selector.api_version, selector.kind, selector.match_name, selector.namespace) == (
            "v1", "Secret", "shop-postgres-credentials", "shop",
        )  # fmt: skip


def test_the_secret_is_basic_auth_with_every_key_and_reload_label():
    rsp, _ = f.converge(SHOP)
    secret = f.manifests(rsp)[keys.CREDENTIALS]
    assert secret["type"] == "kubernetes.io/basic-auth"
    assert secret["metadata"]["labels"]["cnpg.io/reload"] == "true"
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    password = values["password"]
    assert values == {
        "username": "shop_user",
        "password": password,
        "DATABASE_URL": f"postgresql://shop_user:{password}@postgres-shop-rw.shop.svc:5432/shop",
        "DB_HOST": "postgres-shop-rw.shop.svc",
        "DB_PORT": "5432",
        "DB_NAME": "shop",
        "DB_USER": "shop_user",
        "DB_PASSWORD": password,
        "PGHOST": "postgres-shop-rw.shop.svc",
        "PGPORT": "5432",
        "PGDATABASE": "shop",
        "PGUSER": "shop_user",
        "PGPASSWORD": password,
    }


def test_the_password_never_reaches_status_conditions_or_results():
    rsp, observed = f.converge(SHOP)
    password = _password(rsp)
    text = str(f.status(rsp)) + str(list(rsp.conditions)) + str(list(rsp.results))
    assert password not in text
    # Nor when a later spec is refused.
    bad = f.run(f.request(f.composite("PostgresDatabase", {"databaseName": "postgres"}), observed))
    assert password not in str(list(bad.results)) + str(list(bad.conditions))


def test_a_secret_the_function_did_not_make_is_not_taken_over():
    foreign = _live_secret("someone-elses-password")
    del foreign["metadata"]["labels"]
    rsp = f.run(f.request(SHOP, required={keys.LIVE_SECRET: [foreign]}))
    message = f.fatal(rsp)
    assert message is not None and "spec.credentialsSecretName:" in message
    assert "label it app.kubernetes.io/managed-by=function-tau" in message
    assert "someone-elses-password" not in message
    assert not rsp.desired.resources


def test_the_secret_the_function_composed_is_its_own_whatever_its_live_labels():
    rsp, observed = f.converge(SHOP)
    unlabelled = _live_secret(_password(rsp))
    del unlabelled["metadata"]["labels"]
    again = f.run(f.request(SHOP, observed, {keys.LIVE_SECRET: [unlabelled]}))
    assert f.fatal(again) is None
    assert _password(again) == _password(rsp)
