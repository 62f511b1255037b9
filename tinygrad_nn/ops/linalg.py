"""Linear algebra (Tensor only): the matrix product of vectors, matrices and batches."""

from __future__ import annotations

from typing import Any

from .registry import register


def _matmul_grad_a(g: Any, a: Any, b: Any, out: Any, ops: Any) -> Any:
    # A 1-d operand is a row (a) or a column (b) whose extra axis NumPy drops; put it back.
    # Batch axes added by broadcasting are summed away by the backward loop.
    if b.ndim == 1:
        return ops.reshape(g, (*g.shape, 1)) * b if a.ndim > 1 else g * b
    if a.ndim == 1:
        return ops.reshape(g, (*g.shape[:-1], 1, g.shape[-1])) @ b.mT
    return g @ b.mT


def _matmul_grad_b(g: Any, a: Any, b: Any, out: Any, ops: Any) -> Any:
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return ops.reshape(a, (*a.shape, 1)) * ops.reshape(g, (*g.shape[:-1], 1, g.shape[-1]))
    if b.ndim == 1:
        return ops.reshape(g, (*g.shape[:-1], 1, g.shape[-1])) @ a
    return a.mT @ g


def _matmul_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    n, k, m = (draw.integers(1, 3) for _ in range(3))
    kind = draw.choice(["vec@vec", "mat@vec", "vec@mat", "mat@mat", "batched"])
    if kind == "batched":
        batch_a, batch_b = draw.shapes(2, max_dims=2, max_side=2)
        shape_a, shape_b = (*batch_a, n, k), (*batch_b, k, m)
    else:
        shape_a = (k,) if kind.startswith("vec") else (n, k)
        shape_b = (k,) if kind.endswith("vec") else (k, m)
    return (draw.array(shape_a), draw.array(shape_b)), {}


register(
    "matmul",
    forward=lambda a, b, ops: ops.matmul(a, b),
    grads=(_matmul_grad_a, _matmul_grad_b),
    elementwise=False,
    cases=_matmul_case,
    doc="matrix product a @ b: vectors, matrices and broadcast batches of matrices",
)
