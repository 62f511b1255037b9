"""Higher-order gradients: `grad(create_graph=True)` returns differentiable Tensors.

Second and third derivatives against closed forms, Hessian-vector products against finite
differences of the gradient, a full Hessian, and a gradient penalty (WGAN-GP) whose
parameter gradients are checked by finite differences. Plus the `grad()` contract.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_nn import Tensor, grad, no_grad
from tinygrad_nn.testing import gradcheck, tensor_gradcheck
from tinygrad_nn.testing.strategies import arrays


def leaf(values) -> Tensor:
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


# ----- Derivatives of derivatives ---------------------------------------------------------

X = np.array([-1.5, -0.3, 0.4, 2.0])


@pytest.mark.parametrize(
    ("f", "second"),
    [
        (lambda t: t**3, lambda x: 6 * x),
        (lambda t: t.exp(), np.exp),
        (lambda t: t.tanh(), lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
        (lambda t: t.sigmoid(), lambda x: (s := 1 / (1 + np.exp(-x))) * (1 - s) * (1 - 2 * s)),
        (lambda t: (t * t + 1).log(), lambda x: 2 * (1 - x**2) / (1 + x**2) ** 2),
        (lambda t: (t * t + 1).sqrt(), lambda x: (1 + x**2) ** -1.5),
        (lambda t: 1 / (t * t + 1), lambda x: (6 * x**2 - 2) / (1 + x**2) ** 3),
        (lambda t: t.softplus(), lambda x: np.exp(-x) / (1 + np.exp(-x)) ** 2),
    ],
)
def test_second_derivative_matches_closed_form(f, second):
    x = leaf(X)
    (g,) = grad(f(x).sum(), x, create_graph=True)
    (h,) = grad(g.sum(), x)
    np.testing.assert_allclose(h.data, second(X), rtol=1e-10, atol=1e-12)


def test_third_derivative():
    x = leaf(X)
    (g,) = grad((x**4).sum(), x, create_graph=True)
    (h,) = grad(g.sum(), x, create_graph=True)
    (k,) = grad(h.sum(), x)
    np.testing.assert_allclose(g.data, 4 * X**3)
    np.testing.assert_allclose(h.data, 12 * X**2)
    np.testing.assert_allclose(k.data, 24 * X)


def test_second_derivative_at_zero_of_sigmoid_family():
    # The rules write -|x| as a where on x >= 0, so differentiating them is exact at 0.
    x = leaf([0.0])
    for name, expected in [("sigmoid", 0.0), ("softplus", 0.25), ("silu", 0.5)]:
        (g,) = grad(getattr(x, name)().sum(), x, create_graph=True)
        (h,) = grad(g.sum(), x)
        assert h.item() == pytest.approx(expected), name


# ----- Hessians ---------------------------------------------------------------------------


def loss_fn(A: np.ndarray, b: np.ndarray):
    """A smooth scalar function of a vector: logsumexp(A x + b) + 0.5 sum(softplus(x)^2)."""
    return lambda x: (x @ A.T + b).logsumexp() + 0.5 * (x.softplus() ** 2).sum()


def hvp(f, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    t = leaf(x)
    (g,) = grad(f(t), t, create_graph=True)
    (hv,) = grad((g * Tensor(v)).sum(), t)
    return hv.data


@settings(max_examples=25)
@given(st.integers(1, 5).flatmap(lambda n: st.tuples(
    arrays((n,)), arrays((n,)), arrays((3, n)), arrays((3,)))))
def test_hessian_vector_product_matches_finite_differences(drawn):
    x, v, A, b = drawn
    f = loss_fn(A, b)

    def gradient(point: np.ndarray) -> np.ndarray:
        t = leaf(point)
        return grad(f(t), t)[0].data

    eps = 1e-6
    numeric = (gradient(x + eps * v) - gradient(x - eps * v)) / (2 * eps)
    np.testing.assert_allclose(hvp(f, x, v), numeric, rtol=1e-5, atol=1e-6)


def test_full_hessian_of_a_quadratic_form():
    A = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0], [0.0, 1.0, 4.0]])
    x = leaf([0.3, -0.7, 1.1])
    (g,) = grad(x @ Tensor(A) @ x, x, create_graph=True)
    rows = [grad(g[i], x, retain_graph=True)[0].data for i in range(3)]
    np.testing.assert_allclose(np.stack(rows), A + A.T)


def test_hessian_of_cross_entropy_through_an_mlp_is_symmetric():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(5, 3)), np.array([0, 1, 2, 1, 0])
    w = leaf(rng.normal(size=(3, 3)).ravel())

    def loss(flat: Tensor) -> Tensor:
        logits = Tensor(X) @ flat.reshape(3, 3)
        return -logits.log_softmax(axis=1)[np.arange(5), y].mean()

    (g,) = grad(loss(w), w, create_graph=True)
    H = np.stack([grad(g[i], w, retain_graph=True)[0].data for i in range(9)])
    np.testing.assert_allclose(H, H.T, atol=1e-12)
    assert np.linalg.eigvalsh(H).min() > -1e-10  # convex in the weights


# ----- Gradient penalty (WGAN-GP) -----------------------------------------------------------


def critic_penalty(W1: Tensor, b1: Tensor, w2: Tensor, points: np.ndarray) -> Tensor:
    """mean((|d critic / d x| - 1)^2) for critic(x) = tanh(x W1 + b1) . w2."""
    x = Tensor(points, requires_grad=True)
    scores = (x @ W1 + b1).tanh() @ w2
    (dx,) = grad(scores.sum(), x, create_graph=True)
    norms = ((dx * dx).sum(axis=1) + 1e-12).sqrt()
    return ((norms - 1.0) ** 2).mean()


def test_gradient_penalty_parameter_gradients_match_finite_differences():
    rng = np.random.default_rng(1)
    W1, b1, w2 = rng.normal(size=(2, 4)), rng.normal(size=4), rng.normal(size=4)
    points = rng.normal(size=(6, 2))
    assert gradcheck(lambda a, b, c: critic_penalty(a, b, c, points), W1, b1, w2)


def test_gradient_penalty_trains_with_backward():
    rng = np.random.default_rng(2)
    params = [leaf(rng.normal(size=s)) for s in [(2, 4), (4,), (4,)]]
    points = rng.normal(size=(8, 2))
    first = critic_penalty(*params, points)
    for _ in range(30):
        penalty = critic_penalty(*params, points)
        penalty.backward()
        for p in params:
            p.data -= 0.05 * p.grad
            p.grad = None
    assert critic_penalty(*params, points).item() < 0.5 * first.item()


# ----- The grad() contract ------------------------------------------------------------------


def test_grad_returns_a_tuple_and_leaves_grad_alone():
    x, y = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gy = grad((x * y).sum(), [x, y])
    np.testing.assert_array_equal(gx.data, [3, 4])
    np.testing.assert_array_equal(gy.data, [1, 2])
    assert x.grad is None and y.grad is None
    assert isinstance(grad((x * 2).sum(), x), tuple)


def test_grad_with_grad_output_and_non_leaf_inputs():
    x = leaf([1.0, 2.0, 3.0])
    h = x * x
    out = h * 3
    gh, gx = grad(out, [h, x], grad_output=np.array([1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(gh.data, [3, 0, 6])
    np.testing.assert_array_equal(gx.data, [6, 0, 36])


def test_grad_of_an_unused_input():
    x, z = leaf([1.0]), leaf([5.0])
    with pytest.raises(RuntimeError, match="not used"):
        grad((x * 2).sum(), [x, z])
    _, gz = grad((x * 2).sum(), [x, z], allow_unused=True)
    np.testing.assert_array_equal(gz.data, [0.0])


def test_grad_errors_name_the_problem():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="grad_output"):
        grad(x * 2, x)
    with pytest.raises(ValueError, match=r"grad_output has shape \(3,\)"):
        grad(x * 2, x, grad_output=np.ones(3))
    with pytest.raises(RuntimeError, match="does not require grad"):
        grad((x * 2).sum(), Tensor([1.0]))
    with pytest.raises(TypeError, match="Tensor"):
        grad((x * 2).sum(), [np.ones(2)])


def test_create_graph_keeps_the_graph_and_plain_grad_releases_it():
    x = leaf([1.0, 2.0])
    y = (x**3).sum()
    grad(y, x, create_graph=True)
    grad(y, x)  # the graph survived create_graph; this call releases it
    with pytest.raises(RuntimeError, match="released"):
        grad(y, x)


def test_gradients_of_linear_functions_are_constants():
    x = leaf([1.0, 2.0])
    (g,) = grad((x * 3).sum(), x, create_graph=True)
    assert not g.requires_grad  # nothing left to differentiate: d2/dx2 = 0
    np.testing.assert_array_equal(g.data, [3, 3])


def test_second_order_terms_reach_leaf_grad_through_backward():
    # loss = f(x) + |f'(x)|^2 with f = sum(x^3): dloss/dx = 3x^2 + 2 * 3x^2 * 6x.
    x = leaf([0.5, -1.0])
    (g,) = grad((x**3).sum(), x, create_graph=True)
    ((x**3).sum() + (g * g).sum()).backward()
    np.testing.assert_allclose(x.grad, 3 * X2**2 + 36 * X2**3)


X2 = np.array([0.5, -1.0])


def test_create_graph_inside_no_grad_still_records():
    x = leaf([2.0])
    y = (x**3).sum()
    with no_grad():
        (g,) = grad(y, x, create_graph=True)
    assert g.requires_grad
    assert grad(g.sum(), x)[0].item() == pytest.approx(12.0)


def test_float32_second_order_stays_float32():
    x = Tensor([0.5, 1.5], requires_grad=True)
    (g,) = grad((x.tanh() * x).sum(), x, create_graph=True)
    (h,) = grad(g.sum(), x)
    assert g.dtype == np.float32 and h.dtype == np.float32


def test_tensor_gradcheck_order_two_via_gradcheck():
    assert gradcheck(lambda a, b: (a * b).tanh() @ b, np.array([[0.2, -0.4]]),
                     np.array([0.3, 0.9]), order=2)
    assert tensor_gradcheck(lambda a: a.softmax() * a, np.array([0.1, 0.2, -0.5]))


def test_grad_output_with_a_graph_is_differentiable():
    # The vector-Jacobian product J^T v is linear in v: its gradient in v gives J back.
    x, v = leaf([0.5, -1.0]), leaf([1.0, 2.0])
    y = x.tanh() * 3
    (vjp,) = grad(y, x, grad_output=v, create_graph=True)
    (dv,) = grad(vjp.sum(), v)
    np.testing.assert_allclose(dv.data, 3 * (1 - np.tanh(x.data) ** 2))
