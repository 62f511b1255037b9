"""save_html: one self-contained page, with the numbers behind every box (no browser here;
tests/test_browser.py drives a real one)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import tinygrad_nn
from tinygrad_nn import Tensor, Value, nn
from tinygrad_nn.viz import save_html


def page_data(text: str) -> dict:
    payload = re.search(r'<script type="application/json" id="graph-data">(.*?)</script>',
                        text, re.S)
    assert payload is not None
    return json.loads(payload.group(1))


@pytest.fixture
def neuron() -> tuple[list[Value], Value]:
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2, b = Value(-3.0, label="w1"), Value(1.0, label="w2"), Value(6.88, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    o.backward()
    return [x1, x2, w1, w2, b], o


def test_the_page_holds_everything_and_asks_for_nothing(tmp_path, neuron):
    path = save_html(neuron[1], tmp_path / "graph.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in text  # the browser refuses any request
    assert not re.search(r'\b(src|href)="(?!#|data:)', text)  # nothing to fetch
    assert not re.search(r"https?://(?!www\.w3\.org/)", text)  # only XML namespace names
    assert "<svg" in text and "<?xml" not in text
    assert tinygrad_nn.save_html is save_html


def test_every_box_has_its_numbers(tmp_path, neuron):
    leaves, o = neuron
    data = page_data(save_html(o, tmp_path / "graph.html").read_text(encoding="utf-8"))
    boxes = set(re.findall(r"<title>(\w+)</title>",
                           (tmp_path / "graph.html").read_text(encoding="utf-8")))
    assert boxes - {"graph"} <= set(data["nodes"])  # "graph" titles the picture itself
    by_title = {info.get("title"): info for info in data["nodes"].values()}
    assert by_title["w1"]["data"] == "-3.0"
    assert float(by_title["w1"]["grad"]) == leaves[2].grad  # full precision
    assert by_title["o"]["kind"] == "output"


def test_the_stepper_replays_backward_node_by_node(tmp_path, neuron):
    leaves, o = neuron
    steps = page_data(save_html(o, tmp_path / "g.html").read_text(encoding="utf-8"))["steps"]
    assert [s["opName"] for s in steps] == ["tanh", "add", "add", "mul", "mul"]
    first = steps[0]
    assert first["upstream"] == 1.0 and first["title"] == "o"
    assert first["inputs"][0]["local"] == pytest.approx(1 - o.data**2)
    for step in steps:
        for received in step["inputs"]:
            assert received["contribution"] == pytest.approx(step["upstream"] * received["local"])
    final = {r["label"]: r["total"] for s in steps for r in s["inputs"]}
    for leaf in leaves:
        assert final[leaf.label] == pytest.approx(leaf.grad)


def test_tensor_graphs_and_models_get_pages_without_a_stepper(tmp_path):
    model = nn.MLP(2, [3, 1], seed=0)
    loss = model(Tensor(np.ones((4, 2), np.float32))).sum()
    loss.backward()
    data = page_data(save_html(loss, tmp_path / "t.html").read_text(encoding="utf-8"))
    assert data["steps"] == []
    weight = next(info for info in data["nodes"].values()
                  if info.get("title") == "layers.0.weight")
    assert weight["module"] == "layers.0: Dense(2 → 3, relu)"
    assert weight["grad"].startswith("[[") and weight["shape"] == "(3, 2) float32"
    data = page_data(save_html(model, tmp_path / "m.html").read_text(encoding="utf-8"))
    assert data["nodes"]["layer1"]["title"] == "layers.0: Dense"
    with pytest.raises(TypeError, match="save_html expects"):
        save_html([loss], tmp_path / "x.html")
