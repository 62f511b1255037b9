"""Training utilities: ``clip_grad_norm_`` (PyTorch's semantics, on Tensors and Values)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..scalar import Value
from ..tensor import Tensor

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(parameters: Tensor | Value | Iterable[Tensor | Value], max_norm: float,
                    norm_type: float | str = 2.0, error_if_nonfinite: bool = False) -> float:
    """Scale the gradients in place so that their total norm is at most ``max_norm``.

    The total norm is that of all gradients joined into one vector (parameters without a
    gradient are skipped). When it exceeds ``max_norm`` every gradient is multiplied by
    ``max_norm / (total + 1e-6)``, as in ``torch.nn.utils.clip_grad_norm_``.

    Parameters
    ----------
    parameters : Tensor, Value, or an iterable of them
        Typically ``model.parameters()``. Tensor gradients are ndarrays, Value gradients
        floats; both are scaled in place.
    max_norm : float
        The largest total norm allowed.
    norm_type : float or "inf"
        The p of the p-norm (2 by default); ``inf`` takes the largest absolute entry.
    error_if_nonfinite : bool
        Raise if the total norm is NaN or infinite, instead of scaling by it.

    Returns
    -------
    float
        The total norm before clipping (0.0 when no parameter has a gradient).
    """
    if isinstance(parameters, (Tensor, Value)):
        parameters = [parameters]
    p = float(norm_type)
    if math.isnan(p) or p <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be a positive number or inf, got "
                         f"{norm_type!r}")
    tensors = [t for t in parameters if isinstance(t, Tensor) and t.grad is not None]
    values = [v for v in parameters if isinstance(v, Value)]
    grads = [np.asarray(t.grad).ravel() for t in tensors]
    if values:
        grads.append(np.array([v.grad for v in values], dtype=np.float64))
    if not grads:
        return 0.0
    norms = np.array([np.linalg.norm(g, ord=p) if g.size else 0.0 for g in grads])
    total = float(np.linalg.norm(norms, ord=p))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {total}; pass error_if_nonfinite=False to clip anyway")
    coefficient = max_norm / (total + 1e-6)
    # NOTE: a NaN norm makes every gradient NaN, and an infinite one zeroes them (its
    # infinite entries become NaN): PyTorch's behaviour, unless error_if_nonfinite.
    if coefficient < 1.0 or math.isnan(coefficient):
        with np.errstate(invalid="ignore"):
            for t in tensors:
                grad: Any = t.grad
                grad *= coefficient
        for v in values:
            v.grad *= coefficient
    return total
