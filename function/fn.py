"""The gRPC servicer: a thin shell around the dispatcher.

It adds only what a server needs: a log line per call, the guarantee that
no exception escapes as a gRPC error, and a cache of the answers to requests
it has seen before (function.cache: a claim at rest sends the same request on
every reconcile). An unexpected failure becomes a fatal result a user can
read; its stack trace (without local variables, which could hold a password)
goes to the function's log, never to the claim.
"""

from __future__ import annotations

import traceback

import grpc
from crossplane.function import logging, response
from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from crossplane.function.proto.v1 import run_function_pb2_grpc as grpcv1

from function import cache, dispatch


class FunctionRunner(grpcv1.FunctionRunnerServiceServicer):
    """Runs function-tau for Crossplane."""

    def __init__(self, cache_size: int = cache.DEFAULT_SIZE) -> None:
        self.log = logging.get_logger()
        self.cache = cache.ResponseCache(cache_size)

    async def RunFunction(
        self, req: fnv1.RunFunctionRequest, _: grpc.aio.ServicerContext | None = None
    ) -> fnv1.RunFunctionResponse:
        """Compose the request's composite resource."""
        key = self.cache.key(req)
        cached = self.cache.get(key)
        if cached is not None:
            self.log.debug("composed", tag=req.meta.tag, outcome="cached")
            return cached
        rsp = response.to(req)
        try:
            outcome = dispatch.respond(req, rsp)
        except Exception as exc:
            # Not log.exception: structlog renders tracebacks with local
            # variables, and a local variable may hold the password.
            self.log.error(
                "composition failed", tag=req.meta.tag, error=type(exc).__name__, traceback=traceback.format_exc()
            )
            rsp = response.to(req)
            message = (
                f"function-tau failed unexpectedly ({type(exc).__name__}); this is a bug, "
                "the function's log has the details"
            )
            # The warning becomes an event (on the claim too); the fatal result stops the pipeline.
            for severity in (fnv1.SEVERITY_WARNING, fnv1.SEVERITY_FATAL):
                rsp.results.append(
                    fnv1.Result(
                        severity=severity,
                        message=message,
                        reason="InternalError",
                        target=fnv1.TARGET_COMPOSITE_AND_CLAIM,
                    )
                )
            return rsp
        self.cache.offer(key, rsp)
        self.log.debug("composed", tag=req.meta.tag, outcome=outcome)
        return rsp
