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
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from ..graph import anomaly, created_at, toposort
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
             targets: set[Any] | None = None, check_finite: bool = False) -> dict[Any, Any]:
    """Propagate ``seed`` = d(loss)/d(root) to every node ``root`` depends on.

    Without ``targets``, leaves (and non-leaves asked to ``retain_grad``) accumulate into
    ``.grad``; with them, nothing is stored and the gradients of ``targets`` are returned.
    ``check_finite`` (on in anomaly mode) raises at the first op passing a NaN or infinite
    gradient to an input.
    """
    checking = check_finite or anomaly.enabled
    order = toposort(root)
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
        if op is None and node._op and node._requires_grad:
            raise RuntimeError(_RELEASED)  # a result whose graph an earlier backward freed
        if targets is not None:
            if node in targets:
                captured[node] = g
        elif op is None or node._retain:
            kept.append((node, g))
        if op is None:
            continue
        operands = node._args
        if create_graph:
            args: Any = _recorded_operands(node)
            out: Any = node
        else:
            args = node._saved
            out = node._out
        if node._data.dtype is not dtype:  # one dtype per graph, as a rule
            dtype = node._data.dtype
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
            elif op.saves:  # what the forward kept, unless the rules run on Tensors
                gi = rule(g, *args, out, ops, saved=None if create_graph else
                          node._from_forward, **params)
            elif params:
                gi = rule(g, *args, out, ops, **params)
            else:
                gi = rule(g, *args, out, ops)
            data = child._data
            if gi.shape != data.shape:
                gi = ops.sum_to(gi, data.shape)
            if gi.dtype is not data.dtype and gi.dtype != data.dtype:
                gi = ops.astype(gi, data.dtype)
            if checking:
                _raise_if_not_finite(node, i, gi)
            prior = grads.get(child)
            grads[child] = gi if prior is None else prior + gi
    # Checked after the rules ran: a change made meanwhile by another thread is caught too
    # (the library bumps a version before it writes).
    _check_versions(order)
    if not retain_graph:
        _release(order)
    if kept:
        _keep_grads(kept, id(seed))
    return captured


def _raise_if_not_finite(node: Any, i: int, gi: Any) -> None:
    values = gi._data if hasattr(gi, "_data") else gi
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise FloatingPointError(
            f"backward: '{node._op}' passes a gradient with {int(np.isnan(values).sum())} "
            f"NaN and {int(np.isinf(values).sum())} infinite values to its input {i}"
            f"{created_at(node)}"
        )


def _check_versions(order: list[Any]) -> None:
    """Raise if an array a node saved for backward was changed in place since the forward."""
    for node in order:
        if node._fn is None:
            continue
        for k, (child, version) in enumerate(zip(node._prev, node._versions)):
            if child._version != version:
                raise RuntimeError(_modified_message(node, k, child, version))


def _modified_message(node: Any, k: int, child: Any, version: int) -> str:
    what = "a leaf that requires grad" if child._requires_grad and not child._op else \
        "an input that needs no gradient" if not child._requires_grad else \
        f"the result of '{child._op}'"
    name = f" '{child.name}'" if child.name else ""
    return (
        f"backward through '{node._op}': its input{name} of shape {child.shape} ({what}) "
        f"was changed in place after the forward pass (version {child._version}, the op "
        f"saw version {version}). An optimizer step, load_state_dict or an in-place op "
        "between forward and backward does this: run the forward pass again after the "
        "change, or make the change after backward."
    )


def _recorded_operands(node: Any) -> tuple[Any, ...]:
    """The node's operands for ``create_graph``: the Tensors themselves, so the rules record
    ops on them. One whose data was since replaced through ``.data`` cannot stand in for
    the values the forward saw."""
    for operand, array in zip(node._args, node._saved):
        if type(operand) not in _NUMBERS and operand._data is not array:
            raise RuntimeError(
                f"grad(create_graph=True) through '{node._op}': an input of shape "
                f"{operand.shape} was written through .data after the forward pass; run "
                "the forward pass again"
            )
    return node._args


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
            for child in prev:  # this node no longer holds its inputs' arrays
                if child._held:
                    child._held -= 1
            if node._held:
                node._held -= 1
            prev = (stand_ins.get(prev[0], prev[0]),) if len(prev) == 1 else \
                tuple([stand_ins.get(child, child) for child in prev])
            node._prev = prev
            node._fn = None
            node._args = node._saved = node._versions = ()
            node._out = node._from_forward = None
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


def _keep_grads(kept: Iterable[tuple[Any, Any]], seed: int) -> None:
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
        return np.array(1, dtype=output.dtype).reshape(output.shape)
    seed = np.asarray(given, dtype=output.dtype)
    if seed.shape != output.shape:
        raise ValueError(f"{where}: {argument} has shape {seed.shape} but the output has "
                         f"shape {output.shape}")
    return seed
