"""The real server: `function-tau serve` in a subprocess, called over gRPC."""

from __future__ import annotations

import subprocess

import grpc
import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1beta1 import run_function_pb2 as fnv1beta1
from crossplane.function.proto.v1beta1 import run_function_pb2_grpc as grpcv1beta1

from function import keys
from tests.support import crossplane
from tests.support import function as f


def test_serves_run_function_over_grpc(function_address):
    rsp = crossplane.call(function_address, f.request(f.composite("PostgresDatabase", {"extensions": ["pgcrypto"]})))
    assert f.fatal(rsp) is None
    assert list(rsp.desired.resources) == [keys.CREDENTIALS]
    assert rsp.meta.tag == "test"
    assert rsp.meta.ttl.seconds == 20


def test_the_same_steady_state_as_in_process(function_address):
    xr = f.composite("PostgresDatabase", {"extensions": ["pgcrypto"]})
    in_process, observed = f.converge(xr)
    over_grpc = crossplane.call(function_address, f.request(xr, observed))
    assert over_grpc.SerializeToString(deterministic=True) == f.run(f.request(xr, observed)).SerializeToString(
        deterministic=True
    )
    assert f.desired(over_grpc) == f.desired(in_process)


def test_serves_the_v1beta1_api_too(function_address):
    req = fnv1beta1.RunFunctionRequest()
    req.ParseFromString(f.request(f.composite("PostgresDatabase")).SerializeToString())
    with grpc.insecure_channel(function_address) as channel:
        rsp = grpcv1beta1.FunctionRunnerServiceStub(channel).RunFunction(req, timeout=10)
    assert list(rsp.desired.resources) == [keys.CREDENTIALS]


def test_a_refused_claim_is_a_fatal_result_not_a_grpc_error(function_address):
    rsp = crossplane.call(function_address, f.request(f.composite("PostgresDatabase", {"databaseName": "postgres"})))
    assert "spec.databaseName:" in f.fatal(rsp)


def test_an_unknown_kind_is_a_fatal_result(function_address):
    xr = {"apiVersion": "example.org/v1", "kind": "XBucket", "metadata": {"name": "b"}, "spec": {}}
    message = f.fatal(crossplane.call(function_address, f.request(xr)))
    assert "'XBucket' is not composed by function-tau" in message


def test_an_empty_request_is_a_fatal_result(function_address):
    rsp = crossplane.call(function_address, fnv1.RunFunctionRequest())
    assert f.fatal(rsp) is not None


def test_refuses_to_start_without_credentials_or_insecure():
    proc = subprocess.run(
        crossplane.function_command("serve", "--address", f"127.0.0.1:{crossplane.free_port()}"),
        capture_output=True, text=True, timeout=30, check=False, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode != 0
    assert "no credentials were provided" in proc.stdout + proc.stderr


@pytest.mark.parametrize("flag", ["--help"])
def test_serve_documents_its_flags(flag):
    proc = subprocess.run(
        crossplane.function_command("serve", flag), capture_output=True, text=True, timeout=30, check=False
    )
    for option in ("--insecure", "--address", "--tls-certs-dir", "--debug"):
        assert option in proc.stdout
