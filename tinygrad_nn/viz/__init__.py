"""Pictures of computation graphs and models: ``draw_graph``, ``save_svg`` and ``save_html``.

``draw_graph(root)`` draws the graph either engine recorded, a box per value and an ellipse
per op, labelled with the op's registered name; the ops a model ran sit in a box per module.
``draw_graph(model)`` draws an ``nn`` model as layer boxes. Both return a ``Graph`` (a
``graphviz.Digraph``): ``.source`` is the DOT text, ``.pipe()`` the SVG, and Jupyter shows
it inline. ``save_html`` writes the picture as a page to explore in a browser.

What ``draw_graph`` returns with its defaults renders in seconds for any graph: at most
``max_nodes`` values are drawn, and arrows that would cross the picture are replaced by
per-use copies of their source (``_scene``). Rendering runs Graphviz ``dot`` in a child
process that is stopped after ``Graph.timeout`` seconds (``_render``).

Engines are duck-typed (``_prev``, ``_op``, ``data``, ``grad``, ``_scope``); only the
gradient-flow colouring asks the tensor engine for gradients (``_gradflow``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import graphviz

from .._files import write_atomically
from ._demo import forward_pictures
from ._draw import draw_scene
from ._gradflow import grad_rms
from ._html import explorer_page
from ._model import draw_model
from ._render import Graph, GraphvizNotFoundError, RenderTimeoutError, write_svg
from ._scene import Options, build_scene

__all__ = [
    "Graph",
    "GraphvizNotFoundError",
    "RenderTimeoutError",
    "draw_graph",
    "forward_pictures",
    "grad_rms",
    "save_html",
    "save_svg",
]


def draw_graph(root_or_model: Any, *, rankdir: str = "LR", show_grad: bool = True,
               max_nodes: int | None = 200, params: Any = None, group: bool = True,
               collapse: bool | None = None, grad_flow: bool = False) -> Graph:
    """Draw the graph that produced a Value or Tensor, or the layers of an ``nn`` model.

    Parameters
    ----------
    root_or_model : Value, Tensor or nn.Module
        The output whose graph to draw, or a model to draw as a diagram of its layers.
    rankdir : {"LR", "RL", "TB", "BT"}
        The direction data flows in the picture.
    show_grad : bool
        Show gradients: a Value's ``grad``, a Tensor's gradient norm.
    max_nodes : int or None
        Draw at most this many values (those nearest the output); a small box stands for
        the inputs of an op that were left out, and the legend counts them by op. ``None``
        draws everything (large graphs then take long to render; see ``Graph.timeout``).
    params : nn.Module, dict, list or None
        Parameters to mark and name. Those of the models that ran the graph's ops are
        found without it.
    group : bool
        Draw the ops a model ran inside a labelled box per module
        (``layers.0: Dense(2 → 8, relu)``), with the parameters each module holds.
    collapse : bool or None
        Draw each module as one box (its ops, parameters and their gradients) instead:
        a big model's picture then shows its layers and what flows between them. The
        default, ``None``, collapses when the graph has more than ``max_nodes`` values.
    grad_flow : bool
        Colour parameters and arrows by the RMS of the gradient they carry, on a log
        scale shown as a colour bar: vanishing gradients darken layer by layer, and what
        a dead ReLU blocks is dashed grey. On the tensor engine the arrows need the graph
        (draw before a plain ``backward()``, or after ``backward(retain_graph=True)``).

    Returns
    -------
    Graph
        A ``graphviz.Digraph``: ``.pipe()`` renders SVG, Jupyter shows it inline.

    Notes
    -----
    Parameters have a blue double border, other leaves are grey inputs, the root is the
    green output, and a value or gradient holding NaN or Inf is red. A Tensor graph drawn
    after a plain ``backward()`` shows each freed intermediate result by shape and dtype.
    """
    _check_drawable(root_or_model, "draw_graph")
    if hasattr(root_or_model, "_prev"):
        options = Options(show_grad, max_nodes, params, group, collapse, grad_flow)
        return draw_scene(build_scene(root_or_model, options), rankdir, grad_flow)
    return draw_model(root_or_model, rankdir)


def save_html(root_or_model: Any, path: str | os.PathLike[str], *, title: str | None = None,
              rankdir: str = "LR", **draw_kwargs: Any) -> Path:
    """Write one self-contained HTML page to explore a graph or a model in a browser.

    The page shows the picture ``draw_graph`` draws (same options), with pan (drag) and
    zoom (wheel, or the buttons); hovering over or clicking a box shows its full data and
    gradient. For a scalar graph a stepper walks backward through it node by node, from
    the output: at each node, upstream gradient x local derivative = what each input
    receives, with that input's gradient so far. The page needs no server and makes no
    request (its Content-Security-Policy forbids any): open the file.

    Parameters
    ----------
    root_or_model : Value, Tensor or nn.Module
        What to draw, as for ``draw_graph``.
    path : str or os.PathLike
        The file to write (replaced atomically).
    title : str, optional
        The page's title; by default it counts the graph's values.
    rankdir, **draw_kwargs
        ``draw_graph``'s options (``max_nodes``, ``grad_flow``, ``collapse``, ...).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    _check_drawable(root_or_model, "save_html")
    text = explorer_page(root_or_model, title, rankdir, **draw_kwargs)
    return write_atomically(path, text.encode("utf-8"))


def _check_drawable(root_or_model: Any, where: str) -> None:
    if hasattr(root_or_model, "_prev") or hasattr(root_or_model, "named_children"):
        return
    hint = " (to draw several outputs, draw their sum)" \
        if isinstance(root_or_model, (list, tuple)) else ""
    raise TypeError(f"{where} expects a Value, a Tensor or an nn Module, "
                    f"got {type(root_or_model).__name__}{hint}")


def save_svg(graph_or_root: Any, path: str | os.PathLike[str], **draw_kwargs: Any) -> Path:
    """Write a picture (a Graph, or anything ``draw_graph`` takes) to an SVG file atomically."""
    graph = graph_or_root
    if not isinstance(graph, graphviz.Digraph):
        graph = draw_graph(graph_or_root, **draw_kwargs)
    elif draw_kwargs:
        raise TypeError("save_svg: drawing options only apply when given a value or model")
    return write_svg(graph, path)
