"""Every reconcile of every example, until steady state, as whole RunFunctionResponses.

Each example claim (every kind has at least one) is reconciled as Crossplane
would in a healthy cluster: each reconcile's desired resources become observed
and ready before the next, requirements answered from the example's
required.yaml (`simulate.settle`, the one convergence rule). The golden file
holds every response whole: results, conditions, TTL, requirements, the
desired composite and the desired resources (passwords masked, Secret data
decoded), so any change to gating, readiness or messages is a reviewed diff.
"""

from __future__ import annotations

import pytest

from function import kinds, simulate
from tests.support import function as f
from tests.support import golden
from tests.support.examples import all_examples
from tests.support.paths import GOLDEN

EXAMPLES = all_examples()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_every_reconcile_until_steady_state(example):
    composite = simulate.to_composite(example.claim)
    responses = f.trace(composite, example.required, example.function_input)
    assert f.fatal(responses[-1]) is None, f.fatal(responses[-1])
    assert simulate.steady(responses[-1], simulate.observe(responses[-1])), "did not settle"
    golden.check(
        GOLDEN / "traces" / f"{example.name}.yaml",
        [{"reconcile": number, **golden.response(rsp)} for number, rsp in enumerate(responses, 1)],
        f"# examples/{example.name}: every reconcile until steady state, whole responses. Passwords masked.\n",
    )


def test_every_kind_has_a_trace():
    assert {e.definition.kind for e in EXAMPLES} == {k.composite_kind for k in kinds.KINDS}
