"""``save_html``: one self-contained page to explore a graph in a browser.

The page holds the rendered SVG, the numbers behind every box (as JSON) and a small script
(``explorer.js``, beside this file) for pan and zoom, details on hover or click, and on
the scalar engine a backward stepper. Its Content-Security-Policy forbids every request:
the page works from a file, offline, and can leak nothing.
"""

from __future__ import annotations

import html
import json
import math
import re
from importlib import resources
from typing import Any

from ._draw import draw_scene, legend_lines
from ._model import draw_model
from ._render import Graph
from ._scene import Options, Scene, build_scene
from ._values import node_name, num

MAX_STEPS = 2_000  # backward steps the page holds: the drawn nodes nearest the output


def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _number(x: float) -> float | str:
    """A float JSON can hold: NaN and infinities become text."""
    return x if math.isfinite(x) else repr(x)


def backward_steps(scene: Scene) -> list[dict[str, Any]]:
    """Backward on a scalar graph, one drawn node at a time, output first.

    The gradients are replayed from 1 at the output, in the order ``Value.backward`` uses,
    so each step shows exactly what that node passes on: ``upstream x local =
    contribution``, and the running total of each input's gradient after it.
    """
    order = scene.order
    if not order or not hasattr(order[-1], "_local"):
        return []  # a tensor graph: its local derivatives are arrays, not kept
    totals: dict[int, float] = {id(order[-1]): 1.0}
    steps: list[dict[str, Any]] = []
    for node in reversed(order):
        upstream = totals.get(id(node), 0.0)
        received = []
        for child, local in zip(node._prev, node._local):
            totals[id(child)] = totals.get(id(child), 0.0) + upstream * local
            received.append((child, local, upstream * local, totals[id(child)]))
        name = scene.box_of.get(id(node), "")
        if not received or not name.startswith("v") or len(steps) == MAX_STEPS:
            continue
        steps.append({
            "node": name, "op": "op" + name[1:], "opName": node._op,
            "title": node_name(node) or f"{node._op} node",
            "data": _number(node.data), "upstream": _number(upstream),
            "inputs": [{"node": scene.box_of.get(id(child)),
                        "label": _input_label(child, scene),
                        "local": _number(local), "contribution": _number(contribution),
                        "total": _number(total)}
                       for child, local, contribution, total in received],
        })
    return steps


def _input_label(child: Any, scene: Scene) -> str:
    """What an input is called in the stepper: its name, else its op and value."""
    box = scene.boxes.get(scene.box_of.get(id(child), ""))
    name = node_name(child) or (box.info.get("title", "") if box is not None else "")
    if name:
        return name
    return f"{child._op} = {num(child.data)}" if child._op else f"input {num(child.data)}"


def _node_data(scene: Scene) -> dict[str, dict[str, Any]]:
    nodes = {}
    for name, box in scene.boxes.items():
        info = {"kind": box.kind, **box.info}
        if box.scope:
            info["module"] = scene.index.title(box.scope[-1])
        if box.copy_of is not None:
            info = {"same": box.copy_of}
        nodes[name] = info
    return nodes


def _model_data(graph: Graph) -> dict[str, dict[str, Any]]:
    """A layer diagram's boxes: their own lines are all there is to show."""
    nodes = {}
    for match in re.finditer(r'^\s+(\w+) \[label="((?:[^"\\]|\\.)*)"', graph.source, re.M):
        lines = match.group(2).split("\\n")
        nodes[match.group(1)] = {"title": lines[0], "data": "\n".join(lines[1:])}
    return nodes


def page(svg: str, data: dict[str, Any], title: str) -> str:
    """The explorer page around an SVG picture and the data behind its boxes."""
    svg = svg[svg.index("<svg"):]  # no XML prolog or doctype inside HTML
    # Inside <script>, only "</" could end the element early; JSON lets it be "<\/".
    payload = json.dumps(data, ensure_ascii=False, allow_nan=False).replace("</", "<\\/")
    parts = {"title": html.escape(title), "css": _asset("explorer.css"), "svg": svg,
             "data": payload, "js": _asset("explorer.js")}
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], _asset("explorer.html"))


def explorer_page(root_or_model: Any, title: str | None = None, rankdir: str = "LR",
                  **draw_kwargs: Any) -> str:
    """The HTML of ``save_html`` (see there)."""
    data: dict[str, Any]
    if not hasattr(root_or_model, "_prev"):
        graph = draw_model(root_or_model, rankdir)
        data = {"nodes": _model_data(graph), "steps": [],
                "legend": "The model's layers, in the order data flows through them."}
        default_title = f"{type(root_or_model).__name__}: layers"
    else:
        options = Options(**draw_kwargs)
        scene = build_scene(root_or_model, options)
        graph = draw_scene(scene, rankdir, options.grad_flow)
        data = {"nodes": _node_data(scene), "steps": backward_steps(scene),
                "legend": "\n".join(legend_lines(scene, options.grad_flow))}
        default_title = f"Graph of {len(scene.order):,} values"
    svg = graph.pipe(format="svg").decode("utf-8")  # type: ignore[union-attr]
    return page(svg, data, title or default_title)
