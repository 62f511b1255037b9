"""From the node behind a drawing to the boxes and arrows Graphviz lays out.

Three steps, each bounded, so that what comes out renders in seconds whatever the graph:

1. **Units.** Every value is a unit, drawn as a box and, when an op made it, an op ellipse.
   With ``collapse``, everything one module computed, with the parameters it holds, is one
   unit drawn as one box.
2. **Selection.** Past ``max_nodes`` units only those nearest the output are drawn (breadth
   first); an op whose inputs were left out gets a small box standing for them.
3. **Per-use copies.** ``dot`` spends its time on long arrows (each is a chain of hidden
   nodes through every rank it crosses) and on boxes with many arrows. An arrow that would
   cross more than ``MAX_SPAN`` ranks, or one beyond the ``MAX_FANOUT`` shortest leaving a
   box, is drawn from a dashed copy of its source placed beside its target instead. A
   leaf used by every step of a 5,000-step loop is then one box per use, not 2,500 arrows
   across the whole picture.

The result, a ``Scene``, is what both the SVG and the HTML explorer are made from.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ..graph import toposort
from . import _gradflow as flow
from ._model import _array_shape
from ._modules import ModuleIndex, models_of
from ._values import details, is_tensor, node_name, num, op_label, value_lines

MAX_SPAN = 4  # ranks an arrow may cross: two steps of value -> op -> value
MAX_FANOUT = 16  # arrows drawn from one box; further uses get copies

_ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"
_TIMES = "\N{MULTIPLICATION SIGN}"


@dataclass
class Box:
    """One Graphviz node: a value, an op, a collapsed module, a copy, or a stand-in."""

    name: str
    kind: str  # parameter, input, output, value, op, module, more
    lines: list[str]
    scope: tuple[Any, ...] = ()  # the modules it is drawn inside, outermost first
    finite: bool = True
    node: Any = None  # the value behind a value box
    magnitude: float | None = None  # gradient RMS (values and modules)
    copy_of: str | None = None  # a copy: the box it repeats
    info: dict[str, Any] = field(default_factory=dict)  # the HTML explorer's details


@dataclass
class Arrow:
    tail: str
    head: str
    count: int = 1  # how many graph edges it stands for
    values: set[int] = field(default_factory=set)  # ids of the values they carry
    label: str = ""
    # The main line of data: an op's first input (``y`` in ``y = y + x * c``, the batch in
    # ``x @ w``) and its result. Graphviz keeps these straight, so chains stay level.
    main: bool = False
    magnitudes: list[float | None] = field(default_factory=list)

    @property
    def magnitude(self) -> float | None:
        return flow.combine(self.magnitudes)


@dataclass
class Scene:
    """Boxes in topological order (inputs first), the arrows between them, and the facts
    the legend states."""

    boxes: dict[str, Box]
    arrows: list[Arrow]
    order: list[Any]  # every node of the graph, inputs first
    box_of: dict[int, str]  # id(node) -> the box drawing it (its own, or its module's)
    index: ModuleIndex
    grads: dict[int, Any]  # id(node) -> d(root)/d(node), when gradient flow was asked for
    omitted: list[Any]  # nodes not drawn
    collapsed: bool = False  # modules drawn as one box each
    copies: int = 0

    def kinds(self) -> set[str]:
        return {box.kind for box in self.boxes.values()}


@dataclass
class Options:
    show_grad: bool = True
    max_nodes: int | None = 200
    params: Any = None
    group: bool = True
    collapse: bool | int | None = None  # None: when there are more values than max_nodes
    grad_flow: bool = False


def _parameter_names(params: Any, index: ModuleIndex) -> dict[int, str]:
    """``id -> name`` of the parameters: those the caller named, then the models' own."""
    names = dict(index.param_name)
    if params is None or hasattr(params, "named_children"):
        return names  # a model given as params was indexed with the others
    if isinstance(params, dict):
        names.update((id(p), name) for name, p in params.items())
    else:
        names.update((id(p), names.get(id(p), "")) for p in params)
    return names


class _Builder:
    def __init__(self, root: Any, options: Options) -> None:
        self.root, self.options = root, options
        self.order = toposort(root)
        self.position = {id(node): i for i, node in enumerate(self.order)}
        models = models_of(self.order)
        if hasattr(options.params, "named_children"):
            models.insert(0, options.params)
        self.index = ModuleIndex(models)
        self.names = _parameter_names(options.params, self.index)
        collapse = options.collapse
        if collapse is None:  # a big model's graph: its layers say more than a slice of it
            limit = options.max_nodes
            collapse = bool(models) and limit is not None and len(self.order) > limit
        # The depth in the module tree drawn as boxes: 0 is the model, 1 its children.
        self.level: int | None = None if collapse is False else \
            1 if collapse is True else int(collapse)
        if self.level is not None and self.level < 0:
            raise ValueError(f"collapse must be a bool or a depth >= 0, got {collapse!r}")
        self.grads = flow.node_gradients(self.order, root) if options.grad_flow else {}
        self.boxes: dict[str, Box] = {}
        self.arrows: dict[tuple[str, str], Arrow] = {}

    # ----- 1. Units ----------------------------------------------------------------------

    def unit(self, node: Any) -> Any:
        """The unit drawing ``node``: the node itself, or its collapsed module."""
        if self.level is not None:
            scope = self.index.scope(node)
            if scope:
                return scope[min(self.level, len(scope) - 1)]
        return node

    def units(self) -> tuple[list[Any], dict[int, list[Any]], dict[int, dict[int, None]]]:
        """Units in topological order, the nodes of each, and each unit's input units
        (nearest the root first)."""
        order: list[Any] = []
        members: dict[int, list[Any]] = {}
        inputs: dict[int, dict[int, None]] = {}  # an ordered set: drawings are reproducible
        for node in self.order:
            unit = self.unit(node)
            if id(unit) not in members:
                order.append(unit)
                members[id(unit)] = []
                inputs[id(unit)] = {}
            members[id(unit)].append(node)
            for child in reversed(node._prev):
                source = self.unit(child)
                if source is not unit:
                    inputs[id(unit)][id(source)] = None
        return order, members, inputs

    # ----- 2. Selection ------------------------------------------------------------------

    def select(self, units: list[Any], inputs: dict[int, dict[int, None]]) -> set[int]:
        """ids of the units to draw: all, or the ``max_nodes`` nearest the root."""
        limit = self.options.max_nodes
        if limit is None or len(units) <= limit:
            return {id(u) for u in units}
        start = id(self.unit(self.root))
        kept = {start}
        queue = deque([start])
        while queue and len(kept) < limit:
            for source in inputs[queue.popleft()]:
                if source not in kept:
                    kept.add(source)
                    queue.append(source)
                    if len(kept) == limit:
                        break
        return kept

    # ----- Boxes -------------------------------------------------------------------------

    def build(self) -> Scene:
        units, members, inputs = self.units()
        kept = self.select(units, inputs)
        box_of: dict[int, str] = {}
        for unit in units:
            if id(unit) not in kept:
                continue
            nodes = members[id(unit)]
            if len(nodes) == 1 and nodes[0] is unit:
                box_of[id(unit)] = self._value_boxes(unit)
            else:
                name = self._module_box(unit, nodes)
                for node in nodes:
                    box_of[id(node)] = name
        cut: Counter[str] = Counter()
        for node in self.order:
            head = box_of.get(id(node))
            if head is None or not node._prev:
                continue
            if self.boxes[head].kind != "module":
                head = f"op{self.position[id(node)]}"
            upstream = self.grads.get(id(node))
            sent = flow.contributions(node, upstream, self.grads) if self.options.grad_flow \
                else [None] * len(node._prev)
            for k, (child, magnitude) in enumerate(zip(node._prev, sent)):
                tail = box_of.get(id(child))
                if tail is None:
                    cut[head] += 1
                elif tail != head:
                    self._arrow(tail, head, magnitude, child, main=k == 0)
        for head, n in cut.items():
            self._more_box(head, n)
        omitted = [node for node in self.order if id(node) not in box_of]
        scene = Scene(self.boxes, list(self.arrows.values()), self.order, box_of, self.index,
                      self.grads, omitted, collapsed=self.level is not None)
        _split_long_arrows(scene)
        return scene

    def _value_boxes(self, node: Any) -> str:
        """A value's box, and its op's ellipse when an op made it; returns the value's."""
        i = self.position[id(node)]
        scope = self.index.scope(node) if self.options.group else ()
        name = f"v{i}"
        magnitude = flow.grad_rms(self.grads.get(id(node)))
        if node._prev:  # the op's ellipse goes first: boxes stay in topological order
            self.boxes[f"op{i}"] = Box(f"op{i}", "op", [op_label(node)], scope)
        title = node_name(node) or self.names.get(id(node), "")
        lines, finite = value_lines(node, title, self.options.show_grad)
        box = self.boxes[name] = Box(name, self._kind(node), lines, scope, finite, node,
                                     magnitude)
        box.info = {"title": title, "op": node._op, **details(node)}
        if node._prev:
            self._arrow(f"op{i}", name, magnitude, node, main=True)
        return name

    def _kind(self, node: Any) -> str:
        if node is self.root:
            return "output"
        if node._prev:
            return "value"
        # Values have no requires_grad: they are parameters only when a model or the
        # caller says so.
        if id(node) in self.names or getattr(node, "requires_grad", False):
            return "parameter"
        return "input"

    def _module_box(self, module: Any, nodes: list[Any]) -> str:
        name = f"mod{len(self.boxes)}"
        chain = self.index.chain.get(id(module), (module,))
        ops = Counter(node._op for node in nodes if node._prev)
        lines = [self.index.title(module), _op_counts(ops)]
        arrays = module.named_parameter_arrays() \
            if hasattr(module, "named_parameter_arrays") else ()
        grads = []
        for array_name, array in arrays:
            if "." in array_name:
                continue  # a child's, drawn in the child's box
            line = f"{array_name} {_array_shape(array)}"
            g = _array_grad(array, self.grads)
            if self.options.show_grad and g is not None:
                line += f" \N{MIDDLE DOT} grad rms {num(flow.grad_rms(g) or 0.0)}"
            lines.append(line)
            grads.append(flow.grad_rms(g))
        scope = chain[:-1] if self.options.group else ()
        box = Box(name, "module", lines, scope, magnitude=flow.combine(grads))
        box.info = {"title": lines[0], "op": _op_counts(ops), "data": "\n".join(lines[2:])}
        self.boxes[name] = box
        return name

    def _more_box(self, head: str, n: int) -> None:
        name = f"more_{head}"
        word = "input" if n == 1 else "inputs"
        self.boxes[name] = Box(name, "more", [f"{_ELLIPSIS} {n} {word}"], self.boxes[head].scope)
        self.boxes[name].info = {"title": f"{n} {word} not drawn",
                                 "data": "raise max_nodes to draw them"}
        self._arrow(name, head, None, None)

    def _arrow(self, tail: str, head: str, magnitude: float | None, child: Any,
               main: bool = False) -> None:
        arrow = self.arrows.get((tail, head))
        if arrow is None:
            arrow = self.arrows[(tail, head)] = Arrow(tail, head, main=main)
            if self.boxes[tail].kind == "module" and is_tensor(child):
                arrow.label = str(tuple(child.shape))  # what leaves a module, in words
        else:
            arrow.count += 1
        arrow.values.add(id(child))
        arrow.magnitudes.append(magnitude)
        # Into or out of a module: how many values cross; elsewhere, how many uses (x * x).
        modules = "module" in (self.boxes[tail].kind, self.boxes[head].kind)
        n = len(arrow.values) if modules else arrow.count
        if n > 1 and not is_tensor(child):
            arrow.label = f"{_TIMES}{n:,}"


def _op_counts(ops: Counter[str]) -> str:
    total = sum(ops.values())
    parts = [op if n == 1 else f"{op} {_TIMES}{n:,}" for op, n in ops.most_common(4)]
    if len(ops) > 4:
        parts.append(_ELLIPSIS)
    return f"{total:,} {'op' if total == 1 else 'ops'}: {', '.join(parts)}" if total else ""


def _array_grad(array: Any, grads: dict[int, Any]) -> Any:
    """The gradient of a parameter array: a Tensor's, or a grid of Values' stacked."""
    if isinstance(array, list):
        flat = list(_flatten(array))
        return [grads.get(id(v), v.grad) for v in flat]
    return grads.get(id(array), getattr(array, "grad", None))


def _flatten(x: Any) -> Iterator[Any]:
    if isinstance(x, list):
        for item in x:
            yield from _flatten(item)
    else:
        yield x


# ----- 3. Per-use copies -------------------------------------------------------------------


def _split_long_arrows(scene: Scene) -> None:
    """Replace far-reaching and surplus arrows by copies of their source (see the module doc).

    Ranks are estimated as Graphviz assigns them: every box as late as its nearest use
    allows (the depth of a box is one more than that of its deepest use). The deepest use
    of each box is then one rank away and always keeps its arrow.
    """
    leaving: dict[str, list[Arrow]] = {name: [] for name in scene.boxes}
    for arrow in scene.arrows:
        leaving[arrow.tail].append(arrow)
    depth: dict[str, int] = {}
    for name in reversed(scene.boxes):
        depth[name] = max((depth.get(a.head, 0) + 1 for a in leaving[name]), default=0)
    kept: list[Arrow] = []
    for name, arrows in leaving.items():
        box = scene.boxes[name]
        arrows.sort(key=lambda a: depth[name] - depth.get(a.head, 0))
        for rank, arrow in enumerate(arrows):
            span = depth[name] - depth.get(arrow.head, 0)
            if box.kind in ("op", "more") or (span <= MAX_SPAN and rank < MAX_FANOUT):
                kept.append(arrow)
                continue
            copy = Box(f"{name}_{rank}", box.kind, box.lines[:1] if box.kind == "module"
                       else box.lines, scene.boxes[arrow.head].scope, box.finite, box.node,
                       box.magnitude, copy_of=name, info=box.info)
            scene.boxes[copy.name] = copy
            scene.copies += 1
            arrow.tail = copy.name
            kept.append(arrow)
    scene.arrows = kept


def build_scene(root: Any, options: Options) -> Scene:
    """Everything ``root`` was computed from, as boxes and arrows to draw."""
    if options.max_nodes is not None and options.max_nodes < 1:
        raise ValueError(f"max_nodes must be at least 1 (or None for no limit), "
                         f"got {options.max_nodes}")
    return _Builder(root, options).build()

