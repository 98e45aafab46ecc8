"""Dependencies point one way: no package or module of ``pipeline`` imports one that imports it.

The graph is read from the source (every ``import``, including those inside functions), so a
cycle cannot hide behind a lazy import; the root ``pipeline`` is a node like any other (it
imports ``api``, so a module reading a name from it closes a cycle). The README's Development
section draws the layers; the import-linter contracts in pyproject.toml (``lint-imports``)
enforce their order.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "pipeline"


def _module(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    known = {_module(p) for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        here = _module(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [_imported(node.module, a.name, known) for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name in known and name != here:
                    graph[here].add(name)
    return graph


def _imported(module: str, name: str, known: set[str]) -> str:
    """What ``from module import name`` depends on: the submodule if ``name`` is one, else
    ``module`` itself (its namespace is read), as import-linter counts it.

    So ``from pipeline import files`` is an import of ``pipeline.io.files``, while
    ``from pipeline import TOOL`` reads the root package, which imports ``api``: a cycle.
    """
    return f"{module}.{name}" if f"{module}.{name}" in known else module


def _unit(module: str) -> str:
    """``pipeline.gate.judge`` -> ``gate``; ``pipeline.io.files`` -> ``files``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "pipeline"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_one_that_imports_it() -> None:
    assert _cycles(_imports()) == []


def test_no_package_imports_one_that_imports_it() -> None:
    units: dict[str, set[str]] = defaultdict(set)
    for module, targets in _imports().items():
        units[_unit(module)] |= {_unit(t) for t in targets} - {_unit(module)}
    assert _cycles(units) == []


def test_the_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
