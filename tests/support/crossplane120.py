"""Crossplane 1.20.11's requirement fetching, modelled from its source, for tests that need no cluster.

crossplane v1.20.11 internal/controller/apiextensions/composite/extra_resources.go:
`FetchingFunctionRunner.RunFunction` reads only `requirements.extra_resources`
and answers only `req.extra_resources` (the proto has no `resources` field, nor
a namespace in ResourceSelector), calling the function until the requirements
are the same twice in a row; `ExistingExtraResourcesFetcher.Fetch` gets by name
with an empty namespace and lists by labels across every namespace. With a
namespaced kind, a Get by name with no namespace fails for a Secret (Secrets
bypass the cache: "an empty namespace may not be set when a resource name is
provided", and the whole pipeline fails) and finds nothing for a cached kind
(a Backup). The real 1.20.11 core does this in tests/controlplane.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import fn, simulate
from function.observed import dig

# Namespaced kinds whose by-name Get with no namespace fails (they bypass Crossplane's cache).
_UNCACHED = {("v1", "Secret")}


class PipelineError(RuntimeError):
    """What Crossplane 1.20 reports when fetching a requirement fails: the pipeline stops."""


def _namespaced(api_version: str, kind: str, available: list[dict]) -> bool:
    return (api_version, kind) in _UNCACHED or any(
        dig(d, "metadata", "namespace")
        for d in available
        if (d.get("apiVersion"), d.get("kind")) == (api_version, kind)
    )


def fetch(selector: fnv1.ResourceSelector, available: Iterable[dict]) -> list[dict]:
    """What 1.20 returns for one selector (its namespace, a field 1.20 does not know, is ignored)."""
    available = list(available)
    of_kind = [d for d in available if (d.get("apiVersion"), d.get("kind")) == (selector.api_version, selector.kind)]
    match = selector.WhichOneof("match")
    if match == "match_name":
        if _namespaced(selector.api_version, selector.kind, available):
            if (selector.api_version, selector.kind) in _UNCACHED:
                raise PipelineError(
                    "cannot get extra resource by name: an empty namespace may not be set when a resource name "
                    "is provided"
                )
            return []
        return [d for d in of_kind if dig(d, "metadata", "name") == selector.match_name]
    if match == "match_labels":
        wanted = dict(selector.match_labels.labels)
        found = [d for d in of_kind if wanted.items() <= (dig(d, "metadata", "labels") or {}).items()]
        return sorted(found, key=lambda d: (dig(d, "metadata", "namespace") or "", dig(d, "metadata", "name")))
    raise PipelineError("cannot get extra resource by name: unknown resource selector type")


def run(
    composite: dict,
    *,
    observed: Iterable[dict] = (),
    available: Iterable[dict] = (),
    function_input: dict | None = None,
) -> fnv1.RunFunctionResponse:
    """One reconcile's function call as Crossplane 1.20 makes it, requirements fetched the 1.20 way."""
    available = list(available)
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="render"))
    req.observed.composite.resource.update(composite)
    for doc in observed:
        req.observed.resources[doc["metadata"]["annotations"][simulate.RESOURCE_NAME_ANNOTATION]].resource.update(doc)
    if function_input is not None:
        req.input.update(function_input)
    runner = fn.FunctionRunner()
    previous: fnv1.Requirements | None = None
    for _ in range(simulate.MAX_ITERATIONS + 1):
        rsp = asyncio.run(runner.RunFunction(req, None))
        if simulate.fatal(rsp):
            return rsp
        # 1.20 compares only what it knows of the requirements (extra_resources).
        if previous is not None and rsp.requirements.extra_resources == previous.extra_resources:
            return rsp
        previous = rsp.requirements
        req.ClearField("extra_resources")
        for name, selector in rsp.requirements.extra_resources.items():
            entry = req.extra_resources[name]
            for doc in fetch(selector, available):
                entry.items.add().resource.update(doc)
    raise PipelineError(
        f"requirements didn't stabilize after the maximum number of iterations ({simulate.MAX_ITERATIONS})"
    )


def trace(
    composite: dict, available: Iterable[dict] = (), function_input: dict | None = None
) -> list[fnv1.RunFunctionResponse]:
    """Every response to steady state on Crossplane 1.20 (each round one reconcile, as `function.trace`)."""
    available = list(available)

    def reconcile(observed: list[dict]) -> fnv1.RunFunctionResponse:
        return run(composite, observed=observed, available=available, function_input=function_input)

    return [rsp for rsp, _ in simulate.settle(reconcile)]
