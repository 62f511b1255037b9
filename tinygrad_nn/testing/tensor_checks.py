"""Finite-difference checks for the Tensor engine: first order and second order.

Both work in float64 and project the output onto fixed random weights, so a function with
any output shape becomes one number whose gradient exercises the whole vector-Jacobian
product (as HIPS autograd's ``check_grads`` does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..tensor import Tensor, grad
from .numeric import GradcheckError

__all__ = ["gradgradcheck", "tensor_gradcheck"]


def _points(inputs: Sequence[Any]) -> list[np.ndarray]:
    points = []
    for i, x in enumerate(inputs):
        data = x.data if isinstance(x, Tensor) else x
        array = np.array(data, dtype=np.float64)  # a copy: the checks perturb it in place
        if array.dtype.kind != "f" or isinstance(data, (str, bytes)):
            raise TypeError(f"gradcheck: input {i} is not numeric")
        points.append(array)
    return points


def _projected(fn: Callable[..., Any], weights: np.ndarray | None
               ) -> Callable[[list[np.ndarray]], tuple[Tensor, list[Tensor]]]:
    """``points -> (sum(fn(*leaves) * weights), leaves)`` with fresh float64 leaves."""

    def run(points: list[np.ndarray]) -> tuple[Tensor, list[Tensor]]:
        leaves = [Tensor(p, requires_grad=True) for p in points]
        out = fn(*leaves)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        if out.dtype != np.float64:
            raise TypeError(f"gradcheck: fn returned dtype {out.dtype} from float64 inputs")
        return (out * weights).sum() if weights is not None else out.sum(), leaves

    return run


def tensor_gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s gradient with respect to every input against central differences.

    ``fn`` takes one float64 Tensor per input (arrays, Tensors or numbers) and returns a
    Tensor of any shape; its output is projected onto fixed random weights. Every element
    of every input is perturbed by ``+-eps``. Returns True, or raises ``GradcheckError``
    naming each mismatching element (returns False with ``raise_exception=False``).
    """
    if not inputs:
        raise ValueError("gradcheck needs at least one input")
    points = _points(inputs)
    probe = fn(*(Tensor(p) for p in points))
    if not isinstance(probe, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor, got {type(probe).__name__}")
    weights = np.random.default_rng(seed).standard_normal(probe.shape)
    run = _projected(fn, weights)

    total, leaves = run(points)
    if total.requires_grad:
        analytic = [g.data for g in grad(total, leaves, allow_unused=True)]
    else:  # the output does not depend on the inputs at all
        analytic = [np.zeros_like(p) for p in points]

    def value_at(points: list[np.ndarray]) -> float:
        return float(run(points)[0].data)

    mismatches = []
    for i, point in enumerate(points):
        numeric = np.zeros_like(point)
        for index in np.ndindex(point.shape):
            original = point[index]
            point[index] = original + eps
            above = value_at(points)
            point[index] = original - eps
            below = value_at(points)
            point[index] = original
            numeric[index] = (above - below) / (2.0 * eps)
        bad = np.abs(analytic[i] - numeric) > atol + rtol * np.abs(numeric)
        mismatches += [
            f"  input {i} {index} at {point[index]!r}: "
            f"analytic {analytic[i][index]!r}, numeric {numeric[index]!r}"
            for index in np.ndindex(bad.shape) if bad[index]
        ]
    if mismatches and raise_exception:
        raise GradcheckError("gradcheck failed:\n" + "\n".join(mismatches[:20]))
    return not mismatches


def gradgradcheck(
    fn: Callable[..., Tensor],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check second derivatives: the gradient of ``fn``'s gradient against finite differences.

    The first-order gradient is taken with ``create_graph=True`` and projected onto random
    weights, ``h(x) = sum_i <d(w . fn)/dx_i, v_i>``; then ``tensor_gradcheck(h)`` compares
    the recorded second-order graph with central differences of the first-order gradient.
    Together with ``tensor_gradcheck(fn)`` this pins down Hessian-vector products.
    """
    points = _points(inputs)
    rng = np.random.default_rng(seed + 1)
    probe = fn(*(Tensor(p) for p in points))
    out_weights = rng.standard_normal(np.shape(probe.data))
    grad_weights = [rng.standard_normal(p.shape) for p in points]

    def first_order(*leaves: Tensor) -> Tensor:
        total = (fn(*leaves) * out_weights).sum()
        if not total.requires_grad:
            return total
        grads = grad(total, leaves, create_graph=True, allow_unused=True)
        terms = [(g * v).sum() for g, v in zip(grads, grad_weights)]
        return sum(terms[1:], terms[0])

    return tensor_gradcheck(first_order, *points, eps=eps, atol=atol, rtol=rtol,
                            raise_exception=raise_exception, seed=seed)
