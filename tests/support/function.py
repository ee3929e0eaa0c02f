"""Build RunFunctionRequests, call the real FunctionRunner, read responses."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable, Iterator, Mapping

from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import fn, render


def claim(kind: str, spec: dict | None = None, name: str = "shop", namespace: str = "shop") -> dict:
    """A claim of ours."""
    return {
        "apiVersion": "tau.home.arpa/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": copy.deepcopy(spec or {}),
    }


def composite(kind: str, spec: dict | None = None, name: str = "shop", namespace: str = "shop") -> dict:
    """The composite Crossplane makes of a claim (claim labels, claimRef)."""
    return render.to_composite(claim(kind, spec, name, namespace))


def request(
    xr: dict,
    observed: Iterable[dict] | Mapping[str, dict] = (),
    required: Mapping[str, list[dict]] | None = None,
    function_input: dict | None = None,
    legacy: bool = False,
) -> fnv1.RunFunctionRequest:
    """A RunFunctionRequest. `required` answers requirements (in extra_resources when `legacy`, as Crossplane 1.20)."""
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="test"))
    req.observed.composite.resource.update(xr)
    items = (
        observed.items()
        if isinstance(observed, Mapping)
        else ((d["metadata"]["annotations"][render.RESOURCE_NAME_ANNOTATION], d) for d in observed)
    )
    for key, body in items:
        req.observed.resources[key].resource.update(body)
    for name, docs in (required or {}).items():
        field = req.extra_resources if legacy else req.required_resources
        entry = field[name]
        for doc in docs:
            entry.items.add().resource.update(doc)
    if function_input is not None:
        req.input.update(function_input)
    return req


def run(req: fnv1.RunFunctionRequest) -> fnv1.RunFunctionResponse:
    """Call the real servicer."""
    return asyncio.run(fn.FunctionRunner().RunFunction(req, None))


def desired(rsp: fnv1.RunFunctionResponse) -> dict[str, dict]:
    """Desired composed resources by key, numbers as Kubernetes writes them."""
    return {k: render.integral(resource.struct_to_dict(v.resource)) for k, v in rsp.desired.resources.items()}


def manifests(rsp: fnv1.RunFunctionResponse) -> dict[str, dict]:
    """The manifest inside each desired Object (or the Release itself), by key."""
    out = {}
    for key, body in desired(rsp).items():
        out[key] = (
            body.get("spec", {}).get("forProvider", {}).get("manifest", body) if body.get("kind") == "Object" else body
        )
    return out


def status(rsp: fnv1.RunFunctionResponse) -> dict:
    """The desired status of the composite."""
    return render.integral(resource.struct_to_dict(rsp.desired.composite.resource)).get("status", {})


def fatal(rsp: fnv1.RunFunctionResponse) -> str | None:
    """The fatal result's message, if any."""
    for result in rsp.results:
        if result.severity == fnv1.SEVERITY_FATAL:
            return result.message
    return None


def conditions(rsp: fnv1.RunFunctionResponse) -> dict[str, fnv1.Condition]:
    """Conditions by type."""
    return {c.type: c for c in rsp.conditions}


def observe(rsp: fnv1.RunFunctionResponse) -> list[dict]:
    """What Crossplane would observe once every desired resource exists and is ready."""
    return [render.as_observed(key, body) for key, body in desired(rsp).items()]


def _reconciles(
    reconcile: Callable[[list[dict]], fnv1.RunFunctionResponse], rounds: int
) -> Iterator[tuple[fnv1.RunFunctionResponse, list[dict]]]:
    """Reconcile until steady state: yields each response with what was observed for it.

    After each reconcile every desired resource becomes observed and ready;
    it stops at a fatal result, or when nothing new appears and all is ready.
    """
    observed: list[dict] = []
    for _ in range(rounds):
        rsp = reconcile(observed)
        yield rsp, observed
        if fatal(rsp):
            return
        nxt = observe(rsp)
        if len(nxt) == len(observed) and all(r.ready == fnv1.READY_TRUE for r in rsp.desired.resources.values()):
            return
        observed = nxt


def converge(xr: dict, required: Mapping[str, list[dict]] | None = None, function_input: dict | None = None,
             rounds: int = 10) -> tuple[fnv1.RunFunctionResponse, list[dict]]:  # fmt: skip
    """Reconcile until steady state, requirements answered by name; the last response and what it observed."""
    *_, last = _reconciles(lambda observed: run(request(xr, observed, required, function_input)), rounds + 1)
    return last


def trace(xr: dict, available: Iterable[dict] = (), function_input: dict | None = None,
          rounds: int = 10) -> list[fnv1.RunFunctionResponse]:  # fmt: skip
    """Every response on the way to steady state, requirements answered from `available` as Crossplane would.

    Each round is one reconcile (render.run resolves the requirements it states,
    as Crossplane does).
    """
    available = list(available)

    def reconcile(observed: list[dict]) -> fnv1.RunFunctionResponse:
        return render.run(xr, observed=observed, required=available, function_input=function_input)

    return [rsp for rsp, _ in _reconciles(reconcile, rounds)]
