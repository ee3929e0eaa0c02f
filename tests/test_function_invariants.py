"""SPEC §7 invariants for PostgresDatabase, under generated input (hypothesis).

1. Deterministic: the same request gives the same response, byte for byte,
   once the credentials exist.
2. Bad input never destroys anything: an invalid spec is a fatal result naming
   a field, with no desired resources; a valid spec never drops a database resource.
3. No crash on any input: every exception becomes a readable result.
4. Tenancy: nothing is created or read outside the claim's namespace but what
   the platform input names.
5. Every emitted manifest validates against its upstream schema.
And SPEC §6: the password never appears in results, conditions, status or logs.
"""

from __future__ import annotations

import base64
import re

import structlog
from crossplane.function import logging
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import HealthCheck, given, settings

from function import keys
from tests.support import function as f
from tests.support import schemas
from tests.support.strategies import postgres_garbage as any_specs
from tests.support.strategies import postgres_specs as valid_specs

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FIELD = re.compile(r"^(spec|input)(\.[A-Za-z]+|\[\d+\])*:", re.MULTILINE)

# Valid specs (every combination must compose) and anything shaped like a spec: tests/support/strategies.py.


def _all_valid(rsp: fnv1.RunFunctionResponse) -> None:
    for body in f.desired(rsp).values():
        schemas.validate_composed(body)


@SETTINGS
@given(spec=any_specs)
def test_any_input_gives_a_readable_answer_never_a_crash(spec):
    rsp = f.run(f.request(f.composite("PostgresDatabase", spec)))
    message = f.fatal(rsp)
    if message is not None:
        assert FIELD.search(message), message  # names a field
        assert "Traceback" not in message and "InternalError" not in [r.reason for r in rsp.results]
        assert not rsp.desired.resources
    else:
        _all_valid(rsp)


@SETTINGS
@given(spec=valid_specs)
def test_valid_specs_compose_to_schema_valid_resources_in_the_claims_namespace(spec):
    rsp, _ = f.converge(f.composite("PostgresDatabase", spec, name="my-app", namespace="team-a"))
    assert f.fatal(rsp) is None, f.fatal(rsp)
    _all_valid(rsp)
    for manifest in f.manifests(rsp).values():
        assert manifest["metadata"]["namespace"] == "team-a"
    # A steady claim asks for nothing (issue #16: one call per reconcile), the first call only in its namespace.
    for field in (rsp.requirements.resources, rsp.requirements.extra_resources):
        assert {s.namespace for s in field.values()} <= {"team-a"}
    first = f.run(f.request(f.composite("PostgresDatabase", spec, name="my-app", namespace="team-a")))
    for field in (first.requirements.resources, first.requirements.extra_resources):
        assert {s.namespace for s in field.values()} == {"team-a"}


@SETTINGS
@given(spec=valid_specs)
def test_the_same_request_gives_the_same_bytes(spec):
    xr = f.composite("PostgresDatabase", spec)
    _, observed = f.converge(xr)
    req = f.request(xr, observed)
    first, second = f.run(req), f.run(req)
    assert first.SerializeToString() == second.SerializeToString()
    assert first.SerializeToString(deterministic=True) == second.SerializeToString(deterministic=True)


@SETTINGS
@given(before=valid_specs, after=any_specs | valid_specs)
def test_a_later_spec_never_drops_a_database_resource(before, after):
    _, observed = f.converge(f.composite("PostgresDatabase", before))
    rsp = f.run(f.request(f.composite("PostgresDatabase", after), observed))
    if f.fatal(rsp) is None:
        observed_keys = {d["metadata"]["annotations"]["crossplane.io/composition-resource-name"] for d in observed}
        assert observed_keys <= set(rsp.desired.resources)
    else:
        assert not rsp.desired.resources  # Crossplane applies nothing from a fatal response


@SETTINGS
@given(spec=valid_specs, bad=any_specs)
def test_the_password_never_leaves_the_secret(spec, bad):
    logging.configure(level=logging.Level.DEBUG)
    try:
        with structlog.testing.capture_logs() as logs:
            xr = f.composite("PostgresDatabase", spec)
            rsp, observed = f.converge(xr)
            password = base64.b64decode(f.manifests(rsp)[keys.CREDENTIALS]["data"]["password"]).decode()
            refused = f.run(f.request(f.composite("PostgresDatabase", bad), observed))
    finally:
        logging.configure(level=logging.Level.DISABLED)
    for response in (rsp, refused):
        visible = str(f.status(response)) + str(list(response.conditions)) + str(list(response.results))
        assert password not in visible
    assert password not in str(logs)
