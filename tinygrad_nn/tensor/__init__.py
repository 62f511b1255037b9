"""The tensor engine: ``Tensor`` on NumPy, every registered op as a method, and ``grad``."""

from __future__ import annotations

from typing import Any

from .. import ops as registry
from . import inplace, methods  # noqa: F401  (methods installs the registered ops on Tensor)
from .apply import function
from .autograd import grad
from .tensor import Tensor

inplace.install()

__all__ = ["Tensor", "concatenate", "grad", "maximum", "minimum", "stack", "where"]


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
