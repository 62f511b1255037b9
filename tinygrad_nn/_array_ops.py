"""The NumPy side of the Tensor engine: the ``ops`` namespace rules see on arrays, and the
helpers that shape gradients (sum a broadcast gradient back down; scatter an indexed one).

Gradient rules and activation rules are written once against an ``ops`` namespace. A plain
``backward`` hands them ndarrays and an ``ArrayOps``; ``grad(create_graph=True)`` hands
them Tensors and a ``TensorOps`` (in ``tensor.py``) with the same names, which records a
graph. Nothing here knows about Tensors.
"""

from __future__ import annotations

import math
from functools import cache, lru_cache
from typing import Any

import numpy as np

__all__ = ["ArrayOps", "array_ops", "broadcast_to", "scatter_to", "sum_to"]


@lru_cache(maxsize=4096)
def _summed_axes(from_shape: tuple[int, ...], to_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Axes to sum so that an array of ``from_shape`` becomes ``to_shape`` (with keepdims)."""
    lead = len(from_shape) - len(to_shape)
    if lead < 0 or any(
        n != 1 and n != m for n, m in zip(to_shape, from_shape[lead:])
    ):
        raise ValueError(f"sum_to: shape {from_shape} does not broadcast from {to_shape}")
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(to_shape) if n == 1 and from_shape[lead + i] != 1
    )


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` down to ``shape``: the gradient of broadcasting ``shape`` up to ``g.shape``."""
    if g.shape == shape:
        return g
    summed = np.add.reduce(g, axis=_summed_axes(g.shape, shape), keepdims=True)
    return summed.reshape(shape)


# np.broadcast_to builds an iterator in Python (~4 µs); below this many elements a filled
# copy is cheaper, above it the zero-copy view wins.
_SMALL = 4096


def broadcast_to(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` repeated to ``shape``: the gradient of summing ``shape`` down to ``g.shape``."""
    if g.shape == shape:
        return g
    if math.prod(shape) <= _SMALL:
        out = np.empty(shape, dtype=g.dtype)
        out[...] = g
        return out
    return np.broadcast_to(g, shape)


def scatter_to(g: Any, shape: tuple[int, ...], index: Any, accumulate: bool) -> np.ndarray:
    """zeros(shape) with ``g`` added at ``index``: the gradient of ``x[index]``.

    ``accumulate`` is needed when an integer array may repeat an index (``x[[0, 0]]``):
    ``np.add.at`` then adds every copy, where plain assignment would keep only the last.
    """
    out = np.zeros(shape, dtype=g.dtype)
    if accumulate:
        np.add.at(out, index, g)
    else:
        out[index] = g
    return out


class ArrayOps:
    """The ``ops`` namespace that rules see on ndarrays of one floating dtype.

    It offers the activation registry's names (exp, log, log1p, tanh, sqrt, abs, minimum,
    maximum, where, zeros_like, ones_like) and the few more that gradient rules use.
    """

    __slots__ = ("_scalar", "dtype")

    exp = staticmethod(np.exp)
    log = staticmethod(np.log)
    log1p = staticmethod(np.log1p)
    tanh = staticmethod(np.tanh)
    sqrt = staticmethod(np.sqrt)
    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    zeros_like = staticmethod(np.zeros_like)
    ones_like = staticmethod(np.ones_like)
    broadcast_to = staticmethod(broadcast_to)
    sum_to = staticmethod(sum_to)
    scatter_to = staticmethod(scatter_to)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self._scalar = dtype.type

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        """``a`` where ``condition`` holds, else ``b``, in this namespace's dtype."""
        # NOTE: np.where(c, 1.0, 0.0) is float64 (no array operand to follow), which would
        # silently upcast float32 work; numbers take the namespace's dtype instead.
        a_number = type(a) is float or type(a) is int
        b_number = type(b) is float or type(b) is int
        if a_number and b_number and getattr(condition, "dtype", None) == np.bool_:
            # Selecting between two numbers is a mask multiply, exact for finite numbers
            # and about 10x faster than np.where, which branches on every element.
            if a == 1 and b == 0:
                return condition.astype(self.dtype)
            return condition * self._scalar(a) + ~condition * self._scalar(b)
        if a_number:
            a = self._scalar(a)
        if b_number:
            b = self._scalar(b)
        return np.where(condition, a, b)


@cache
def array_ops(dtype: np.dtype) -> ArrayOps:
    """The (cached) ``ArrayOps`` for ``dtype``."""
    return ArrayOps(dtype)
