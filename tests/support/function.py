"""Build RunFunctionRequests, call the real FunctionRunner, read responses."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import Iterable, Mapping

from crossplane.function import resource
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import fn, render, simulate


@dataclasses.dataclass(frozen=True)
class Case:
    """One row of a table of claims: a spec, and what the claim needs besides it.

    Tables of refusals also say which field the refusal names and words of its
    message (`field`, `says`): a reader sees the intent next to the case; the
    whole result is compared with a golden file.
    """

    name: str
    spec: dict
    field: str | None = None
    says: str | None = None
    claim_name: str = "shop"
    namespace: str = "shop"
    function_input: dict | None = None
    required: dict | None = None
    claimed: bool = True


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
    return simulate.to_composite(claim(kind, spec, name, namespace))


def request(
    xr: dict,
    observed: Iterable[dict] | Mapping[str, dict] = (),
    required: Mapping[str, list[dict]] | None = None,
    function_input: dict | None = None,
    *,
    legacy: bool = False,
) -> fnv1.RunFunctionRequest:
    """A RunFunctionRequest. `required` answers requirements (in extra_resources when `legacy`, as Crossplane 1.20)."""
    req = fnv1.RunFunctionRequest(meta=fnv1.RequestMeta(tag="test"))
    req.observed.composite.resource.update(xr)
    items = (
        observed.items()
        if isinstance(observed, Mapping)
        else ((d["metadata"]["annotations"][simulate.RESOURCE_NAME_ANNOTATION], d) for d in observed)
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


def composite_documents(rsp: fnv1.RunFunctionResponse) -> list[dict]:
    """What a response says about the composite (status, conditions, readiness), then each composed resource."""
    listed = [
        {"type": c.type, "status": fnv1.Status.Name(c.status), "reason": c.reason, "message": c.message}
        for c in rsp.conditions
    ]
    resources = desired(rsp)
    return [
        {"status": status(rsp), "conditions": listed, "ready": fnv1.Ready.Name(rsp.desired.composite.ready)},
        *({"key": key, **resources[key]} for key in sorted(resources)),
    ]


def steady(xr: dict, case: Case) -> fnv1.RunFunctionResponse:
    """The steady state `xr` converges to, with the case's required resources and input; refusing it fails."""
    rsp, _ = converge(xr, required=case.required, function_input=case.function_input)
    assert fatal(rsp) is None, fatal(rsp)
    return rsp


def converge(xr: dict, required: Mapping[str, list[dict]] | None = None, function_input: dict | None = None,
             rounds: int = simulate.MAX_ROUNDS) -> tuple[fnv1.RunFunctionResponse, list[dict]]:  # fmt: skip
    """Reconcile until steady state, requirements answered by name; the last response and what it observed."""
    *_, last = simulate.settle(lambda observed: run(request(xr, observed, required, function_input)), max_rounds=rounds)
    return last


def trace(xr: dict, available: Iterable[dict] = (), function_input: dict | None = None,
          rounds: int = simulate.MAX_ROUNDS) -> list[fnv1.RunFunctionResponse]:  # fmt: skip
    """Every response on the way to steady state, requirements answered from `available` as Crossplane would.

    Each round is one reconcile (simulate.run resolves the requirements it states, as Crossplane does).
    """
    available = list(available)

    def reconcile(observed: list[dict]) -> fnv1.RunFunctionResponse:
        return simulate.run(xr, observed=observed, required=available, function_input=function_input)

    return [rsp for rsp, _ in simulate.settle(reconcile, max_rounds=rounds)]
