"""Every example claim on real Crossplane, provider-kubernetes, kube-apiserver (CRDs, CEL) and CNPG's webhooks.

All examples are applied at once with kubectl (as a user would, each in its
namespace, with the resources its required.yaml assumes; an example with an
input.yaml selects a Composition an admin added with that input), the stand-in
reports CNPG (and the Deployments) ready, and then for each example: every
composed Object is Synced, every inner manifest is in the API server and equal,
on the fields we set, to what `function-tau render` says (so it was admitted by
the upstream CRDs and CNPG's webhooks), and the claim is Ready with the status
render promises.

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
    rendered = claims.rendered_objects(claims.render(*example.render_args(), assume_ready=example.kind not in HELM))
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
def test_claim_is_ready_with_the_rendered_status(applied: dict, example: claims.Example) -> None:
    state = claims.example_state(applied, example)
    claim = state["claim"]
    assert claims.is_true(claim, "Ready"), f"{example.name} is not Ready: {claims._summary(state)}"
    assert claims.is_true(claim, "Synced"), claims._summary(state)
    xr = claims.render(*example.render_args())[0]
    want = {k: v for k, v in xr.get("status", {}).items() if k in STATUS_FIELDS}
    got = {k: v for k, v in (claim.get("status") or {}).items() if k in STATUS_FIELDS}
    assert got == want
    # The function's own conditions reach the claim with the rendered status.
    for cond in xr["status"].get("conditions", []):
        if cond["type"] in ("Ready", "Synced"):
            continue
        live = claims.condition(claim, cond["type"])
        assert (live.get("status"), live.get("reason")) == (cond["status"], cond["reason"]), cond["type"]
