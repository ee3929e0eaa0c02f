"""function-tau as one step of a Composition pipeline: what earlier steps desired passes through untouched."""

from __future__ import annotations

import pytest
from crossplane.function.proto.v1 import run_function_pb2 as fnv1

from function import kinds
from tests.support import function as f

# A spec each kind composes without further input.
SPECS = {
    "XPostgresDatabase": {}, "XTauApplication": {"image": "nginx:1.27", "port": 8080}, "CNPGOperator": {},
    "XPostgresInstance": {"pooler": {}},
}  # fmt: skip
EARLIER = "from-an-earlier-step"


def _composite(kind: kinds.Kind) -> dict:
    spec = SPECS[kind.composite_kind]
    if kind.claim_kind is None:
        return {"apiVersion": "tau.home.arpa/v1alpha1", "kind": kind.composite_kind, "metadata": {"name": "cnpg"},
                "spec": spec}  # fmt: skip
    return f.composite(kind.claim_kind, spec)


def test_every_kind_has_a_spec():
    assert set(SPECS) == {k.composite_kind for k in kinds.KINDS}


@pytest.mark.parametrize("kind", kinds.KINDS, ids=[k.composite_kind for k in kinds.KINDS])
def test_resources_an_earlier_step_desired_pass_through_untouched(kind):
    xr = _composite(kind)
    _, observed = f.converge(xr)
    alone = f.run(f.request(xr, observed))

    req = f.request(xr, observed)
    earlier = req.desired.resources[EARLIER]
    earlier.resource.update(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "shop"},
         "data": {"answer": "42"}}
    )  # fmt: skip
    earlier.ready = fnv1.READY_TRUE
    rsp = f.run(req)

    assert rsp.desired.resources[EARLIER] == earlier
    # Everything else is exactly what the function answers without the earlier step.
    del rsp.desired.resources[EARLIER]
    assert rsp == alone
