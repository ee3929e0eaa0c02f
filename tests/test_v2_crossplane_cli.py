"""The real Crossplane 2.x CLI on every Crossplane 2 example (issue #13):
`crossplane render` against reviewed golden files and against the claim's
render (the same resources inside the wrapping), and `crossplane beta
validate` of the v2 XRDs, Compositions, examples, rendered namespaced Objects
and the manifests inside them (CEL rules included). The 1.20 CLI is not used:
the v2 package needs Crossplane 2.
"""

from __future__ import annotations

import pathlib

import pytest
import yaml

from function import render as local_render
from function import simulate
from tests.support import crossplane, golden, schemas, v2
from tests.support import function as f
from tests.support.paths import CRDS, GOLDEN, REPO

EXAMPLES = v2.v2_examples()
IDS = [e.name for e in EXAMPLES]
HEADER = (
    "# `crossplane render` ({version}) of examples/v2/{name}/xr.yaml: the first reconcile, then the steady\n"
    "# state (every composed resource observed ready). Passwords and access keys masked; Secret data decoded.\n"
)


def _file(tmp_path: pathlib.Path, name: str, doc: dict) -> pathlib.Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _required_answers(
    example: v2.V2Example, composite: dict, available: list[dict] | None = None
) -> dict[str, list[dict]]:
    """Answer every requirement from `available` (the example's required resources in the v2 shape by default)."""
    available = example.required if available is None else available
    rsp = f.run(f.request(composite, function_input=example.function_input))
    return {
        name: [d for d in available if simulate.matches(d, selector)]
        for name, selector in rsp.requirements.resources.items()
    }


def _plain(docs: list[dict]) -> list[dict]:
    return [yaml.safe_load(yaml.safe_dump(d)) for d in docs]


def _inner(docs: list[dict]) -> dict[str, dict]:
    """What both shapes share, by composition resource name (the XR and results left out)."""
    return {
        d["metadata"]["annotations"][simulate.RESOURCE_NAME_ANNOTATION]: v2.inner(d)
        for d in docs[1:]
        if d.get("kind") in ("Object", "Release")
    }


@pytest.mark.crossplane_cli
@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_render_matches_golden_the_local_renderer_and_the_claims_render(
    example: v2.V2Example, function_address: str, tmp_path
):
    xr = example.xr
    composition = _file(tmp_path, "composition.yaml", example.composition())
    xrd = v2.APIS_V2 / example.definition.directory / "definition.yaml"
    code, first, stderr = crossplane.render(function_address, xr, composition, required=example.required, xrd=xrd)
    assert code == 0, stderr
    _, observed = f.converge(xr, required=_required_answers(example, xr), function_input=example.function_input)
    code, steady, stderr = crossplane.render(
        function_address, xr, composition, observed=observed, required=example.required, xrd=xrd
    )
    assert code == 0, stderr
    golden.check(
        GOLDEN / "v2" / "crossplane" / f"{example.name}.yaml",
        golden.masked(first) + golden.masked(steady),
        HEADER.format(version=crossplane.cli_version(), name=example.name),
    )

    # Crossplane itself puts every composed resource of a namespaced composite in its namespace.
    namespace = v2.home_namespace(xr)
    for doc in [*first[1:], *steady[1:]]:
        if doc.get("kind") != "Result":
            assert doc["metadata"]["namespace"] == namespace, doc["metadata"]

    # `function-tau render` shows what `crossplane render` shows.
    args = {"required": example.required, "function_input": example.function_input}
    ours_first = local_render.render(xr, **args)
    ours_steady = local_render.render(xr, assume_ready=True, **args)
    without_results = [d for d in golden.masked(steady) if d.get("kind") != "Result"]
    assert _plain([ours_steady.composite, *ours_steady.resources]) == _plain(without_results)
    without_results = [d for d in golden.masked(first) if d.get("kind") != "Result"]
    assert _plain([ours_first.composite, *ours_first.resources]) == _plain(without_results)

    # Inside the wrapping: what the claim's render shows, resource by resource, both reconciles
    # (its required resources in its own shape: the XPostgresInstance an instanceRef names).
    claim_xr = simulate.to_composite(example.claim_example.claim)
    claim_required = example.claim_example.required
    claim_composition = _file(tmp_path, "claim-composition.yaml", example.claim_example.composition())
    code, claim_first, stderr = crossplane.render(
        function_address, claim_xr, claim_composition, required=claim_required
    )
    assert code == 0, stderr
    _, claim_observed = f.converge(
        claim_xr, required=_required_answers(example, claim_xr, claim_required), function_input=example.function_input
    )
    code, claim_steady, stderr = crossplane.render(
        function_address, claim_xr, claim_composition, observed=claim_observed, required=claim_required
    )
    assert code == 0, stderr
    assert _inner(golden.masked(first)) == _inner(golden.masked(claim_first))
    assert _inner(golden.masked(steady)) == _inner(golden.masked(claim_steady))


def _validate_extensions() -> list[pathlib.Path]:
    return [
        CRDS / "crossplane",
        CRDS / "provider-kubernetes",
        CRDS / "provider-helm",
        CRDS / "cnpg",
        *sorted(v2.APIS_V2.glob("*/definition.yaml")),
        REPO / "package" / "input",
    ]


@pytest.mark.crossplane_cli
def test_validate_v2_apis_and_examples():
    resources = [*sorted(v2.APIS_V2.glob("*/composition.yaml")), *(e.directory / "xr.yaml" for e in EXAMPLES)]
    code, output = crossplane.validate(_validate_extensions(), resources)
    assert code == 0, output
    assert "0 failure cases" in output, output
    assert "could not find CRD/XRD" not in output, output


@pytest.mark.crossplane_cli
def test_validate_catches_a_claim_only_field_in_a_v2_composite(tmp_path):
    """The v2 schemas are really applied: `spec.namespace` is not a field of a namespaced v2 PostgresDatabase."""
    (example,) = [e for e in EXAMPLES if e.name == "postgresdatabase"]
    xr = example.xr
    xr["spec"]["namespace"] = "shop"
    code, output = crossplane.validate(_validate_extensions(), [_file(tmp_path, "xr.yaml", xr)])
    assert code != 0 and "namespace" in output, output


@pytest.mark.crossplane_cli
@pytest.mark.parametrize("example", EXAMPLES, ids=IDS)
def test_validate_rendered_namespaced_objects_and_their_manifests(example: v2.V2Example, tmp_path):
    rendered = local_render.render(
        example.xr, required=example.required, function_input=example.function_input, assume_ready=True
    )
    composed = rendered.resources
    inner = [r["spec"]["forProvider"]["manifest"] for r in composed if r["kind"] == "Object"]
    custom = [m for m in inner if m["apiVersion"] not in schemas.BUILTIN_GROUPS]
    path = crossplane.write_documents(tmp_path, "rendered.yaml", [*composed, *custom])
    # The CNPGOperator's VolumeSnapshotClass and Longhorn Settings, against their own CRDs too.
    code, output = crossplane.validate([*_validate_extensions(), *crossplane.operator_extension_crds(tmp_path)], [path])
    assert code == 0, output
    assert "0 failure cases" in output and "could not find CRD/XRD" not in output, output
