"""Drawing the graph behind a Value or a Tensor: a node per value and one per op."""

from __future__ import annotations

import math
from collections import Counter, deque
from typing import Any

import numpy as np

from ..graph import toposort
from ._render import Graph, label, new_graph, plural

# (fill, border) per kind of value.
STYLE = {
    "parameter": ("#d6e4f7", "#2f5fa7"),
    "input": ("#ececec", "#6b6b6b"),
    "output": ("#d9f0d3", "#2e7d32"),
    "value": ("#ffffff", "#444444"),
    "nonfinite": ("#f9d6d5", "#c62828"),
}
OP_STYLE = {"shape": "ellipse", "style": "filled", "fillcolor": "#fff4d6", "color": "#b08900",
            "fontsize": "10", "margin": "0.04,0.02", "height": "0.3"}
_LEGEND = {"parameter": "blue double border: parameter", "input": "grey: input",
           "output": "green: output", "nonfinite": "red: NaN or Inf"}
_TIMES = "\N{MULTIPLICATION SIGN}"


def _num(x: float) -> str:
    return f"{x:.4g}"


def _parameter_names(params: Any) -> dict[int, str]:
    """``id -> name`` of the caller's parameters (a model names them; a plain list does not)."""
    if params is None:
        return {}
    if hasattr(params, "named_parameters"):
        return {id(p): name for name, p in params.named_parameters()}
    if isinstance(params, dict):
        return {id(p): name for name, p in params.items()}
    return {id(p): "" for p in params}


def _scalar_lines(node: Any, show_grad: bool) -> tuple[list[str], bool]:
    lines = [f"data {_num(node.data)}"]
    finite = math.isfinite(node.data)
    if show_grad:
        lines.append(f"grad {_num(node.grad)}")
        finite = finite and math.isfinite(node.grad)
    return lines, finite


def _summary(a: np.ndarray, what: str) -> tuple[str, bool]:
    """One line about an array (its values when few, else statistics), and whether finite."""
    if a.dtype.kind not in "biuf":
        return f"{what} of dtype {a.dtype}", True
    if a.size <= 4:
        text = " ".join(_num(float(v)) for v in a.ravel())
        finite = a.dtype.kind != "f" or bool(np.isfinite(a).all())
        return (f"{what} [{text}]" if a.ndim else f"{what} {text}"), finite
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            nan = int(np.isnan(a).sum())
            return f"{what}: {nan:,} NaN, {int(bad.sum()) - nan:,} Inf", False
    with np.errstate(all="ignore"):  # squares of huge float64s overflow to inf: fine here
        x = a.astype(np.float64)
        if what == "grad":
            return f"grad norm {_num(float(np.sqrt(np.sum(x * x))))}", True
        return f"mean {_num(float(x.mean()))} std {_num(float(x.std()))}", True


def _tensor_lines(node: Any, show_grad: bool) -> tuple[list[str], bool]:
    data = node.data
    shape = "scalar" if data.ndim == 0 else str(tuple(data.shape))
    line, finite = _summary(data, "data")
    lines = [f"{shape} {data.dtype}", line]
    if show_grad and node.grad is not None:
        line, grad_finite = _summary(np.asarray(node.grad), "grad")
        lines.append(line)
        finite = finite and grad_finite
    return lines, finite


def _nearest(root: Any, limit: int) -> set[int]:
    """ids of the ``limit`` nodes nearest ``root`` (breadth first)."""
    kept = {id(root)}
    queue = deque([root])
    while queue:
        for child in queue.popleft()._prev:
            if id(child) not in kept:
                if len(kept) == limit:
                    return kept
                kept.add(id(child))
                queue.append(child)
    return kept


def _kind(node: Any, root: Any, names: dict[int, str]) -> str:
    if node is root:
        return "output"
    if node._prev:
        return "value"
    # Values have no requires_grad: they are parameters only when the caller says so.
    if id(node) in names or getattr(node, "requires_grad", False):
        return "parameter"
    return "input"


def _value_label(node: Any, name: str | None, show_grad: bool) -> tuple[str, bool]:
    if not hasattr(node, "data"):  # an intermediate result whose array backward freed
        shape = "scalar" if not node.shape else str(tuple(node.shape))
        return label([f"{shape} {node.dtype}", "(freed by backward)"]), True
    tensor = isinstance(node.data, np.ndarray)
    lines, finite = (_tensor_lines if tensor else _scalar_lines)(node, show_grad)
    if name:
        lines.insert(0, name)
    if node._op and not node._prev:
        # A result drawn as a leaf: its inputs were never recorded (none needed grad), or
        # backward() released them (a Tensor's op record _fn is then gone).
        if getattr(node, "_fn", "") is None and getattr(node, "requires_grad", False):
            lines += [f"'{node._op}': graph released by backward();",
                      "draw after backward(retain_graph=True)"]
        else:
            lines.append(f"from '{node._op}', inputs not recorded")
    return label(lines), finite


def _omitted_label(omitted: list[Any]) -> str:
    ops = Counter(node._op for node in omitted if node._prev)
    leaves = len(omitted) - sum(ops.values())
    parts = [f"'{op}' {_TIMES}{n:,}" for op, n in ops.most_common(4)]
    if len(ops) > 4:
        parts.append("…")
    lines = [f"… {plural(len(omitted), 'more value')}"]
    if parts:
        lines.append("ops: " + ", ".join(parts))
    if leaves:
        lines.append(plural(leaves, "leaf", "leaves"))
    lines.append("(raise max_nodes to draw them)")
    return label(lines)


def draw_values(root: Any, rankdir: str, show_grad: bool, max_nodes: int | None,
                params: Any) -> Graph:
    """The picture of everything ``root`` was computed from (see ``draw_graph``)."""
    if max_nodes is not None and max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1 (or None for no limit), got {max_nodes}")
    names = _parameter_names(params)
    order = toposort(root)  # inputs first: Graphviz then lays the graph out left to right
    kept = _nearest(root, max_nodes) if max_nodes is not None and len(order) > max_nodes else None
    index = {id(node): i for i, node in enumerate(order)}
    graph = new_graph(rankdir, "graph")
    kinds: set[str] = set()
    cut: Counter[int] = Counter()  # op node -> how many of its inputs are not drawn
    for i, node in enumerate(order):
        if kept is not None and id(node) not in kept:
            continue
        text, finite = _value_label(node, names.get(id(node)), show_grad)
        kind = _kind(node, root, names)
        fill, border = STYLE["nonfinite" if not finite else kind]
        attrs = {"fillcolor": fill, "color": border}
        if kind == "parameter":
            attrs["peripheries"] = "2"
        if kind == "output" or not finite:
            attrs["penwidth"] = "2" if finite else "2.5"
        kinds.update((kind, "nonfinite") if not finite else (kind,))
        graph.node(f"v{i}", text, **attrs)
        if node._prev:
            graph.node(f"op{i}", label([node._op]), **OP_STYLE)
            graph.edge(f"op{i}", f"v{i}")
            for child in node._prev:
                if kept is None or id(child) in kept:
                    graph.edge(f"v{index[id(child)]}", f"op{i}")
                else:
                    cut[i] += 1
    if kept is not None:
        omitted = [node for node in order if id(node) not in kept]
        graph.node("omitted", _omitted_label(omitted), shape="note", style="filled,dashed",
                   fillcolor="#f5f5f5", color="#888888")
        for i, n in cut.items():
            graph.edge("omitted", f"op{i}", style="dashed", label=f"{_TIMES}{n}" if n > 1 else "")
    _add_legend(graph, kinds, len(order), None if kept is None else len(kept))
    return graph


def _add_legend(graph: Graph, kinds: set[str], total: int, shown: int | None) -> None:
    parts = [text for kind, text in _LEGEND.items() if kind in kinds]
    lines = [" · ".join([*parts, "yellow ellipse: op"])]
    if shown is not None:
        lines.append(f"showing the {shown:,} of {total:,} values nearest the output")
    graph.attr(label=label(lines))
