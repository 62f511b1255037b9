"""A ``Scene`` in Graphviz: box styles, one cluster per module, the legend and colour bar."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from . import _gradflow as flow
from ._render import Graph, label, new_graph, plural
from ._scene import Box, Scene

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
MODULE_STYLE = {"style": "filled,rounded", "fillcolor": "#eef3fb", "color": "#2f5fa7"}
MORE_STYLE = {"shape": "note", "style": "filled,dashed", "fillcolor": "#f5f5f5",
              "color": "#888888", "fontsize": "9", "fontcolor": "#555555"}
# The model's own box is an outline; the layers inside it are tinted, deeper ones darker.
CLUSTER_FILLS = ("", "#f2f5fb", "#e6ecf7", "#dae3f3")
_LEGEND = {"parameter": "blue double border: parameter", "input": "grey: input",
           "output": "green: output", "nonfinite": "red: NaN or Inf",
           "op": "yellow ellipse: op"}
_TIMES = "\N{MULTIPLICATION SIGN}"


def draw_scene(scene: Scene, rankdir: str, grad_flow: bool) -> Graph:
    """The Graphviz picture of ``scene`` (see ``draw_graph``)."""
    graph = new_graph(rankdir, "graph")
    scale = flow.ColourScale(_magnitudes(scene)) if grad_flow else None
    _add_clusters(graph, scene, (), _cluster_tree(scene), scale, iter(range(1_000_000)))
    for arrow in scene.arrows:
        attrs = {"label": arrow.label} if arrow.label else {}
        if arrow.main:
            attrs["weight"] = "3"
        if scale is not None:
            attrs.update(_arrow_colour(arrow.magnitude, scale))
        graph.edge(arrow.tail, arrow.head, **attrs)
    for tail, head in _rank_hints(scene):
        graph.edge(tail, head, style="invis")
    if scale is not None:
        _add_colour_bar(graph, scale)
    graph.attr(label=label(legend_lines(scene, grad_flow)))
    return graph


def _magnitudes(scene: Scene) -> Iterator[float | None]:
    for box in scene.boxes.values():
        if box.kind in ("parameter", "module"):
            yield box.magnitude
    for arrow in scene.arrows:
        yield arrow.magnitude


# ----- Boxes and clusters -------------------------------------------------------------------


def _key(scope: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple(id(m) for m in scope)


def _cluster_tree(scene: Scene) -> dict[tuple[int, ...], tuple[list[Box], list[Any]]]:
    """For each drawn scope: its boxes and its child scopes' modules, in order."""
    tree: dict[tuple[int, ...], tuple[list[Box], list[Any]]] = {(): ([], [])}
    for box in scene.boxes.values():
        for depth in range(1, len(box.scope) + 1):
            key = _key(box.scope[:depth])
            if key not in tree:
                tree[key] = ([], [])
                tree[key[:-1]][1].append(box.scope[depth - 1])
        tree[_key(box.scope)][0].append(box)
    return tree


def _add_clusters(graph: Any, scene: Scene, key: tuple[int, ...],
                  tree: dict[tuple[int, ...], tuple[list[Box], list[Any]]],
                  scale: flow.ColourScale | None, ids: Iterator[int]) -> None:
    boxes, children = tree[key]
    for box in boxes:
        graph.node(box.name, label(box.lines), **_box_style(box, scale))
    for module in children:
        child = (*key, id(module))
        with graph.subgraph(name=f"cluster_{next(ids)}") as cluster:
            fill = CLUSTER_FILLS[min(len(key), len(CLUSTER_FILLS) - 1)]
            cluster.attr(label=label([scene.index.title(module)]), style="rounded,filled"
                         if fill else "rounded,dashed", fillcolor=fill or "none",
                         color="#7f93b8", fontcolor="#1f3d73", margin="10")
            _add_clusters(cluster, scene, child, tree, scale, ids)


def _rank_hints(scene: Scene) -> list[tuple[str, str]]:
    """Invisible arrows that rank a module's parameters after the value entering it.

    Graphviz places a parameter one step before its first use, in ranks the module before
    it occupies; two boxes cannot share ranks side by side, so each layer would be pushed
    aside and a deep model would be drawn as a staircase.
    """
    incoming = {arrow.head for arrow in scene.arrows}
    keys = {name: _key(box.scope) for name, box in scene.boxes.items()}
    entry: dict[tuple[int, ...], str] = {}
    for arrow in scene.arrows:
        tail, head = keys[arrow.tail], keys[arrow.head]
        for depth in range(1, len(head) + 1):
            if tail[:depth] != head[:depth] and arrow.tail in incoming:
                entry.setdefault(head[:depth], arrow.tail)
    hints = []
    for name, box in scene.boxes.items():
        if box.kind in ("parameter", "input") and box.copy_of is None and name not in incoming:
            key = keys[name]
            found = next((entry[key[:d]] for d in range(len(key), 0, -1) if key[:d] in entry),
                         None)
            if found is not None:
                hints.append((found, name))
    return hints


def _box_style(box: Box, scale: flow.ColourScale | None) -> dict[str, str]:
    if box.kind == "op":
        return OP_STYLE
    if box.kind == "more":
        return MORE_STYLE
    if box.kind == "module":
        attrs = dict(MODULE_STYLE)
    else:
        fill, border = STYLE[box.kind if box.finite else "nonfinite"]
        attrs = {"fillcolor": fill, "color": border}
        if box.kind == "parameter":
            attrs["peripheries"] = "2"
        if box.kind == "output" or not box.finite:
            attrs["penwidth"] = "2" if box.finite else "2.5"
    if scale is not None and box.kind in ("parameter", "module") and box.finite:
        colour = scale.colour(box.magnitude)
        if colour is not None:
            attrs["fillcolor"] = colour
            attrs["fontcolor"] = flow.text_colour(colour)
    if box.copy_of is not None:
        attrs["style"] = attrs.get("style", "filled") + ",dashed"
    return attrs


def _arrow_colour(magnitude: float | None, scale: flow.ColourScale) -> dict[str, str]:
    colour = scale.colour(magnitude)
    if colour is None:
        return {"color": "#9e9e9e"}
    if colour == flow.ZERO:
        return {"color": colour, "style": "dashed"}
    return {"color": colour, "penwidth": scale.penwidth(magnitude)}


# ----- Legend --------------------------------------------------------------------------------


def legend_lines(scene: Scene, grad_flow: bool) -> list[str]:
    """What the picture's caption says: colours, copies, what was left out."""
    kinds = scene.kinds()
    if any(not box.finite for box in scene.boxes.values()):
        kinds.add("nonfinite")
    lines = [" \N{MIDDLE DOT} ".join(text for kind, text in _LEGEND.items() if kind in kinds)]
    if scene.collapsed:
        lines.append("each module's ops are drawn as one box (collapse=False draws every op)")
    if scene.copies:
        lines.append("dashed box: one more use of a value drawn in full elsewhere")
    total = len(scene.order)
    if scene.omitted:
        shown = total - len(scene.omitted)
        ops = Counter(node._op for node in scene.omitted if node._prev)
        leaves = len(scene.omitted) - sum(ops.values())
        parts = [f"'{op}' {_TIMES}{n:,}" for op, n in ops.most_common(4)]
        if len(ops) > 4:
            parts.append("\N{HORIZONTAL ELLIPSIS}")
        if leaves:
            parts.append(plural(leaves, "leaf", "leaves"))
        lines.append(f"showing the {shown:,} of {total:,} values nearest the output "
                     "(raise max_nodes to draw more)")
        lines.append("not drawn: " + ", ".join(parts))
    if grad_flow:
        lines.append("colour: gradient RMS on a log scale (the bar); dashed grey arrow: "
                     "zero gradient; plain grey: gradient not known")
    return lines


def _add_colour_bar(graph: Graph, scale: flow.ColourScale) -> None:
    """The colour scale as a row of labelled swatches, in a box of its own."""
    with graph.subgraph(name="cluster_colour_bar") as bar:
        bar.attr(label="gradient RMS", style="rounded", color="#bbbbbb", fontcolor="#333333")
        ticks = [0.0, *scale.ticks()]
        for i, tick in enumerate(ticks):
            colour = scale.colour(tick) or flow.ZERO
            bar.node(f"bar{i}", _tick_label(tick), shape="box",
                     style="filled", fillcolor=colour, color=colour, width="0.5",
                     fontcolor=flow.text_colour(colour), fontsize="9")
            if i:
                bar.edge(f"bar{i - 1}", f"bar{i}", style="invis")


def _tick_label(tick: float) -> str:
    """``0``, ``1e-3``, ``2.5e-3``: a power of ten by its exponent alone."""
    if tick == 0:
        return "0"
    mantissa, exponent = f"{tick:.2g}".partition("e")[::2] if "e" in f"{tick:.2g}" \
        else (f"{tick:.2g}", "")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa
