"""The package's import structure: no module imports a higher layer (even inside a function
or for type checking), and no modules import each other in a cycle. The layer order is the
numbered list in ARCHITECTURE.md, so the map and the code cannot drift apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "actscope"


def layer_order(text: str) -> dict[str, int]:
    """``{top-level module: layer number}`` from the ``text`` block of ARCHITECTURE.md."""
    block = re.search(r"## Layers.*?```text\n(.*?)```", text, re.S)
    assert block, "ARCHITECTURE.md has no layer list"
    layers = {}
    for line in block.group(1).splitlines():
        match = re.match(r"\s*(\d+)\.\s+(.+?)\s+—", line)
        if match:
            for name in match.group(2).split(","):
                layers[name.strip()] = int(match.group(1))
    return layers


def module_names(package: Path) -> dict[str, Path]:
    """Every module of the package: dotted name -> file."""
    names = {}
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules ``name`` imports anywhere in its file (``from a import b`` counts
    as ``a.b`` when that is a module, else as ``a``)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        else:
            continue
        found |= {t for t in targets if t in modules and t != name}
    return found


def layer_of(module: str, layers: dict[str, int]) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else parts[0]
    assert key in layers, f"{module} belongs to no layer of ARCHITECTURE.md; add it there"
    return layers[key]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


@pytest.fixture(scope="module")
def structure():
    layers = layer_order((ROOT / "ARCHITECTURE.md").read_text())
    modules = module_names(PACKAGE)
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    return layers, graph


def test_every_module_belongs_to_a_layer(structure):
    layers, graph = structure
    for module in graph:
        layer_of(module, layers)


def test_no_module_imports_a_higher_layer(structure):
    layers, graph = structure
    upward = [
        f"{module} (layer {layer_of(module, layers)}) imports {other} "
        f"(layer {layer_of(other, layers)})"
        for module, targets in sorted(graph.items())
        for other in sorted(targets)
        if layer_of(other, layers) > layer_of(module, layers)
    ]
    assert not upward, "\n".join(upward)


def test_no_import_cycles(structure):
    _, graph = structure
    assert find_cycles(graph) == []


def test_the_checks_catch_what_they_look_for(tmp_path):
    """The walker on a small package of its own: an upward import inside a function, a
    relative import, an import for type checking, and a cycle are all found."""
    package = tmp_path / "pkg"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "low" / "__init__.py").write_text("")
    (package / "low" / "a.py").write_text("def f():\n    from pkg.high import b\n")
    (package / "high.py").write_text("from .low import a\n")
    (package / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import c\n"
    )
    (package / "c.py").write_text("import pkg.b\n")
    modules = module_names(package)
    graph = {name: imports_of(name, path, modules) for name, path in modules.items()}
    assert graph["pkg.low.a"] == {"pkg.high"}
    assert graph["pkg.high"] == {"pkg.low.a"}
    assert graph["pkg.b"] == {"pkg.c"}
    assert sorted(find_cycles(graph)) == [["pkg.b", "pkg.c"], ["pkg.high", "pkg.low.a"]]
    layers = layer_order("## Layers\n```text\n1. low — x\n2. high, b, c — y\n```\n")
    assert layer_of("pkg.low.a", layers) < layer_of("pkg.high", layers)
