"""Diagnostics: dead ReLUs, saturated sigmoids, gradient norms."""

import numpy as np
import pytest

from tinygrad_nn import Tensor, nn
from tinygrad_nn.nn.diagnostics import inspect

X = np.random.default_rng(0).normal(size=(64, 4))


def test_a_relu_layer_with_a_large_negative_bias_is_dead():
    model = nn.MLP(4, [8, 2], activation="relu", seed=0)
    model.layers[0].bias.data[:4] = -100.0  # half the units can never fire
    report = inspect(model, X)
    assert report.layers[0].dead == 0.5
    assert report.layers[0].activation == "relu"
    assert report.layers[1].activation == "identity" and report.layers[1].dead == 0.0


def test_large_weights_saturate_sigmoid_units():
    healthy = inspect(nn.MLP(4, [8, 2], activation="sigmoid", seed=0), X).layers[0]
    model = nn.MLP(4, [8, 2], activation="sigmoid", seed=0)
    model.layers[0].weight.data *= 100.0
    saturated = inspect(model, X).layers[0]
    assert healthy.saturated < 0.05
    assert saturated.saturated > 0.9
    assert saturated.dead == 0.0  # flat, but not exactly zero


def test_gradient_norms_appear_after_backward():
    model = nn.MLP(4, [8, 2], seed=0)
    assert inspect(model, X).layers[0].weight_grad_norm is None
    model(Tensor(X)).sum().backward()
    report = inspect(model, X)
    expected = np.linalg.norm(model.layers[0].weight.grad)
    assert report.layers[0].weight_grad_norm == pytest.approx(expected)
    assert "layer" in str(report) and "dead" in str(report)


def test_scalar_engine_models_are_inspected_too():
    tensor_model = nn.MLP(4, [8, 2], activation="relu", seed=0, dtype=np.float64)
    tensor_model.layers[0].bias.data[:2] = -100.0
    scalar_model = nn.MLP(4, [8, 2], activation="relu", engine="scalar")
    scalar_model.load_state_dict(tensor_model.state_dict())
    a, b = inspect(tensor_model, X[:8]), inspect(scalar_model, X[:8])
    assert [r.dead for r in a.layers] == [r.dead for r in b.layers]
    assert [r.saturated for r in a.layers] == [r.saturated for r in b.layers]


def test_dead_units_are_named():
    model = nn.MLP(4, [8, 2], activation="relu", seed=0)
    model.layers[0].bias.data[[1, 6]] = -100.0
    assert inspect(model, X).layers[0].dead_units == (1, 6)


def test_activation_params_are_used():
    model = nn.MLP(4, [8, 2], activation="leaky_relu", activation_params={"alpha": 0.0}, seed=0)
    model.layers[0].bias.data[:2] = -100.0  # alpha = 0 makes leaky_relu a relu: units die
    assert inspect(model, X).layers[0].dead_units == (0, 1)


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_prelu_and_maxout_layers_are_reported(engine):
    model = nn.Sequential(
        nn.Dense(4, 6, activation=None, engine=engine, seed=0),
        nn.PReLU(6, init=0.25, engine=engine),
        nn.Maxout(6, 3, pieces=2, engine=engine, seed=1),
    )
    state = model.state_dict()  # the same keys on both engines
    state["layers.0.bias"][2] = -100.0  # unit 2 never sees a positive input...
    state["layers.1.slope"][2] = 0.0  # ...and its slope has reached 0: dead
    model.load_state_dict(state)
    rows = inspect(model, X[:16]).layers
    assert [r.activation for r in rows] == ["identity", "prelu", "maxout"]
    assert rows[1].dead_units == (2,)
    assert rows[2].dead == 0.0 and rows[2].units == 3


def test_pytorch_style_models_report_each_activation_with_the_layer_feeding_it():
    mlp = nn.MLP(4, [8, 2], activation="relu", seed=0)
    mlp.layers[0].bias.data[[1, 6]] = -100.0
    torch_style = nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.Activation("relu")),
                                nn.Linear(8, 2))
    torch_style.load_state_dict({
        "layers.0.layers.0.weight": mlp.layers[0].weight.data,
        "layers.0.layers.0.bias": mlp.layers[0].bias.data,
        "layers.1.weight": mlp.layers[1].weight.data, "layers.1.bias": mlp.layers[1].bias.data})
    for model in (mlp, torch_style):
        model(Tensor(X.astype(np.float32))).sum().backward()
    ours, theirs = inspect(mlp, X).layers, inspect(torch_style, X).layers
    assert [r.name for r in theirs] == ["0.1", "1"]  # the Linear feeding relu has no row
    assert [r.activation for r in theirs] == ["relu", "identity"]
    for a, b in zip(ours, theirs):
        assert (a.units, a.dead_units, a.saturated) == (b.units, b.dead_units, b.saturated)
        assert a.weight_grad_norm == pytest.approx(b.weight_grad_norm)
        assert a.bias_grad_norm == pytest.approx(b.bias_grad_norm)
