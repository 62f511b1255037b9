"""Drawing an ``nn`` model: its layers as boxes with shapes, activations and parameter counts.

Modules are duck-typed (``named_children``, ``named_parameter_arrays`` and the layer
attributes ``nin``, ``nout``, ``activation``, ``pieces``, ``engine``), so this file
imports nothing from ``nn``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

from ._modules import layer_facts
from ._render import Graph, label, new_graph, plural

_LAYER = {"fillcolor": "#eef3fb", "color": "#2f5fa7", "style": "filled,rounded"}
_ENDS = {"fillcolor": "#ececec", "color": "#6b6b6b"}


def _array_shape(array: Any) -> tuple[int, ...]:
    """Shape of a parameter array: a Tensor, a Value, or a nested list of Values."""
    if isinstance(array, list):
        return (len(array), *_array_shape(array[0]))
    return tuple(getattr(array, "shape", ()))


def _count(module: Any) -> int:
    # From the arrays rather than num_parameters(): a layer may shadow that method with an
    # attribute of its own (PReLU stores its slope count under that name).
    return sum(math.prod(_array_shape(a)) for _, a in module.named_parameter_arrays())


def _children(module: Any) -> list[tuple[str, Any]]:
    return list(module.named_children())


def _is_sequential(module: Any) -> bool:
    # Only a Sequential (it keeps its children in ``layers``) says how data flows.
    return hasattr(module, "layers") and bool(_children(module))


def _first_layer(module: Any) -> Any:
    while _children(module):
        module = _children(module)[0][1]
    return module


def _width_after(module: Any, width: int | None) -> int | None:
    """Features leaving ``module`` when ``width`` enter it (None when it cannot be told)."""
    if _is_sequential(module):
        for _, child in _children(module):
            width = _width_after(child, width)
        return width
    if _children(module):
        return None
    if hasattr(module, "nout"):
        return int(module.nout)
    if hasattr(module, "nin"):
        return 1  # a Neuron
    return width  # elementwise, as PReLU


def _features(width: int | None, engine: str | None) -> str:
    if width is None:
        return ""
    return plural(width, "Value") if engine == "scalar" else f"(batch, {width})"


def _layer_label(module: Any, path: str) -> str:
    head = f"{path}: {type(module).__name__}" if path else type(module).__name__
    facts = layer_facts(module, linear="identity (linear)")
    arrays = [f"{name} {_array_shape(a)}" for name, a in module.named_parameter_arrays()]
    lines = [head] + [" · ".join(part) for part in (facts, arrays) if part]
    return label([*lines, plural(_count(module), "parameter")])


def _title(module: Any, path: str, engine: str | None) -> str:
    """``layers.0: Sequential · 41 parameters``; the model itself also names its engine."""
    parts = [f"{path}: {type(module).__name__}" if path else type(module).__name__,
             plural(_count(module), "parameter")]
    if not path and engine:
        parts.append(f"{engine} engine")
    return " · ".join(parts)


def _draw(graph: Any, module: Any, path: str, ids: Iterator[int], engine: str | None,
          width: int | None) -> tuple[str, str]:
    """Add ``module`` as a box, or as a cluster of its children; return its first and last box."""
    children = _children(module)
    if not children:
        name = f"layer{next(ids)}"
        graph.node(name, _layer_label(module, path), **_LAYER)
        return name, name
    sequential = _is_sequential(module)
    title = label([_title(module, path, engine)])
    ends: list[tuple[str, str]] = []
    with graph.subgraph(name=f"cluster_{next(ids)}") as cluster:
        cluster.attr(label=title, style="rounded,dashed", color="#888888")
        for child_path, child in children:
            full = f"{path}.{child_path}" if path else child_path
            ends.append(_draw(cluster, child, full, ids, engine, width))
            if len(ends) > 1:
                # Other containers do not say how data flows: keep their order, draw no arrow.
                cluster.edge(ends[-2][1], ends[-1][0], label=_features(width, engine),
                             style="solid" if sequential else "invis")
            width = _width_after(child, width) if sequential else None
    return ends[0][0], ends[-1][1]


def draw_model(model: Any, rankdir: str) -> Graph:
    """The layer diagram of ``model`` (see ``draw_graph``)."""
    first_layer = _first_layer(model)
    engine = getattr(model, "engine", None) or getattr(first_layer, "engine", None)
    nin = getattr(first_layer, "nin", None)
    graph = new_graph(rankdir, type(model).__name__)
    first, last = _draw(graph, model, "", itertools.count(), engine, nin)
    if _is_sequential(model) or not _children(model):
        nout = _width_after(model, nin)
        graph.node("input", label(["input", _features(nin, engine)]), **_ENDS)
        graph.node("output", label(["output", _features(nout, engine)]), **_ENDS)
        graph.edge("input", first)
        graph.edge(last, "output")
    if not _children(model):  # a lone layer: no cluster carries the title
        graph.attr(label=label([_title(model, "", engine)]))
    return graph
