"""Claims near gRPC's 4 MiB message limit: a quick, clear answer, never a hang, never an oversized response.

The function serves with the SDK's limits (4 MiB received, 4 MiB sent), as Crossplane calls it.
What a caller gets, by case (each answered within seconds, the server serving on afterwards):

- a request over 4 MiB: gRPC RESOURCE_EXHAUSTED. The server refuses to receive it before any
  function code runs, so there is nothing the function could say instead. Crossplane cannot
  send such a claim anyway: the API server and etcd refuse objects over about 1.5 MiB.
- a request under 4 MiB whose claim breaks a bound (an enormous string, a list of a hundred
  thousand entries, an env of 3.9 MB): a fatal result that names the field, a few hundred bytes.
- the largest claim every bound allows: composed, at every step to steady state, with every
  request and response far below 4 MiB. That is what the bounds are for: the models cap each
  field, and `command`, `args` and `env` together at 256 KiB (function/api/application.py,
  MAX_CONTAINER_BYTES; without it a valid claim could hold 4.5 MiB of container text, and its
  Deployment would not fit in a response).
- a request nested deeper than Python protobuf parses (about 32 levels of JSON objects; Go's
  limit, on Crossplane's side, is 10,000): gRPC UNKNOWN, "Exceeded upb_DecodeOptions_MaxDepth",
  raised by protobuf before any function code runs. What Crossplane sends is far shallower: the
  deepest observed resource, a Deployment with its managedFields, is checked here to parse.
"""

from __future__ import annotations

import time

import grpc
import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from google.protobuf import struct_pb2

from function import keys, simulate
from function.api.application import MAX_CONTAINER_BYTES
from tests.support import function as f
from tests.support import schemas

LIMIT = 4 * 1024 * 1024
METHOD = "/" + fnv1.DESCRIPTOR.services_by_name["FunctionRunnerService"].full_name + "/RunFunction"
QUICK = 10  # seconds: an answer, not a hang (each takes well under one here)


def send(address: str, req: fnv1.RunFunctionRequest) -> tuple[fnv1.RunFunctionResponse, float]:
    """RunFunction over gRPC (no client-side limit on what is sent); the response and how long it took."""
    start = time.monotonic()
    with grpc.insecure_channel(address, options=[("grpc.max_send_message_length", -1)]) as channel:
        call = channel.unary_unary(
            METHOD,
            request_serializer=fnv1.RunFunctionRequest.SerializeToString,
            response_deserializer=fnv1.RunFunctionResponse.FromString,
        )
        rsp = call(req, timeout=60)
    return rsp, time.monotonic() - start


def refused_by_grpc(address: str, req: fnv1.RunFunctionRequest) -> grpc.RpcError:
    """The gRPC error a request gets, at once."""
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as error:
        send(address, req)
    assert time.monotonic() - start < QUICK
    return error.value


def still_serving(address: str) -> None:
    rsp, _ = send(address, f.request(f.composite("PostgresDatabase")))
    assert f.fatal(rsp) is None and keys.CREDENTIALS in rsp.desired.resources


def _app(spec: dict) -> dict:
    return f.composite("TauApplication", spec)


def _pg(spec: dict) -> dict:
    return f.composite("PostgresDatabase", spec)


def _operator(spec: dict) -> dict:
    return {"apiVersion": "tau.home.arpa/v1alpha1", "kind": "CNPGOperator", "metadata": {"name": "cnpg"}, "spec": spec}


# ---------------------------------------------------------------------------------------------------------------
# Over the limit.

OVER = [
    (
        "an env of 4.2 MB",
        _app({"image": "nginx", "env": [{"name": f"V{i}", "value": "x" * 32768} for i in range(130)]}),
    ),
    ("an unknown field of 5 MB", _pg({"notes": "x" * 5_000_000})),
    ("an env of 190,000 entries", _app({"image": "nginx", "env": [{"name": "A", "value": ""}] * 190_000})),
]


@pytest.mark.parametrize(("case", "xr"), OVER, ids=[c for c, _ in OVER])
def test_a_request_over_the_limit_is_refused_by_grpc_at_once(function_address, case, xr):
    req = f.request(xr)
    assert req.ByteSize() > LIMIT
    error = refused_by_grpc(function_address, req)
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
    assert "larger than max" in (error.details() or ""), error.details()
    still_serving(function_address)


# ---------------------------------------------------------------------------------------------------------------
# Just under the limit: the claim breaks a bound.

UNDER = [
    ("spec.env", "an env of 3.9 MB, every value within its own bound",
     _app({"image": "nginx", "env": [{"name": f"V{i}", "value": "x" * 32768} for i in range(118)]})),
    ("spec.env", "an env of 128,000 entries", _app({"image": "nginx", "env": [{"name": "A", "value": ""}] * 128_000})),
    ("spec.image", "an image of 3.9 MB", _app({"image": "a" * 3_900_000})),
    ("spec.args[0]", "an argument of 3.9 MB", _app({"image": "nginx", "args": ["y" * 3_900_000]})),
    ("spec.env[0].name", "an env name of 3.9 MB", _app({"image": "nginx", "env": [{"name": "N" * 3_900_000}]})),
    ("spec.ingress.host", "a host of 3.9 MB", _app({"image": "nginx", "port": 80, "ingress": {"host": "a." * 1_950_000}})),
    ("spec.instance.parameters", "150,000 parameters",
     _pg({"instance": {"parameters": {f"p{i}": "1" for i in range(150_000)}}})),
    ("spec.extensions", "300,000 extensions", _pg({"extensions": ["pgcrypto"] * 300_000})),
    ("spec.backup.schedule", "a schedule of 3.9 MB", _pg({"backup": {"schedule": "0 " * 1_950_000}})),
    ("spec.chartVersion", "a chart version of 3.9 MB", _operator({"chartVersion": "1.0.0-" + "a" * 3_900_000})),
    ("metadata.name", "an operator named with 3.9 MB", {**_operator({}), "metadata": {"name": "a" * 3_900_000}}),
]  # fmt: skip


@pytest.mark.parametrize(("field", "case", "xr"), UNDER, ids=[c for _, c, _ in UNDER])
def test_a_claim_near_the_limit_gets_a_fatal_result_naming_the_field(function_address, field, case, xr):
    req = f.request(xr, required={"cert-manager-certificates-crd": []})
    assert LIMIT * 0.5 < req.ByteSize() < LIMIT, req.ByteSize()
    rsp, seconds = send(function_address, req)
    assert seconds < QUICK
    message = f.fatal(rsp)
    assert message is not None and message.startswith(f"{field}: "), message
    assert not rsp.desired.resources
    assert rsp.ByteSize() < 16 * 1024  # the refused value is shown truncated, never echoed whole


def test_an_unknown_field_of_3_9_mb_is_ignored_not_echoed(function_address):
    req = f.request(_pg({"extensions": ["pgcrypto"], "notes": "x" * 3_900_000}))
    rsp, seconds = send(function_address, req)
    assert seconds < QUICK
    assert f.fatal(rsp) is None
    assert rsp.ByteSize() < 16 * 1024


# ---------------------------------------------------------------------------------------------------------------
# The largest claims the bounds allow.


LARGEST_EXTENSIONS = [f"e{i:02d}" + "x" * 60 for i in range(64)]
# A platform with a custom image that ships them (the standard image has no such extensions: refused otherwise).
LARGEST_INPUT = {
    "apiVersion": "fn.tau.home.arpa/v1alpha1",
    "kind": "PlatformDefaults",
    "postgres": {"allowedExtensions": LARGEST_EXTENSIONS},
}


def largest_database() -> dict:
    """A database with every bounded field at its bound."""
    return {
        "databaseName": "d" * 63,
        "owner": "o" * 63,
        "extensions": LARGEST_EXTENSIONS,
        "instance": {
            "instances": 10,
            "parameters": {f"p{i:03d}_" + "x" * 123: "v" * 1024 for i in range(128)},
            "storage": {"storageClass": "s" * 253},
            "walStorage": {"size": "10Gi", "storageClass": "w" * 253},
        },
        "backup": {"schedule": "0 0 3 * * *", "retentionDays": 3650},
        "credentialsSecretName": "c" * 253,
    }


def largest_application() -> dict:
    """An application with every bounded field at its bound, its container text at MAX_CONTAINER_BYTES."""
    env_value = (MAX_CONTAINER_BYTES - 2 * 64 * 1024) // 128 - 40
    host = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 61])
    database = largest_database()
    database["name"] = database.pop("databaseName")  # an application's database calls it `name`
    return {
        "image": "r.home.arpa/" + "a" * 240 + ":" + "t" * 128 + "@sha256:" + "f" * 64,
        "command": ["c" * 1024] * 64,
        "args": ["a" * 1024] * 64,
        "env": [{"name": f"V{i:03d}" + "N" * 36, "value": "v" * env_value} for i in range(128)],
        "replicas": 100,
        "port": 65535,
        "ingress": {"host": host, "className": "n" * 253, "tls": {"clusterIssuer": "i" * 253, "secretName": "s" * 253}},
        "database": {"enabled": True, **database, "storageSize": "1Ti"},
    }


def test_the_largest_application_is_at_its_bounds():
    spec = largest_application()
    text = sum(map(len, spec["command"] + spec["args"])) + sum(len(e["name"]) + len(e["value"]) for e in spec["env"])
    assert MAX_CONTAINER_BYTES - 128 < text <= MAX_CONTAINER_BYTES
    one_more = {**spec, "env": [*spec["env"][:-1], {**spec["env"][-1], "value": spec["env"][-1]["value"] + "x" * 200}]}
    message = f.fatal(f.run(f.request(_app(one_more))))
    assert message is not None and message.startswith("spec.env: holds "), message


LARGEST = [
    ("PostgresDatabase", lambda: _pg(largest_database())),
    ("TauApplication", lambda: _app(largest_application())),
]


@pytest.mark.parametrize(("kind", "build"), LARGEST, ids=[k for k, _ in LARGEST])
def test_the_largest_valid_claim_converges_far_below_the_limit(function_address, kind, build):
    xr = build()
    sizes = []

    def reconcile(observed: list[dict]) -> fnv1.RunFunctionResponse:
        req = f.request(xr, observed, function_input=LARGEST_INPUT)
        rsp, seconds = send(function_address, req)
        assert seconds < QUICK
        assert f.fatal(rsp) is None, f.fatal(rsp)
        sizes.append((req.ByteSize(), rsp.ByteSize()))
        return rsp

    *_, (rsp, _) = simulate.settle(reconcile, max_rounds=7)
    assert rsp.desired.composite.ready == fnv1.READY_TRUE
    for body in f.desired(rsp).values():
        schemas.validate_composed(body)  # at its bounds, still what the upstream schemas accept
    print(kind, "request, response bytes per reconcile:", sizes)
    # Steady state: the claim, and every composed resource twice (as composed, and as observed).
    assert max(r for r, _ in sizes) < LIMIT / 2
    assert max(r for _, r in sizes) < LIMIT / 4


# ---------------------------------------------------------------------------------------------------------------
# Nesting.


def nested(depth: int) -> struct_pb2.Value:
    """A JSON object nested `depth` levels deep."""
    value = struct_pb2.Value(string_value="x")
    for _ in range(depth):
        outer = struct_pb2.Value()
        outer.struct_value.fields["a"].CopyFrom(value)
        value = outer
    return value


def test_a_request_nested_deeper_than_protobuf_parses_is_refused_at_once(function_address):
    req = f.request(_pg({}))
    req.observed.composite.resource.fields["spec"].struct_value.fields["notes"].CopyFrom(nested(60))
    error = refused_by_grpc(function_address, req)
    assert error.code() == grpc.StatusCode.UNKNOWN, error
    assert "MaxDepth" in (error.details() or ""), error.details()
    still_serving(function_address)


def managed_fields(obj: object) -> object:
    """The fieldsV1 of `obj` as the API server writes it: f:<field> for keys, k:{...} for list items."""
    if isinstance(obj, dict):
        return {f"f:{key}": managed_fields(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return {f'k:{{"name":"{i}"}}': managed_fields(item) for i, item in enumerate(obj)}
    return {}


def test_the_deepest_observed_resource_parses_with_room_to_spare(function_address):
    """A Deployment as provider-kubernetes reports it (live object with managedFields, plus ten levels more)."""
    spec = {"image": "nginx", "port": 80, "env": [{"name": "A", "value": "b"}], "database": {"enabled": True}}
    _, observed = f.converge(_app(spec))
    deployment = next(d for d in observed if d["metadata"]["annotations"][
        "crossplane.io/composition-resource-name"] == keys.DEPLOYMENT)  # fmt: skip
    live = deployment["status"]["atProvider"]["manifest"]
    live["spec"]["template"]["spec"]["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "In", "values": ["v"]}]}]}}}  # fmt: skip
    fields = managed_fields({"spec": live["spec"]})
    for _ in range(10):  # room to spare: ten levels deeper than any field Kubernetes has here
        fields = {"f:x": fields}
    live["metadata"]["managedFields"] = [
        {"manager": "provider-kubernetes", "fieldsType": "FieldsV1", "fieldsV1": fields}
    ]
    answer, seconds = send(function_address, f.request(_app(spec), observed))
    assert seconds < QUICK
    assert f.fatal(answer) is None
