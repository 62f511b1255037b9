"""Image layers of the tensor engine: ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``.

PyTorch's names, arguments, defaults and weight initialisation. Inputs are image batches
(batch, channels, height, width); each layer calls the registered op of the same
family (``conv2d``, ``max_pool2d``, ``avg_pool2d``), so its gradient, drawing label and
property tests come from there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor
from .module import Module

__all__ = ["AvgPool2d", "Conv2d", "MaxPool2d"]

IntOrPair = int | tuple[int, int]


def _images(x: Any, layer: str, dtype: np.dtype | None = None) -> Tensor:
    """``x`` as a 4-d Tensor; data that needs no gradient is cast to ``dtype`` (so float64
    NumPy data fed to a float32 layer does not promote every op to float64)."""
    if not isinstance(x, Tensor):
        x = Tensor(x, dtype=dtype)
    elif dtype is not None and x.dtype != dtype and not x.requires_grad:
        x = x.astype(dtype)
    if x.ndim != 4:
        raise ValueError(f"{layer}: expected images of shape (batch, channels, height, width), "
                         f"got {x.shape}")
    return x


def _pair(value: IntOrPair) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (value[0], value[1])


def _pair_repr(value: IntOrPair) -> str:
    return str(tuple(value)) if isinstance(value, (tuple, list)) else str(value)


class Conv2d(Module):
    """2-d convolution: (batch, in_channels, H, W) images to (batch, out_channels, OH, OW).

    ``weight`` is (out_channels, in_channels / groups, kernel_height, kernel_width) and
    ``bias`` (out_channels,); both start uniform in +-1/sqrt(fan_in), fan_in =
    in_channels / groups * kernel_height * kernel_width, as in ``torch.nn.Conv2d``.
    ``kernel_size``, ``stride``, ``padding`` and ``dilation`` are an int or a (height,
    width) pair; ``padding`` may also be "valid" or "same". Float32 by default.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair,
                 stride: IntOrPair = 1, padding: IntOrPair | str = 0, dilation: IntOrPair = 1,
                 groups: int = 1, bias: bool = True, *,
                 seed: int | np.random.Generator | None = None, dtype: Any = np.float32) -> None:
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Conv2d: groups={groups} must divide in_channels={in_channels} "
                             f"and out_channels={out_channels}")
        kh, kw = self.kernel_size = _pair(kernel_size)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.stride, self.dilation, self.groups = _pair(stride), _pair(dilation), groups
        self.padding = padding if isinstance(padding, str) else _pair(padding)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(in_channels // groups * kh * kw)
        shape = (out_channels, in_channels // groups, kh, kw)
        self.weight = Tensor(rng.uniform(-bound, bound, shape).astype(dtype), requires_grad=True)
        self.bias = Tensor(rng.uniform(-bound, bound, out_channels).astype(dtype),
                           requires_grad=True) if bias else None

    def forward(self, x: Any) -> Tensor:
        x = _images(x, "Conv2d", self.weight.dtype)
        if x.shape[1] != self.in_channels:
            raise ValueError(f"Conv2d: expected {self.in_channels} input channels, got images "
                             f"of shape {x.shape}")
        params = {"stride": self.stride, "padding": self.padding, "dilation": self.dilation,
                  "groups": self.groups}
        if self.bias is None:
            return x.conv2d(self.weight, **params)
        return x.conv2d(self.weight, self.bias, **params)

    def extra_repr(self) -> str:
        # As torch.nn.Conv2d: arguments at their defaults are left out.
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding!r}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class MaxPool2d(Module):
    """The maximum of each ``kernel_size`` window, windows ``stride`` apart (by default
    ``kernel_size``: no overlap). Padding is -inf; at a tie the gradient goes to the first
    maximum of the window, as in ``torch.nn.MaxPool2d``."""

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, dilation: IntOrPair = 1) -> None:
        self.kernel_size, self.stride = kernel_size, stride
        self.padding, self.dilation = padding, dilation

    def forward(self, x: Any) -> Tensor:
        return _images(x, "MaxPool2d").max_pool2d(self.kernel_size, self.stride, self.padding,
                                                  self.dilation)

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        return (f"kernel_size={_pair_repr(self.kernel_size)}, stride={_pair_repr(stride)}, "
                f"padding={_pair_repr(self.padding)}, dilation={_pair_repr(self.dilation)}")


class AvgPool2d(Module):
    """The mean of each ``kernel_size`` window, windows ``stride`` apart (by default
    ``kernel_size``). Padding counts as zeros in the mean unless ``count_include_pad=False``,
    as in ``torch.nn.AvgPool2d``."""

    def __init__(self, kernel_size: IntOrPair, stride: IntOrPair | None = None,
                 padding: IntOrPair = 0, count_include_pad: bool = True) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.count_include_pad = count_include_pad

    def forward(self, x: Any) -> Tensor:
        return _images(x, "AvgPool2d").avg_pool2d(self.kernel_size, self.stride, self.padding,
                                                  self.count_include_pad)

    def extra_repr(self) -> str:
        stride = self.kernel_size if self.stride is None else self.stride
        text = (f"kernel_size={_pair_repr(self.kernel_size)}, stride={_pair_repr(stride)}, "
                f"padding={_pair_repr(self.padding)}")
        return text + ("" if self.count_include_pad else ", count_include_pad=False")
