"""Registered ops on Tensors: how an op runs (``apply``), and every op as a method.

``apply`` runs an op's forward rule on the operands' arrays with the NumPy ``ops`` and
records a node; ``TensorEngine`` subscribes to the registry, so every op, built-in or
registered later, becomes a ``Tensor`` method (and an operator where Python has one).
A few methods add argument sugar on top (``x.reshape(2, 3)``, ``x[1:, None]``, ``x.T``).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import ops as registry
from ..ops.movement import swapped
from ..ops.namespace import NAMESPACE, OPERATORS
from ..ops.registry import OpDef
from .apply import TensorOps, apply, binary, function, run, unary, unary_with_params
from .array_ops import ArrayOps
from .tensor import Tensor, lift, plain_index, scalar, shape_arg

__all__ = ["TensorEngine"]


# ----- Methods ---------------------------------------------------------------------------


def _method(op: OpDef) -> Callable[..., Any]:
    """``op`` as a method: ``x.op(*other_inputs, *params, **params)``."""
    if not op.defaults and not op.variadic and not op.composite and not op.saves:
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
        """The axes permuted, as NumPy: ``x.transpose(1, 0, 2)``, ``x.transpose((1, 0))``,
        all reversed when none are given; and two axes swapped, as PyTorch:
        ``x.transpose(0, 1)`` (NOTE: for a matrix NumPy reads that as no change).
        """
        if len(axes) == 2 and all(isinstance(a, numbers.Integral) for a in axes):
            return apply(op, (self,), {"axes": _swap("transpose", self.ndim, *axes)})
        return apply(op, (self,), {"axes": shape_arg(axes) if axes else None})

    return transpose


def _swap(name: str, ndim: int, axis0: int, axis1: int) -> tuple[int, ...]:
    try:
        return swapped(ndim, axis0, axis1)
    except np.exceptions.AxisError as error:
        raise np.exceptions.AxisError(f"{name}: {error}") from None


def _swapaxes(op: OpDef) -> Callable[..., Tensor]:
    def swapaxes(self: Tensor, axis0: int, axis1: int) -> Tensor:
        """Axes axis0 and axis1 swapped (the ``transpose`` op)."""
        return apply(op, (self,), {"axes": _swap("swapaxes", self.ndim, axis0, axis1)})

    return swapaxes


def _permute(op: OpDef) -> Callable[..., Tensor]:
    def permute(self: Tensor, *axes: Any) -> Tensor:
        """The axes in the order given: ``x.permute(2, 0, 1)`` or ``x.permute((2, 0, 1))``."""
        return apply(op, (self,), {"axes": shape_arg(axes)})

    return permute


def _expand(op: OpDef) -> Callable[..., Tensor]:
    def expand(self: Tensor, *shape: Any) -> Tensor:
        """x repeated along length-1 axes and new leading ones, without copying, as
        PyTorch's expand: ``x.expand(4, -1)``, where -1 keeps an existing axis's length
        (the ``broadcast_to`` op)."""
        shape = shape_arg(shape)
        lead = len(shape) - self.ndim
        if lead < 0:
            raise ValueError(f"expand: shape {shape} has fewer axes than the tensor's "
                             f"{self.shape}")
        if -1 in shape[:lead]:
            raise ValueError(f"expand: shape {shape} puts -1 on a new leading axis")
        target = shape[:lead] + tuple(n if s == -1 else s
                                      for n, s in zip(self.shape, shape[lead:]))
        return apply(op, (self,), {"shape": target})

    return expand


def _repeat(op: OpDef) -> Callable[..., Tensor]:
    def repeat(self: Tensor, *repeats: Any) -> Tensor:
        """x tiled ``repeats[i]`` times along axis i: ``x.repeat(2, 1)``, as PyTorch (one
        entry per axis at least; extra entries add leading axes)."""
        return apply(op, (self,), {"repeats": shape_arg(repeats)})

    return repeat


def _tile(op: OpDef) -> Callable[..., Tensor]:
    def tile(self: Tensor, *reps: Any) -> Tensor:
        """x tiled as NumPy's tile: ``repeat`` with ``reps`` padded with leading ones."""
        given = shape_arg(reps)
        return apply(op, (self,), {"repeats": (1,) * (self.ndim - len(given)) + given})

    return tile


def _gather(op: OpDef) -> Callable[..., Tensor]:
    def gather(self: Tensor, axis: int, index: Any) -> Tensor:
        """Elements picked along ``axis`` by ``index``, in PyTorch's argument order:
        ``x.gather(1, index)``; ``out[i][j] = x[i][index[i][j]]`` for axis 1."""
        return apply(op, (self, plain_index(index)), {"axis": axis})

    return gather


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
    "permute": _permute,
    "broadcast_to": _shape_method,
    "sum_to": _shape_method,
    "repeat": _repeat,
    "gather": _gather,
    "astype": _astype,
}
# Aliases: another spelling of a registered op as a second Tensor method (NumPy's where
# the op has PyTorch's name, or PyTorch's where it has NumPy's), with its argument sugar.
# The node it makes is the op's own: drawings, errors and ops.names() use the op's name.
ALIASES: dict[str, tuple[str, Callable[[OpDef], Callable[..., Any]]]] = {
    "view": ("reshape", _reshape),
    "expand": ("broadcast_to", _expand),
    "swapaxes": ("transpose", _swapaxes),
    "expand_dims": ("unsqueeze", _method),
    "movedim": ("moveaxis", _method),
    "tile": ("repeat", _tile),
    "amax": ("max", _method),
    "amin": ("min", _method),
}
OPERATOR_SUGAR: dict[str, Callable[[OpDef], Callable[..., Any]]] = {
    "__getitem__": _getitem,
}
OPERATORS_BY_OP = {**OPERATORS, "getitem": ("__getitem__",)}
_ALIASES_BY_OP: dict[str, list[tuple[str, Callable[[OpDef], Callable[..., Any]]]]] = {}
for _alias, (_name, _factory) in ALIASES.items():
    _ALIASES_BY_OP.setdefault(_name, []).append((_alias, _factory))


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
        if op.name in ALIASES:
            raise ValueError(f"cannot register {op.name!r}: Tensor.{op.name} is an alias of "
                             f"the {ALIASES[op.name][0]!r} op")

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
            for alias, factory in _ALIASES_BY_OP.get(op.name, ()):
                method = _named(factory(op), alias, op)
                method.__doc__ = f"Alias of ``Tensor.{op.name}``. {method.__doc__}"
                put(Tensor, alias, method)
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
    forward, output = op.forward, op.output
    if op.variadic:
        return lambda self, *xs, **params: forward(*xs, ops=self, **params)
    if op.saves:
        return lambda self, *xs, **params: output(forward(*xs, self, **params))
    return lambda self, *xs, **params: forward(*xs, self, **params)


def _named(method: Callable[..., Any], name: str, op: OpDef) -> Callable[..., Any]:
    method.__name__ = name
    method.__qualname__ = f"Tensor.{name}"
    if not method.__doc__:
        method.__doc__ = op.doc or f"The {op.name!r} op."
    return method


registry.subscribe(TensorEngine())
