"""Every op of both engines, declared once: ``register``, ``get``, ``names``.

>>> from tinygrad_nn import ops, Value, Tensor
>>> ops.register(
...     "soft_maximum",
...     forward=lambda a, b, ops, t=1.0:
...         ops.maximum(a, b) + t * ops.log1p(ops.exp(-ops.abs(a - b) / t)),
...     grads=(lambda g, a, b, out, ops, t=1.0: g * ops.exp((a - out) / t),
...            lambda g, a, b, out, ops, t=1.0: g * ops.exp((b - out) / t)),
...     domain=(-5.0, 5.0),
...     doc="t log(exp(a/t) + exp(b/t)): a smooth maximum",
... )
>>> Value(1.0).soft_maximum(2.0)                       # a method on both engines
>>> Tensor([1.0, 2.0]).soft_maximum(Tensor([0.5, 0.5]), t=0.5)

The built-in ops are declared with this same call, by family: ``elementwise``
(arithmetic, elementary functions, comparisons), ``activations`` (through the one-input
shorthand), and the Tensor-only ``reduce``, ``movement``, ``linalg``, ``conv`` and ``losses``.
``namespace`` lists the primitives every engine hands the rules as ``ops``.
"""

from __future__ import annotations

# isort: off
# The built-in ops, family by family, in the order ops.names() lists them.
from . import elementwise, activations, reduce, movement, linalg, conv, losses  # noqa: F401
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
