"""The backward pass of the tensor graph, and ``grad()``.

``backprop`` walks the graph once, from the output back to the leaves, calling each node's
gradient rules. A plain backward hands the rules ndarrays and a NumPy ``ops``; with
``create_graph=True`` it hands them the Tensors themselves and a ``TensorOps`` namespace,
so the same rule text now performs recorded Tensor ops. The gradients that come out are
ordinary graph nodes: second derivatives, Hessian-vector products and gradient penalties
need no second copy of any rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._array_ops import array_ops
from ._engine import enable_grad, toposort
from .tensor import Tensor, _constant, maximum, minimum, where

__all__ = ["TensorOps", "backprop", "grad", "tensor_ops"]

_RELEASED = (
    "backward through a graph that was already released: backward() frees the graph "
    "(saved inputs and links) once it has run; pass retain_graph=True to the first call "
    "to go through it again"
)


def backprop(root: Tensor, seed: Any, *, retain_graph: bool, create_graph: bool = False,
             ops_for: Callable[[np.dtype], Any] = array_ops,
             targets: set[Tensor] | None = None) -> dict[Tensor, Any]:
    """Propagate ``seed`` = d(loss)/d(root) to every node ``root`` depends on.

    Plain mode calls the rules on ndarrays; ``create_graph`` calls them on the Tensors
    themselves (with a Tensor ``ops`` from ``ops_for``), recording the backward pass.
    Without ``targets``, leaves (and retained non-leaves) accumulate into ``.grad``; with
    them, nothing is stored and the gradients of ``targets`` are returned instead.
    """
    order = toposort(root)
    for node in order:
        if node._backward is None:
            raise RuntimeError(_RELEASED)
    grads: dict[Tensor, Any] = {root: seed}
    captured: dict[Tensor, Any] = {}
    handed_out = {id(seed)}
    dtype: np.dtype | None = None
    ops: Any = None
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:
            continue
        rules = node._backward
        if targets is not None:
            if node in targets:
                captured[node] = g
        elif not rules or node._retain:
            _keep_grad(node, g, handed_out)
        if not rules:
            continue
        prev = node._prev
        if create_graph:
            args: Sequence[Any] = prev
            out: Any = node
        else:
            args = [child.data for child in prev]
            out = node.data
        if node.data.dtype is not dtype:  # one dtype per graph, as a rule
            dtype = node.data.dtype
            ops = ops_for(dtype)
        ctx = node._ctx
        for child, rule in zip(prev, rules):
            if not child._requires_grad:
                continue
            gi = rule(g, *args, out, ops, *ctx)
            data = child.data
            if gi.shape != data.shape:
                gi = ops.sum_to(gi, data.shape)
            if gi.dtype != data.dtype:
                gi = gi.astype(data.dtype)
            prior = grads.get(child)
            grads[child] = gi if prior is None else prior + gi
        if not retain_graph:
            node._prev = node._ctx = ()
            node._backward = None
    return captured


def _keep_grad(node: Tensor, g: Any, handed_out: set[int]) -> None:
    if node.grad is not None:
        node.grad = node.grad + g
        return
    # A gradient may be a read-only broadcast view, the caller's seed, or the very array
    # another input received (add passes g through): every .grad gets an array of its
    # own, so updating one in place never changes another.
    if type(g) is not np.ndarray or g.base is not None or not g.flags.writeable \
            or id(g) in handed_out:
        g = np.array(g)
    handed_out.add(id(g))
    node.grad = g


# ----- Recording the backward pass ---------------------------------------------------


class TensorOps:
    """The ``ops`` namespace that rules see under ``create_graph``: Tensor ops of one dtype."""

    __slots__ = ("dtype",)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    @staticmethod
    def exp(x: Tensor) -> Tensor:
        return x.exp()

    @staticmethod
    def log(x: Tensor) -> Tensor:
        return x.log()

    @staticmethod
    def log1p(x: Tensor) -> Tensor:
        return x.log1p()

    @staticmethod
    def tanh(x: Tensor) -> Tensor:
        return x.tanh()

    @staticmethod
    def sqrt(x: Tensor) -> Tensor:
        return x.sqrt()

    @staticmethod
    def abs(x: Tensor) -> Tensor:
        return x.abs()

    @staticmethod
    def sign(x: Tensor) -> Tensor:
        return _constant(np.sign(x.data))  # piecewise constant: no gradient

    minimum = staticmethod(minimum)
    maximum = staticmethod(maximum)

    def _branch(self, x: Any) -> Any:
        # A number branch takes this namespace's dtype (np.where would make it float64).
        if isinstance(x, (int, float)):
            return _constant(np.asarray(x, dtype=self.dtype))
        return x

    def where(self, condition: Any, a: Any, b: Any) -> Tensor:
        return where(condition, self._branch(a), self._branch(b))

    def zeros_like(self, x: Tensor) -> Tensor:
        return _constant(np.zeros(np.shape(x.data), dtype=self.dtype))

    def ones_like(self, x: Tensor) -> Tensor:
        return _constant(np.ones(np.shape(x.data), dtype=self.dtype))

    @staticmethod
    def broadcast_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
        return x.broadcast_to(shape)

    @staticmethod
    def sum_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
        return x.sum_to(shape)

    @staticmethod
    def scatter_to(g: Tensor, shape: tuple[int, ...], index: Any, accumulate: bool) -> Tensor:
        return g.scatter_to(shape, index, accumulate)


@functools.cache
def tensor_ops(dtype: np.dtype) -> TensorOps:
    """The (cached) ``TensorOps`` for ``dtype``."""
    return TensorOps(dtype)


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
    again (grad of grad, Hessian-vector products, gradient penalties). The graph is kept
    when ``retain_graph`` is true, which it is by default exactly when ``create_graph`` is.
    An input that ``output`` does not depend on raises, or gets zeros with
    ``allow_unused=True``.
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
    seed = _seed(output, grad_output, create_graph)
    if create_graph:
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
            g = np.zeros_like(x.data)
        if isinstance(g, Tensor):
            results.append(g)
            continue
        # Like .grad: every returned array is its own, never a view or another's alias.
        if type(g) is not np.ndarray or g.base is not None or id(g) in handed_out:
            g = np.array(g)
        handed_out.add(id(g))
        results.append(_constant(g))
    return tuple(results)


def _seed(output: Tensor, grad_output: Any, create_graph: bool) -> Any:
    """d(loss)/d(output) to start from: an ndarray, or a Tensor under ``create_graph``."""
    if grad_output is None:
        if output.data.size != 1:
            raise RuntimeError(
                f"grad: the output has shape {output.shape}; pass grad_output= of that shape "
                "(or reduce the output to a single element)"
            )
        seed = np.ones_like(output.data)
    else:
        given = grad_output.data if isinstance(grad_output, Tensor) else grad_output
        seed = np.asarray(given, dtype=output.dtype)
        if seed.shape != output.shape:
            raise ValueError(
                f"grad: grad_output has shape {seed.shape} but the output has shape "
                f"{output.shape}"
            )
        if create_graph and isinstance(grad_output, Tensor):
            return grad_output.astype(output.dtype)  # keeps its graph, if it has one
    return _constant(seed) if create_graph else seed
