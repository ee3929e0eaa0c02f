"""TauApplication through the real gRPC server (`function-tau serve --insecure` on loopback).

The server answers exactly what the in-process runner answers, reconcile by
reconcile, and a refused claim is a fatal result, never a gRPC error.
"""

from __future__ import annotations

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import keys, simulate
from function.application import manifests as app_manifests
from function.application import status as app_status
from tests.support import crossplane
from tests.support import function as f
from tests.support.data import POSTGRES_EXAMPLE, live_secret

KIND = "TauApplication"
LIVE_SECRET = live_secret("SamePasswordForBothRunners012345", "postgres-example-postgres-credentials", "apps")


def test_the_server_converges_the_postgres_example_like_the_in_process_runner(function_address):
    xr = f.composite(KIND, {**POSTGRES_EXAMPLE, "port": 5432}, name="postgres-example", namespace="apps")
    required = {keys.LIVE_SECRET: [LIVE_SECRET]}

    def reconcile(observed: list[dict]) -> fnv1.RunFunctionResponse:
        req = f.request(xr, observed, required)
        served = crossplane.call(function_address, req)
        assert served.SerializeToString(deterministic=True) == f.run(req).SerializeToString(deterministic=True)
        return served

    *_, (served, _) = simulate.settle(reconcile)
    assert served.desired.composite.ready == fnv1.READY_TRUE
    env = f.manifests(served)[keys.DEPLOYMENT]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["valueFrom"]["secretKeyRef"]["key"] for e in env] == list(app_manifests.INJECTED_VARIABLES)
    assert f.status(served)["availableReplicas"] == 1


def test_a_refused_claim_is_a_fatal_result_not_a_grpc_error(function_address):
    xr = f.composite(KIND, {"image": "nginx", "ingress": {"host": "shop.home.arpa"}})
    rsp = crossplane.call(function_address, f.request(xr))
    assert f.fatal(rsp).startswith("spec.ingress: needs spec.port")
    assert not rsp.desired.resources
    assert f.conditions(rsp)[app_status.APPLICATION_READY].reason == "InvalidSpec"


def test_garbage_in_the_spec_is_a_readable_result(function_address):
    xr = f.composite(KIND, {"image": {"nested": [1, 2, {"x": None}]}, "database": [], "env": "PATH=/"})
    rsp = crossplane.call(function_address, f.request(xr))
    message = f.fatal(rsp)
    assert "spec.image:" in message and "spec.database:" in message and "spec.env:" in message
    assert all(r.reason != "InternalError" for r in rsp.results)
