"""The ``ops`` namespace on ndarrays: the tensor engine's primitives, from NumPy.

Forward rules and plain ``backward`` run on these; ``grad(create_graph=True)`` hands the
same rules a ``TensorOps`` (``tensor_ops.py``) with the same names, which records a graph.
Also here: the helpers that shape gradients (sum a broadcast gradient back down, scatter an
indexed one). Nothing here knows about Tensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
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
    shape = tuple(shape)
    if g.shape == shape:
        return g
    summed = np.add.reduce(g, axis=_summed_axes(g.shape, shape), keepdims=True)
    return summed.reshape(shape)


# np.broadcast_to builds an iterator in Python (~4 µs); below this many elements a filled
# copy is cheaper, above it the zero-copy view wins.
_SMALL = 4096


def broadcast_to(g: Any, shape: tuple[int, ...]) -> Any:
    """``g`` repeated to ``shape``: the gradient of summing ``shape`` down to ``g.shape``."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    try:
        if math.prod(shape) <= _SMALL and len(shape) >= g.ndim:
            out = np.empty(shape, dtype=g.dtype)
            out[...] = g
            return out
        return np.broadcast_to(g, shape)
    except ValueError:
        raise ValueError(f"cannot broadcast shape {g.shape} to {shape}") from None


def scatter_to(g: Any, shape: tuple[int, ...], index: Any, accumulate: bool = True) -> Any:
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
    """The ``ops`` namespace that rules see on ndarrays of one dtype (see ``ops.namespace``)."""

    __slots__ = ("_scalar", "dtype")

    exp = staticmethod(np.exp)
    exp2 = staticmethod(np.exp2)
    expm1 = staticmethod(np.expm1)
    log = staticmethod(np.log)
    log2 = staticmethod(np.log2)
    log10 = staticmethod(np.log10)
    log1p = staticmethod(np.log1p)
    sqrt = staticmethod(np.sqrt)
    pow = staticmethod(np.power)
    sin = staticmethod(np.sin)
    cos = staticmethod(np.cos)
    tan = staticmethod(np.tan)
    arcsin = staticmethod(np.arcsin)
    arccos = staticmethod(np.arccos)
    arctan = staticmethod(np.arctan)
    sinh = staticmethod(np.sinh)
    cosh = staticmethod(np.cosh)
    tanh = staticmethod(np.tanh)
    arcsinh = staticmethod(np.arcsinh)
    arccosh = staticmethod(np.arccosh)
    arctanh = staticmethod(np.arctanh)
    abs = staticmethod(np.abs)
    sign = staticmethod(np.sign)
    floor = staticmethod(np.floor)
    ceil = staticmethod(np.ceil)
    trunc = staticmethod(np.trunc)
    round = staticmethod(np.round)
    isnan = staticmethod(np.isnan)
    isinf = staticmethod(np.isinf)
    isfinite = staticmethod(np.isfinite)
    minimum = staticmethod(np.minimum)
    maximum = staticmethod(np.maximum)
    broadcast_to = staticmethod(broadcast_to)
    sum_to = staticmethod(sum_to)
    scatter_to = staticmethod(scatter_to)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype
        self._scalar = dtype.type

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        """``a`` where ``condition`` holds, else ``b``, in this namespace's dtype."""
        a_number = type(a) is float or type(a) is int
        b_number = type(b) is float or type(b) is int
        if a_number and b_number:
            if type(condition) is bool:  # decided in Python (a rule's test on a number)
                return a if condition else b
            # Selecting between two numbers is a mask multiply, about 10x faster than
            # np.where (which branches on every element); exact, as both are finite.
            if a == 1 and b == 0 and condition.dtype == np.bool_:
                return condition.astype(self.dtype)
            if -math.inf < a < math.inf and -math.inf < b < math.inf \
                    and condition.dtype == np.bool_:
                return condition * self._scalar(a) + ~condition * self._scalar(b)
        elif type(condition) is bool:
            return a if condition else b
        # NOTE: np.where(c, 1.0, 0.0) is float64 (no array operand to follow), which would
        # silently upcast float32 work; numbers take the namespace's dtype instead.
        if a_number:
            a = self._scalar(a)
        if b_number:
            b = self._scalar(b)
        return np.where(condition, a, b)

    def zeros_like(self, x: Any) -> Any:
        return np.zeros(np.shape(x), dtype=self.dtype)

    def ones_like(self, x: Any) -> Any:
        return np.ones(np.shape(x), dtype=self.dtype)

    # ----- Tensor-only primitives ------------------------------------------------------

    @staticmethod
    def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.add.reduce(x, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]

    @staticmethod
    def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.maximum.reduce(x, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]

    @staticmethod
    def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.minimum.reduce(x, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]

    @staticmethod
    def reshape(x: Any, shape: Sequence[int]) -> Any:
        return x.reshape(shape)

    @staticmethod
    def transpose(x: Any, axes: Sequence[int] | None = None) -> Any:
        return x.transpose(axes)

    @staticmethod
    def getitem(x: Any, index: Any) -> Any:
        return x[index]

    @staticmethod
    def concatenate(xs: Sequence[Any], axis: int = 0) -> Any:
        return np.concatenate(xs, axis=axis)

    @staticmethod
    def stack(xs: Sequence[Any], axis: int = 0) -> Any:
        return np.stack(xs, axis=axis)

    @staticmethod
    def astype(x: Any, dtype: Any) -> Any:
        return x.astype(dtype)

    @staticmethod
    def matmul(a: Any, b: Any) -> Any:
        try:
            return np.matmul(a, b)
        except ValueError:
            raise ValueError(_matmul_error(np.shape(a), np.shape(b))) from None


def _matmul_error(a: tuple[int, ...], b: tuple[int, ...]) -> str:
    if not a or not b:
        return f"shapes {a} and {b}: a 0-d operand cannot be matrix-multiplied"
    inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
    if inner_a != inner_b:
        return f"shapes {a} and {b} are not aligned ({inner_a} != {inner_b})"
    return f"shapes {a} and {b}: the batch dimensions cannot broadcast"


_BY_DTYPE: dict[np.dtype, ArrayOps] = {}


def array_ops(dtype: np.dtype) -> ArrayOps:
    """The (cached) ``ArrayOps`` for ``dtype``."""
    ops = _BY_DTYPE.get(dtype)
    if ops is None:
        ops = _BY_DTYPE.setdefault(dtype, ArrayOps(np.dtype(dtype)))
    return ops
