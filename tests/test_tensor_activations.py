"""Every registered activation on the Tensor engine, generated from `activations.names()`.

Each activation is drawn on random shapes inside its declared `domain`, away from its
`kinks`, with parameters from its `params` ranges, and checked for: the same values and
gradients as the Value engine, float64 finite differences (first and second order), dtype
preservation, and stability (with the softmax family) for inputs up to 1e4 in magnitude.
The `toy_activation` fixture shows a newly registered activation joining the same checks.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st

from tinygrad_nn import Tensor, activations, grad
from tinygrad_nn.testing import GradcheckError, check_op, tensor_gradcheck
from tinygrad_nn.testing.strategies import arrays, finite_floats, shapes

NAMES = activations.names()


@st.composite
def cases(draw: st.DrawFn, name: str) -> tuple[np.ndarray, dict[str, float]]:
    """An input array inside the activation's domain (away from kinks) and its params."""
    activation = activations.get(name)
    low, high = activation.domain
    x = draw(arrays(shapes(), low=low, high=high, avoid=activation.kinks))
    params = {p: draw(finite_floats(lo, hi)) for p, (lo, hi) in activation.params.items()}
    return x, params


def apply(name: str, params: dict[str, float]) -> Any:
    return lambda t: getattr(t, name)(**params)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_keeps_the_input_dtype(name, dtype):
    t = Tensor(np.linspace(-3, 3, 7), dtype=dtype, requires_grad=True)
    out = getattr(t, name)()
    out.sum().backward()
    assert out.dtype == dtype and t.grad.dtype == dtype
    assert out._op == name


@pytest.mark.parametrize("name", NAMES)
def test_rejects_integer_tensors(name):
    with pytest.raises(TypeError, match="floating-point"):
        getattr(Tensor(np.arange(3)), name)()


# ----- Stability: finite, and no NumPy warning (pytest turns warnings into errors) -------

LARGE = [-1e4, -1e3, -88.0, -50.0, -1.0, 0.0, 1.0, 50.0, 89.0, 1e3, 1e4]
SOFTMAX_FAMILY = {
    "softmax": lambda t: t.softmax(),
    "log_softmax": lambda t: t.log_softmax(),
    "logsumexp": lambda t: t.logsumexp(),
}
STABLE = {**{name: apply(name, {}) for name in NAMES}, **SOFTMAX_FAMILY}


@pytest.mark.parametrize("op", sorted(STABLE))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_finite_without_warnings_up_to_1e4(op, dtype):
    x = Tensor(np.array(LARGE), dtype=dtype, requires_grad=True)
    out = STABLE[op](x)
    weights = np.linspace(-1.0, 1.0, out.size).reshape(out.shape)
    (g,) = grad((out * weights).sum(), x, create_graph=True)
    (h,) = grad((g * g).sum(), x, allow_unused=True) if g.requires_grad else (g * 0,)
    for array in (out.data, g.data, h.data):
        assert np.isfinite(array).all(), f"{op}: {array}"


def test_softmax_family_matches_direct_formulas_where_those_are_safe():
    x = np.array([[1.0, 2.0, 3.0], [-1.0, 0.0, 1e4]])
    t = Tensor(x)
    shifted = x - x.max(axis=1, keepdims=True)
    expected = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(t.softmax().data, expected)
    log_probabilities = t.log_softmax().data
    np.testing.assert_allclose(log_probabilities[0], np.log(expected[0]))
    np.testing.assert_allclose(log_probabilities[1], [-1e4 - 1.0, -1e4, 0.0])
    np.testing.assert_allclose(t.logsumexp().data, [np.log(np.exp(x[0]).sum()), 1e4])


# ----- A newly registered activation joins every engine and every check --------------------


@pytest.fixture
def toy_activation():
    name = "toy_cubic"
    activations.register(
        name,
        forward=lambda x, ops, alpha=1.0: alpha * x * x * x,
        deriv=lambda x, out, ops, alpha=1.0: 3.0 * alpha * x * x,
        domain=(-3.0, 3.0),
        params={"alpha": (0.5, 2.0)},
        doc="toy_cubic(x) = alpha x^3",
    )
    yield name
    activations.unregister(name)
    assert not hasattr(Tensor, name)


def test_registered_activation_works_on_tensors(toy_activation):
    assert toy_activation in activations.names()
    t = Tensor([1.0, -2.0], dtype=np.float64, requires_grad=True)
    out = getattr(t, toy_activation)(alpha=2.0)
    np.testing.assert_array_equal(out.data, [2.0, -16.0])
    assert out._op == toy_activation
    assert getattr(Tensor, toy_activation).__doc__ == "toy_cubic(x) = alpha x^3"
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [6.0, 24.0])
    # The generated checks pick it up like a built-in.
    check_op(toy_activation, max_examples=20)
    (g,) = grad(getattr(t, toy_activation)().sum(), t, create_graph=True)
    (h,) = grad(g.sum(), t)
    np.testing.assert_array_equal(h.data, [6.0, -12.0])  # d2/dx2 x^3 = 6x


def test_a_wrong_deriv_is_caught_on_tensors():
    activations.register(
        "bad_square",
        forward=lambda x, ops: x * x,
        deriv=lambda x, out, ops: x,  # should be 2x
        doc="x^2 with a wrong derivative",
    )
    try:
        with pytest.raises(GradcheckError):
            tensor_gradcheck(lambda t: t.bad_square(), np.array([1.0, -2.0]))
    finally:
        activations.unregister("bad_square")
