"""Shape, indexing and joining ops (Tensor only): each moves elements, so each gradient
moves them back (reshape back, transpose back, scatter back, slice back)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .registry import register


def _inverse(axes: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The permutation that undoes ``axes`` (None reverses every axis, its own inverse)."""
    if axes is None:
        return None
    inverse = [0] * len(axes)
    for i, a in enumerate(axes):
        inverse[a % len(axes)] = i
    return tuple(inverse)


def _reshape_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    target = draw.choice([(x.size,), (1, x.size), (x.size, 1), x.shape[::-1], (-1,)])
    return (x,), {"shape": target}


register(
    "reshape",
    forward=lambda x, ops, shape=(): ops.reshape(x, shape),
    grads=(lambda g, x, out, ops, shape=(): ops.reshape(g, x.shape),),
    elementwise=False,
    cases=_reshape_case,
    doc="the same elements in a new shape (one entry may be -1)",
)


def _transpose_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    x = draw.array(draw.shape())
    axes = draw.choice([None, tuple(draw.permutation(range(x.ndim)))])
    return (x,), {"axes": axes}


register(
    "transpose",
    forward=lambda x, ops, axes=None: ops.transpose(x, axes),
    grads=(lambda g, x, out, ops, axes=None: ops.transpose(g, _inverse(axes)),),
    elementwise=False,
    cases=_transpose_case,
    doc="the axes permuted (reversed when axes is None)",
)


def _smaller_and_larger(draw: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A shape and one it broadcasts to (some axes 1 or missing in the smaller)."""
    large = draw.shape()
    keep = draw.integers(0, len(large))
    small = tuple(1 if draw.boolean() else n for n in large[len(large) - keep:])
    return small, large


def _broadcast_to_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    small, large = _smaller_and_larger(draw)
    return (draw.array(small),), {"shape": large}


def _sum_to_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    small, large = _smaller_and_larger(draw)
    return (draw.array(large),), {"shape": small}


register(
    "broadcast_to",
    forward=lambda x, ops, shape=(): ops.broadcast_to(x, shape),
    grads=(lambda g, x, out, ops, shape=(): ops.sum_to(g, x.shape),),
    elementwise=False,
    cases=_broadcast_to_case,
    doc="x repeated along new or length-1 axes to shape (PyTorch's expand)",
)

register(
    "sum_to",
    forward=lambda x, ops, shape=(): ops.sum_to(x, shape),
    grads=(lambda g, x, out, ops, shape=(): ops.broadcast_to(g, x.shape),),
    elementwise=False,
    cases=_sum_to_case,
    doc="x summed down to shape, undoing a broadcast (the adjoint of broadcast_to)",
)


def repeats_possible(index: Any) -> bool:
    """Whether ``index`` holds an integer array, which may pick one element twice."""
    for part in index if type(index) is tuple else (index,):
        if type(part) is np.ndarray and part.dtype.kind in "iu":
            return True
    return False


def _getitem_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape()
    return (draw.array(shape),), {"index": draw.index(shape)}


def _scatter_to_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape()
    index = draw.index(shape)
    picked = np.zeros(shape)[index].shape
    return (draw.array(picked),), {"shape": shape, "index": index,
                                   "accumulate": repeats_possible(index)}


register(
    "getitem",
    forward=lambda x, ops, index=(): ops.getitem(x, index),
    # NOTE: an integer array may pick one element several times; its gradient adds up.
    grads=(lambda g, x, out, ops, index=():
           ops.scatter_to(g, x.shape, index, repeats_possible(index)),),
    elementwise=False,
    cases=_getitem_case,
    doc="x[index]: slices, integers, None, Ellipsis, boolean masks and integer arrays",
)

register(
    "scatter_to",
    forward=lambda x, ops, shape=(), index=(), accumulate=True:
        ops.scatter_to(x, shape, index, accumulate),
    grads=(lambda g, x, out, ops, shape=(), index=(), accumulate=True: ops.getitem(g, index),),
    elementwise=False,
    cases=_scatter_to_case,
    doc="zeros(shape) with x added at index (the adjoint of x[index])",
)


def _concatenate_grad(g: Any, *xs: Any, out: Any, ops: Any, i: int, axis: int = 0) -> Any:
    # Input i's gradient is its own slice of g along the joined axis.
    axis %= len(out.shape)
    start = sum(x.shape[axis] for x in xs[:i])
    part = slice(start, start + xs[i].shape[axis])
    return ops.getitem(g, (slice(None),) * axis + (part,))


def _concatenate_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape(min_dims=1)
    axis = draw.integers(-len(shape), len(shape) - 1)
    at = axis % len(shape)
    sizes = [draw.integers(1, 3) for _ in range(draw.integers(1, 3))]
    parts = [(*shape[:at], k, *shape[at + 1:]) for k in sizes]
    return tuple(draw.array(p) for p in parts), {"axis": axis}


register(
    "concatenate",
    forward=lambda *xs, ops, axis=0: ops.concatenate(xs, axis),
    grads=_concatenate_grad,
    elementwise=False,
    method=False,
    cases=_concatenate_case,
    doc="tensors joined along an existing axis",
)


def _stack_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = draw.shape()
    axis = draw.integers(-len(shape) - 1, len(shape))
    return tuple(draw.array(shape) for _ in range(draw.integers(1, 3))), {"axis": axis}


register(
    "stack",
    forward=lambda *xs, ops, axis=0: ops.stack(xs, axis),
    grads=lambda g, *xs, out, ops, i, axis=0:
        ops.getitem(g, (slice(None),) * (axis % len(out.shape)) + (i,)),
    elementwise=False,
    method=False,
    cases=_stack_case,
    doc="same-shape tensors joined along a new axis",
)


def _astype_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any], dict[str, float]]:
    # Through float32: a float32 rounding step is ~1e-7 relative, so a wider finite
    # difference (and tolerance) is needed to see the slope through it.
    return (draw.array(draw.shape()),), {"dtype": np.float32}, \
        {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3}


register(
    "astype",
    forward=lambda x, ops, dtype=np.float32: ops.astype(x, dtype),
    # Between floating dtypes the slope is 1; an integer result carries no gradient.
    grads=(lambda g, x, out, ops, dtype=np.float32: ops.astype(g, x.dtype),),
    elementwise=False,
    cases=_astype_case,
    doc="the data cast to dtype",
)
