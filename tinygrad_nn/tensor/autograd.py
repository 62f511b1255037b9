"""``grad()``: gradients as Tensors, without touching ``.grad``; differentiable again with
``create_graph=True`` (grad of grad, Hessian-vector products, gradient penalties)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..graph import enable_grad
from .apply import tensor_ops
from .backprop import backprop, seed_gradient
from .tensor import Tensor, constant

__all__ = ["grad"]


def grad(
    output: Tensor,
    inputs: Tensor | Sequence[Tensor],
    grad_output: Any = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
    allow_unused: bool = False,
) -> tuple[Tensor, ...]:
    """d(output)/d(input) for each input, as a tuple of Tensors; no ``.grad`` is touched.

    ``grad_output`` is d(loss)/d(output), needed unless ``output`` has a single element.
    With ``create_graph=True`` the gradients are graph nodes themselves, differentiable
    again. The graph is kept when ``retain_graph`` is true, which it is by default exactly
    when ``create_graph`` is. An input that ``output`` does not depend on raises, or gets
    zeros with ``allow_unused=True``.
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"grad: output must be a Tensor, got {type(output).__name__}")
    targets = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    for i, x in enumerate(targets):
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: input {i} must be a Tensor, got {type(x).__name__}")
        if not x.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {x.shape}) does not require grad")
    if not output.requires_grad:
        raise RuntimeError("grad: the output does not require grad (it does not depend on "
                           "any input that requires grad)")
    if retain_graph is None:
        retain_graph = create_graph
    given = grad_output._data if isinstance(grad_output, Tensor) else grad_output
    seed: Any = seed_gradient(output._data, given, "grad", "grad_output")
    if create_graph:
        if isinstance(grad_output, Tensor):
            seed = grad_output.astype(output.dtype)  # keeps its graph, if it has one
        else:
            seed = constant(seed)
        with enable_grad():
            captured = backprop(output, seed, retain_graph=retain_graph, create_graph=True,
                                ops_for=tensor_ops, targets=set(targets))
    else:
        captured = backprop(output, seed, retain_graph=retain_graph, targets=set(targets))

    results = []
    handed_out: set[int] = {id(seed)}
    for i, x in enumerate(targets):
        g = captured.get(x)
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {x.shape}) was not used to compute the output; "
                    "pass allow_unused=True to get zeros for it"
                )
            g = np.zeros_like(x._data)
        if isinstance(g, Tensor):
            results.append(g)
            continue
        # Like .grad: every returned array is its own, never a view or another's alias.
        if type(g) is not np.ndarray or g.base is not None or id(g) in handed_out:
            g = np.array(g)
        handed_out.add(id(g))
        results.append(constant(g))
    return tuple(results)
