"""The docs match the code: every field is documented, every command exists."""

from __future__ import annotations

import re
import typing

import pydantic
import pytest

from function.api.platform import PlatformDefaults
from function.api.postgres import PostgresDatabaseSpec
from tests.support.paths import REPO

USAGE = (REPO / "docs" / "POSTGRES_USAGE.md").read_text()
README = (REPO / "README.md").read_text()


def field_paths(model: type[pydantic.BaseModel], prefix: str = "") -> list[str]:
    """Leaf field paths of a model, by alias (`instance.storage.size`)."""
    out = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{field.alias or name}"
        nested = [a for a in (typing.get_args(field.annotation) or (field.annotation,))
                  if isinstance(a, type) and issubclass(a, pydantic.BaseModel)]  # fmt: skip
        if nested:
            for sub in nested:
                out += field_paths(sub, f"{path}.")
        else:
            out.append(path)
    return out


def _documented(path: str) -> bool:
    # A row may document siblings together: `instance.resources.requests` / `.limits`, `.name` / `.namespace`.
    leaf = path.rsplit(".", 1)[-1]
    return f"`{path}`" in USAGE or any(
        f"`{path.rsplit('.', 2)[0]}" in line and f"`.{leaf}`" in line for line in USAGE.splitlines()
    )


@pytest.mark.parametrize("path", field_paths(PostgresDatabaseSpec))
def test_every_claim_field_is_documented(path):
    parent = path.rsplit(".", 1)[0]
    assert _documented(path) or (
        parent.endswith(("requests", "limits")) and "`cpu`, `memory`, `ephemeral-storage`" in USAGE
    ), path


@pytest.mark.parametrize("path", [p for p in field_paths(PlatformDefaults) if p not in ("apiVersion", "kind")])
def test_every_input_field_is_documented(path):
    assert _documented(path), path


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
