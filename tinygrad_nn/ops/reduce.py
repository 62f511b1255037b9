"""Reductions and the softmax family (Tensor only).

``axis`` is an int, a tuple of ints or None (every axis), negative counting from the end,
as in NumPy; ``keepdims`` keeps reduced axes with length 1. A reduction's gradient is the
upstream gradient put back on the reduced axes (``_kept``) and broadcast over them.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from .registry import register

Axis = int | tuple[int, ...] | None


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a tuple of non-negative axes (NumPy has already checked the range)."""
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in ((axis,) if isinstance(axis, int) else axis))


@lru_cache(maxsize=1024)
def _cached_reduction(shape: tuple[int, ...], axis: Axis) -> tuple[tuple[int, ...], int]:
    axes = _axes(axis, len(shape))
    return (tuple(1 if i in axes else n for i, n in enumerate(shape)),
            math.prod(shape[a] for a in axes))


def _reduction(shape: tuple[int, ...], axis: Axis) -> tuple[tuple[int, ...], int]:
    """For a reduction over ``axis``: its shape with ``keepdims=True``, and how many
    elements each output reduces."""
    try:
        return _cached_reduction(shape, axis)
    except TypeError:  # an axis given as a list
        return _cached_reduction(shape, tuple(axis))  # type: ignore[arg-type]


def _kept(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    return _reduction(shape, axis)[0]


def _unreduce(g: Any, x: Any, axis: Axis, ops: Any) -> Any:
    """``g`` of a reduction over ``axis``, broadcast back to ``x``'s shape."""
    return ops.broadcast_to(ops.reshape(g, _reduction(x.shape, axis)[0]), x.shape)


def reduction_case(draw: Any, unique: bool = False) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Any shape, any axis (None, one, several), either keepdims."""
    x = draw.array(draw.shape(), unique=unique)
    return (x,), {"axis": draw.axis(x.ndim), "keepdims": draw.boolean()}


def along_axis_case(draw: Any, keepdims: bool = False) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """At least one dimension, and one axis along it (and either keepdims, if asked)."""
    x = draw.array(draw.shape(min_dims=1), low=-5.0, high=5.0)
    params = {"axis": draw.axis(x.ndim, none=False, many=False)}
    if keepdims:
        params["keepdims"] = draw.boolean()
    return (x,), params


register(
    "sum",
    forward=lambda x, ops, axis=None, keepdims=False: ops.sum(x, axis, keepdims),
    grads=(lambda g, x, out, ops, axis=None, keepdims=False: _unreduce(g, x, axis, ops),),
    elementwise=False,
    cases=reduction_case,
    doc="sum over axis (all axes by default)",
)

register(
    "mean",
    forward=lambda x, ops, axis=None, keepdims=False:
        ops.sum(x, axis, keepdims) / _reduction(x.shape, axis)[1],
    grads=(lambda g, x, out, ops, axis=None, keepdims=False:
           _unreduce(g / _reduction(x.shape, axis)[1], x, axis, ops),),
    elementwise=False,
    cases=reduction_case,
    doc="mean over axis (all axes by default)",
)


def _extremum_grad(g: Any, x: Any, out: Any, ops: Any, axis: Axis = None,
                   keepdims: bool = False) -> Any:
    # NOTE: ties share the gradient evenly, as PyTorch's amax/amin do.
    kept = _kept(x.shape, axis)
    hit = ops.where(x == ops.reshape(out, kept), 1.0, 0.0)
    return hit * (ops.reshape(g, kept) / ops.sum(hit, axis, True))


register(
    "max",
    forward=lambda x, ops, axis=None, keepdims=False: ops.max(x, axis, keepdims),
    grads=(_extremum_grad,),
    elementwise=False,
    cases=lambda draw: reduction_case(draw, unique=True),  # ties are a kink
    doc="largest element over axis; tied maxima share the gradient evenly",
)

register(
    "min",
    forward=lambda x, ops, axis=None, keepdims=False: ops.min(x, axis, keepdims),
    grads=(_extremum_grad,),
    elementwise=False,
    cases=lambda draw: reduction_case(draw, unique=True),
    doc="smallest element over axis; tied minima share the gradient evenly",
)

# ----- Softmax family (stable: the max is subtracted before exp) -----------------------


def _logsumexp(x: Any, ops: Any, axis: Axis = -1, keepdims: bool = False) -> Any:
    top = ops.max(x, axis, True)
    out = ops.log(ops.sum(ops.exp(x - top), axis, True)) + top
    return out if keepdims else ops.reshape(out, _reduced(x.shape, axis))


def _reduced(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    axes = _axes(axis, len(shape))
    return tuple(n for i, n in enumerate(shape) if i not in axes)


register(
    "logsumexp",
    forward=_logsumexp,
    grads=(lambda g, x, out, ops, axis=-1, keepdims=False:
           ops.reshape(g, _kept(x.shape, axis)) *
           ops.exp(x - ops.reshape(out, _kept(x.shape, axis))),),
    elementwise=False,
    cases=lambda draw: along_axis_case(draw, keepdims=True),
    doc="log(sum(exp(x))) along axis, stable for any magnitude",
)


def _softmax(x: Any, ops: Any, axis: Axis = -1) -> Any:
    e = ops.exp(x - ops.max(x, axis, True))
    return e / ops.sum(e, axis, True)


register(
    "softmax",
    forward=_softmax,
    grads=(lambda g, x, out, ops, axis=-1: out * (g - ops.sum(g * out, axis, True)),),
    elementwise=False,
    cases=along_axis_case,
    doc="exp(x) / sum(exp(x)) along axis",
)


def _log_softmax(x: Any, ops: Any, axis: Axis = -1) -> Any:
    shifted = x - ops.max(x, axis, True)
    return shifted - ops.log(ops.sum(ops.exp(shifted), axis, True))


register(
    "log_softmax",
    forward=_log_softmax,
    grads=(lambda g, x, out, ops, axis=-1: g - ops.exp(out) * ops.sum(g, axis, True),),
    elementwise=False,
    cases=along_axis_case,
    doc="x - logsumexp(x) along axis",
)
