"""Every op of both engines, declared once: ``register``, ``get``, ``names``.

>>> from tinygrad_nn import ops, Value, Tensor
>>> ops.register(
...     "logaddexp",
...     forward=lambda a, b, ops: ops.maximum(a, b) + ops.log1p(ops.exp(-ops.abs(a - b))),
...     grads=(lambda g, a, b, out, ops: g * ops.exp(a - out),
...            lambda g, a, b, out, ops: g * ops.exp(b - out)),
...     domain=(-5.0, 5.0),
...     doc="log(exp(a) + exp(b))",
... )
>>> Value(1.0).logaddexp(2.0)                       # a method on both engines
>>> Tensor([1.0, 2.0]).logaddexp(Tensor([0.5, 0.5]))

The built-in ops are declared with this same call, by family: ``elementwise``
(arithmetic, elementary functions, comparisons), ``activations`` (through the one-input
shorthand), and the Tensor-only ``reduce``, ``movement``, ``linalg`` and ``conv``.
``namespace`` lists the primitives every engine hands the rules as ``ops``.
"""

from __future__ import annotations

# isort: off
# The built-in ops, family by family, in the order ops.names() lists them.
from . import elementwise, activations, reduce, movement, linalg, conv  # noqa: F401
# isort: on
from .namespace import ELEMENTWISE, NAMESPACE, TENSOR
from .registry import OpDef, freeze_builtins, get, names, register, subscribe, unregister

freeze_builtins()

__all__ = [
    "ELEMENTWISE",
    "NAMESPACE",
    "TENSOR",
    "OpDef",
    "get",
    "names",
    "register",
    "subscribe",
    "unregister",
]
