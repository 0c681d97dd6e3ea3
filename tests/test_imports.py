"""The import graph: `schemas` ← `harvesters` ← `portal`, and no cycle among the modules.
Read statically from the source, module-level imports only, as they run when a module is
imported."""

from __future__ import annotations

import ast
from pathlib import Path

from tests import CHECKOUT, PACKAGES


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (CHECKOUT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(CHECKOUT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules of ours that `name` imports at module level."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in known:
                    found.add(submodule)
                elif target in known:
                    found.add(target)
    return found - {name}


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> set[frozenset[str]]:
    """Strongly connected sets of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.add(frozenset(component))

    for node in edges:
        if node not in index:
            visit(node)
    return found


def test_imports_point_one_way() -> None:
    edges = graph()
    assert "portal.visibility" in edges and "harvesters.pipeline" in edges
    for name, targets in edges.items():
        top = name.partition(".")[0]
        allowed = {"schemas": {"schemas"}, "harvesters": {"schemas", "harvesters"}}.get(top)
        if allowed:
            wrong = {t for t in targets if t.partition(".")[0] not in allowed}
            assert not wrong, f"{name} imports {wrong}"


def test_no_import_cycle() -> None:
    assert not cycles(graph())


def test_the_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == {frozenset({"a", "b", "c"})}
