"""Dependencies point one way: the import graph of the `function` package has no cycle.

Checked twice: between modules, and between the package's parts (its
top-level modules and its subpackages: `function.postgres` must not import a
top-level module that imports `function.postgres` back). Every import counts,
also those inside functions.
"""

from __future__ import annotations

import ast
import graphlib
import pathlib

from tests.support.paths import REPO

PACKAGE = REPO / "function"


def _module(path: pathlib.Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, path: pathlib.Path) -> set[str]:
    """The modules of `function` that a module imports (`from function import x` counts x when it is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(
                    [*package.split(".")[: len(package.split(".")) - node.level + 1], *filter(None, [base])]
                )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    """The part of the package a module belongs to: `function.postgres.plan` -> `function.postgres`."""
    return ".".join(module.split(".")[:2])


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as err:
        return err.args[1]
    return None


def test_the_graph_is_read():
    assert "function.postgres.composer" in GRAPH["function.kinds"]
    assert "function.keys" in GRAPH["function.postgres.plan"]


def test_no_module_imports_itself_back():
    assert _cycle(GRAPH) is None, f"import cycle: {' -> '.join(_cycle(GRAPH))}"


def test_no_part_of_the_package_imports_itself_back():
    parts: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        if module != "function":
            parts.setdefault(_part(module), set()).update(_part(m) for m in imported if _part(m) != _part(module))
    cycle = _cycle(parts)
    assert cycle is None, f"import cycle between parts of the package: {' -> '.join(cycle)}"
