"""The password is stable (SPEC §6): across restarts of the function, concurrent reconciles, and adoption.

The function keeps no state: the password lives in the Secret Object it composed, which
Crossplane passes back on every call, and in the live Secret (a required resource). So:

- a restarted function (a new process, a new pod) reads the same password back;
- concurrent calls with the same observed state all answer with that password;
- concurrent *first* reconciles each draw their own, which is safe: Crossplane applies the
  desired state of one response, and from then on every call reads that Secret back (and the
  Cluster, which reads the password at bootstrap, is composed only once the Secret is observed);
- an existing Secret (a claim re-created after a Retain delete, or one made by hand) is adopted,
  on Crossplane 2.x (required resources) and 1.20 (extra resources) alike.
"""

from __future__ import annotations

import base64
import concurrent.futures
import copy
import string

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys, simulate
from function.postgres import credentials
from tests.support import crossplane
from tests.support import function as f

ALPHABET = set(string.ascii_letters + string.digits)
CLAIMS = {
    "PostgresDatabase": {"extensions": ["pgcrypto"]},
    "TauApplication": {"image": "nginx", "port": 80, "database": {"enabled": True}},
}
ADOPTED = "Adopted-0nce-by-hand"


def password_of(rsp: fnv1.RunFunctionResponse) -> str:
    """The password in a response's credentials Secret."""
    assert f.fatal(rsp) is None, f.fatal(rsp)
    return base64.b64decode(f.manifests(rsp)[keys.CREDENTIALS]["data"]["password"]).decode()


def drawn(password: str) -> bool:
    """Whether a password looks as the function draws them: 32 letters and digits."""
    return len(password) == credentials.PASSWORD_LENGTH and set(password) <= ALPHABET


def live_secret(password_b64: str, name: str = "shop-postgres-credentials") -> dict:
    """The credentials Secret as it exists in the cluster."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": "shop", "labels": {"app.kubernetes.io/managed-by": "function-tau"}},
        "type": "kubernetes.io/basic-auth",
        "data": {"username": base64.b64encode(b"shop_user").decode(), "password": password_b64},
    }


def adopt(password: str) -> dict[str, list[dict]]:
    """A required-resources answer holding an existing Secret with `password`."""
    return {keys.LIVE_SECRET: [live_secret(base64.b64encode(password.encode()).decode())]}


def converge_over(address: str, xr: dict, required: dict | None = None) -> tuple[list[str], list[dict]]:
    """Reconcile over gRPC to steady state; the password of every response, and the final observed state."""
    steps = list(simulate.settle(lambda seen: crossplane.call(address, f.request(xr, seen, required))))
    return [password_of(rsp) for rsp, _ in steps], steps[-1][1]


def in_parallel(address: str, req: fnv1.RunFunctionRequest, count: int = 32) -> list[fnv1.RunFunctionResponse]:
    """`count` calls at once, each from its own client (its own connection)."""
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        return list(pool.map(lambda _: crossplane.call(address, req, timeout=30), range(count)))


# ---------------------------------------------------------------------------------------------------------------
# Restarts.


@pytest.mark.parametrize("kind", CLAIMS)
def test_a_restarted_function_reads_the_same_password_back(kind):
    xr = f.composite(kind, CLAIMS[kind])
    with crossplane.served() as first:
        passwords, observed = converge_over(first, xr)
        first_answer = crossplane.call(first, f.request(xr, observed))
    assert len(set(passwords)) == 1 and drawn(passwords[0])
    with crossplane.served() as second:  # a new process: nothing carried over but what Crossplane sends
        again = crossplane.call(second, f.request(xr, observed))
        assert password_of(again) == passwords[0]
        assert again.SerializeToString(deterministic=True) == first_answer.SerializeToString(deterministic=True)
        # And restarted mid-way: only the Secret Object observed so far, nothing else.
        secret_only = [d for d in observed if d["metadata"]["annotations"][
            "crossplane.io/composition-resource-name"] == keys.CREDENTIALS]  # fmt: skip
        assert password_of(crossplane.call(second, f.request(xr, secret_only))) == passwords[0]


def test_a_sanitized_observed_secret_still_gives_the_password_back(function_address):
    """provider-kubernetes --sanitize-secrets redacts the Secret in the Object's status; the spec still has it."""
    xr = f.composite("PostgresDatabase", CLAIMS["PostgresDatabase"])
    passwords, observed = converge_over(function_address, xr)
    sanitized = copy.deepcopy(observed)
    for doc in sanitized:
        live = doc["status"]["atProvider"]["manifest"]
        if live.get("kind") == "Secret":
            live["data"] = {"redacted": None}
    assert password_of(crossplane.call(function_address, f.request(xr, sanitized))) == passwords[0]


# ---------------------------------------------------------------------------------------------------------------
# Concurrent reconciles.


@pytest.mark.parametrize("kind", CLAIMS)
def test_concurrent_reconciles_of_an_existing_secret_agree_to_the_byte(function_address, kind):
    xr = f.composite(kind, CLAIMS[kind])
    passwords, observed = converge_over(function_address, xr)
    answers = in_parallel(function_address, f.request(xr, observed))
    assert {a.SerializeToString(deterministic=True) for a in answers} == {
        answers[0].SerializeToString(deterministic=True)
    }
    assert password_of(answers[0]) == passwords[0]


def test_concurrent_first_reconciles_draw_independently_and_the_applied_one_stays(function_address):
    xr = f.composite("PostgresDatabase", CLAIMS["PostgresDatabase"])
    answers = in_parallel(function_address, f.request(xr))
    passwords = [password_of(a) for a in answers]
    assert all(drawn(p) for p in passwords)
    assert len(set(passwords)) == len(passwords)  # 190 bits each: independent draws never collide
    # Crossplane applies one answer's desired state (the last one it got); from then on that Secret is observed.
    applied = answers[-1]
    observed = simulate.observe(applied)
    later = in_parallel(function_address, f.request(xr, observed), count=16)
    assert {password_of(a) for a in later} == {passwords[-1]}
    rest, _ = converge_over(function_address, xr)  # and a fresh start draws anew: nothing is remembered
    assert rest[0] not in passwords


# ---------------------------------------------------------------------------------------------------------------
# Adoption.


@pytest.mark.parametrize(
    "legacy", [False, True], ids=["crossplane-2-required-resources", "crossplane-1.20-extra-resources"]
)
def test_an_existing_secret_is_adopted_and_kept_to_steady_state(function_address, legacy):
    xr = f.composite("PostgresDatabase", CLAIMS["PostgresDatabase"])
    required = adopt(ADOPTED)
    observed: list[dict] = []
    for _ in range(6):
        rsp = crossplane.call(function_address, f.request(xr, observed, required, legacy=legacy))
        assert password_of(rsp) == ADOPTED
        observed = simulate.observe(rsp)
    # Once the Secret Object is observed, it is the source, even when the live Secret is not passed any more.
    assert password_of(crossplane.call(function_address, f.request(xr, observed))) == ADOPTED


def test_an_existing_secret_is_adopted_by_every_kind_that_has_one(function_address):
    for kind, spec in CLAIMS.items():
        passwords, _ = converge_over(function_address, f.composite(kind, spec), adopt(ADOPTED))
        assert set(passwords) == {ADOPTED}, kind


def test_the_secret_composed_before_wins_over_a_live_secret_edited_by_hand(function_address):
    """SPEC §6's order: the Object's manifest first; provider-kubernetes then puts the hand edit back."""
    xr = f.composite("PostgresDatabase", CLAIMS["PostgresDatabase"])
    passwords, observed = converge_over(function_address, xr)
    answer = crossplane.call(function_address, f.request(xr, observed, adopt("edited-by-hand")))
    assert password_of(answer) == passwords[0]


UNUSABLE = {
    "empty": "",
    "not base64": "%%%not-base64%%%",
    "not UTF-8": base64.b64encode(b"\xff\xfe\xfd").decode(),
    "unprintable": base64.b64encode(b"line\nbreak").decode(),
    "longer than 1024": base64.b64encode(b"x" * 1025).decode(),
}


@pytest.mark.parametrize("value", UNUSABLE.values(), ids=UNUSABLE.keys())
def test_an_unusable_live_password_is_replaced_by_a_drawn_one_not_a_crash(function_address, value):
    xr = f.composite("PostgresDatabase", CLAIMS["PostgresDatabase"])
    rsp = crossplane.call(function_address, f.request(xr, required={keys.LIVE_SECRET: [live_secret(value)]}))
    assert drawn(password_of(rsp))
