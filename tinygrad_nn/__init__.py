"""tinygrad_nn: an autograd engine with a scalar graph (Value) and a tensor graph (Tensor).

Every op is declared once in the registry (``tinygrad_nn.ops``) and exists on both
engines, as a method and as a function here: ``tinygrad_nn.exp(x)`` works on a Value or
a Tensor (numbers and arrays become Tensors), and so does any op registered later.
"""

from __future__ import annotations

from typing import Any

from . import data, datasets, nn, ops, optim, testing
from ._version import __version__ as __version__  # "as": an explicit re-export
from .functions import function
from .graph import detect_anomaly, enable_grad, no_grad
from .io import load, save
from .ops import activations
from .scalar import Value
from .tensor import (
    Tensor,
    arange,
    concatenate,
    einsum,
    eye,
    full,
    full_like,
    gather,
    get_num_threads,
    grad,
    linspace,
    maximum,
    minimum,
    ones_like,
    rand,
    randint,
    record_step,
    set_num_threads,
    stack,
    where,
    zeros_like,
)
from .viz import draw_graph, save_html, save_svg

__all__ = [
    "Tensor",
    "Value",
    "activations",
    "concatenate",
    "data",
    "datasets",
    "detect_anomaly",
    "draw_graph",
    "enable_grad",
    "get_num_threads",
    "grad",
    "load",
    "maximum",
    "minimum",
    "nn",
    "no_grad",
    "ops",
    "optim",
    "record_step",
    "save",
    "set_num_threads",
    "stack",
    "testing",
    "where",
]
# Creation functions, and the functions whose PyTorch argument order differs from the
# registered op's (einsum's subscripts first, gather's axis before its index).
__all__ += ["arange", "einsum", "eye", "full", "full_like", "gather", "linspace",
            "ones_like", "rand", "randint", "zeros_like"]
__all__ += ["save_html", "save_svg"]  # pictures, beside draw_graph


def __getattr__(name: str) -> Any:
    # Every registered op is a function of the package, including ops registered after
    # import: looked up in the registry when asked for.
    if name in ops.names():
        return function(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(ops.names()))
