"""The tensor engine: ``Tensor`` on NumPy, every registered op as a method, and ``grad``."""

from __future__ import annotations

from typing import Any

from .. import ops as registry
from . import inplace, methods  # noqa: F401  (methods installs the registered ops on Tensor)
from .apply import function
from .autograd import grad
from .creation import arange, eye, full, full_like, linspace, ones_like, rand, randint, zeros_like
from .recorded import RecordedStep, record_step
from .tensor import Tensor, plain_index
from .threads import get_num_threads, set_num_threads

inplace.install()

__all__ = ["RecordedStep", "Tensor", "arange", "concatenate", "einsum", "eye", "full",
           "full_like", "gather", "get_num_threads", "grad", "linspace", "maximum", "minimum",
           "ones_like", "rand", "randint", "record_step", "set_num_threads", "stack", "where",
           "zeros_like"]


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcasting); no gradient reaches the
    condition, and none reaches the branch not taken."""
    return function(registry.get("where"))(condition, a, b)


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise max(a, b), broadcasting; NOTE: at a tie each gets half the gradient."""
    return function(registry.get("maximum"))(a, b)


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise min(a, b), broadcasting; NOTE: at a tie each gets half the gradient."""
    return function(registry.get("minimum"))(a, b)


def concatenate(tensors: Any, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    return function(registry.get("concatenate"))(*tensors, axis=axis)


def stack(tensors: Any, axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis."""
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    return function(registry.get("stack"))(*tensors, axis=axis)


def einsum(subscripts: str, *operands: Any) -> Tensor:
    """Einstein summation, as ``numpy.einsum`` and ``torch.einsum``: ``einsum("ij,jk->ik",
    a, b)``; any subscripts (repeated letters, ``...``, implicit output), with gradients.
    The operands may also come as one list: ``einsum("i,i", [a, b])``."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    return function(registry.get("einsum"))(*operands, subscripts=subscripts)


def gather(x: Any, axis: int, index: Any) -> Tensor:
    """Elements of ``x`` picked along ``axis`` by ``index`` (PyTorch's argument order):
    ``out[i][j] = x[index[i][j]][j]`` for axis 0. No gradient reaches ``index``."""
    return function(registry.get("gather"))(x, plain_index(index), axis=axis)
