"""Every example claim on real Crossplane, provider-kubernetes, kube-apiserver (CRDs, CEL) and CNPG's webhooks.

All examples are applied at once with kubectl (as a user would, each in its
namespace, with the resources its required.yaml assumes; an example with an
input.yaml selects a Composition an admin added with that input), the stand-in
reports CNPG (and the Deployments) ready, and then for each example: every
composed Object is Synced, every inner manifest is in the API server and equal,
on the fields we set, to what `function-tau render` says (so it was admitted by
the upstream CRDs and CNPG's webhooks), and the claim is Ready with the status
render promises.

An example whose required.yaml holds a composite of another example's claim (a
database on examples/postgresinstance's instance) is applied after that
example's claim, never with the composite itself (Crossplane makes it, with a
generated name); render is then given the live composite in its place, and the
composite of required.yaml must agree with the live one on what it sets.

The CNPGOperator example composes provider-helm Releases: provider-helm cannot
fetch a chart here (no chart repository is reachable), so it is checked up to
"composed as rendered", never Ready.
"""

from __future__ import annotations

import time

import pytest

from tests.controlplane import claims

pytestmark = pytest.mark.controlplane

EXAMPLES = claims.examples()
HELM = claims.HELM_KINDS
# Claim status fields whose value render predicts exactly at steady state.
STATUS_FIELDS = ("host", "port", "database", "user", "secretName", "cluster", "backupMethod", "backupTarget",
                 "phase", "instances", "readyInstances", "url", "service", "replicas", "availableReplicas")  # fmt: skip


@pytest.fixture(scope="module")
def applied(plane, standin) -> dict:
    """Every example applied at once and converged (as far as it can): the state of each, by example name."""
    start = time.monotonic()
    by_name = claims.apply_examples(plane, standin, EXAMPLES)
    by_name["_seconds"] = time.monotonic() - start
    return by_name


def _ids(example: claims.Example) -> str:
    return example.name


@pytest.mark.parametrize("example", EXAMPLES, ids=_ids)
def test_every_object_is_synced(applied: dict, example: claims.Example) -> None:
    state = claims.example_state(applied, example)
    objects = state["objects"]
    assert objects, f"nothing was composed for {example.name}: {claims._summary(state)}"
    not_synced = {
        o["metadata"]["annotations"].get("crossplane.io/composition-resource-name"): claims.condition(o, "Synced")
        for o in objects
        if not claims.is_true(o, "Synced")
    }
    assert not not_synced, f"Objects not Synced: {not_synced}"


@pytest.mark.parametrize("example", EXAMPLES, ids=_ids)
def test_composed_resources_are_what_render_says(plane, applied: dict, example: claims.Example) -> None:
    claims.example_state(applied, example)
    # The CNPGOperator's Releases never become ready here (no provider-helm): what it gates on them is
    # never composed, so compare with what render composes before anything is ready.
    rendered = claims.rendered_objects(
        claims.render(*example.render_args(plane), assume_ready=example.kind not in HELM)
    )
    xr = claims.composite_name(plane, example.claim)
    live = {
        r["metadata"]["annotations"]["crossplane.io/composition-resource-name"]: r
        for kind in {f"{d['kind'].lower()}s.{d['apiVersion'].split('/')[0]}" for d in rendered.values()}
        for r in plane.items(kind, selector=f"crossplane.io/composite={xr}")
    }  # fmt: skip
    assert sorted(live) == sorted(rendered), "the composed resources differ from render's"
    problems = {}
    for name, want in rendered.items():
        if want["kind"] != "Object":
            # provider-helm Releases (CNPGOperator): compare the composed resource itself.
            diffs = claims.differences(want["spec"], live[name]["spec"])
        else:
            inner = claims.inner(plane, live[name])
            if inner is None:
                problems[name] = "not in the API server"
                continue
            diffs = claims.manifest_differences(claims.manifest(want), inner)
            diffs += claims.differences(
                {k: v for k, v in want["spec"].items() if k != "forProvider"}, live[name]["spec"], ".spec"
            )
        if diffs:
            problems[name] = diffs
    assert not problems, f"live resources differ from `function-tau render`: {problems}"


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.kind not in HELM], ids=_ids)
def test_claim_is_ready_with_the_rendered_status(plane, applied: dict, example: claims.Example) -> None:
    state = claims.example_state(applied, example)
    claim = state["claim"]
    assert claims.is_true(claim, "Ready"), f"{example.name} is not Ready: {claims._summary(state)}"
    assert claims.is_true(claim, "Synced"), claims._summary(state)
    xr = claims.render(*example.render_args(plane))[0]
    want = {k: v for k, v in xr.get("status", {}).items() if k in STATUS_FIELDS}
    wanted = [c for c in xr["status"].get("conditions", []) if c["type"] not in ("Ready", "Synced")]

    def seen(live: dict) -> tuple[dict, dict]:
        got = {k: v for k, v in (live.get("status") or {}).items() if k in STATUS_FIELDS}
        conds = {c["type"]: (claims.condition(live, c["type"]).get("status"), claims.condition(live, c["type"]).get("reason"))
                 for c in wanted}  # fmt: skip
        return got, conds

    # A database on an instance reads the instance's status when it reconciles: it may be Ready before its
    # instance's cluster is, and catch up on its next reconcile (Crossplane's poll, about a minute).
    deadline = time.monotonic() + (150 if example.composites else 0)
    got, conds = seen(claim)
    while time.monotonic() < deadline and (got != want or any(v != (c["status"], c["reason"]) for c, v in
                                                              zip(wanted, conds.values(), strict=True))):  # fmt: skip
        time.sleep(5)
        claim = claims.get_claim(plane, example)
        got, conds = seen(claim)
    assert got == want
    # The function's own conditions reach the claim with the rendered status.
    for cond in wanted:
        assert conds[cond["type"]] == (cond["status"], cond["reason"]), cond["type"]


@pytest.mark.parametrize("example", [e for e in EXAMPLES if e.composites], ids=_ids)
def test_the_required_composite_is_what_the_control_plane_holds(plane, applied: dict, example: claims.Example) -> None:
    """required.yaml's stand-in for another example's composite: its spec and status as the live one's."""
    claims.example_state(applied, example)
    for want, live in zip(example.composites, claims.live_composites(plane, example), strict=True):
        status = {k: v for k, v in (want.get("status") or {}).items() if k != "conditions"}
        diffs = claims.differences({"spec": want["spec"], "status": status}, live)
        diffs += claims.differences(want["metadata"]["labels"], live["metadata"].get("labels") or {}, ".labels")
        for cond in (want.get("status") or {}).get("conditions") or []:
            got = claims.condition(live, cond["type"])
            diffs += [f"condition {cond['type']}: {cond} live {got}"] if (
                got.get("status"), got.get("reason")) != (cond["status"], cond["reason"]) else []  # fmt: skip
        assert not diffs, f"{example.name}/required.yaml differs from the live {want['kind']}: {diffs}"
