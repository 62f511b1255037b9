"""draw_graph at scale and with a model: bounded rendering, module boxes, gradient colours.

Pictures are rendered with Graphviz and read back from the SVG, as a reader would see them.
"""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from test_viz import SVG, caption, svg_nodes

from tinygrad_nn import Tensor, Value, nn
from tinygrad_nn.nn import diagnostics
from tinygrad_nn.nn import functional as F
from tinygrad_nn.viz import RenderTimeoutError, draw_graph
from tinygrad_nn.viz._gradflow import ZERO, ColourScale, grad_rms

TIMES = "\N{MULTIPLICATION SIGN}"


def clusters(svg: bytes) -> dict[str, set[str]]:
    """Each module box's title -> the names of the nodes drawn inside it (nested included)."""
    root = ET.fromstring(svg)
    boxes = {}
    node_boxes = [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]
    for g in root.iter(f"{SVG}g"):
        if g.get("class") != "cluster":
            continue
        title = " ".join(t.text or "" for t in g.findall(f"{SVG}text"))
        shape = g.find(f"{SVG}path")
        xs, ys = _extent(shape if shape is not None else g.find(f"{SVG}polygon"))
        inside = set()
        for node in node_boxes:
            nx, ny = _extent(next(el for el in node if el.tag != f"{SVG}title"))
            if xs[0] <= min(nx) and max(nx) <= xs[1] and ys[0] <= min(ny) and max(ny) <= ys[1]:
                inside.add(node.find(f"{SVG}title").text)
        boxes[title] = inside
    return boxes


def _extent(shape: ET.Element) -> tuple[tuple[float, float], tuple[float, float]]:
    if shape.tag == f"{SVG}ellipse":
        cx, cy, rx, ry = (float(shape.get(k)) for k in ("cx", "cy", "rx", "ry"))
        return (cx - rx, cx + rx), (cy - ry, cy + ry)
    text = shape.get("points") or shape.get("d")
    numbers = [float(v) for v in text.replace("M", " ").replace("C", " ").replace(",", " ")
               .split()]
    xs, ys = numbers[0::2], numbers[1::2]
    return (min(xs), max(xs)), (min(ys), max(ys))


def fills(nodes: dict[str, dict], name: str) -> str:
    return nodes[name]["fills"][0]


# ----- Bounded rendering -----------------------------------------------------------------


def shared_leaf(steps: int = 5_000) -> tuple[Value, Value]:
    x, y = Value(0.5, label="x"), Value(0.1, label="y0")
    for i in range(steps):
        y = y + x * 0.001 if i % 2 == 0 else y.tanh()
    y.backward()
    return x, y


def test_a_leaf_shared_by_a_long_loop_is_drawn_once_per_use_and_renders_fast():
    _, y = shared_leaf()
    graph = draw_graph(y)
    start = time.perf_counter()
    svg = graph.pipe(format="svg")
    assert time.perf_counter() - start < 10
    nodes = svg_nodes(svg)
    xs = [name for name, node in nodes.items() if node["text"][0] == "x"]
    assert len(xs) > 10  # x, then a dashed copy beside each later use
    originals = [name for name in xs if "_" not in name]
    assert len(originals) == 1
    # Every arrow is short: no arrow from x crosses the picture.
    assert graph.source.count(f"{originals[0]} ->") <= 16
    assert "dashed box: one more use of a value drawn in full elsewhere" in caption(svg)


def test_a_leaf_feeding_thousands_of_ops_keeps_few_arrows():
    x = Value(0.3, label="x")
    total = Value.sum([x * (0.001 * i) for i in range(2_000)])
    graph = draw_graph(total)
    assert graph.source.count("\tv1 ->") <= 16
    assert len(svg_nodes(graph.pipe(format="svg"))) < 700


def test_a_render_that_runs_away_is_stopped_with_advice():
    _, y = shared_leaf(3_000)
    graph = draw_graph(y, max_nodes=None, collapse=False)
    graph.timeout = 0.05
    with pytest.raises(RenderTimeoutError, match="max_nodes") as error:
        graph.pipe(format="svg")
    assert "graph.timeout" in str(error.value)


def test_a_big_model_graph_is_collapsed_to_its_layers():
    model = nn.MLP(2, [16, 16, 1], engine="scalar", seed=0)
    X = np.random.default_rng(0).normal(size=(20, 2))
    scores = [model(row.tolist()) for row in X]
    loss = F.hinge(scores, np.where(X[:, 0] > 0, 1.0, -1.0))
    graph = draw_graph(loss)  # 1,000+ values: over max_nodes, so modules are collapsed
    svg = graph.pipe(format="svg")
    boxes = sorted(node["text"] for name, node in svg_nodes(svg).items()
                   if name.startswith("mod") and "_" not in name)
    assert [lines[0] for lines in boxes] == ["layers.0: Dense(2 → 16, relu)",
                                             "layers.1: Dense(16 → 16, relu)",
                                             "layers.2: Dense(16 → 1, linear)"]
    assert boxes[0][1] == f"640 ops: dot {TIMES}320, relu {TIMES}320"  # 16 units, 20 samples
    assert boxes[0][2].startswith("weight (16, 2) · grad rms ")
    assert f"{TIMES}320" in graph.source  # 16 values per sample cross from layer to layer
    assert any("collapse=False draws every op" in line for line in caption(svg))


# ----- Grouped by module -------------------------------------------------------------------


def test_ops_are_drawn_inside_a_box_per_module():
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    x = Tensor(np.ones((4, 2), np.float32), name="inputs")
    out = model(x).sum()
    svg = draw_graph(out).pipe(format="svg")
    nodes = svg_nodes(svg)
    boxes = clusters(svg)
    assert set(boxes) == {"MLP", "layers.0: Dense(2 → 3, tanh)", "layers.1: Dense(3 → 1, linear)"}
    by_text = {node["text"][0]: name for name, node in nodes.items()}
    first = boxes["layers.0: Dense(2 → 3, tanh)"]
    assert by_text["layers.0.weight"] in first and by_text["tanh"] in first
    assert by_text["layers.1.weight"] not in first
    assert by_text["inputs"] not in boxes["MLP"]  # data comes from outside the model
    assert by_text["sum"] not in boxes["MLP"]  # and so does what the caller computed
    assert boxes["layers.1: Dense(3 → 1, linear)"] <= boxes["MLP"]


def test_group_false_draws_no_module_boxes():
    model = nn.MLP(2, [3, 1], seed=0)
    svg = draw_graph(model(Tensor(np.ones((4, 2)))).sum(), group=False).pipe(format="svg")
    assert clusters(svg) == {}


def test_collapse_draws_one_box_per_layer_with_shapes_on_the_arrows():
    model = nn.MLP(2, [8, 8, 1], seed=0)
    x = Tensor(np.ones((5, 2), np.float32), name="inputs")
    graph = draw_graph(model(x).sum(), collapse=True)
    nodes = svg_nodes(graph.pipe(format="svg"))
    layers = [node["text"] for name, node in nodes.items() if name.startswith("mod")]
    assert sorted(layers) == [
        ["layers.0: Dense(2 → 8, relu)", "2 ops: linear, relu", "weight (8, 2)", "bias (8,)"],
        ["layers.1: Dense(8 → 8, relu)", "2 ops: linear, relu", "weight (8, 8)", "bias (8,)"],
        ["layers.2: Dense(8 → 1, linear)", "1 op: linear", "weight (1, 8)", "bias (1,)"],
    ]  # no backward yet: no gradients to show
    assert 'label="(5, 8)"' in graph.source  # what leaves a layer, by shape


# ----- Labels ------------------------------------------------------------------------------


def test_names_and_constants_label_the_picture():
    x = Tensor([1.0, 2.0], requires_grad=True, name="inputs")
    y = (2.0 - x * 3.0).sum(axis=0)
    nodes = svg_nodes(draw_graph(y).pipe(format="svg"))
    firsts = sorted(node["text"][0] for node in nodes.values())
    assert "inputs" in firsts
    assert "mul (·, 3)" in firsts and "sub (2, ·)" in firsts
    assert "sum axis=0" in firsts  # a parameter that differs from the op's default
    v = Value(1.5, label="v")
    assert [n["text"][0] for n in svg_nodes(draw_graph(v.exp()).pipe()).values()][:1] == ["v"]


def test_a_tensor_graph_drawn_after_backward_keeps_shapes_grads_and_names():
    model = nn.MLP(2, [3, 1], seed=0)
    x = Tensor(np.ones((4, 2), np.float32), name="batch")
    loss = (model(x) ** 2).mean()
    loss.backward()  # plain: the graph's arrays are freed
    nodes = svg_nodes(draw_graph(loss).pipe(format="svg"))
    lines = [node["text"] for node in nodes.values()]
    assert ["batch", "(4, 2) float32"] in lines  # freed, but its name and shape are kept
    assert ["(4, 3) float32"] in lines
    weight = next(text for text in lines if text[0] == "layers.0.weight")
    assert weight[-1] == f"grad norm {np.linalg.norm(model.layers[0].weight.grad):.4g}"


# ----- Gradient flow -----------------------------------------------------------------------


def test_gradient_colours_darken_through_saturated_sigmoid_layers():
    model = nn.MLP(4, [8, 8, 8, 1], activation="sigmoid", seed=0)
    x = Tensor(np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32))
    loss = (model(x) ** 2).mean()
    loss.backward(retain_graph=True)
    svg = draw_graph(loss, grad_flow=True).pipe(format="svg")
    nodes = svg_nodes(svg)
    scale = ColourScale(grad_rms(p.grad) for p in model.parameters())
    by_text = {node["text"][0]: name for name, node in nodes.items()}
    rms = [grad_rms(model.layers[i].weight.grad) for i in range(4)]
    assert rms[0] < rms[3]  # the gradient vanishes on its way down
    colours = [fills(nodes, by_text[f"layers.{i}.weight"]) for i in range(4)]
    assert len(set(colours)) == 4  # each layer its own colour
    brightness = [sum(int(c[i:i + 2], 16) for i in (1, 3, 5)) for c in colours]
    assert brightness[0] < brightness[3]  # dark is small, bright is large
    assert scale.colour(rms[3]) is not None
    assert "gradient RMS" in ET.tostring(ET.fromstring(svg), encoding="unicode")  # the bar
    assert diagnostics.inspect(model, x.data).layers[0].grad_rms == pytest.approx(
        math.sqrt((rms[0] ** 2 * 32 + grad_rms(model.layers[0].bias.grad) ** 2 * 8) / 40))


def test_what_a_dead_relu_blocks_is_dashed_grey():
    w = Value(2.0, label="w")
    dead = (w * -1.0).relu()  # negative input: nothing flows back to w
    alive = (w * 3.0).relu()
    out = dead + alive
    out.backward()
    graph = draw_graph(out, grad_flow=True, params={"w": w})
    assert f'color="{ZERO}" style=dashed' in graph.source
    nodes = svg_nodes(graph.pipe(format="svg"))
    assert fills(nodes, "v0") != ZERO  # w still gets the gradient of the live path
