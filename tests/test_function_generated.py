"""The XRDs, Compositions and the input CRD are generated from the models, and
committed: a test fails when they drift apart, or when they do not validate
against Crossplane's and Kubernetes' own schemas."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from function import generate, kinds
from function.api import definitions
from tests.support import schemas
from tests.support.paths import REPO


def test_committed_files_are_what_the_models_generate():
    stale = generate.run(REPO, check=True)
    assert not stale, f"out of date (run `function-tau generate`): {stale}"


def test_generate_check_notices_a_hand_edit(tmp_path: pathlib.Path):
    generate.run(tmp_path, check=False)
    path = tmp_path / "apis" / "postgresdatabase" / "definition.yaml"
    path.write_text(path.read_text().replace("maxLength: 63", "maxLength: 64", 1))
    assert generate.run(tmp_path, check=True) == ["apis/postgresdatabase/definition.yaml"]


@pytest.mark.parametrize("relative", sorted(generate.generated_files()))
def test_generated_manifests_validate_against_upstream_schemas(relative: str):
    for doc in yaml.safe_load_all((REPO / relative).read_text()):
        schemas.validate(doc)


@pytest.mark.parametrize("definition", [k.definition for k in kinds.KINDS], ids=lambda d: d.kind)
def test_xrds_are_v1_legacy_cluster_with_claims_where_the_spec_says(definition):
    xrd = definition.xrd()
    assert xrd["apiVersion"] == "apiextensions.crossplane.io/v1"
    assert "scope" not in xrd["spec"]  # LegacyCluster, the v1 default: claims work on Crossplane 1.20 and 2.x
    assert xrd["spec"]["defaultCompositionRef"] == {"name": definition.name}
    schema = xrd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert set(schema["properties"]) == {"spec", "status"}
    if definition.claim_kind:
        assert xrd["spec"]["claimNames"]["kind"] == definition.claim_kind


def _schema_nodes(node: dict, path: str = "$"):
    """Every schema node: the root, each property, items and additionalProperties."""
    yield path, node
    for name, child in (node.get("properties") or {}).items():
        yield from _schema_nodes(child, f"{path}.{name}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from _schema_nodes(node[key], f"{path}.{key}")


@pytest.mark.parametrize("definition", [k.definition for k in kinds.KINDS], ids=lambda d: d.kind)
def test_schemas_are_structural(definition):
    """Every schema node is typed (or int-or-string), with no $ref, nullable anyOf or titles."""
    schema = definition.xrd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for path, node in _schema_nodes(schema):
        assert "$ref" not in node and "title" not in node and "$defs" not in node, path
        assert "type" in node or node.get("x-kubernetes-int-or-string"), path
        assert {"type": "null"} not in node.get("anyOf", []), path
        if "anyOf" in node:
            assert node.get("x-kubernetes-int-or-string"), path


def test_postgres_schema_carries_the_rules_users_hit_first():
    spec = definitions.POSTGRES_DATABASE.xrd()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    props = spec["properties"]
    assert props["instance"]["properties"]["version"]["minimum"] == 14
    assert props["instance"]["properties"]["version"]["maximum"] == 18
    assert props["backup"]["properties"]["method"]["enum"] == ["volumeSnapshot", "objectStore", "none"]
    assert "six fields" in props["backup"]["properties"]["schedule"]["x-kubernetes-validations"][0]["message"]
    assert props["deletionPolicy"]["default"] == "Retain"
    # backupName or dump (issue #9): exactly one, which the function checks.
    assert "required" not in props["restore"]
    assert sorted(props["restore"]["properties"]["dump"]["required"]) == ["file", "privateKeySecret"]
