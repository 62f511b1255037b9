"""tinygrad_nn: an autograd engine with a scalar graph (Value) and a tensor graph (Tensor)."""

from . import activations, nn, optim, testing
from ._autograd import grad
from ._engine import enable_grad, no_grad
from .io import load, save
from .tensor import Tensor, concatenate, maximum, stack, where
from .value import Value
from .viz import draw_graph

__all__ = [
    "Tensor",
    "Value",
    "activations",
    "concatenate",
    "draw_graph",
    "enable_grad",
    "grad",
    "load",
    "maximum",
    "nn",
    "no_grad",
    "optim",
    "save",
    "stack",
    "testing",
    "where",
]
