"""The real Crossplane CLI on every example: `crossplane render` against reviewed
golden files, and `crossplane beta validate` of the XRDs, Compositions,
examples, rendered Objects and the manifests inside them (CEL rules included).

The function is served for real (`function-tau serve --insecure` on loopback)
and `crossplane render` calls it through the Development runtime.
"""

from __future__ import annotations

import pathlib

import pytest
import yaml

from function import render as local_render
from function import simulate
from tests.support import crossplane, golden, schemas
from tests.support import function as f
from tests.support.examples import Example, all_examples
from tests.support.paths import APIS, CRDS, GOLDEN, REPO

EXAMPLES = all_examples()
HEADER = (
    "# `crossplane render` ({version}) of examples/{name}/claim.yaml: the first reconcile, then the steady\n"
    "# state (every composed resource observed ready). Passwords and access keys masked; Secret data decoded.\n"
)


def _composition_file(example: Example, tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "composition.yaml"
    path.write_text(yaml.safe_dump(example.composition(), sort_keys=False))
    return path


def _without_results(docs: list[dict]) -> list[dict]:
    return [d for d in docs if d.get("kind") != "Result"]


def _required_answers(example: Example, composite: dict) -> dict[str, list[dict]]:
    """Answer every requirement the function states from the example's required.yaml, as Crossplane would."""
    rsp = f.run(f.request(composite, function_input=example.function_input))
    return {
        name: [d for d in example.required if simulate.matches(d, selector)]
        for name, selector in rsp.requirements.resources.items()
    }


def _plain(docs: list[dict]) -> list[dict]:
    """Documents as plain YAML data, for comparing outputs of two renderers."""
    return [yaml.safe_load(yaml.safe_dump(d)) for d in docs]


@pytest.mark.crossplane_cli
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_render_matches_golden_and_the_local_renderer(example: Example, function_address: str, tmp_path):
    composite = simulate.to_composite(example.claim)
    composition = _composition_file(example, tmp_path)

    code, first, stderr = crossplane.render(function_address, composite, composition, required=example.required)
    assert code == 0, stderr
    _, observed = f.converge(
        composite, required=_required_answers(example, composite), function_input=example.function_input
    )
    code, steady, stderr = crossplane.render(
        function_address, composite, composition, observed=observed, required=example.required
    )
    assert code == 0, stderr

    golden.check(
        GOLDEN / "crossplane" / f"{example.name}.yaml",
        golden.masked(first) + golden.masked(steady),
        HEADER.format(version=crossplane.cli_version(), name=example.name),
    )

    # `function-tau render` shows what `crossplane render` shows, for both reconciles.
    args = {"required": example.required, "function_input": example.function_input}
    ours_first = local_render.render(example.claim, **args)
    ours_steady = local_render.render(example.claim, assume_ready=True, **args)
    assert _plain([ours_first.composite, *ours_first.resources]) == _plain(_without_results(golden.masked(first)))
    assert _plain([ours_steady.composite, *ours_steady.resources]) == _plain(_without_results(golden.masked(steady)))


@pytest.mark.crossplane_cli
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_crossplane_1_20_renders_the_same_resources(example: Example, function_address: str, tmp_path):
    """Crossplane 1.20 passes required resources as extra_resources; the function must compose the same.

    The 1.20 CLI's render feeds the function the 1.20 way (requirements answered
    in `extra_resources`), so every example, first reconcile and steady state,
    must give the composed resources and status that the 2.x CLI gives. (1.20's
    render ignores the composite readiness a function sets, so the composite's
    conditions are not compared.) It has to reach the steady state, requirements
    answered, so the 1.20 path is exercised for every required resource.
    """
    composite = simulate.to_composite(example.claim)
    composition = _composition_file(example, tmp_path)
    _, observed = f.converge(
        composite, required=_required_answers(example, composite), function_input=example.function_input
    )
    for state in ([], observed):
        outputs = []
        for legacy in (False, True):
            code, docs, stderr = crossplane.render(
                function_address, composite, composition, observed=state, required=example.required,
                results=False, crossplane_1_20=legacy,
            )  # fmt: skip
            assert code == 0, stderr
            xr, *resources = golden.masked(docs)
            for resource in resources:
                # 1.20's render also prints a generateName for a resource the function names (a Release).
                if resource["metadata"].get("name"):
                    resource["metadata"].pop("generateName", None)
            outputs.append((_plain(resources), {k: v for k, v in xr["status"].items() if k != "conditions"}))
        assert outputs[0] == outputs[1]


def _validate_extensions() -> list[pathlib.Path]:
    return [
        CRDS / "crossplane",
        CRDS / "provider-kubernetes",
        CRDS / "provider-helm",
        CRDS / "cnpg",
        *sorted(APIS.glob("*/definition.yaml")),
        REPO / "package" / "input",
    ]


@pytest.mark.crossplane_cli
def test_validate_apis_and_example_claims():
    resources = [*sorted(APIS.glob("*/composition.yaml")), *(e.directory / "claim.yaml" for e in EXAMPLES)]
    code, output = crossplane.validate(_validate_extensions(), resources)
    assert code == 0, output
    assert "0 failure cases" in output, output
    assert "could not find CRD/XRD" not in output, output


@pytest.mark.crossplane_cli
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_validate_rendered_objects_and_their_manifests(example: Example, tmp_path):
    """Every composed Object, and every manifest inside, against the upstream CRDs with their CEL rules."""
    rendered = local_render.render(
        example.claim, required=example.required, function_input=example.function_input, assume_ready=True
    )
    composed = rendered.resources
    inner = [r["spec"]["forProvider"]["manifest"] for r in composed if r["kind"] == "Object"]
    # Kubernetes' own kinds have no CRD for the CLI to use; tests/test_schemas.py checks them with kubernetes-validate.
    custom = [m for m in inner if m["apiVersion"] not in schemas.BUILTIN_GROUPS]
    path = crossplane.write_documents(tmp_path, "rendered.yaml", [*composed, *custom])
    # The CNPGOperator's VolumeSnapshotClass and Longhorn Settings, against their own CRDs too.
    code, output = crossplane.validate([*_validate_extensions(), *crossplane.operator_extension_crds(tmp_path)], [path])
    assert code == 0, output
    assert "0 failure cases" in output and "could not find CRD/XRD" not in output, output
