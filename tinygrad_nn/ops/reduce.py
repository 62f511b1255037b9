"""Reductions, scans and the softmax family (Tensor only).

``axis`` is an int, a tuple of ints or None (every axis), negative counting from the end,
as in NumPy; ``keepdims`` keeps reduced axes with length 1 (PyTorch's ``dim`` and
``keepdim``). A reduction's gradient is the upstream gradient put back on the reduced axes
(``_unreduce``) and broadcast over them.

Non-finite inputs follow PyTorch and never make NumPy warn: a ``-inf`` entry (a masked
one) has weight 0 in the softmax family, a row that is all ``-inf`` has logsumexp ``-inf``
and softmax NaN, and a reduction with no degrees of freedom left gives inf or NaN.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np

from .registry import register

Axis = int | tuple[int, ...] | None


def normalize_axis(axis: int, ndim: int, name: str = "axis") -> int:
    """``axis`` as a non-negative int below ``ndim``; an ``AxisError`` naming ``name`` if
    it is out of range."""
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim, None if name == "axis" else name)
    return axis % ndim


def _axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    """``axis`` as a tuple of distinct non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(normalize_axis(a, ndim) for a in ((axis,) if isinstance(axis, int) else axis))
    if len(set(axes)) < len(axes):
        raise ValueError(f"axis {axis} names an axis twice")
    return axes


class Reduction(NamedTuple):
    """The shapes of a reduction over some axes of an array."""

    kept: tuple[int, ...]  # the result's shape with keepdims=True
    reduced: tuple[int, ...]  # ... and without
    size: int  # how many elements each result reduces


@lru_cache(maxsize=1024)
def _cached_reduction(shape: tuple[int, ...], axis: Axis) -> Reduction:
    axes = _axes(axis, len(shape))
    return Reduction(tuple(1 if i in axes else n for i, n in enumerate(shape)),
                     tuple(n for i, n in enumerate(shape) if i not in axes),
                     math.prod(shape[a] for a in axes))


def _reduction(shape: tuple[int, ...], axis: Axis) -> Reduction:
    """The shapes of a reduction of an array of ``shape`` over ``axis``."""
    try:
        return _cached_reduction(shape, axis)
    except TypeError:  # an axis given as a list
        return _cached_reduction(shape, tuple(axis))  # type: ignore[arg-type]


def _kept(shape: tuple[int, ...], axis: Axis) -> tuple[int, ...]:
    """The shape of a reduction over ``axis`` with ``keepdims=True``."""
    return _reduction(shape, axis).kept


def _unreduce(g: Any, x: Any, axis: Axis, ops: Any) -> Any:
    """``g`` of a reduction over ``axis``, broadcast back to ``x``'s shape."""
    return ops.broadcast_to(ops.reshape(g, _reduction(x.shape, axis).kept), x.shape)


def _all_finite(x: Any, ops: Any) -> bool:
    """Whether every element is finite (decided in Python: rules branch on it)."""
    return bool(ops.all(ops.isfinite(x)))


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


# ----- Sums and means ---------------------------------------------------------------------

register(
    "sum",
    forward=lambda x, ops, axis=None, keepdims=False: ops.sum(x, axis, keepdims),
    grads=(lambda g, x, out, ops, axis=None, keepdims=False: _unreduce(g, x, axis, ops),),
    elementwise=False,
    cases=reduction_case,
    doc="sum over axis (all axes by default)",
)


def _mean(x: Any, ops: Any, axis: Axis = None, keepdims: bool = False) -> Any:
    n = _reduction(x.shape, axis).size
    total = ops.sum(x, axis, keepdims)
    # NOTE: the mean of no elements is NaN, as in PyTorch (0 / 0, without the warning).
    return total / n if n else total * math.nan


register(
    "mean",
    forward=_mean,
    # With no elements, x (and so its gradient) is empty: g's scale does not matter.
    grads=(lambda g, x, out, ops, axis=None, keepdims=False:
           _unreduce(g / (_reduction(x.shape, axis).size or 1), x, axis, ops),),
    elementwise=False,
    cases=reduction_case,
    doc="sum(x) / n over axis (all axes by default)",
)

# ----- Variance and standard deviation ----------------------------------------------------


def _centered(x: Any, axis: Axis, ops: Any) -> Any:
    """x - mean(x) along axis (x itself if it is empty)."""
    n = _reduction(x.shape, axis).size
    return x - ops.sum(x, axis, True) / n if n else x


def _var(x: Any, ops: Any, axis: Axis = None, correction: int = 1,
         keepdims: bool = False) -> Any:
    centered = _centered(x, axis, ops)
    squares = ops.sum(centered * centered, axis, keepdims)
    dof = _reduction(x.shape, axis).size - correction
    if dof > 0:
        return squares / dof
    # NOTE: no degrees of freedom left (n <= correction): inf where the elements differ
    # and NaN where they agree (0 / 0), as PyTorch gives (without its warning). Both are
    # arrays: where would cast a number to the dtype of integer inputs.
    zeros = ops.zeros_like(squares)
    return ops.where(squares > 0, zeros + math.inf, zeros + math.nan)


def _var_grad(g: Any, x: Any, out: Any, ops: Any, axis: Axis = None, correction: int = 1,
              keepdims: bool = False) -> Any:
    shapes = _reduction(x.shape, axis)
    dof = shapes.size - correction
    # NOTE: without degrees of freedom the variance is inf or NaN: its gradient is NaN.
    scale = 2.0 / dof if dof > 0 else math.nan
    return ops.reshape(g, shapes.kept) * (_centered(x, axis, ops) * scale)


def _std_grad(g: Any, x: Any, out: Any, ops: Any, axis: Axis = None, correction: int = 1,
              keepdims: bool = False) -> Any:
    shapes = _reduction(x.shape, axis)
    dof = shapes.size - correction
    g = ops.reshape(g, shapes.kept)
    if dof <= 0:
        return ops.broadcast_to(g, x.shape) * math.nan
    # NOTE: where the elements are all equal the std is 0 and the chain rule's
    # (x - mean) / (dof * std) is 0 / 0, which PyTorch leaves NaN. std is a norm there
    # (|x - mean| / sqrt(dof)), so 0 is a subgradient, and the smallest: it is used.
    std = ops.reshape(out, shapes.kept)
    flat = std == 0
    slope = _centered(x, axis, ops) / (ops.where(flat, 1.0, std) * dof)
    return g * ops.where(flat, 0.0, slope)


def _spread_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # Distinct elements (no zero variance, where std has its kink), a correction that
    # leaves degrees of freedom (the others are tested by hand).
    (x,), params = reduction_case(draw, unique=True)
    n = _reduction(x.shape, params["axis"]).size
    params["correction"] = draw.choice([0, 1] if n > 1 else [0])
    return (x,), params


register(
    "var",
    forward=_var,
    grads=(_var_grad,),
    elementwise=False,
    cases=_spread_case,
    doc="variance sum((x - mean)**2) / (n - correction) over axis; correction=1 is "
        "Bessel's (unbiased), 0 the population variance",
)

register(
    "std",
    forward=lambda x, ops, axis=None, correction=1, keepdims=False:
        ops.sqrt(_var(x, ops, axis, correction, keepdims)),
    grads=(_std_grad,),
    elementwise=False,
    cases=_spread_case,
    doc="standard deviation sqrt(var(x, axis, correction)); its gradient is 0 where "
        "the variance is 0",
)

# ----- Extrema and products ---------------------------------------------------------------


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
    doc="largest element over axis (PyTorch's amax); tied maxima share the gradient evenly",
)

register(
    "min",
    forward=lambda x, ops, axis=None, keepdims=False: ops.min(x, axis, keepdims),
    grads=(_extremum_grad,),
    elementwise=False,
    cases=lambda draw: reduction_case(draw, unique=True),
    doc="smallest element over axis (PyTorch's amin); tied minima share the gradient evenly",
)


def _exclusive_cumprod(x: Any, ops: Any) -> Any:
    """Along the last axis, the product of the elements before each one (1 for the first)."""
    return ops.cumprod(ops.pad(ops.getitem(x, (Ellipsis, slice(None, -1))), pad=(1, 0),
                               value=1.0), -1)


@lru_cache(maxsize=256)
def _to_last(ndim: int, axis: Axis) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A permutation moving the axes of ``axis`` to the end, and its inverse."""
    axes = _axes(axis, ndim)
    order = tuple(a for a in range(ndim) if a not in axes) + axes
    return order, tuple(order.index(a) for a in range(ndim))


def _others_product(x: Any, axis: Axis, ops: Any) -> Any:
    """For each element, the product of the other elements it is reduced with."""
    order, inverse = _to_last(len(x.shape), axis)
    moved = ops.transpose(x, order)
    rows = ops.reshape(moved, (*_reduction(x.shape, axis).reduced, -1))
    others = _exclusive_cumprod(rows, ops) * ops.flip(_exclusive_cumprod(ops.flip(rows, -1),
                                                                         ops), -1)
    return ops.transpose(ops.reshape(others, moved.shape), inverse)


def _prod_grad(g: Any, x: Any, out: Any, ops: Any, axis: Axis = None,
               keepdims: bool = False) -> Any:
    kept = _kept(x.shape, axis)
    g = ops.reshape(g, kept)
    if not bool(ops.any(x == 0)):
        return g * ops.reshape(out, kept) / x
    # NOTE: with a zero factor out / x is 0 / 0: the product of the other factors is
    # formed directly (those before times those after), as PyTorch does.
    return g * _others_product(x, axis, ops)


def _prod_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # Small factors on a grid of step 1/8, so zeros (the special case) come up too.
    x = draw.array(draw.shape(max_side=3), low=-1.5, high=1.5)
    x = np.round(x * 8) / 8
    return (x,), {"axis": draw.axis(x.ndim), "keepdims": draw.boolean()}


register(
    "prod",
    forward=lambda x, ops, axis=None, keepdims=False: ops.prod(x, axis, keepdims),
    grads=(_prod_grad,),
    elementwise=False,
    cases=_prod_case,
    doc="product over axis (all axes by default); exact gradients with zero factors",
)

# ----- Scans ------------------------------------------------------------------------------


def _reverse_cumsum(x: Any, axis: int, ops: Any) -> Any:
    """Sums from each element to the end of the axis."""
    return ops.flip(ops.cumsum(ops.flip(x, axis), axis), axis)


def _cumsum_grad(g: Any, x: Any, out: Any, ops: Any, axis: int | None = None) -> Any:
    if axis is None:  # the scan ran over the flattened x
        return ops.reshape(_reverse_cumsum(g, 0, ops), x.shape)
    return _reverse_cumsum(g, axis, ops)


def _cumprod_grad(g: Any, x: Any, out: Any, ops: Any, axis: int | None = None) -> Any:
    if axis is None:  # the scan ran over the flattened x
        return ops.reshape(_cumprod_grad(g, ops.reshape(x, (-1,)), out, ops, 0), x.shape)
    if not bool(ops.any(x == 0)):
        # d out_j / d x_i = out_j / x_i for every j >= i.
        return _reverse_cumsum(g * out, axis, ops) / x
    # NOTE: with a zero factor out_j / x_i is 0 / 0, so the slopes are formed without
    # dividing. As PyTorch does, a plain backward takes an O(n) route, and a backward
    # recorded for second derivatives (on Tensors) an O(n^2) one that stays exact there.
    if isinstance(x, np.ndarray):
        return _cumprod_grad_at_zeros(g, x, out, axis, ops)
    return _cumprod_grad_pairwise(g, x, axis, ops)


def _cumprod_grad_at_zeros(g: Any, x: Any, out: Any, axis: int, ops: Any) -> Any:
    """Along each line, before its first zero (at z) the slopes are those without zeros;
    after z they are 0; at z the slope is the sum over j >= z of g_j times the product
    of x_0..x_j but x_z."""
    zero = x == 0
    seen = ops.cumsum(zero, axis)  # how many zeros up to here, inclusive
    before = seen == 0
    after = seen > zero  # strictly after the first zero
    slopes = ops.where(before, _reverse_cumsum(g * out, axis, ops) / ops.where(before, x, 1.0),
                       0.0)
    head = ops.prod(ops.where(before, x, 1.0), axis, True)  # x_0 * ... * x_(z-1)
    tails = ops.cumprod(ops.where(after, x, 1.0), axis)  # x_(z+1) * ... * x_j
    at_zero = head * ops.sum(ops.where(seen > 0, g * tails, 0.0), axis, True)
    return slopes + ops.where(zero & (seen == 1), at_zero, 0.0)


@lru_cache(maxsize=64)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """For pairs (i, j) of positions along an axis of length n: i == j, and j >= i."""
    same, later = np.eye(n, dtype=bool), np.tri(n, dtype=bool).T
    same.flags.writeable = later.flags.writeable = False
    return same, later


def _cumprod_grad_pairwise(g: Any, x: Any, axis: int, ops: Any) -> Any:
    """d out_j / d x_i, the product of x_0..x_j but x_i, for every pair (i, j) at once:
    O(n^2) memory along the axis, but a polynomial in x, so differentiable again."""
    lines = ops.moveaxis(x, source=axis, destination=-1)
    n = lines.shape[-1]
    same, later = _pairs(n)
    rows = (*lines.shape[:-1], 1, n)
    omitted = ops.cumprod(ops.where(same, 1.0, ops.reshape(lines, rows)), -1)  # [.., i, j]
    upstream = ops.reshape(ops.moveaxis(g, source=axis, destination=-1), rows)
    slopes = ops.sum(ops.where(later, upstream * omitted, 0.0), -1)
    return ops.moveaxis(slopes, source=-1, destination=axis)


def _scan_case(draw: Any, grid: bool = False) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(max_side=3), low=-1.5, high=1.5)
    if grid:
        x = np.round(x * 4) / 4  # zeros come up
    return (x,), {"axis": draw.axis(x.ndim, many=False)}


register(
    "cumsum",
    forward=lambda x, ops, axis=None: ops.cumsum(x, axis),
    grads=(_cumsum_grad,),
    elementwise=False,
    cases=_scan_case,
    doc="running sums x_0 + ... + x_i along axis (None: over the flattened x)",
)

register(
    "cumprod",
    forward=lambda x, ops, axis=None: ops.cumprod(x, axis),
    grads=(_cumprod_grad,),
    elementwise=False,
    cases=lambda draw: _scan_case(draw, grid=True),
    doc="running products x_0 * ... * x_i along axis (None: over the flattened x); "
        "exact gradients with zero factors",
)

# ----- Without a gradient: positions and truth values -------------------------------------


def _argument_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape(), unique=draw.boolean())
    return (x,), {"axis": draw.axis(x.ndim, many=False), "keepdims": draw.boolean()}


def _truth_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape()
    x = draw.array(shape) * draw.mask(shape)  # some zeros
    return (x,), {"axis": draw.axis(x.ndim), "keepdims": draw.boolean()}


register(
    "argmax",
    forward=lambda x, ops, axis=None, keepdims=False: ops.argmax(x, axis, keepdims),
    elementwise=False,
    cases=_argument_case,
    doc="int64 index of the largest element along axis (None: of the flattened x); the "
        "first one at a tie, and a NaN counts as the largest",
)

register(
    "argmin",
    forward=lambda x, ops, axis=None, keepdims=False: ops.argmin(x, axis, keepdims),
    elementwise=False,
    cases=_argument_case,
    doc="int64 index of the smallest element along axis (None: of the flattened x); the "
        "first one at a tie",
)

register(
    "any",
    forward=lambda x, ops, axis=None, keepdims=False: ops.any(x, axis, keepdims),
    elementwise=False,
    cases=_truth_case,
    doc="whether any element along axis is nonzero (boolean)",
)

register(
    "all",
    forward=lambda x, ops, axis=None, keepdims=False: ops.all(x, axis, keepdims),
    elementwise=False,
    cases=_truth_case,
    doc="whether every element along axis is nonzero (boolean)",
)

# ----- Softmax family (stable: the max is subtracted before exp) --------------------------
# NOTE: rows with an infinite max give PyTorch's results: a row of -inf (every entry
# masked) has logsumexp -inf and softmax and log_softmax NaN; a row holding +inf has
# logsumexp +inf and softmax NaN. A -inf entry in a finite row gets weight 0 and a zero
# gradient. Where PyTorch's result comes from inf - inf (NaN), ours does too, silently.


def _subtract(x: Any, top: Any, ops: Any) -> Any:
    """x - top, where inf - inf is NaN (as in IEEE arithmetic) without NumPy's warning."""
    if _all_finite(top, ops):
        return x - top
    clash = (x == top) & ops.isinf(top)
    return ops.where(clash, math.nan, x - ops.where(clash, 0.0, top))


def _logsumexp(x: Any, ops: Any, axis: Axis = -1, keepdims: bool = False) -> Any:
    shapes = _reduction(x.shape, axis)
    if shapes.size == 0:  # the log of an empty sum: -inf, as in PyTorch
        return ops.sum(x, axis, keepdims) - math.inf
    top = ops.max(x, axis, True)
    if _all_finite(top, ops):
        out = ops.log(ops.sum(ops.exp(x - top), axis, True)) + top
    else:  # an infinite (or NaN) max is the result itself
        finite = ops.isfinite(top)
        shift = ops.where(finite, top, 0.0)
        total = ops.sum(ops.exp(ops.where(finite, x - shift, 0.0)), axis, True)
        out = ops.where(finite, ops.log(total) + shift, top)
    return out if keepdims else ops.reshape(out, shapes.reduced)


register(
    "logsumexp",
    forward=_logsumexp,
    grads=(lambda g, x, out, ops, axis=-1, keepdims=False:
           ops.reshape(g, _kept(x.shape, axis)) *
           ops.exp(_subtract(x, ops.reshape(out, _kept(x.shape, axis)), ops)),),
    elementwise=False,
    cases=lambda draw: along_axis_case(draw, keepdims=True),
    doc="log(sum(exp(x))) along axis, stable for any magnitude; -inf over an empty axis",
)


def _shifted(x: Any, axis: Axis, ops: Any) -> Any:
    """x minus its max along axis: every entry <= 0, so exp cannot overflow."""
    return _subtract(x, ops.max(x, axis, True), ops)


def _softmax(x: Any, ops: Any, axis: Axis = -1) -> Any:
    if _reduction(x.shape, axis).size == 0:
        return x  # nothing to normalise (and an empty axis has no max)
    e = ops.exp(_shifted(x, axis, ops))
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
    if _reduction(x.shape, axis).size == 0:
        return x
    shifted = _shifted(x, axis, ops)
    return shifted - ops.log(ops.sum(ops.exp(shifted), axis, True))


register(
    "log_softmax",
    forward=_log_softmax,
    grads=(lambda g, x, out, ops, axis=-1: g - ops.exp(out) * ops.sum(g, axis, True),),
    elementwise=False,
    cases=along_axis_case,
    doc="x - logsumexp(x) along axis",
)
