"""Compare analytic gradients with central finite differences."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..graph import no_grad
from ..scalar import Value
from ..tensor import Tensor
from .numeric import GradcheckError, close, numeric_derivative
from .tensor_checks import gradgradcheck, tensor_gradcheck

__all__ = ["GradcheckError", "gradcheck", "numeric_derivative"]


def gradcheck(
    fn: Callable[..., Any],
    *inputs: Any,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    raise_exception: bool = True,
    order: int = 1,
) -> bool:
    """Check ``fn``'s gradient with respect to every input against finite differences.

    ``fn`` takes one graph value per input. With numbers or ``Value``s as inputs (scalar
    engine) it returns a single-element result. With any ``Tensor`` or ndarray among the
    inputs (tensor engine) it gets float64 Tensors and may return any shape; ``order=2``
    then also checks second derivatives (``tensor_checks.gradgradcheck``). Returns True
    when every gradient matches; otherwise raises ``GradcheckError`` listing the
    mismatches (or returns False with ``raise_exception=False``).
    """
    if not inputs:
        raise ValueError("gradcheck needs at least one input")
    if any(isinstance(x, (Tensor, np.ndarray)) for x in inputs):
        options = {"eps": eps, "atol": atol, "rtol": rtol, "raise_exception": raise_exception}
        passed = tensor_gradcheck(fn, *inputs, **options)  # type: ignore[arg-type]
        if order >= 2:
            passed = gradgradcheck(fn, *inputs, **options) and passed  # type: ignore[arg-type]
        return passed
    if order != 1:
        raise ValueError("gradcheck: the scalar engine checks first order only; use Tensors "
                         "for order=2")
    points = [_scalar_point(x) for x in inputs]
    mismatches = _scalar_mismatches(fn, points, eps, atol, rtol)
    if mismatches and raise_exception:
        raise GradcheckError("gradcheck failed:\n" + "\n".join(mismatches))
    return not mismatches


def _scalar_point(x: Any) -> float:
    if isinstance(x, Value):
        return x.data
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    raise TypeError(f"gradcheck inputs must be numbers or Values, got {type(x).__name__}")


def _scalar_mismatches(
    fn: Callable[..., Any], points: Sequence[float], eps: float, atol: float, rtol: float
) -> list[str]:
    leaves = [Value(p) for p in points]
    out = fn(*leaves)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}")
    out.backward()

    def evaluate_with(i: int, xi: float) -> float:
        shifted = list(points)
        shifted[i] = xi
        with no_grad():
            return fn(*(Value(p) for p in shifted)).data

    mismatches = []
    for i, leaf in enumerate(leaves):
        numeric = numeric_derivative(functools.partial(evaluate_with, i), points[i], eps)
        if not close(leaf.grad, numeric, atol, rtol):
            mismatches.append(
                f"  input {i} at {points[i]!r}: analytic {leaf.grad!r}, numeric {numeric!r}"
            )
    return mismatches
