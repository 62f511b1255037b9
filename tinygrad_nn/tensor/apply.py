"""How a registered op runs on Tensors (``apply``), and the ``ops`` namespace of Tensors.

``apply`` runs an op's forward rule on the operands' arrays with the NumPy ``ops`` and
records a node. ``TensorOps`` is the namespace that gradient rules see under
``grad(create_graph=True)`` (and composite ops always): every name is a registered op
applied to Tensors, so the rules' own computations are recorded and can be
differentiated again.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np

from .. import ops as registry
from ..ops.registry import OpDef
from .array_ops import _BY_DTYPE as _ARRAY_OPS
from .array_ops import array_ops
from .tensor import Tensor, constant, lift, make, operand_error, scalar

__all__ = ["TensorOps", "apply", "binary", "finish", "function", "result_array", "run",
           "tensor_ops", "unary", "unary_with_params"]


def _operands(op: OpDef, given: tuple[Any, ...]) -> tuple[tuple[Any, ...], tuple[Tensor, ...]]:
    """The operands as Tensors or Python numbers (weak scalars), and the Tensors among them."""
    operands: list[Any] = []
    tensors: list[Tensor] = []
    for x in given:
        if type(x) is not Tensor:
            number = scalar(x)
            if number is not None:
                operands.append(number)
                continue
            lifted = lift(x)
            if lifted is None:
                raise operand_error(x, op.name)
            x = lifted
        operands.append(x)
        tensors.append(x)
    return tuple(operands), tuple(tensors)


def _dtype(op: OpDef, operands: tuple[Any, ...]) -> np.dtype | None:
    """The dtype the op computes in: NumPy's promotion of its Tensor inputs' dtypes, leaving
    out inputs that take no gradient (an index, a mask). None when no Tensor counts."""
    rules = op.grads
    dtype = None
    for i, x in enumerate(operands):
        if type(x) is not Tensor or (rules is not None and not op.variadic and rules[i] is None):
            continue
        d = x._data.dtype
        if dtype is None:
            dtype = d
        elif d is not dtype:
            dtype = np.promote_types(dtype, d)
    return dtype


def _shapes(operands: tuple[Any, ...]) -> str:
    """``(2, 3) and (4,)``: the operands' shapes (numbers as themselves), for messages."""
    parts = [str(x._data.shape) if type(x) is Tensor else repr(x) for x in operands]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _error(op: OpDef, operands: tuple[Any, ...], error: Exception) -> Exception:
    """``error`` raised inside op ``op``, re-raised naming the op and its operands' shapes."""
    shapes = _shapes(operands)
    text = str(error)
    if "could not be broadcast" in text:
        message = f"{op.name}: cannot broadcast shapes {shapes}"
    elif all(str(x._data.shape) in text for x in operands if type(x) is Tensor):
        message = f"{op.name}: {text}"
    else:
        message = f"{op.name}: {text} (input shapes {shapes})"
    if isinstance(error, np.exceptions.AxisError):
        return np.exceptions.AxisError(message)
    return type(error)(message)


def result_array(data: Any, dtype: np.dtype, params: dict[str, Any]) -> np.ndarray:
    """A forward rule's result as an array: a NumPy scalar becomes one, and a floating
    result keeps the inputs' floating dtype unless the op's parameters choose one (rules
    may mix in float64: a NumPy constant, ``where(c, 1.0, 0.0)``)."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    result = data.dtype
    if result is not dtype and result.kind == "f" and dtype.kind == "f" \
            and result != dtype and "dtype" not in params:
        data = data.astype(dtype)
    return data


def finish(op: OpDef, data: Any, dtype: np.dtype, operands: tuple[Any, ...],
           tensors: tuple[Tensor, ...], arrays: Any, params: dict[str, Any]) -> Tensor:
    """The forward rule's result as a node (see ``result_array``)."""
    saved = None
    if op.saves:
        data, saved = data
    return make(result_array(data, dtype, params), op, operands, tensors, arrays, params,
                dtype, saved)


def run(op: OpDef, operands: tuple[Any, ...], tensors: tuple[Tensor, ...], arrays: Any,
        dtype: np.dtype, params: dict[str, Any]) -> Tensor:
    """Run ``op``'s forward rule on ``arrays`` (the operands' data) in ``dtype``; a node."""
    if op.deriv is not None and dtype.kind != "f":
        raise TypeError(f"{op.name} expects a floating-point tensor, got dtype {dtype}")
    ops = _ARRAY_OPS.get(dtype) or array_ops(dtype)
    try:
        if op.variadic:
            data = op.forward(*arrays, ops=ops, **params)
        else:
            data = op.forward(*arrays, ops, **params)
    except (ValueError, IndexError, TypeError) as error:
        raise _error(op, operands, error) from None
    return finish(op, data, dtype, operands, tensors, arrays, params)


def apply(op: OpDef, given: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """Run ``op`` on Tensors, arrays and numbers with parameters ``params``: a new node."""
    operands, tensors = _operands(op, given)
    dtype = _dtype(op, operands)
    if dtype is None:
        dtype = np.dtype(np.float64)
    if op.composite:
        return op.forward(*operands, tensor_ops(dtype), **params)
    arrays = [x._data if type(x) is Tensor else x for x in operands]
    return run(op, operands, tensors, arrays, dtype, params)


# The methods below are ``run`` unrolled for the calls that dominate training steps
# (operators, activations, reductions): each Python call saved is a few percent there.


def unary(op: OpDef) -> Callable[[Tensor], Tensor]:
    """A one-input op without parameters as a method: ``x.exp()``, ``x.relu()``, ``-x``."""
    forward, floating_only = op.forward, op.deriv is not None
    no_params: dict[str, Any] = {}

    def method(self: Tensor) -> Tensor:
        operands = (self,)
        x = self._data
        dtype = x.dtype
        if floating_only and dtype.kind != "f":
            raise TypeError(f"{op.name} expects a floating-point tensor, got dtype {dtype}")
        try:
            data = forward(x, _ARRAY_OPS.get(dtype) or array_ops(dtype))
        except (ValueError, IndexError, TypeError) as error:
            raise _error(op, operands, error) from None
        if type(data) is np.ndarray and data.dtype is dtype:
            return make(data, op, operands, operands, (x,), no_params, dtype)
        return finish(op, data, dtype, operands, operands, (x,), no_params)

    return method


def unary_with_params(op: OpDef) -> Callable[..., Tensor]:
    """A one-input op with parameters as a method: ``x.sum(axis=0)``, ``x.leaky_relu(0.1)``."""
    defaults = op.defaults  # shared by every call that passes none: never changed

    def method(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        params = op.bind(args, kwargs) if args or kwargs else defaults
        data = self._data
        operands = (self,)
        return run(op, operands, operands, (data,), data.dtype, params)  # type: ignore[arg-type]

    return method


def binary(op: OpDef, reflected: bool = False) -> Callable[[Tensor, Any], Tensor]:
    """A two-input op without parameters as a method, ``self (op) other`` (``other (op)
    self`` when ``reflected``): the arithmetic operators."""
    forward = op.forward
    no_params: dict[str, Any] = {}

    def method(self: Tensor, other: Any) -> Tensor:
        operands: tuple[Any, ...]
        tensors: tuple[Tensor, ...]
        a: Any
        b: Any
        if type(other) is Tensor:
            operands = tensors = (other, self) if reflected else (self, other)
            a, b = operands[0]._data, operands[1]._data
            dtype = a.dtype
            if b.dtype is not dtype:
                dtype = _dtype(op, operands) or dtype
        else:
            number = scalar(other)
            if number is None:
                return apply(op, (other, self) if reflected else (self, other), no_params)
            tensors = (self,)
            dtype = self._data.dtype
            if reflected:
                operands, a, b = (number, self), number, self._data
            else:
                operands, a, b = (self, number), self._data, number
        try:
            data = forward(a, b, _ARRAY_OPS.get(dtype) or array_ops(dtype))
        except (ValueError, IndexError, TypeError) as error:
            raise _error(op, operands, error) from None
        if type(data) is np.ndarray and data.dtype is dtype:
            return make(data, op, operands, tensors, (a, b), no_params, dtype)
        return finish(op, data, dtype, operands, tensors, (a, b), no_params)

    return method


def function(op: OpDef) -> Callable[..., Any]:
    """``op`` as a function of Tensors, arrays and numbers: ``f(*inputs, **params)``."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return apply(op, *op.split(args, kwargs))

    return call




class TensorOps:
    """The ``ops`` namespace on Tensors of one dtype: registered ops that record nodes.

    The tensor engine installs every registered op here by name (see ``methods``); the
    few below add what only a namespace of one dtype knows.
    """

    __slots__ = ("dtype",)

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def _constant(self, x: Any) -> Any:
        # A number branch takes this namespace's dtype (np.where would make it float64).
        if isinstance(x, (int, float)):
            return constant(np.asarray(x, dtype=self.dtype), fixed=True)
        return x

    def where(self, condition: Any, a: Any, b: Any) -> Any:
        if type(condition) is bool:  # decided in Python: nothing to record
            return a if condition else b
        return apply(registry.get("where"), (condition, self._constant(a), self._constant(b)), {})

    def zeros_like(self, x: Any) -> Tensor:
        return constant(np.zeros(np.shape(x._data if isinstance(x, Tensor) else x),
                                 dtype=self.dtype), fixed=True)

    def ones_like(self, x: Any) -> Tensor:
        return constant(np.ones(np.shape(x._data if isinstance(x, Tensor) else x),
                                dtype=self.dtype), fixed=True)


@cache
def tensor_ops(dtype: np.dtype) -> TensorOps:
    """The (cached) ``TensorOps`` for ``dtype``."""
    return TensorOps(dtype)


