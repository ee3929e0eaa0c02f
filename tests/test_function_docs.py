"""The docs match the code: every field is documented, every command exists."""

from __future__ import annotations

import re
import types
import typing

import pydantic
import pytest

from function import kinds
from function.api.platform import PlatformDefaults
from function.api.postgres import PostgresDatabaseSpec
from tests.support.paths import REPO

USAGE = (REPO / "docs" / "POSTGRES_USAGE.md").read_text()
README = (REPO / "README.md").read_text()


def _models(annotation: object) -> list[tuple[type[pydantic.BaseModel], bool]]:
    """The models a field holds, and whether in a list."""
    origin = typing.get_origin(annotation)
    if origin is list:
        return [(model, True) for model, _ in _models(typing.get_args(annotation)[0])]
    if origin in (typing.Union, types.UnionType):
        return [found for arg in typing.get_args(annotation) for found in _models(arg)]
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return [(annotation, False)]
    return []


def field_paths(model: type[pydantic.BaseModel], prefix: str = "") -> list[str]:
    """Leaf field paths by the names a user writes (aliases; `env[].name` in lists), hidden fields left out."""
    out = []
    schema_fields = model.model_json_schema(by_alias=True).get("properties", {})
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if alias not in schema_fields:
            continue
        models = _models(field.annotation)
        for sub, in_list in models:
            out += field_paths(sub, f"{prefix}{alias}{'[]' if in_list else ''}.")
        if not models:
            out.append(f"{prefix}{alias}")
    return out


def section(heading: str) -> str:
    """A `## ` section of the usage guide."""
    start = USAGE.index(heading)
    end = USAGE.find("\n## ", start + len(heading))
    return USAGE[start : end if end != -1 else None]


def documented(path: str, text: str) -> bool:
    """Whether a table row of `text` documents `path` (siblings may share a row: `a.b` / `.c`)."""
    if f"`{path}`" in text:
        return True
    parent, leaf = path.rsplit(".", 1) if "." in path else ("", path)
    if parent.endswith(("requests", "limits")):
        return "`cpu`, `memory`, `ephemeral-storage`" in text
    return any(f"`{parent.rsplit('.', 1)[0]}" in line and f"`.{leaf}`" in line for line in text.splitlines())


POSTGRES_FIELDS = field_paths(PostgresDatabaseSpec)


def operator_section() -> str:
    """The CNPGOperator's part of the install steps."""
    start = USAGE.index("### 7. CloudNativePG: a CNPGOperator")
    return USAGE[start : USAGE.index("\n### ", start + 1)]


# Where the usage guide documents each kind of the registry (function.kinds).
GUIDE = {
    "XPostgresDatabase": lambda: section("## PostgresDatabase fields"),
    "XTauApplication": lambda: section("## TauApplication: an application with its database"),
    "CNPGOperator": operator_section,
    "XPostgresInstance": lambda: section("## PostgresInstance fields"),
}
FIELDS = [(kind, path) for kind in kinds.KINDS for path in field_paths(kind.definition.spec)]


def test_the_guide_documents_every_kind_of_the_registry():
    assert set(GUIDE) == {k.composite_kind for k in kinds.KINDS}
    for kind in kinds.KINDS:
        assert f"`{kind.condition_type}`" in USAGE, kind.condition_type


@pytest.mark.parametrize(("kind", "path"), FIELDS, ids=[f"{k.composite_kind}:{p}" for k, p in FIELDS])
def test_every_field_of_every_kind_is_documented(kind, path):
    text = GUIDE[kind.composite_kind]()
    inherited = path.removeprefix("database.")
    shared = path.startswith("database.") and inherited in POSTGRES_FIELDS and inherited != "databaseName"
    if kind.composite_kind == "XTauApplication" and shared:
        # Documented once, in the PostgresDatabase table, which the section points to.
        assert "`database.<any PostgresDatabase field>`" in text and "(#postgresdatabase-fields)" in text
        return
    assert documented(path, text), path


@pytest.mark.parametrize("path", [p for p in field_paths(PlatformDefaults) if p not in ("apiVersion", "kind")])
def test_every_input_field_is_documented(path):
    assert documented(path, section("## Platform defaults (the function input)")), path


def test_the_examples_the_guide_names_exist():
    for name in set(re.findall(r"examples/([\w-]+)/", USAGE + README)):
        assert (REPO / "examples" / name).is_dir(), name


def test_the_readme_commands_exist():
    makefile = (REPO / "Makefile").read_text()
    for target in re.findall(r"^make (\w[\w-]*)", README, re.MULTILINE):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), target
    assert (REPO / ".ci" / "run").exists()


def test_relative_links_resolve():
    for doc in (REPO / "README.md", REPO / "docs" / "POSTGRES_USAGE.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", doc.read_text()):
            assert (doc.parent / target).exists(), f"{doc.name}: {target}"


def test_no_section_placeholder_is_left():
    assert "<!-- section:" not in USAGE
