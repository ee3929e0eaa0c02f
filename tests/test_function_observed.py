"""Observed reads one field without converting a whole resource, and reads it exactly as the dict did.

`is_ready`, `manifest`, `live` and `live_at` walk the request's Structs; the
reference is what they did before: convert the whole resource with `get` and
read it with `condition` / `dig`. Generated resources put every kind of JSON
value at every step of the paths they read, so a step that is missing, null,
a list or a string is covered, and so is a crash (conditions that are a
number) that must stay a crash.
"""

from __future__ import annotations

from crossplane.function.proto.v1 import run_function_pb2 as fnv1
from hypothesis import given, settings
from hypothesis import strategies as st

from function.observed import Observed, condition, dig

SCALARS = st.none() | st.booleans() | st.floats(allow_nan=False) | st.sampled_from(["True", "False", "Ready", "x"])
ANY = st.recursive(
    SCALARS, lambda c: st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["a", "type", "status"]), c, max_size=3),
    max_leaves=8,
)  # fmt: skip
CONDITION = st.fixed_dictionaries(
    {},
    optional={"type": st.sampled_from(["Ready", "Synced"]) | ANY, "status": st.sampled_from(["True", "False"]) | ANY},
)
CONDITIONS = st.lists(CONDITION | ANY, max_size=4) | ANY
MANIFEST = st.dictionaries(st.sampled_from(["kind", "spec", "status"]), ANY, max_size=3) | ANY
STATUS = st.fixed_dictionaries(
    {}, optional={"conditions": CONDITIONS, "atProvider": st.fixed_dictionaries({}, optional={"manifest": MANIFEST}) | ANY}
) | ANY  # fmt: skip
SPEC = (
    st.fixed_dictionaries(
        {}, optional={"forProvider": st.fixed_dictionaries({}, optional={"manifest": MANIFEST}) | ANY}
    )
    | ANY
)
RESOURCE = st.fixed_dictionaries({}, optional={"spec": SPEC, "status": STATUS, "kind": ANY})


def _observed(resource: dict) -> Observed:
    req = fnv1.RunFunctionRequest()
    req.observed.resources["r"].resource.update(resource)
    return Observed(req)


def _outcome(read):
    try:
        return "ok", read()
    except TypeError as exc:  # conditions that are a number: iterating them fails, before as now
        return "raised", type(exc)


def _ready_by_dict(observed: Observed, key: str) -> bool:
    cond = condition(observed.get(key), "Ready")
    return cond is not None and cond.get("status") == "True"


def _object_or_none(value):
    return value if isinstance(value, dict) else None


@settings(max_examples=500, deadline=None)
@given(RESOURCE)
def test_lazy_reads_equal_reading_the_whole_resource(resource):
    lazy, whole = _observed(resource), _observed(resource)
    for key in ("r", "missing"):
        assert _outcome(lambda k=key: lazy.is_ready(k)) == _outcome(lambda k=key: _ready_by_dict(whole, k))
        assert lazy.manifest(key) == _object_or_none(dig(whole.get(key), "spec", "forProvider", "manifest"))
        assert lazy.live(key) == _object_or_none(dig(whole.get(key), "status", "atProvider", "manifest"))
        assert lazy.has_live(key) == (whole.live(key) is not None)
        for path in ((), ("status",), ("status", "a"), ("kind",), ("spec", "a", "status")):
            assert lazy.live_at(key, *path) == dig(whole.live(key), *path)


def test_readiness_is_the_first_ready_condition():
    conditions = [
        {"type": "Synced", "status": "True"},
        {"type": "Ready", "status": "False"},
        {"type": "Ready", "status": "True"},
    ]
    assert not _observed({"status": {"conditions": conditions}}).is_ready("r")
    assert _observed({"status": {"conditions": conditions[::-1]}}).is_ready("r")


def test_reading_never_changes_the_request():
    req = fnv1.RunFunctionRequest()
    req.observed.resources["r"].resource.update({"spec": {}, "status": {"conditions": "not a list"}})
    before = req.SerializeToString(deterministic=True)
    observed = Observed(req)
    observed.is_ready("r")
    observed.is_ready("absent")
    observed.manifest("r")
    observed.live_at("r", "status", "phase")
    observed.live("absent")
    assert req.SerializeToString(deterministic=True) == before
