"""Convolution and pooling of image batches (Tensor only), built on sliding windows.

Images are (batch, channels, height, width), as in PyTorch. ``windows2d`` views a batch as
the window under each output position, (N, C, OH, OW, KH, KW), without copying; then a
convolution is one matrix product over (C, KH, KW) per group, and a pooling one reduction
over (KH, KW). Gradients go back through ``fold_windows2d``, which adds windows back into
an image: it is the adjoint of ``windows2d`` and ``windows2d`` is its adjoint, so every
rule here can be differentiated again under ``grad(create_graph=True)``.

Arguments follow ``torch.nn.functional``: ``kernel_size``, ``stride``, ``padding`` and
``dilation`` are an int or a pair (height, width); conv2d's ``padding`` may also be
``"valid"`` (none) or ``"same"`` (stride 1: the output keeps the input's size).
"""

from __future__ import annotations

import math
import operator
from functools import lru_cache, reduce
from typing import Any, NamedTuple

import numpy as np

from .registry import register

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))


# ----- Arguments and output sizes ----------------------------------------------------------


def _pair(name: str, value: Any, low: int) -> Pair:
    """An int or a pair of ints, each at least ``low``, as a pair."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  for v in items):
        raise TypeError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(items) < low:
        raise ValueError(f"{name} must be at least {low}, got {value!r}")
    return int(items[0]), int(items[1])


class Windows(NamedTuple):
    """Where the windows of an image batch lie: ``windows2d``'s parameters, and the number
    of windows down and across (OH, OW)."""

    kernel_size: Pair
    stride: Pair
    padding: Padding
    dilation: Pair
    out: Pair

    @property
    def params(self) -> dict[str, Any]:
        """The parameters of ``windows2d`` (and, but for ``kernel_size``, of its adjoint)."""
        return {"kernel_size": self.kernel_size, "stride": self.stride,
                "padding": self.padding, "dilation": self.dilation}

    @property
    def fold_params(self) -> dict[str, Any]:
        return {"stride": self.stride, "padding": self.padding, "dilation": self.dilation}


def _padding(value: Any, kernel: Pair, stride: Pair, dilation: Pair, words: bool) -> Padding:
    if words and value == "valid":
        return (0, 0), (0, 0)
    if words and value == "same":
        if stride != (1, 1):
            raise ValueError(f"padding='same' needs stride 1, got stride={stride}")
        # The extra row or column of an even kernel goes at the bottom or right, as PyTorch.
        spans = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (spans[0] // 2, spans[0] - spans[0] // 2), (spans[1] // 2, spans[1] - spans[1] // 2)
    if isinstance(value, str):
        allowed = "an int, a pair of ints, 'valid' or 'same'" if words else "an int or a pair"
        raise ValueError(f"padding must be {allowed}, got {value!r}")
    top, left = _pair("padding", value, 0)
    return (top, top), (left, left)


def _windows(shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any,
             dilation: Any, *, words: bool = False, pool: bool = False) -> Windows:
    """Check the arguments of a sliding-window op on images of ``shape``; where its windows lie."""
    if len(shape) != 4:
        raise ValueError(f"the input must be (batch, channels, height, width), got shape {shape}")
    if kernel_size is None:
        raise TypeError("kernel_size is required")
    kernel = _pair("kernel_size", kernel_size, 1)
    stride = kernel if stride is None else _pair("stride", stride, 1)
    dilation = _pair("dilation", dilation, 1)
    pads = _padding(padding, kernel, stride, dilation, words)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if pool and any(2 * max(pad) > span for pad, span in zip(pads, spans)):
        raise ValueError(f"padding {padding!r} is more than half the kernel size {kernel} "
                         f"(dilation {dilation}): a window could hold only padding")
    sizes = [n + sum(pad) for n, pad in zip(shape[2:], pads)]
    if any(size < span for size, span in zip(sizes, spans)):
        raise ValueError(f"the kernel {kernel} (spanning {tuple(spans)} with dilation "
                         f"{dilation}) is larger than the padded input {tuple(sizes)}")
    out = ((sizes[0] - spans[0]) // stride[0] + 1, (sizes[1] - spans[1]) // stride[1] + 1)
    return Windows(kernel, stride, pads, dilation, out)


def _floating(x: Any) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"expects a floating-point input, got dtype {x.dtype}")


# ----- The primitives: windows of an image, and their adjoint ------------------------------


def _draw_images(draw: Any, channels: int | None = None, pool: bool = False,
                 dilate: bool = True) -> tuple[tuple[int, ...], Windows]:
    """A small image batch shape, and kernel, stride, padding and dilation that fit it."""
    kernel = (draw.integers(1, 3), draw.integers(1, 3))
    dilation = (draw.integers(1, 2), draw.integers(1, 2)) if dilate else (1, 1)
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    padding = tuple(draw.integers(0, span // 2 if pool else 2) for span in spans)
    stride = (draw.integers(1, 2), draw.integers(1, 2))
    # A pool's windows must each hold an element of the image (not only padding): an image
    # at least as large as the kernel's span makes sure.
    smallest = [span if pool else max(1, span - 2 * pad) for span, pad in zip(spans, padding)]
    sizes = [n + draw.integers(0, 2) for n in smallest]
    shape = (draw.integers(1, 2), channels or draw.integers(1, 2), *sizes)
    return shape, _windows(shape, kernel, stride, padding, dilation, pool=pool)


def _windows_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape, geometry = _draw_images(draw)
    return (draw.array(shape),), geometry.params


def _fold_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape, geometry = _draw_images(draw)
    array = draw.array((*shape[:2], *geometry.out, *geometry.kernel_size))
    return (array,), {"shape": shape, **geometry.fold_params}


register(
    "windows2d",
    forward=lambda x, ops, kernel_size=(1, 1), stride=(1, 1), padding=((0, 0), (0, 0)),
    dilation=(1, 1), fill=0.0: ops.windows2d(x, kernel_size, stride, padding, dilation, fill),
    # The padding (filled with ``fill``, a constant) takes no gradient: the adjoint drops it.
    grads=(lambda g, x, out, ops, kernel_size=(1, 1), stride=(1, 1), padding=((0, 0), (0, 0)),
           dilation=(1, 1), fill=0.0:
           ops.fold_windows2d(g, x.shape, stride, padding, dilation),),
    elementwise=False,
    cases=_windows_case,
    doc="the sliding windows of images (N, C, H, W) padded with fill: (N, C, OH, OW, KH, KW), "
        "a view (PyTorch's unfold, before reshaping); padding is ((top, bottom), "
        "(left, right)), the other arguments (height, width) pairs",
)

register(
    "fold_windows2d",
    forward=lambda windows, ops, shape=(), stride=(1, 1), padding=((0, 0), (0, 0)),
    dilation=(1, 1): ops.fold_windows2d(windows, shape, stride, padding, dilation),
    grads=(lambda g, windows, out, ops, shape=(), stride=(1, 1), padding=((0, 0), (0, 0)),
           dilation=(1, 1):
           ops.windows2d(g, windows.shape[-2:], stride, padding, dilation),),
    elementwise=False,
    cases=_fold_case,
    doc="windows (N, C, OH, OW, KH, KW) added back into images of shape (N, C, H, W): the "
        "adjoint of windows2d (PyTorch's fold)",
)


def _max_mask_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape = (*draw.shape(max_dims=2), draw.integers(1, 3), draw.integers(1, 3))
    return (draw.array(shape, unique=draw.boolean()),), {}


register(
    "window_max_mask",
    forward=lambda windows, ops: ops.window_max_mask(windows),
    elementwise=False,
    cases=_max_mask_case,
    doc="1 at the first maximum of each window (the last two axes), else 0; no gradient",
)


# ----- Convolution --------------------------------------------------------------------------


class Conv(NamedTuple):
    """The layout of one conv2d: its windows, and the shapes its matrix products take (one
    product per group, batched over the G groups)."""

    geometry: Windows
    input_windows: tuple[int, ...]  # (N, C, OH, OW, KH, KW): what windows2d gives
    grouped_windows: tuple[int, ...]  # (N, G, C/G, OH, OW, KH, KW)
    columns: tuple[int, int, int]  # (G, C/G * KH * KW, N * OH * OW): im2col, per group
    column_windows: tuple[int, ...]  # (G, C/G, KH, KW, N, OH, OW): the columns unflattened
    weight_rows: tuple[int, int, int]  # (G, Cout/G, C/G * KH * KW)
    out_rows: tuple[int, int, int]  # (G, Cout/G, N * OH * OW)
    channels_first: tuple[int, int, int, int]  # (Cout, N, OH, OW)


_MATRIX_T = (0, 2, 1)  # transposes each matrix of a batch


@lru_cache(maxsize=256)
def _cached_conv(x_shape: tuple[int, ...], w_shape: tuple[int, ...],
                 b_shape: tuple[int, ...] | None, stride: Any, padding: Any, dilation: Any,
                 groups: Any) -> Conv:
    if len(w_shape) != 4:
        raise ValueError("the weight must be (out_channels, in_channels / groups, "
                         f"kernel_height, kernel_width), got shape {w_shape}")
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    groups = int(groups)
    geometry = _windows(x_shape, w_shape[2:], stride, padding, dilation, words=True)
    (n, c), (cout, c_group, kh, kw), (oh, ow) = x_shape[:2], w_shape, geometry.out
    if c != groups * c_group:
        raise ValueError(f"the input has {c} channels, but the weight of shape {w_shape} with "
                         f"groups={groups} takes {groups * c_group}")
    if cout % groups:
        raise ValueError(f"groups={groups} does not divide the {cout} output channels")
    if b_shape is not None and b_shape != (cout,):
        raise ValueError(f"the bias must have shape ({cout},), got {b_shape}")
    return Conv(
        geometry=geometry,
        input_windows=(n, c, oh, ow, kh, kw),
        grouped_windows=(n, groups, c_group, oh, ow, kh, kw),
        columns=(groups, c_group * kh * kw, n * oh * ow),
        column_windows=(groups, c_group, kh, kw, n, oh, ow),
        weight_rows=(groups, cout // groups, c_group * kh * kw),
        out_rows=(groups, cout // groups, n * oh * ow),
        channels_first=(cout, n, oh, ow),
    )


def _conv(inputs: tuple[Any, ...], stride: Any, padding: Any, dilation: Any, groups: Any
          ) -> tuple[Any, Any, Any, Conv]:
    """The inputs as (x, weight, bias or None), and the layout of their convolution."""
    if len(inputs) not in (2, 3):
        raise TypeError(f"takes (x, weight) or (x, weight, bias), got {len(inputs)} inputs; "
                        "give stride, padding, dilation and groups by keyword")
    x, w, b = (*inputs, None) if len(inputs) == 2 else inputs
    b_shape = None if b is None else np.shape(b)
    try:
        layout = _cached_conv(x.shape, w.shape, b_shape, stride, padding, dilation, groups)
    except TypeError as error:  # unhashable arguments (lists): check them without the cache
        if "unhashable" not in str(error):
            raise
        layout = _cached_conv.__wrapped__(x.shape, w.shape, b_shape, stride, padding,
                                          dilation, groups)
    return x, w, b, layout


def _columns(x: Any, layout: Conv, ops: Any) -> Any:
    """The windows of ``x`` as one matrix per group, (G, C/G * KH * KW, N * OH * OW): the one
    copy a convolution makes of its input (im2col)."""
    windows = ops.reshape(ops.windows2d(x, **layout.geometry.params), layout.grouped_windows)
    return ops.reshape(ops.transpose(windows, (1, 2, 5, 6, 0, 3, 4)), layout.columns)


def _conv2d(*inputs: Any, ops: Any, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
            groups: Any = 1) -> Any:
    x, w, b, layout = _conv(inputs, stride, padding, dilation, groups)
    _floating(x)
    out = ops.matmul(ops.reshape(w, layout.weight_rows), _columns(x, layout, ops))
    out = ops.reshape(out, layout.channels_first)  # (Cout, N, OH, OW): no copy
    if b is not None:
        out = out + ops.reshape(b, (-1, 1, 1, 1))
    return ops.transpose(out, (1, 0, 2, 3))


def _conv2d_grad(g: Any, *inputs: Any, out: Any, ops: Any, i: int, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, groups: Any = 1) -> Any:
    x, w, _, layout = _conv(inputs, stride, padding, dilation, groups)
    if i == 2:
        return ops.sum(g, axis=(0, 2, 3))
    g_rows = ops.reshape(ops.transpose(g, (1, 0, 2, 3)), layout.out_rows)
    if i == 1:  # each weight meets every window of its input channels
        # NOTE: as columns @ g_rows.T, transposed after: BLAS runs the product with the long
        # N * OH * OW axis summed ~1.5x faster with this operand order.
        columns = _columns(x, layout, ops)
        grad_t = ops.matmul(columns, ops.transpose(g_rows, _MATRIX_T))
        return ops.reshape(ops.transpose(grad_t, _MATRIX_T), w.shape)
    # The input: the gradient of each window (im2col's columns), folded back into images.
    w_rows = ops.reshape(w, layout.weight_rows)
    columns = ops.matmul(ops.transpose(w_rows, _MATRIX_T), g_rows)
    windows = ops.transpose(ops.reshape(columns, layout.column_windows), (4, 0, 1, 5, 6, 2, 3))
    windows = ops.reshape(windows, layout.input_windows)  # no copy: G, C/G are adjacent
    return ops.fold_windows2d(windows, x.shape, **layout.geometry.fold_params)


def _conv2d_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    groups = draw.integers(1, 2)
    c, cout = groups * draw.integers(1, 2), groups * draw.integers(1, 2)
    shape, geometry = _draw_images(draw, channels=c)
    padding: Any = geometry.padding[0][0], geometry.padding[1][0]
    if geometry.stride == (1, 1) and draw.boolean():
        padding = "same"
    inputs = [draw.array(shape), draw.array((cout, c // groups, *geometry.kernel_size))]
    if draw.boolean():
        inputs.append(draw.array((cout,)))
    return tuple(inputs), {"stride": geometry.stride, "padding": padding,
                           "dilation": geometry.dilation, "groups": groups}


register(
    "conv2d",
    forward=_conv2d,
    grads=_conv2d_grad,
    elementwise=False,
    cases=_conv2d_case,
    doc="2-d convolution (cross-correlation, as PyTorch) of x (N, C, H, W) with weight "
        "(Cout, C / groups, KH, KW), plus an optional bias (Cout,): (N, Cout, OH, OW)",
)


# ----- Pooling ------------------------------------------------------------------------------


def _pool(x: Any, kernel_size: Any, stride: Any, padding: Any, dilation: Any = 1) -> Windows:
    _floating(x)
    try:
        return _cached_pool(x.shape, kernel_size, stride, padding, dilation)
    except TypeError as error:
        if "unhashable" not in str(error):
            raise
        return _windows(x.shape, kernel_size, stride, padding, dilation, pool=True)


@lru_cache(maxsize=256)
def _cached_pool(shape: tuple[int, ...], kernel_size: Any, stride: Any, padding: Any,
                 dilation: Any) -> Windows:
    return _windows(shape, kernel_size, stride, padding, dilation, pool=True)


def _taps(windows: Any, ops: Any) -> list[Any]:
    """The (N, C, OH, OW) slice of ``windows`` at each kernel offset. Reducing a window one
    offset at a time is one elementwise op per offset, which NumPy runs ~20x faster than
    a reduction over the two short window axes of a strided view."""
    kh, kw = windows.shape[-2:]
    return [ops.getitem(windows, (..., p, q)) for p in range(kh) for q in range(kw)]


def _max_pool2d(x: Any, ops: Any, kernel_size: Any = None, stride: Any = None,
                padding: Any = 0, dilation: Any = 1) -> Any:
    geometry = _pool(x, kernel_size, stride, padding, dilation)
    # NOTE: padding is -inf, so it never wins (PyTorch's implicit padding).
    windows = ops.windows2d(x, **geometry.params, fill=-math.inf)
    return reduce(ops.maximum, _taps(windows, ops))


def _max_pool2d_grad(g: Any, x: Any, out: Any, ops: Any, kernel_size: Any = None,
                     stride: Any = None, padding: Any = 0, dilation: Any = 1) -> Any:
    geometry = _pool(x, kernel_size, stride, padding, dilation)
    # NOTE: at a tie the whole gradient goes to the first maximum of the window (in
    # row-major order), as PyTorch does; it is not split (max(axis=...) splits it).
    mask = ops.window_max_mask(ops.windows2d(x, **geometry.params, fill=-math.inf))
    routed = mask * ops.reshape(g, (*g.shape, 1, 1))
    return ops.fold_windows2d(routed, x.shape, **geometry.fold_params)


def _pool_case(draw: Any, unique: bool, dilate: bool) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shape, geometry = _draw_images(draw, pool=True, dilate=dilate)
    params = {"kernel_size": geometry.kernel_size, "stride": geometry.stride,
              "padding": (geometry.padding[0][0], geometry.padding[1][0])}
    if dilate:
        params["dilation"] = geometry.dilation
    return (draw.array(shape, unique=unique),), params


register(
    "max_pool2d",
    forward=_max_pool2d,
    grads=(_max_pool2d_grad,),
    elementwise=False,
    # Distinct values: no ties, which are the kinks of a maximum.
    cases=lambda draw: _pool_case(draw, unique=True, dilate=True),
    doc="the maximum of each kernel_size window of x (N, C, H, W), windows stride apart "
        "(stride defaults to kernel_size): (N, C, OH, OW)",
)


@lru_cache(maxsize=64)
def _window_sizes(shape: tuple[int, ...], geometry: Windows) -> np.ndarray:
    """How many elements of an image (not of its padding) each window holds: (OH, OW)."""
    counts = []
    for n, out, k, s, d, (before, _) in zip(shape[2:], geometry.out, geometry.kernel_size,
                                             geometry.stride, geometry.dilation,
                                             geometry.padding):
        rows = np.arange(out)[:, None] * s + np.arange(k) * d - before
        counts.append(((rows >= 0) & (rows < n)).sum(axis=1))
    sizes = np.outer(*counts).astype(np.float64)
    sizes.flags.writeable = False  # shared by every call with this geometry
    return sizes


def _divisor(x: Any, geometry: Windows, count_include_pad: bool) -> Any:
    """What each window's sum is divided by: the kernel's size, or (without
    ``count_include_pad``) the number of non-padding elements in the window."""
    if count_include_pad or geometry.padding == ((0, 0), (0, 0)):
        return float(math.prod(geometry.kernel_size))
    return _window_sizes(tuple(x.shape), geometry).astype(x.dtype)


def _avg_pool2d(x: Any, ops: Any, kernel_size: Any = None, stride: Any = None,
                padding: Any = 0, count_include_pad: bool = True) -> Any:
    geometry = _pool(x, kernel_size, stride, padding)
    taps = _taps(ops.windows2d(x, **geometry.params), ops)
    return reduce(operator.add, taps) / _divisor(x, geometry, count_include_pad)


def _avg_pool2d_grad(g: Any, x: Any, out: Any, ops: Any, kernel_size: Any = None,
                     stride: Any = None, padding: Any = 0, count_include_pad: bool = True) -> Any:
    geometry = _pool(x, kernel_size, stride, padding)
    share = ops.reshape(g / _divisor(x, geometry, count_include_pad), (*g.shape, 1, 1))
    spread = ops.broadcast_to(share, (*g.shape, *geometry.kernel_size))
    return ops.fold_windows2d(spread, x.shape, **geometry.fold_params)


def _avg_pool_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    inputs, params = _pool_case(draw, unique=False, dilate=False)
    return inputs, {**params, "count_include_pad": draw.boolean()}


register(
    "avg_pool2d",
    forward=_avg_pool2d,
    grads=(_avg_pool2d_grad,),
    elementwise=False,
    cases=_avg_pool_case,
    doc="the mean of each kernel_size window of x (N, C, H, W), windows stride apart "
        "(stride defaults to kernel_size); padding counts as zeros unless "
        "count_include_pad=False: (N, C, OH, OW)",
)
