"""Values and gradients equal PyTorch's, including its subgradient conventions at ties and
kinks, and second order. Skipped when PyTorch is not installed (pip install torch==2.13.0).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import tinygrad_nn as tg  # noqa: E402 - after the skip
from tinygrad_nn import Tensor, grad  # noqa: E402

RNG = np.random.default_rng(0)


def both(fn_ours: Callable[..., Any], fn_torch: Callable[..., Any], *arrays: np.ndarray,
         atol: float = 1e-12) -> None:
    """Same output and same input gradients (for a random upstream gradient)."""
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn_ours(*ours), fn_torch(*theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=atol, rtol=1e-10)
    upstream = RNG.normal(size=out.shape)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=atol, rtol=1e-10)


def normal(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape)


ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "elu": F.elu,
    "gelu": lambda t: F.gelu(t, approximate="tanh"),
    "silu": F.silu,
    "softplus": F.softplus,
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name):
    x = np.concatenate([normal(20) * 3, [0.0, -0.0, 30.0, -30.0]])
    both(lambda t: getattr(t, name)(), ACTIVATIONS[name], x)


@pytest.mark.parametrize(
    ("ours", "theirs", "shapes"),
    [
        (lambda a, b: a + b, lambda a, b: a + b, [(3, 1), (4,)]),
        (lambda a, b: a - b, lambda a, b: a - b, [(2, 1, 3), (4, 1)]),
        (lambda a, b: a * b, lambda a, b: a * b, [(3, 4), (1, 4)]),
        (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1), [(3,), (2, 3)]),
        (lambda a, b: (a * a + 1) ** b, lambda a, b: (a * a + 1) ** b, [(3,), (3,)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4, 2)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4, 2)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4,)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4,)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
        (lambda a, b: tg.maximum(a, b), torch.maximum, [(3, 4), (4,)]),
        (lambda a, b: tg.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b),
         [(3, 4), (1, 4)]),
        (lambda a, b: tg.concatenate([a, b], axis=1), lambda a, b: torch.cat([a, b], 1),
         [(2, 3), (2, 1)]),
        (lambda a, b: tg.stack([a, b], axis=-1), lambda a, b: torch.stack([a, b], -1),
         [(2, 3), (2, 3)]),
    ],
)
def test_binary_ops_with_broadcasting(ours, theirs, shapes):
    both(ours, theirs, *(normal(*s) for s in shapes))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda t: t.exp(), torch.exp),
        (lambda t: (t * t + 0.5).log(), lambda t: (t * t + 0.5).log()),
        (lambda t: (t * t + 0.5).sqrt(), lambda t: (t * t + 0.5).sqrt()),
        (lambda t: t.abs(), torch.abs),
        (lambda t: t.clip(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5)),
        (lambda t: t.sum(axis=(0, 2), keepdims=True), lambda t: t.sum((0, 2), keepdim=True)),
        (lambda t: t.mean(axis=1), lambda t: t.mean(1)),
        (lambda t: t.max(axis=-1), lambda t: t.amax(-1)),
        (lambda t: t.min(), torch.amin),
        (lambda t: t.softmax(axis=1), lambda t: t.softmax(1)),
        (lambda t: t.log_softmax(), lambda t: t.log_softmax(-1)),
        (lambda t: t.logsumexp(axis=0), lambda t: t.logsumexp(0)),
        (lambda t: t.reshape(4, -1), lambda t: t.reshape(4, -1)),
        (lambda t: t.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1)),
        (lambda t: t[1:, ::2, [0, 0, 2]], lambda t: t[1:, ::2, [0, 0, 2]]),
        (lambda t: t[t.data > 0], lambda t: t[t > 0]),
    ],
)
def test_unary_ops(ours, theirs):
    both(ours, theirs, normal(3, 4, 3))


def test_subgradient_conventions_at_ties_and_kinks():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 0.5]])
    both(lambda t: t.max(axis=1), lambda t: t.amax(1), x)
    both(lambda t: t.max(), torch.amax, x)
    both(lambda t: t.min(axis=0), lambda t: t.amin(0), x)
    both(lambda a, b: tg.maximum(a, b), torch.maximum, x, np.full((2, 4), 2.0))
    both(lambda a, b: a.minimum(b), torch.minimum, x, np.full((2, 4), 2.0))
    both(lambda t: t.clip(0.0, 2.0), lambda t: t.clamp(0.0, 2.0), x)
    both(lambda t: t.abs(), torch.abs, x)
    both(lambda t: t.relu(), torch.relu, x)


def test_softmax_family_at_large_magnitudes():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [5e3, 5e3 + 1, 1.0]])
    both(lambda t: t.softmax(), lambda t: t.softmax(-1), x)
    both(lambda t: t.log_softmax(), lambda t: t.log_softmax(-1), x)
    both(lambda t: t.logsumexp(), lambda t: t.logsumexp(-1), x)


def test_mlp_cross_entropy_step():
    X, y = normal(8, 5), RNG.integers(0, 3, 8)
    weights = [normal(5, 6), normal(6), normal(6, 3), normal(3)]

    def ours(W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
        logits = (Tensor(X) @ W1 + b1).relu() @ W2 + b2
        return -logits.log_softmax(axis=1)[np.arange(8), y].mean()

    def theirs(W1: Any, b1: Any, W2: Any, b2: Any) -> Any:
        logits = torch.relu(torch.tensor(X) @ W1 + b1) @ W2 + b2
        return F.cross_entropy(logits, torch.tensor(y))

    both(ours, theirs, *weights)


def test_float32_training_step_matches():
    X = normal(16, 4).astype(np.float32)
    W = normal(4, 3).astype(np.float32)
    ours = Tensor(W, requires_grad=True)
    theirs = torch.tensor(W, requires_grad=True)
    (Tensor(X) @ ours).tanh().sum().backward()
    (torch.tensor(X) @ theirs).tanh().sum().backward()
    assert ours.grad.dtype == np.float32
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_hessian_vector_product_matches_double_backward():
    A, x0, v = normal(4, 3), normal(3), normal(3)

    def f(x: Any, lib: Any) -> Any:
        z = x @ A.T if lib is tg else x @ torch.tensor(A).T
        sig = z.sigmoid() if lib is tg else torch.sigmoid(z)
        return (sig * z).sum() + (x * x * x).sum()

    x = Tensor(x0, requires_grad=True)
    (g,) = grad(f(x, tg), x, create_graph=True)
    (hv,) = grad((g * Tensor(v)).sum(), x)

    tx = torch.tensor(x0, requires_grad=True)
    (tg_,) = torch.autograd.grad(f(tx, torch), tx, create_graph=True)
    (thv,) = torch.autograd.grad((tg_ * torch.tensor(v)).sum(), tx)
    np.testing.assert_allclose(hv.data, thv.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_second_derivatives(name):
    x0 = np.concatenate([normal(10) * 2, [0.0]])
    if name in ("relu", "leaky_relu", "elu"):
        x0 = x0[x0 != 0]  # second derivative undefined at the kink
    x = Tensor(x0, requires_grad=True)
    (g,) = grad(getattr(x, name)().sum(), x, create_graph=True)
    h = grad(g.sum(), x)[0].data if g.requires_grad else np.zeros_like(x0)
    tx = torch.tensor(x0, requires_grad=True)
    (tg_,) = torch.autograd.grad(ACTIVATIONS[name](tx).sum(), tx, create_graph=True)
    th = torch.autograd.grad(tg_.sum(), tx)[0].numpy() if tg_.requires_grad else 0 * x0
    np.testing.assert_allclose(h, th, rtol=1e-9, atol=1e-12)
