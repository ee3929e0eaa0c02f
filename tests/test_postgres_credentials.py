"""SPEC §6: the password is generated once, then kept, and never leaks."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from function import keys
from tests.support import data, golden
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
    assert url == "postgresql://shop_user:p%40ss%3Aw%2Frd%3F%23%25@postgres-shop-rw.shop.svc:5432/shop?sslmode=require"
    assert base64.b64decode(data["DB_PASSWORD"]).decode() == "p@ss:w/rd?#%"


def test_unreadable_secrets_fall_through_to_a_new_password():
    garbage = _live_secret("x")
    garbage["data"]["password"] = "%%% not base64 %%%"
    rsp = f.run(f.request(SHOP, required={keys.LIVE_SECRET: [garbage]}))
    assert len(_password(rsp)) == 32


def test_the_live_secret_is_required_in_both_crossplane_fields():
    """2.x by name in the namespace; 1.20 (extra_resources) by the labels only this claim's Secret carries."""
    rsp = f.run(f.request(SHOP))
    selector = rsp.requirements.resources[keys.LIVE_SECRET]
    assert (selector.api_version, selector.kind, selector.match_name, selector.namespace) == (
        "v1", "Secret", "shop-postgres-credentials", "shop",
    )  # fmt: skip
    legacy = rsp.requirements.extra_resources[keys.LIVE_SECRET]
    assert (legacy.api_version, legacy.kind, legacy.WhichOneof("match"), legacy.namespace) == (
        "v1", "Secret", "match_labels", "shop",
    )  # fmt: skip
    secret_labels = f.manifests(rsp)[keys.CREDENTIALS]["metadata"]["labels"]
    assert dict(legacy.match_labels.labels) == {
        "app.kubernetes.io/managed-by": "function-tau",
        "tau.home.arpa/cluster": "postgres-shop",
        "tau.home.arpa/namespace": "shop",
    }
    assert dict(legacy.match_labels.labels).items() <= secret_labels.items()  # the Secret it composes matches


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
        "DATABASE_URL": f"postgresql://shop_user:{password}@postgres-shop-rw.shop.svc:5432/shop?sslmode=require",
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
        "PGSSLMODE": "require",
    }


def _server_certificate_names(cluster: str, namespace: str, domain: str = "cluster.local") -> set[str]:
    """The DNS names CNPG puts in a Cluster's server certificate, built as CNPG v1.30.0 builds them
    (api/v1/cluster_funcs.go GetClusterAltDNSNames, used by internal/controller/cluster_pki.go): each default
    Service (-rw, -r, -ro) bare, with the namespace, with .svc, and with .svc.<cluster domain>."""
    names = set()
    for service in (f"{cluster}-rw", f"{cluster}-r", f"{cluster}-ro"):
        names |= {
            service,
            f"{service}.{namespace}",
            f"{service}.{namespace}.svc",
            f"{service}.{namespace}.svc.{domain}",
        }
    return names


def test_the_url_requires_tls_to_a_host_the_server_certificate_names():
    """sslmode=require: TLS or no connection. CNPG always serves TLS (pkg/postgres/configuration.go: ssl on) but
    its pg_hba also takes passwords in plaintext (`host all all all scram-sha-256`), and libpq without sslmode
    only prefers TLS. The host is one of the certificate's names, so a client given the cluster's CA can use
    verify-full."""
    rsp, _ = f.converge(SHOP)
    values = {k: base64.b64decode(v).decode() for k, v in f.manifests(rsp)[keys.CREDENTIALS]["data"].items()}
    url = urllib.parse.urlsplit(values["DATABASE_URL"])
    assert urllib.parse.parse_qs(url.query) == {"sslmode": ["require"]}
    assert values["PGSSLMODE"] == "require"
    assert url.hostname == values["DB_HOST"] == values["PGHOST"]
    assert url.hostname in _server_certificate_names("postgres-shop", "shop")


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


def test_an_adopted_opaque_secret_stays_opaque_and_a_composed_one_keeps_its_type():
    opaque = data.live_secret("brought-my-own-1", secret_type="Opaque")
    rsp, observed = f.converge(SHOP, required={keys.LIVE_SECRET: [opaque]})
    assert f.manifests(rsp)[keys.CREDENTIALS]["type"] == "Opaque"
    assert _password(rsp) == "brought-my-own-1"
    # What was composed decides from then on, whatever the live Secret says.
    rsp, observed = f.converge(SHOP)
    again = f.run(f.request(SHOP, observed, {keys.LIVE_SECRET: [opaque]}))
    assert f.manifests(again)[keys.CREDENTIALS]["type"] == "kubernetes.io/basic-auth"


def test_a_secret_of_a_type_that_cannot_hold_credentials_is_refused_with_the_command_to_fix_it():
    tls = data.live_secret("brought-my-own-1", secret_type="kubernetes.io/tls")
    rsp = f.run(f.request(SHOP, required={keys.LIVE_SECRET: [tls]}))
    message = f.fatal(rsp)
    assert message is not None and message.startswith("spec.credentialsSecretName:"), message
    assert (
        "kubectl delete secret shop-postgres-credentials -n shop && kubectl create secret generic "
        "shop-postgres-credentials -n shop --type=kubernetes.io/basic-auth --from-literal=username=shop_user "
        "--from-literal=password='<password>' && kubectl label secret shop-postgres-credentials -n shop "
    ) in message
    assert "app.kubernetes.io/managed-by=function-tau" in message
    assert "brought-my-own-1" not in message
    assert not rsp.desired.resources
    golden.check_refusal("PostgresDatabase", "credentials secret of another type", rsp)


# Issue #16, defect 1: rotation is one declarative change (spec.credentials.rotation), carried out once.
ROTATION = "tau.home.arpa/password-rotation"


def _rotated(rotation: int | None, kind: str = "PostgresDatabase") -> dict:
    spec = {} if rotation is None else {"credentials": {"rotation": rotation}}
    if kind == "TauApplication":
        spec = {"image": "nginx:1.27", "database": {"enabled": True, **spec}}
    return f.composite(kind, spec)


def _secret(rsp) -> dict:
    return f.manifests(rsp)[keys.CREDENTIALS]


def test_raising_the_rotation_draws_a_new_password_once_and_keeps_it():
    before, observed = f.converge(SHOP)
    rotated = f.run(f.request(_rotated(1), observed))
    assert f.fatal(rotated) is None
    password = _password(rotated)
    assert password != _password(before) and len(password) == 32
    secret = _secret(rotated)
    assert secret["metadata"]["annotations"] == {ROTATION: "1"}
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert values["DB_PASSWORD"] == values["PGPASSWORD"] == password
    assert password in values["DATABASE_URL"] and _password(before) not in str(values)
    # Nothing but the Secret changes (CNPG reads the new password from it: cnpg.io/reload).
    assert {k: v for k, v in f.desired(rotated).items() if k != keys.CREDENTIALS} == {
        k: v for k, v in f.desired(before).items() if k != keys.CREDENTIALS
    }
    # Once applied, it is the password: the same rotation asks for nothing new.
    steady, observed = f.converge(_rotated(1))
    again = f.run(f.request(_rotated(1), observed))
    assert _password(again) == _password(steady)


def test_a_lower_rotation_is_refused_and_an_unset_one_keeps_the_password():
    rsp, observed = f.converge(_rotated(3))
    refused = f.run(f.request(_rotated(2), observed))
    message = f.fatal(refused)
    assert message is not None and message.startswith("spec.credentials.rotation: 2 is lower than 3"), message
    assert "set 4 to draw a new password" in message
    assert not refused.desired.resources
    kept = f.run(f.request(_rotated(None), observed))
    assert _password(kept) == _password(rsp)
    assert _secret(kept)["metadata"]["annotations"] == {ROTATION: "3"}


def test_an_adopted_secret_keeps_its_rotation():
    live = data.live_secret("adopted-password-123")
    live["metadata"]["annotations"] = {ROTATION: "3"}
    rsp = f.run(f.request(SHOP, required={keys.LIVE_SECRET: [live]}))
    assert _password(rsp) == "adopted-password-123"
    assert _secret(rsp)["metadata"]["annotations"] == {ROTATION: "3"}
    lower = f.run(f.request(_rotated(1), required={keys.LIVE_SECRET: [live]}))
    assert "spec.credentials.rotation: 1 is lower than 3" in f.fatal(lower)


def test_an_applications_pods_restart_only_once_the_secret_holds_the_new_password():
    app = _rotated(None, "TauApplication")
    _, observed = f.converge(app)
    rotated = f.run(f.request(_rotated(1, "TauApplication"), observed))
    template = f.manifests(rotated)[keys.DEPLOYMENT]["spec"]["template"]["metadata"]
    assert "annotations" not in template  # the API server still holds the old Secret
    steady, _ = f.converge(_rotated(1, "TauApplication"))
    template = f.manifests(steady)[keys.DEPLOYMENT]["spec"]["template"]["metadata"]
    assert template["annotations"] == {ROTATION: "1"}  # a count, never anything derived from the password
    assert _password(steady) not in str(f.manifests(steady)[keys.DEPLOYMENT])


def test_once_its_secret_is_composed_a_steady_claim_asks_for_nothing():
    """No requirements, no second call: Crossplane calls a function again only while it states some
    (crossplane v2.2.1 internal/xfn/required_resources.go), so a steady claim costs one call per reconcile."""
    _, observed = f.converge(SHOP)
    again = f.run(f.request(SHOP, observed))
    assert not again.HasField("requirements"), again.requirements
