"""Registered ops on Tensors: how an op runs (``apply``), and every op as a method.

``apply`` runs an op's forward rule on the operands' arrays with the NumPy ``ops`` and
records a node; ``TensorEngine`` subscribes to the registry, so every op, built-in or
registered later, becomes a ``Tensor`` method (and an operator where Python has one).
A few methods add argument sugar on top (``x.reshape(2, 3)``, ``x[1:, None]``, ``x.T``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops as registry
from ..ops.namespace import NAMESPACE, OPERATORS
from ..ops.registry import OpDef
from .apply import TensorOps, apply, binary, function, run, unary, unary_with_params
from .array_ops import ArrayOps
from .tensor import Tensor, lift, plain_index, scalar, shape_arg

__all__ = ["TensorEngine"]


# ----- Methods ---------------------------------------------------------------------------


def _method(op: OpDef) -> Callable[..., Any]:
    """``op`` as a method: ``x.op(*other_inputs, *params, **params)``."""
    if not op.defaults and not op.variadic and not op.composite:
        if len(op.inputs) == 1:
            return unary(op)
        if len(op.inputs) == 2:
            return binary(op)

    if len(op.inputs) == 1 and not op.variadic and not op.composite:
        return unary_with_params(op)

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Any:
        return apply(op, *op.split((self, *args), kwargs))

    return method


def _operator(op: OpDef) -> Callable[..., Any]:
    """``self (op) other``. A comparison with an operand of an unknown type gives
    NotImplemented (so ``==`` falls back to identity); arithmetic names the bad operand."""
    method = _method(op)
    if op.grads is not None or len(op.inputs) != 2:
        return method

    def comparison(self: Tensor, other: Any) -> Any:
        if type(other) is not Tensor and scalar(other) is None and lift(other) is None:
            return NotImplemented
        return method(self, other)

    return comparison


# Argument sugar: the registered op with the calling conventions NumPy and PyTorch users
# expect. Each takes the op record and returns the method.


def _reshape(op: OpDef) -> Callable[..., Tensor]:
    def reshape(self: Tensor, *shape: Any) -> Tensor:
        """The same elements in a new shape: ``x.reshape(2, 3)`` or ``x.reshape((2, 3))``."""
        return apply(op, (self,), {"shape": shape_arg(shape)})

    return reshape


def _transpose(op: OpDef) -> Callable[..., Tensor]:
    def transpose(self: Tensor, *axes: Any) -> Tensor:
        """The axes permuted: ``x.transpose(1, 0, 2)``; all reversed when none are given."""
        return apply(op, (self,), {"axes": shape_arg(axes) if axes else None})

    return transpose


def _shape_method(op: OpDef) -> Callable[..., Tensor]:
    def method(self: Tensor, *shape: Any) -> Tensor:
        return apply(op, (self,), {"shape": shape_arg(shape)})

    method.__doc__ = op.doc
    return method


def _getitem(op: OpDef) -> Callable[..., Tensor]:
    def getitem(self: Tensor, index: Any) -> Tensor:
        """x[index]: slices, integers, None, Ellipsis, boolean masks and integer arrays.

        Integer arrays may repeat an element; its gradient then adds up every copy.
        """
        data = self._data
        operands = (self,)
        return run(op, operands, operands, (data,), data.dtype, {"index": plain_index(index)})

    return getitem


def _astype(op: OpDef) -> Callable[..., Tensor]:
    def astype(self: Tensor, dtype: Any) -> Tensor:
        """The data cast to ``dtype``; differentiable between floating dtypes."""
        dtype = np.dtype(dtype)
        if dtype == self._data.dtype:
            return self
        return apply(op, (self,), {"dtype": dtype})

    return astype


SUGAR: dict[str, Callable[[OpDef], Callable[..., Any]]] = {
    "reshape": _reshape,
    "transpose": _transpose,
    "broadcast_to": _shape_method,
    "sum_to": _shape_method,
    "astype": _astype,
}
OPERATOR_SUGAR: dict[str, Callable[[OpDef], Callable[..., Any]]] = {
    "__getitem__": _getitem,
}
OPERATORS_BY_OP = {**OPERATORS, "getitem": ("__getitem__",)}


class TensorEngine:
    """Installs every registered op on ``Tensor`` and in the array and Tensor ``ops``."""

    def __init__(self) -> None:
        self.installed: dict[str, list[tuple[type, str]]] = {}

    def check(self, op: OpDef) -> None:
        owned = {entry for entries in self.installed.values() for entry in entries}
        for name in self._method_names(op):
            if name in vars(Tensor) and (Tensor, name) not in owned:
                raise ValueError(f"cannot register {op.name!r}: Tensor.{name} already "
                                 "exists and is not a registered op")

    def install(self, op: OpDef) -> None:
        added = self.installed.setdefault(op.name, [])

        def put(cls: type, name: str, attribute: Any) -> None:
            setattr(cls, name, attribute)
            added.append((cls, name))

        if op.name not in NAMESPACE:  # a primitive stays native; other ops run their rule
            put(ArrayOps, op.name, _derived(op))
        if op.name not in vars(TensorOps):
            put(TensorOps, op.name, staticmethod(function(op)))
        if op.method:
            factory = SUGAR.get(op.name, _method)
            put(Tensor, op.name, _named(factory(op), op.name, op))
        for dunder in OPERATORS_BY_OP.get(op.name, ()):
            if dunder in OPERATOR_SUGAR:
                method = OPERATOR_SUGAR[dunder](op)
            elif dunder.startswith("__r") and dunder != "__rshift__":
                method = binary(op, reflected=True)
            else:
                method = _operator(op)
            put(Tensor, dunder, _named(method, dunder, op))

    def uninstall(self, op: OpDef) -> None:
        for cls, name in self.installed.pop(op.name, []):
            delattr(cls, name)

    @staticmethod
    def _method_names(op: OpDef) -> tuple[str, ...]:
        return ((op.name,) if op.method else ()) + OPERATORS_BY_OP.get(op.name, ())


def _derived(op: OpDef) -> Callable[..., Any]:
    """A registered op in the array namespace: its forward rule on this namespace."""
    forward = op.forward
    if op.variadic:
        return lambda self, *xs, **params: forward(*xs, ops=self, **params)
    return lambda self, *xs, **params: forward(*xs, self, **params)


def _named(method: Callable[..., Any], name: str, op: OpDef) -> Callable[..., Any]:
    method.__name__ = name
    method.__qualname__ = f"Tensor.{name}"
    if not method.__doc__:
        method.__doc__ = op.doc or f"The {op.name!r} op."
    return method


registry.subscribe(TensorEngine())
