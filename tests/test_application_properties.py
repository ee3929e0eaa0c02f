"""SPEC §7 invariants for TauApplication, as hypothesis properties.

1. Deterministic: the same request gives the same response, byte for byte.
2. Bad input never destroys anything: an invalid spec is a fatal result naming
   a field, with no desired resources; no spec drops the database or the
   Deployment once they exist.
3. No crash on any input.
4. Tenancy: everything goes to the claim's namespace; nothing is read outside it.
5. Every composed manifest validates against its upstream schema.
Plus: the password never reaches a result, a condition, the status, the logs
or an application resource.
"""

from __future__ import annotations

import base64
import functools
import re
import string

import structlog
from crossplane.function import logging
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from function import keys, simulate
from function.application import status as app_status
from tests.support import function as f
from tests.support import schemas
from tests.support.data import live_secret
from tests.support.strategies import APPLICATION_NAMES as CLAIM_NAMES
from tests.support.strategies import APPLICATION_NAMESPACES as NAMESPACES
from tests.support.strategies import application_garbage as any_specs
from tests.support.strategies import application_specs, platform_inputs

KIND = "TauApplication"
# Every valid spec (dumps on or off, restores from a dump), each sent with a platform input it composes with.
valid_specs = application_specs(keyed=True).flatmap(lambda spec: st.tuples(st.just(spec), platform_inputs(spec)))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _xr(spec: object, name: str = "shop", namespace: str = "shop") -> dict:
    xr = f.composite(KIND, None, name=name, namespace=namespace)
    xr["spec"] = spec
    return xr


FIELD = re.compile(r"^(spec|metadata\.name)[\w.\[\]-]*: ")


@SETTINGS
@given(spec=valid_specs, name=CLAIM_NAMES, namespace=NAMESPACES)
def test_deterministic_once_the_credentials_exist(spec, name, namespace):
    spec, platform = spec
    xr = _xr(spec, name, namespace)
    first = f.run(f.request(xr, function_input=platform))
    assert f.fatal(first) is None, f.fatal(first)
    req = f.request(xr, simulate.observe(first), function_input=platform)
    one, two = f.run(req), f.run(req)
    assert one.SerializeToString(deterministic=True) == two.SerializeToString(deterministic=True)


@SETTINGS
@given(spec=any_specs())
def test_no_crash_and_a_refusal_names_the_field(spec):
    rsp = f.run(f.request(_xr(spec)))
    assert all(r.reason != "InternalError" for r in rsp.results), [r.message for r in rsp.results]
    message = f.fatal(rsp)
    if message is None:
        return
    assert not rsp.desired.resources
    assert rsp.results[0].reason == "InvalidSpec"
    assert FIELD.match(message), message
    assert f.conditions(rsp)[app_status.APPLICATION_READY].status == fnv1.STATUS_CONDITION_FALSE


@functools.cache
def _existing() -> tuple[list[dict], frozenset[str]]:
    """A converged application with a database, a Service and an Ingress: what exists."""
    spec = {"image": "nginx", "port": 80, "ingress": {"host": "a.b"}, "database": {"enabled": True}}
    rsp, _ = f.converge(_xr(spec))
    return simulate.observe(rsp), frozenset(rsp.desired.resources)


@SETTINGS
@given(spec=any_specs())
def test_nothing_that_exists_is_dropped_but_service_and_ingress(spec):
    observed, existing = _existing()
    rsp = f.run(f.request(_xr(spec), observed))
    assert all(r.reason != "InternalError" for r in rsp.results)
    if f.fatal(rsp):
        assert not rsp.desired.resources  # Crossplane then keeps everything as it is
        return
    kept = existing - {keys.SERVICE, keys.INGRESS}
    assert kept <= set(rsp.desired.resources), kept - set(rsp.desired.resources)


@SETTINGS
@given(
    spec=valid_specs,
    # Marked, so it cannot be a word the output holds anyway (hypothesis draws words from the code).
    password=st.text(string.ascii_letters + string.digits + "!#%&()*+,-./:;<=>?@[]^_{|}~", min_size=8, max_size=48).map(
        lambda text: f"~pw~{text}~pw~"
    ),
)
def test_the_password_reaches_only_the_credentials_secret(spec, password):
    spec, platform = spec
    assume(password not in repr(spec))  # the user's own values may be anything
    spec["database"]["enabled"] = True
    spec["database"].pop("credentialsSecretName", None)
    live = live_secret(password)
    xr = _xr(spec)
    logging.configure(level=logging.Level.DEBUG)
    try:
        with structlog.testing.capture_logs() as logs:
            rsp, _ = f.converge(xr, required={keys.LIVE_SECRET: [live]}, function_input=platform, rounds=6)
    finally:
        logging.configure(level=logging.Level.DISABLED)
    assert f.fatal(rsp) is None, f.fatal(rsp)
    secret = f.manifests(rsp)[keys.CREDENTIALS]["data"]
    assert base64.b64decode(secret["password"]).decode() == password
    encoded = base64.b64encode(password.encode()).decode()
    leaks = [str(f.status(rsp)), *(c.message for c in rsp.conditions), *(r.message for r in rsp.results), str(logs)]
    leaks += [str(body) for key, body in f.desired(rsp).items() if key != keys.CREDENTIALS]
    for text in leaks:
        assert password not in text and encoded not in text


@settings(SETTINGS, max_examples=20)  # schema validation is the slow part
@given(spec=valid_specs, name=CLAIM_NAMES, namespace=NAMESPACES)
def test_everything_is_schema_valid_and_stays_in_the_claims_namespace(spec, name, namespace):
    spec, platform = spec
    spec["namespace"] = namespace  # the same namespace is allowed; another one is refused
    rsp, _ = f.converge(_xr(spec, name, namespace), function_input=platform, rounds=6)
    assert f.fatal(rsp) is None, f.fatal(rsp)
    for key, manifest in f.manifests(rsp).items():
        schemas.validate_composed(f.desired(rsp)[key])
        assert manifest["metadata"]["namespace"] == namespace, key
        subjects = manifest.get("subjects") or []
        assert all(s.get("namespace") == namespace for s in subjects), key
    for field in (rsp.requirements.resources, rsp.requirements.extra_resources):
        assert all(selector.namespace == namespace for selector in field.values())
