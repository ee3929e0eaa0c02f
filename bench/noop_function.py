"""The floor: a composition function that does nothing, served like function-tau.

It runs on the same SDK, the same way (`crossplane.function.cli`: the same
flags, logging set-up, gRPC aio server, v1beta1 wrapper and reflection), and
returns the request's desired state untouched (`response.to`). What it costs
per call is what gRPC and protobuf cost a Python function, so function-tau's
latency is measured against it.

    python bench/noop_function.py --insecure --address 127.0.0.1:9443
"""

from __future__ import annotations

import click
import grpc
from crossplane.function import cli as sdkcli
from crossplane.function import logging, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1


class NoopRunner(grpcv1.FunctionRunnerServiceServicer):
    """Returns the request's desired state, tag and context, as `response.to` makes them."""

    def __init__(self) -> None:
        self.log = logging.get_logger()

    async def RunFunction(
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        """Do nothing, the way a function does it."""
        rsp = response.to(req)
        self.log.debug("composed", tag=req.meta.tag)
        return rsp


@click.command()
@sdkcli.standard_options
def cli(**kwargs: object) -> None:
    """Serve the no-op function over gRPC."""
    sdkcli.run(NoopRunner(), **kwargs)  # type: ignore[arg-type]


if __name__ == "__main__":
    cli()
