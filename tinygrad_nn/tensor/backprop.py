"""The backward pass of the tensor graph: one walk from the output to the leaves.

At each node the op's gradient rules (from the registry record in ``node._fn``) turn the
gradient arriving at the node into one for each input. A plain backward hands the rules
ndarrays and a NumPy ``ops``; with ``create_graph=True`` the caller hands them the Tensors
themselves and a Tensor ``ops`` (``ops_for=tensor_ops``), so the same rule text performs
recorded Tensor ops and the gradients that come out are graph nodes, differentiable again.

Gradients with a broadcast shape are summed back to each input's shape here, in one place,
so no rule deals with broadcasting. Nodes are duck-typed: nothing here imports ``Tensor``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..graph import toposort
from .array_ops import array_ops

_new = object.__new__

__all__ = ["backprop", "seed_gradient"]

_RELEASED = (
    "backward through a graph that was already released: backward() frees the graph "
    "(saved inputs and links) once it has run; pass retain_graph=True to the first call "
    "to go through it again"
)
_NUMBERS = (int, float)
# Only the accumulation into .grad of tensors shared between graphs is serialised: two
# backward passes may run at once, and neither loses the other's contribution.
_accumulating = threading.Lock()


def backprop(root: Any, seed: Any, *, retain_graph: bool, create_graph: bool = False,
             ops_for: Callable[[np.dtype], Any] = array_ops,
             targets: set[Any] | None = None) -> dict[Any, Any]:
    """Propagate ``seed`` = d(loss)/d(root) to every node ``root`` depends on.

    Without ``targets``, leaves (and non-leaves asked to ``retain_grad``) accumulate into
    ``.grad``; with them, nothing is stored and the gradients of ``targets`` are returned.
    """
    order = toposort(root)
    for node in order:
        if node._fn is None and node._op and node._requires_grad:
            raise RuntimeError(_RELEASED)
    grads: dict[Any, Any] = {root: seed}
    captured: dict[Any, Any] = {}
    kept: list[tuple[Any, Any]] = []  # (node, gradient) for the .grad of leaves
    dtype: np.dtype | None = None
    ops: Any = None
    for node in reversed(order):
        g = grads.pop(node, None)
        if g is None:
            continue
        op = node._fn
        if targets is not None:
            if node in targets:
                captured[node] = g
        elif op is None or node._retain:
            kept.append((node, g))
        if op is None:
            continue
        operands = node._args
        if create_graph:
            args: Any = operands
            out: Any = node
        else:
            out = node._data
            if node._prev is operands:  # every operand a Tensor: the common case
                args = [t._data for t in operands]
            else:
                args = [a if type(a) in _NUMBERS else a._data for a in operands]
        if out.dtype is not dtype:  # one dtype per graph, as a rule
            dtype = out.dtype
            ops = ops_for(dtype)
        params = node._params
        rules = op.grads
        variadic = op.variadic
        for i, child in enumerate(operands):
            if type(child) in _NUMBERS or not child._requires_grad:
                continue
            rule = rules[0] if variadic else rules[i]
            if rule is None:
                continue
            if variadic:
                gi = rule(g, *args, out=out, ops=ops, i=i, **params)
            elif params:
                gi = rule(g, *args, out, ops, **params)
            else:
                gi = rule(g, *args, out, ops)
            data = child._data
            if gi.shape != data.shape:
                gi = ops.sum_to(gi, data.shape)
            if gi.dtype is not data.dtype and gi.dtype != data.dtype:
                gi = ops.astype(gi, data.dtype)
            prior = grads.get(child)
            grads[child] = gi if prior is None else prior + gi
    if not retain_graph:
        _release(order)
    if kept:
        _keep_grads(kept, id(seed))
    return captured


class Released:
    """What a result computed by an op leaves behind once backward freed its graph: the
    op, the shape and dtype, the module that ran it, and links to its inputs. Enough to
    draw the graph after ``backward()``; its array is gone unless someone else holds it."""

    __slots__ = ("_op", "_prev", "_scope", "dtype", "grad", "name", "requires_grad", "shape")
    _op: str
    _prev: tuple[Any, ...]
    _scope: tuple[Any, ...]
    dtype: np.dtype
    grad: Any
    name: str
    requires_grad: bool
    shape: tuple[int, ...]
    _fn = None  # nothing left to run backward through
    _requires_grad = True  # a stand-in is never a leaf that gradients could reach


def _release(order: list[Any]) -> None:
    """Free what backward needed (the op's record, operands and parameters) and replace
    links to intermediate results, and to inputs that need no gradient (a batch of data),
    by ``Released`` stand-ins: the structure stays drawable, while the arrays only the
    graph held are freed."""
    stand_ins: dict[Any, Released] = {}
    for node in order:  # inputs first, so every input's stand-in exists already
        if node._fn is not None:
            prev = node._prev
            prev = (stand_ins.get(prev[0], prev[0]),) if len(prev) == 1 else \
                tuple([stand_ins.get(child, child) for child in prev])
            node._prev = prev
            node._fn = None
            node._args = ()
        elif node._requires_grad or type(node) is Released:
            continue  # a parameter, kept as it is (its .grad is worth drawing)
        else:
            prev = ()
        stand_in = stand_ins[node] = _new(Released)
        stand_in._op, stand_in._prev, stand_in._scope = node._op, prev, node._scope
        data = node._data
        stand_in.shape, stand_in.dtype, stand_in.name = data.shape, data.dtype, node._name
        stand_in.grad = node.grad if node._retain else None
        stand_in.requires_grad = node._requires_grad


def _keep_grads(kept: list[tuple[Any, Any]], seed: int) -> None:
    """Add each gradient to its node's ``.grad``, under one lock for the whole pass."""
    handed_out = {seed}
    with _accumulating:
        for node, g in kept:
            # A gradient may be the caller's seed, a read-only broadcast view, or the very
            # array another input received (add passes g through): every .grad gets an
            # array of its own, so updating one in place never changes another.
            if type(g) is not np.ndarray or id(g) in handed_out or g.base is not None \
                    or not g.flags.writeable:
                g = np.array(g)
            handed_out.add(id(g))
            node.grad = g if node.grad is None else node.grad + g


def seed_gradient(output: np.ndarray, given: Any, where: str, argument: str) -> np.ndarray:
    """d(loss)/d(output) to start from: ones for a single element, else ``given``."""
    if given is None:
        if output.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {output.shape}; without {argument}= it must "
                f"be a single-element output (reduce it, e.g. with .sum(), or pass "
                f"{argument}= of the same shape)"
            )
        return np.ones_like(output)
    seed = np.asarray(given, dtype=output.dtype)
    if seed.shape != output.shape:
        raise ValueError(f"{where}: {argument} has shape {seed.shape} but the output has "
                         f"shape {output.shape}")
    return seed
