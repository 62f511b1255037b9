"""The package layout shows the architecture: dependencies point one way, and no module
imports another that (directly or not) imports it back, function-level imports included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tinygrad_nn"

# Lower layers first: a module may import its own layer and the layers before it.
LAYERS = [
    {"graph", "_files", "_version", "_extras"},  # the graph core knows no math
    {"ops"},  # the rules know no engine
    {"scalar"},
    {"tensor"},
    {"functions", "io"},
    {"viz"},
    {"nn", "optim", "data", "datasets", "testing"},
    {"training", "plots"},
    {"cli", "__main__", "__init__"},
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of the package that ``name`` imports anywhere (functions included)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            # `from pkg import sub` imports the submodule when there is one.
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                       for alias in node.names]
        else:
            continue
        found |= {t for t in targets if t in known and t != name}
    return found


GRAPH = {name: imports(name, path, set(modules())) for name, path in modules().items()}


def layer(name: str) -> int:
    top = name.split(".")[1] if "." in name else "__init__"
    for i, members in enumerate(LAYERS):
        if top in members:
            return i
    raise AssertionError(f"{name} belongs to no layer: add it to LAYERS")


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_dependencies_point_down(name):
    upward = sorted(t for t in GRAPH[name] if layer(t) > layer(name))
    assert upward == [], f"{name} imports higher layers: {upward}"


def test_no_import_cycles():
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(start: str) -> None:
        stack = [(start, iter(sorted(GRAPH[start])))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            for child in children:
                if state.get(child) == 1:
                    cycles.append([*path[path.index(child):], child])
                elif child not in state:
                    state[child] = 1
                    path.append(child)
                    stack.append((child, iter(sorted(GRAPH[child]))))
                    break
            else:
                state[node] = 2
                path.pop()
                stack.pop()

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)
    assert cycles == []
