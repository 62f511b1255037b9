"""The breadth issue's activations against PyTorch (float64): values and gradients on a grid
that includes every kink (where PyTorch's subgradient choices must be matched), second
derivatives away from them, parameters, both engines, and stability at +-1e4.

The generated tests (tests/test_ops.py, tests/test_activations.py) already check every
activation against finite differences inside its domain.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_nn import Tensor, Value, activations, grad

NEW = ["relu6", "hardtanh", "hardsigmoid", "hardswish", "selu", "celu", "softsign",
       "logsigmoid", "mish", "gelu", "gelu_tanh", "softplus"]
KINKS = [-6.0, -3.0, -1.0, 0.0, 1.0, 3.0, 6.0]
GRID = np.concatenate([np.linspace(-8.0, 8.0, 65), KINKS, [-0.0, 1e-9, -1e-9, 25.0, -25.0]])


@pytest.fixture(scope="module")
def F():
    return pytest.importorskip("torch").nn.functional


# Where PyTorch itself rounds differently (each checked to be PyTorch's error, not ours):
TOLERANCES = {
    # 0.5 x (1 + erf(x / sqrt 2)) cancels for x << 0 (1.8% off at x = -8); we use erfc.
    "gelu": {"atol": 1e-14},
    # PyTorch's formula, but 1 + tanh(...) cancels too, magnifying libm's and NumPy's tanh
    # rounding differently.
    "gelu_tanh": {"atol": 1e-14},
    # hardsigmoid's backward multiplies by 1/6 rounded to float32, even in float64.
    "hardsigmoid": {"rtol": 1e-7},
    # PyTorch returns x itself once beta * x > 20 (slope 1); log1p(exp(-x)) is 2e-9 there.
    "softplus": {"atol": 1e-8},
    # celu's backward rounds 1 / alpha to float32 (a 1e-7 error unless alpha == 1).
    "celu": {"rtol": 1e-6},
}
PIECEWISE_LINEAR = ("relu6", "hardtanh", "hardsigmoid")  # second derivative 0 everywhere


def torch_function(F, name, **params):
    if name == "gelu_tanh":
        return lambda t: F.gelu(t, approximate="tanh")
    return lambda t: getattr(F, name)(t, **params)


def check_against_torch(F, name, x, **params):
    import torch

    t = torch.tensor(x, requires_grad=True)
    expected = torch_function(F, name, **params)(t)
    expected.backward(torch.ones_like(expected))
    ours = Tensor(x, requires_grad=True)
    out = getattr(ours, name)(**params)
    (g,) = grad(out, ours, grad_output=np.ones(x.shape))
    tolerance = {"rtol": 1e-12, "atol": 1e-15, **TOLERANCES.get(name, {})}
    np.testing.assert_allclose(out.data, expected.detach().numpy(), **tolerance)
    np.testing.assert_allclose(g.data, t.grad.numpy(), **tolerance)
    return out.data, g.data


@pytest.mark.parametrize("name", NEW)
def test_values_and_gradients_match_torch_at_and_between_kinks(F, name):
    out, slope = check_against_torch(F, name, GRID)
    # The scalar engine computes the same, kinks included.
    for x, y, dy in zip(GRID[::3], out[::3], slope[::3]):
        v = Value(float(x))
        result = getattr(v, name)()
        result.backward()
        assert result.data == pytest.approx(y, rel=1e-12, abs=1e-15)
        assert v.grad == pytest.approx(dy, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("hardtanh", {"min_val": -2.5, "max_val": 0.5}),
        ("celu", {"alpha": 0.3}),
        ("celu", {"alpha": 2.5}),
        ("softplus", {"beta": 0.5}),
        ("softplus", {"beta": 3.0}),
    ],
)
def test_parameters_match_torch(F, name, params):
    x = np.concatenate([GRID, list(params.values())])  # the bounds themselves too
    check_against_torch(F, name, x, **params)


@pytest.mark.parametrize("name", NEW)
def test_second_derivatives_match_torch_away_from_kinks(F, name):
    import torch

    x = np.array([v for v in np.linspace(-7.0, 7.0, 57) if min(abs(v - k) for k in KINKS) > 0.1])
    expected = np.zeros_like(x)  # PyTorch has no double backward for hardsigmoid
    if name not in PIECEWISE_LINEAR:
        t = torch.tensor(x, requires_grad=True)
        (first,) = torch.autograd.grad(torch_function(F, name)(t).sum(), t, create_graph=True)
        expected = torch.autograd.grad(first.sum(), t)[0].numpy()
    ours = Tensor(x, requires_grad=True)
    (g,) = grad(getattr(ours, name)().sum(), ours, create_graph=True)
    second = grad(g.sum(), ours)[0].data if g.requires_grad else np.zeros_like(x)
    np.testing.assert_allclose(second, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["logsigmoid", "softplus", "mish", "selu", "celu", "gelu",
                                  "gelu_tanh", "softsign", "hardswish"])
def test_stable_at_large_magnitudes_without_warnings(F, name):
    # NumPy warnings are errors in this suite: overflow in exp would fail here.
    x = np.array([-1e4, -1e3, -50.0, 50.0, 1e3, 1e4])
    out, slope = check_against_torch(F, name, x)
    assert np.isfinite(out).all() and np.isfinite(slope).all()


def test_logsigmoid_and_softplus_keep_their_tails():
    x = Tensor(np.array([-1e4, -40.0, 40.0, 1e4]))
    np.testing.assert_array_equal(x.logsigmoid().data[[0, 3]], [-1e4, 0.0])
    assert x.logsigmoid().data[1] == pytest.approx(-40.0 - math.exp(-40.0), rel=1e-15)
    assert x.softplus().data[2] == pytest.approx(40.0 + math.exp(-40.0), rel=1e-15)
    assert x.softplus(beta=2.0).data[3] == 1e4


def test_gelu_keeps_its_digits_in_the_negative_tail():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    x = np.array([-8.0, -6.5, -5.25, -3.0, -0.5, 0.5, 3.0])
    exact = np.array([float(mpmath.mpf(v) * mpmath.ncdf(v)) for v in x])
    np.testing.assert_allclose(Tensor(x).gelu().data, exact, rtol=1e-14)


def test_gelu_is_exact_and_the_tanh_form_is_its_own_activation():
    x = 1.3
    exact = 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))
    assert Value(x).gelu().data == pytest.approx(exact, rel=1e-15)
    assert Value(x).gelu_tanh().data != pytest.approx(exact, rel=1e-6)
    # Far in the negative tail erfc keeps every digit, where 1 + erf(x) cancels to 0.
    far = Value(-20.0).gelu().data
    assert far == pytest.approx(-10.0 * math.erfc(20.0 / math.sqrt(2.0)), rel=1e-13)
    assert far != 0.0


def test_new_activations_are_registered_in_order_with_docs():
    names = activations.names()
    assert names[names.index("softplus") + 1:names.index("softplus") + 11] == [
        "relu6", "hardtanh", "hardsigmoid", "hardswish", "selu", "celu", "softsign",
        "logsigmoid", "mish", "gelu_tanh"]
    for name in NEW:
        assert activations.get(name).doc.startswith(f"{name}(x) = ")
    assert activations.get("softplus").defaults == {"beta": 1.0}
    assert activations.get("hardtanh").defaults == {"min_val": -1.0, "max_val": 1.0}
