"""The dispatcher: one request in, one response out, every failure readable.

It turns the request into typed inputs, dispatches on the composite's kind to
that kind's composer (`function.kinds`), and writes the outcome into the
response. It is the only place that knows the response's protobuf shape.
"""

from __future__ import annotations

import datetime

from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import kinds, shapes, structs
from function.api.platform import PlatformDefaults
from function.errors import Problem, SpecError, show
from function.inputs import parse_input
from function.observed import Observed
from function.outcome import Outcome
from function.shapes import Shape

# Come back soon while something is awaited; otherwise Crossplane's default.
TTL_WAITING = datetime.timedelta(seconds=20)
TTL_STEADY = datetime.timedelta(seconds=60)
_MAX_FATAL_MESSAGE = 4000
# A condition message stays readable in `kubectl describe`; longer ones are cut here, for every kind.
_MAX_CONDITION_MESSAGE = 1024
# Parsed function inputs by their serialized bytes: a Composition sends the same
# input on every call, and validating it is a pydantic round trip each time.
# PlatformDefaults is frozen, so sharing one is safe; a handful of entries
# covers every Composition that points at this function.
_INPUTS: dict[bytes, PlatformDefaults] = {}
_MAX_INPUTS = 16


def _clip(text: str, limit: int) -> str:
    """`text`, cut to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _target(shape: Shape) -> fnv1.Target.ValueType:
    """Where Crossplane shows results and conditions: the claim too, where there is one."""
    return fnv1.TARGET_COMPOSITE if shape.modern else fnv1.TARGET_COMPOSITE_AND_CLAIM


def _fatal(rsp: fnv1.RunFunctionResponse, message: str, condition_type: str | None, shape: Shape) -> None:
    message = _clip(message, _MAX_FATAL_MESSAGE)
    # Crossplane never turns a fatal result into an event; a warning result before it becomes one, on the
    # claim too (crossplane v2.2.1 composite/composition_functions.go:438-456, reconciler.go:896-905).
    for severity in (fnv1.SEVERITY_WARNING, fnv1.SEVERITY_FATAL):
        rsp.results.append(
            fnv1.Result(
                severity=severity,
                message=message,
                reason="InvalidSpec",
                target=_target(shape),
            )
        )
    if condition_type:
        rsp.conditions.append(
            fnv1.Condition(
                type=condition_type,
                status=fnv1.STATUS_CONDITION_FALSE,
                reason="InvalidSpec",
                message=message,
                target=_target(shape),
            )
        )


def _write(rsp: fnv1.RunFunctionResponse, outcome: Outcome, shape: Shape) -> None:
    for composed in outcome.resources:
        desired = rsp.desired.resources[composed.key]
        structs.update(desired.resource, composed.body)
        desired.ready = fnv1.READY_TRUE if composed.ready else fnv1.READY_FALSE
    if outcome.status:
        structs.update(rsp.desired.composite.resource, {"status": outcome.status})
    rsp.desired.composite.ready = fnv1.READY_TRUE if outcome.ready else fnv1.READY_FALSE
    for cond in outcome.conditions:
        rsp.conditions.append(
            fnv1.Condition(
                type=cond.type,
                status=fnv1.STATUS_CONDITION_TRUE if cond.status else fnv1.STATUS_CONDITION_FALSE,
                reason=cond.reason,
                message=_clip(cond.message, _MAX_CONDITION_MESSAGE),
                target=_target(shape),
            )
        )
    # Crossplane 2.x reads `resources`, 1.20 only `extra_resources`, asked in
    # a way 1.20 can answer (`Requirement.legacy_selector`): declare both, on
    # every call (the SDK's response.to does not carry them over).
    for req in outcome.requirements:
        rsp.requirements.resources[req.name].CopyFrom(req.selector())
        if not shape.modern:  # a Crossplane 2 composite is only ever served by 2.x
            rsp.requirements.extra_resources[req.name].CopyFrom(req.legacy_selector())
    rsp.meta.ttl.FromTimedelta(TTL_WAITING if outcome.waiting else TTL_STEADY)


def _platform(req: fnv1.RunFunctionRequest) -> PlatformDefaults:
    """The function input, parsed once per distinct input (an invalid one raises SpecError every time)."""
    if not req.HasField("input"):
        return parse_input(None)
    raw = req.input.SerializeToString(deterministic=True)
    platform = _INPUTS.get(raw)
    if platform is None:
        platform = parse_input(structs.to_dict(req.input))
        if len(_INPUTS) >= _MAX_INPUTS:
            _INPUTS.clear()
        _INPUTS[raw] = platform
    return platform


def _metadata_problems(composite: dict) -> list[Problem]:
    """The composite's metadata must have the types Kubernetes gives it.

    The API server guarantees them for anything Crossplane sends; a raw gRPC
    caller could send anything, and every composition reads the name and the
    claim labels, so they are checked once, here, for every kind.
    """
    metadata = composite.get("metadata")
    if not isinstance(metadata, dict):
        return [Problem("metadata", "must be an object with a name")]
    problems = []
    if not isinstance(metadata.get("name"), str):
        problems.append(Problem("metadata.name", f"{show(metadata.get('name'))} is not a string"))
    labels = metadata.get("labels")
    if labels is not None and not (isinstance(labels, dict) and all(isinstance(v, str) for v in labels.values())):
        problems.append(Problem("metadata.labels", "must map strings to strings"))
    return problems


def respond(req: fnv1.RunFunctionRequest, rsp: fnv1.RunFunctionResponse) -> str:
    """Compose the request's composite into `rsp`; returns a short word for the log."""
    observed = Observed(req)
    kind = observed.composite.get("kind")
    found = kinds.of_composite(observed.composite.get("apiVersion"), kind)
    if found is None:
        modern = shapes.is_modern(observed.composite.get("apiVersion"))
        composed = ", ".join(sorted(k.definition.v2_kind if modern else k.composite_kind for k in kinds.KINDS))
        message = f"kind {show(kind)} is not composed by function-tau; it composes {composed}"
        _fatal(rsp, message, None, Shape.NAMESPACED if modern else Shape.CLAIM)
        return "unknown-kind"
    entry, shape = found
    try:
        problems = _metadata_problems(observed.composite)
        if shape is Shape.NAMESPACED and not problems:
            problems = shapes.namespace_problems(observed.composite)
        if problems:
            raise SpecError(problems)
        platform = _platform(req)
        outcome = entry.composer.compose(observed, platform)
        if shape.modern:
            shapes.rewrap(outcome, shapes.home_namespace(shape, observed.composite, entry.definition.spec))
    except SpecError as err:
        _fatal(rsp, str(err), entry.condition_type, shape)
        return "invalid"
    _write(rsp, outcome, shape)
    if fnv1.CAPABILITY_REQUIRED_RESOURCES in req.meta.capabilities:
        # Crossplane 2.2 and later say they read `requirements.resources`; they
        # answer `extra_resources` too, which would double every look-up (a List
        # of Secrets bypasses Crossplane's cache). 1.20 sends no capabilities.
        rsp.requirements.ClearField("extra_resources")
    return "waiting" if outcome.waiting else "ready" if outcome.ready else "progressing"
