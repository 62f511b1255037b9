"""tinygrad_nn: an autograd engine with a scalar graph (Value) and a tensor graph (Tensor)."""

from . import activations, testing
from ._engine import enable_grad, no_grad
from .value import Value

__all__ = ["Value", "activations", "enable_grad", "no_grad", "testing"]
