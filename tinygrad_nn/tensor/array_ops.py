"""The ``ops`` namespace on ndarrays: the tensor engine's primitives, from NumPy.

Forward rules and plain ``backward`` run on these; ``grad(create_graph=True)`` hands the
same rules a ``TensorOps`` (``tensor_ops.py``) with the same names, which records a graph.
Also here: the helpers that shape gradients (sum a broadcast gradient back down, scatter an
indexed one). Nothing here knows about Tensors.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache, partial
from typing import Any

import numpy as np

__all__ = ["ArrayOps", "array_ops", "broadcast_to", "erf", "erfc", "fold_windows2d", "power",
           "scatter_to", "sum_to", "window_max_mask", "windows2d"]


@lru_cache(maxsize=4096)
def _sum_plan(from_shape: tuple[int, ...], to_shape: tuple[int, ...]
              ) -> tuple[tuple[int, ...], bool]:
    """Axes to sum so that an array of ``from_shape`` becomes ``to_shape``, and whether the
    sum must keep them and reshape (it need not when only leading axes go, the common case
    of a bias: the plain sum is then a fresh array of ``to_shape``)."""
    lead = len(from_shape) - len(to_shape)
    if lead < 0 or any(
        n != 1 and n != m for n, m in zip(to_shape, from_shape[lead:])
    ):
        raise ValueError(f"sum_to: shape {from_shape} does not broadcast from {to_shape}")
    inner = tuple(lead + i for i, n in enumerate(to_shape) if n == 1 and from_shape[lead + i] != 1)
    return tuple(range(lead)) + inner, bool(inner) or not to_shape


def sum_to(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` down to ``shape``: the gradient of broadcasting ``shape`` up to ``g.shape``."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    axes, keep = _sum_plan(g.shape, shape)
    if not keep:
        return np.add.reduce(g, axis=axes)
    return np.add.reduce(g, axis=axes, keepdims=True).reshape(shape)


# NumPy reduces max and min along a short last axis one row at a time (14 µs for 256 rows
# of 10 logits); across the rows of the transposed copy the same reduction is vectorised
# (3 µs). Measured: a gain from 32 rows of at most 32 entries; fewer rows or longer ones
# lose.
_SHORT_ROW, _MANY_ROWS = 32, 32


def extreme(ufunc: np.ufunc, x: Any, axis: Any = None, keepdims: bool = False) -> Any:
    """``ufunc.reduce`` (``np.maximum`` or ``np.minimum``) of ``x`` along ``axis``."""
    if type(axis) is int and type(x) is np.ndarray and x.size >= _MANY_ROWS and \
            (axis == -1 or axis == x.ndim - 1):
        width = x.shape[-1]
        if 0 < width <= _SHORT_ROW and x.size >= _MANY_ROWS * width:
            rows = ufunc.reduce(x.reshape(-1, width).T.copy(), axis=0)
            return rows.reshape((*x.shape[:-1], 1) if keepdims else x.shape[:-1])
    return ufunc.reduce(x, axis=axis, keepdims=keepdims)


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


# ----- Elementwise primitives that NumPy lacks or that warn -------------------------------


def power(a: Any, b: Any) -> Any:
    """IEEE ``a ** b``, as C, PyTorch and the ``pow`` op document: ``0 ** -1`` is inf and a
    negative base with a fractional exponent is NaN, without NumPy's RuntimeWarnings."""
    if (type(b) is float or type(b) is int) and b >= 0 and float(b).is_integer():
        return np.power(a, b)  # x ** 2 and friends: nothing to silence
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.power(a, b)


# erf and erfc after W. J. Cody, "Rational Chebyshev approximations for the error
# function", Math. Comp. 23 (1969), with the coefficients of his double-precision
# tables: erf(x) = x R(x^2) for |x| <= 0.46875, and beyond it erfc(y) = exp(-y^2) R(y)
# up to y = 4, exp(-y^2) / y (1/sqrt(pi) + R(1/y^2) / y^2) above. Accurate to a few
# rounding errors of float64 (tests compare with math.erf and math.erfc).
_ERF_NEAR = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
             3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_NEAR_DEN = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
                 2.84423683343917062e03)
_ERFC_MID = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
             2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
             2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERFC_MID_DEN = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
                 1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
                 3.43936767414372164e03, 1.23033935480374942e03)
_ERFC_FAR = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
             1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_FAR_DEN = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
                 6.05183413124413191e-2, 2.33520497626869185e-3)
_RSQRT_PI = 0.56418958354775628695  # 1 / sqrt(pi)
_NEAR_ZERO = 0.46875  # |x| up to which erf is computed directly
_ERFC_UNDERFLOW = 28.0  # erfc(x) is 0.0 in float64 from about x = 27.3 on


def _erf_near_zero(x: np.ndarray) -> np.ndarray:
    """erf(x) for |x| <= 0.46875."""
    z = x * x
    num, den = _ERF_NEAR[4] * z, z
    for p, q in zip(_ERF_NEAR[:3], _ERF_NEAR_DEN[:3]):
        num, den = (num + p) * z, (den + q) * z
    return x * (num + _ERF_NEAR[3]) / (den + _ERF_NEAR_DEN[3])


def _erfc_positive(y: np.ndarray) -> np.ndarray:
    """erfc(y) for 0.46875 <= y <= 28."""
    mid = np.minimum(y, 4.0)
    num, den = _ERFC_MID[8] * mid, mid
    for p, q in zip(_ERFC_MID[:7], _ERFC_MID_DEN[:7]):
        num, den = (num + p) * mid, (den + q) * mid
    ratio = (num + _ERFC_MID[7]) / (den + _ERFC_MID_DEN[7])
    far = y > 4.0
    if far.any():
        v = np.maximum(y, 4.0)
        z = 1.0 / (v * v)
        num, den = _ERFC_FAR[5] * z, z
        for p, q in zip(_ERFC_FAR[:4], _ERFC_FAR_DEN[:4]):
            num, den = (num + p) * z, (den + q) * z
        tail = (_RSQRT_PI - z * (num + _ERFC_FAR[4]) / (den + _ERFC_FAR_DEN[4])) / v
        ratio = np.where(far, tail, ratio)
    # exp(-y^2) as exp(-s^2) exp(-(y - s)(y + s)) with s = y cut to 1/16ths: s^2 is exact,
    # so the rounding of y^2 (relative error 1e-16, absolute up to 1e-13) stays out.
    s = np.trunc(y * 16.0) / 16.0
    return np.exp(-s * s) * np.exp(-(y - s) * (y + s)) * ratio


def _float64(x: Any) -> tuple[np.ndarray, np.dtype]:
    """``x`` as float64 (the approximations need its precision) and the dtype to return."""
    x = np.asarray(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)
    return x.astype(np.float64, copy=False), dtype


def _by_magnitude(x: Any, near_zero: Any, from_tail: Any) -> np.ndarray:
    """Elementwise in float64: ``near_zero(x)`` where |x| is small, else
    ``from_tail(x, erfc(|x|))``; the result in a floating input's dtype, float64 otherwise."""
    x, dtype = _float64(x)
    y = np.abs(x)
    near = y <= _NEAR_ZERO
    if near.all():
        return near_zero(x).astype(dtype, copy=False)
    out = from_tail(x, _erfc_positive(np.clip(y, _NEAR_ZERO, _ERFC_UNDERFLOW)))
    if near.any():
        out = np.where(near, near_zero(np.clip(x, -_NEAR_ZERO, _NEAR_ZERO)), out)
    return out.astype(dtype, copy=False)


def erf(x: Any) -> np.ndarray:
    """The error function, 2/sqrt(pi) * integral of exp(-t^2) from 0 to x, elementwise.

    Computed in float64 whatever the input (float32 included); the result has a floating
    input's dtype, float64 otherwise.
    """
    return _by_magnitude(x, _erf_near_zero, lambda x, tail: np.copysign(1.0 - tail, x))


def erfc(x: Any) -> np.ndarray:
    """The complementary error function, 1 - erf(x), accurate where erf(x) is near 1.

    Computed in float64 whatever the input (float32 included); the result has a floating
    input's dtype, float64 otherwise.
    """
    return _by_magnitude(x, lambda x: 1.0 - _erf_near_zero(x),
                         lambda x, tail: np.where(x < 0, 2.0 - tail, tail))


# ----- Convolution and pooling primitives (Tensor only; the ops are in ops/conv.py) -------
# An image batch is (N, C, H, W). ``windows2d`` views it as the window under each output
# position, (N, C, OH, OW, KH, KW), without copying (padding aside); ``fold_windows2d``
# adds such windows back into an image. Each is the other's adjoint. The only Python
# loop is over the KH * KW kernel offsets, never over pixels.

Pairs = tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right)) padding


def windows2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
              padding: Pairs, dilation: tuple[int, int], fill: float = 0.0) -> np.ndarray:
    """A read-only view of ``x`` (N, C, H, W), padded with ``fill``, as its sliding windows:
    ``out[n, c, i, j, p, q] = x[n, c, i*sh + p*dh, j*sw + q*dw]``, of shape
    (N, C, OH, OW, KH, KW) and ``x``'s dtype. The caller checks that OH, OW >= 1."""
    (top, bottom), (left, right) = padding
    if top or bottom or left or right:
        n, c, h, w = x.shape
        padded = np.full((n, c, h + top + bottom, w + left + right), fill, dtype=x.dtype)
        padded[:, :, top:top + h, left:left + w] = x
        x = padded
    (kh, kw), (sh, sw), (dh, dw) = kernel_size, stride, dilation
    n, c, h, w = x.shape
    oh, ow = (h - dh * (kh - 1) - 1) // sh + 1, (w - dw * (kw - 1) - 1) // sw + 1
    s_n, s_c, s_h, s_w = x.strides
    return np.lib.stride_tricks.as_strided(
        x, (n, c, oh, ow, kh, kw), (s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw),
        writeable=False)


def fold_windows2d(windows: np.ndarray, shape: tuple[int, ...], stride: tuple[int, int],
                   padding: Pairs, dilation: tuple[int, int]) -> np.ndarray:
    """Windows (N, C, OH, OW, KH, KW) added back into an (N, C, H, W) image of ``shape``
    where ``windows2d`` took them from (what falls on the padding is dropped): its adjoint,
    so the gradient of ``windows2d``. Same dtype as ``windows``."""
    n, c, oh, ow, kh, kw = windows.shape
    (top, bottom), (left, right) = padding
    (sh, sw), (dh, dw) = stride, dilation
    h, w = shape[2], shape[3]
    out = _zeros((n, c, h + top + bottom, w + left + right), windows.dtype,
                 channels_outer=windows.strides[1] > windows.strides[0])
    for p in range(kh):
        rows = slice(p * dh, p * dh + sh * (oh - 1) + 1, sh)
        for q in range(kw):
            out[:, :, rows, q * dw:q * dw + sw * (ow - 1) + 1:sw] += windows[..., p, q]
    return out[:, :, top:top + h, left:left + w]


def window_max_mask(windows: np.ndarray) -> np.ndarray:
    """1 at the first maximum of each window (the last two axes, in row-major order), 0
    elsewhere: where max pooling sends its gradient, one element per window even at a tie,
    as PyTorch does (a NaN counts as the maximum). Shape and dtype of ``windows``.

    Computed one kernel offset at a time: a few elementwise passes over (N, C, OH, OW)
    per offset, which NumPy runs many times faster than an argmax over two short axes.
    """
    *outer, kh, kw = windows.shape
    taps = [windows[..., p, q] for p in range(kh) for q in range(kw)]
    best = taps[0]
    for tap in taps[1:]:
        best = np.maximum(best, tap)
    mask = np.empty((kh * kw, *outer), dtype=windows.dtype)
    taken = np.zeros(outer, dtype=bool)
    for k, tap in enumerate(taps):
        hit = (tap == best) | (tap != tap)
        hit &= ~taken
        taken |= hit
        mask[k] = hit
    # Built offset-major (each offset's plane contiguous), returned as a view in window order.
    return np.moveaxis(mask.reshape(kh, kw, *outer), (0, 1), (-2, -1))


def _zeros(shape: tuple[int, ...], dtype: np.dtype, channels_outer: bool) -> np.ndarray:
    """zeros((N, C, ...)), laid out channel by channel when ``channels_outer``: adding
    windows into an image is several times faster when both share one memory order (a
    convolution's output, and so its gradient, is laid out channel by channel)."""
    if not channels_outer:
        return np.zeros(shape, dtype=dtype)
    return np.zeros((shape[1], shape[0], *shape[2:]), dtype=dtype).swapaxes(0, 1)


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
    pow = staticmethod(power)
    erf = staticmethod(erf)
    erfc = staticmethod(erfc)
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
    # Convolution and pooling (see the section above this class)
    windows2d = staticmethod(windows2d)
    fold_windows2d = staticmethod(fold_windows2d)
    window_max_mask = staticmethod(window_max_mask)

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

    max = staticmethod(partial(extreme, np.maximum))
    min = staticmethod(partial(extreme, np.minimum))

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

    @staticmethod
    def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.multiply.reduce(x, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]

    @staticmethod
    def cumsum(x: Any, axis: int | None = None) -> Any:
        return np.cumsum(x, axis=axis)

    @staticmethod
    def cumprod(x: Any, axis: int | None = None) -> Any:
        return np.cumprod(x, axis=axis)

    @staticmethod
    def argmax(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return np.argmax(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def argmin(x: Any, axis: int | None = None, keepdims: bool = False) -> Any:
        return np.argmin(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def any(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        # The ufunc reduction directly: np.any's Python wrapper costs more than the work.
        return np.logical_or.reduce(x, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]

    @staticmethod
    def all(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        return np.logical_and.reduce(x, axis=axis, keepdims=keepdims)  # type: ignore[call-overload]

    @staticmethod
    def flip(x: Any, axis: Any = None) -> Any:
        return np.flip(x, axis=axis)

    @staticmethod
    def roll(x: Any, shifts: Any = 0, axis: Any = None) -> Any:
        return np.roll(x, shifts, axis=axis)

    @staticmethod
    def einsum(*operands: Any, subscripts: str = "") -> Any:
        # NumPy's contraction-order search costs ~10 us: worth it for three or more
        # operands, or large ones (where it hands pairs to BLAS), not for small pairs.
        optimize = len(operands) > 2 or max(np.size(x) for x in operands) > _SMALL
        return np.einsum(subscripts, *operands, optimize=optimize)


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
