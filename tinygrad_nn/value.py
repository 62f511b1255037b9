"""The scalar graph: every number is a ``Value`` node (the micrograd idea).

Each op computes its output and, at the same moment, its local derivatives with respect
to each input (plain floats in ``_local``, aligned with ``_prev``). Backward is then one
loop of multiply-adds over a topological order. No node holds a closure or a reference
to its outputs, so graphs contain no reference cycles and are freed by reference counting
as soon as they are dropped.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

from . import activations
from ._engine import _mode, toposort

__all__ = ["Value"]

Number: TypeAlias = int | float
Operand: TypeAlias = "Value | int | float"

_new = object.__new__


def _node(data: float, prev: tuple[Value, ...], local: tuple[float, ...], op: str) -> Value:
    """Make a result node; outside ``no_grad`` it remembers its inputs and local grads."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    if _mode.enabled:
        out._prev = prev
        out._local = local
    else:
        out._prev = out._local = ()
    out._op = op
    return out


def _is_number(x: object) -> TypeGuard[int | float]:
    # bool is an int subclass, but Value(True) is almost always a mistake.
    kind = type(x)
    if kind is float or kind is int:
        return True
    return isinstance(x, numbers.Real) and kind is not bool


def _number(x: object, where: str) -> float:
    if not _is_number(x):
        raise TypeError(f"{where} expects Values or real numbers, got {type(x).__name__}")
    return float(x)


def _as_term(x: object, where: str) -> tuple[float, list[Value], list[float]]:
    """The start of an n-ary sum: its value, and its node (with local grad 1) if any."""
    if type(x) is Value:
        return x.data, [x], [1.0]
    return _number(x, where), [], []


class _ScalarOps:
    """The ``ops`` namespace that activation rules see on the scalar engine."""

    exp = staticmethod(math.exp)
    log = staticmethod(math.log)
    log1p = staticmethod(math.log1p)
    tanh = staticmethod(math.tanh)
    sqrt = staticmethod(math.sqrt)
    abs = staticmethod(abs)
    minimum = staticmethod(min)
    maximum = staticmethod(max)

    @staticmethod
    def where(condition: bool, a: float, b: float) -> float:
        return a if condition else b

    @staticmethod
    def zeros_like(x: float) -> float:
        return 0.0

    @staticmethod
    def ones_like(x: float) -> float:
        return 1.0


SCALAR_OPS = _ScalarOps()


class Value:
    """A scalar in a computation graph, with the gradient of the last backward in ``grad``."""

    __slots__ = ("_g", "_local", "_op", "_prev", "data", "grad")

    data: float
    grad: float
    _prev: tuple[Value, ...]
    _local: tuple[float, ...]
    _op: str
    _g: float  # scratch: gradient flowing during one backward pass

    def __init__(self, data: Number) -> None:
        if not _is_number(data):
            raise TypeError(f"Value expects a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self._prev = ()
        self._local = ()
        self._op = ""

    if TYPE_CHECKING:
        # Activation methods (relu, sigmoid, ...) are attached by the registry at import.
        def __getattr__(self, name: str) -> Callable[..., Value]: ...

    def __repr__(self) -> str:
        op = f", op={self._op!r}" if self._op else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{op})"

    # ----- Arithmetic ----------------------------------------------------------------
    # Each method handles a Value operand and a plain number; numbers never become nodes.

    def __add__(self, other: Operand) -> Value:
        if type(other) is Value:
            return _node(self.data + other.data, (self, other), (1.0, 1.0), "+")
        if _is_number(other):
            return _node(self.data + other, (self,), (1.0,), "+")
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: Operand) -> Value:
        if type(other) is Value:
            return _node(self.data - other.data, (self, other), (1.0, -1.0), "-")
        if _is_number(other):
            return _node(self.data - other, (self,), (1.0,), "-")
        return NotImplemented

    def __rsub__(self, other: Number) -> Value:
        if _is_number(other):
            return _node(other - self.data, (self,), (-1.0,), "-")
        return NotImplemented

    def __mul__(self, other: Operand) -> Value:
        if type(other) is Value:
            return _node(self.data * other.data, (self, other), (other.data, self.data), "*")
        if _is_number(other):
            return _node(self.data * other, (self,), (float(other),), "*")
        return NotImplemented

    __rmul__ = __mul__

    def __truediv__(self, other: Operand) -> Value:
        if type(other) is Value:
            b = other.data
            out = self.data / b
            return _node(out, (self, other), (1.0 / b, -out / b), "/")
        if _is_number(other):
            return _node(self.data / other, (self,), (1.0 / other,), "/")
        return NotImplemented

    def __rtruediv__(self, other: Number) -> Value:
        if _is_number(other):
            out = other / self.data
            return _node(out, (self,), (-out / self.data,), "/")
        return NotImplemented

    def __neg__(self) -> Value:
        return _node(-self.data, (self,), (-1.0,), "neg")

    def __pos__(self) -> Value:
        return self

    def __pow__(self, exponent: Operand) -> Value:
        if type(exponent) is Value:
            return self._pow_value(exponent)
        if not _is_number(exponent):
            return NotImplemented
        x = self.data
        if x < 0 and not float(exponent).is_integer():
            raise ValueError(f"({x}) ** {exponent}: a negative base needs an integer exponent")
        if x == 0 and exponent < 0:
            raise ZeroDivisionError(f"0.0 ** {exponent}: zero to a negative power")
        # NOTE: x ** (n - 1) rather than out / x, so the gradient is right at x == 0;
        # where it is infinite there (0 < n < 1, as in sqrt) it is inf, as in PyTorch.
        if exponent == 0:
            local = 0.0
        elif x == 0 and exponent < 1:
            local = math.inf
        else:
            local = exponent * x ** (exponent - 1)
        return _node(float(x**exponent), (self,), (float(local),), f"**{exponent:g}")

    def __rpow__(self, base: Number) -> Value:
        if not _is_number(base):
            return NotImplemented
        if base <= 0:
            raise ValueError(f"{base} ** Value: the base must be positive to differentiate")
        out = base**self.data
        return _node(out, (self,), (out * math.log(base),), "**")

    def _pow_value(self, exponent: Value) -> Value:
        x, y = self.data, exponent.data
        if x <= 0:
            raise ValueError(
                f"Value({x}) ** Value({y}): with a Value exponent the base must be positive "
                "(d/dy x**y = x**y * log(x)); use a plain number exponent instead"
            )
        out = x**y
        return _node(out, (self, exponent), (y * x ** (y - 1), out * math.log(x)), "**")

    # ----- Elementary functions ------------------------------------------------------

    def exp(self) -> Value:
        """exp(x)"""
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"Value.exp: exp({self.data}) overflows a float") from None
        return _node(out, (self,), (out,), "exp")

    def log(self) -> Value:
        """Natural logarithm; raises ValueError for x <= 0."""
        x = self.data
        if x <= 0:
            raise ValueError(f"Value.log: log({x}) is undefined (the input must be positive)")
        return _node(math.log(x), (self,), (1.0 / x,), "log")

    def abs(self) -> Value:
        """|x|; NOTE: the gradient at 0 is 0 (the sign), as in PyTorch."""
        x = self.data
        sign = 1.0 if x > 0 else -1.0 if x < 0 else 0.0
        return _node(abs(x), (self,), (sign,), "abs")

    __abs__ = abs

    def max(self, other: Operand) -> Value:
        """The larger of two values; NOTE: at a tie the gradient is split evenly (PyTorch)."""
        if type(other) is not Value:
            if not _is_number(other):
                raise TypeError(f"Value.max expects a Value or a number, got {type(other)}")
            other = Value(other)
        a, b = self.data, other.data
        local = (1.0, 0.0) if a > b else (0.0, 1.0) if a < b else (0.5, 0.5)
        return _node(max(a, b), (self, other), local, "max")

    @staticmethod
    def sum(values: Iterable[Operand], start: Operand = 0.0) -> Value:
        """One node for ``start + sum(values)``: an n-input add, cheaper than a chain of +."""
        total, prev, _ = _as_term(start, "Value.sum")
        for v in values:
            if type(v) is Value:
                total += v.data
                prev.append(v)
            else:
                total += _number(v, "Value.sum")
        return _node(total, tuple(prev), (1.0,) * len(prev), "sum")

    @staticmethod
    def dot(weights: Iterable[Operand], inputs: Iterable[Operand], bias: Operand = 0.0) -> Value:
        """One node for ``bias + sum(w * x)``: a neuron's pre-activation in a single op.

        Same value and gradients as the chain of ``*`` and ``+`` it replaces, with one node
        instead of two per input.
        """
        weights, inputs = list(weights), list(inputs)
        if len(weights) != len(inputs):
            raise ValueError(f"Value.dot: {len(weights)} weights but {len(inputs)} inputs")
        total, prev, local = _as_term(bias, "Value.dot")
        for w, x in zip(weights, inputs):
            if type(w) is Value:
                if type(x) is Value:
                    total += w.data * x.data
                    prev += (w, x)
                    local += (x.data, w.data)
                else:
                    x_data = _number(x, "Value.dot")
                    total += w.data * x_data
                    prev.append(w)
                    local.append(x_data)
            elif type(x) is Value:
                w_data = _number(w, "Value.dot")
                total += w_data * x.data
                prev.append(x)
                local.append(w_data)
            else:
                total += _number(w, "Value.dot") * _number(x, "Value.dot")
        return _node(total, tuple(prev), tuple(local), "dot")

    # ----- Backward ------------------------------------------------------------------

    def backward(self, *, check_finite: bool = False) -> None:
        """Add d(self)/d(node) to ``node.grad`` for every node this value depends on.

        With ``check_finite=True``, raise ``FloatingPointError`` naming the first op whose
        output or local gradient is NaN or infinite. NOTE: a zero upstream gradient is not
        propagated at all, so ``0 * inf`` never turns into NaN here (PyTorch gives NaN);
        the function really is flat along that path.
        """
        order = toposort(self)
        for node in order:
            node._g = 0.0
        self._g = 1.0
        for node in reversed(order):
            g = node._g
            node.grad += g
            if g:
                for child, local in zip(node._prev, node._local):
                    child._g += local * g
        if check_finite:
            _raise_if_not_finite(order)

    def zero_grad(self) -> None:
        """Reset ``grad`` to 0 on this value and on every value it was computed from."""
        for node in toposort(self):
            node.grad = 0.0


def _raise_if_not_finite(order: list[Value]) -> None:
    """Name the first op whose output, or whose local gradient, is NaN or infinite."""
    for node in order:
        if not math.isfinite(node.data):
            raise FloatingPointError(f"forward: {_describe(node)} produced {node.data}")
    for node in reversed(order):
        if not node._g:
            continue
        for k, (child, local) in enumerate(zip(node._prev, node._local)):
            if not math.isfinite(local * node._g):
                raise FloatingPointError(
                    f"backward: {_describe(node)} passes gradient {local * node._g} "
                    f"to its input {k} (data={child.data})"
                )


def _describe(node: Value) -> str:
    inputs = ", ".join(repr(child.data) for child in node._prev)
    return f"{node._op!r} node (inputs: {inputs})" if node._op else "a leaf"


def _activation_method(activation: activations.Activation) -> Callable[..., Value]:
    forward, deriv, name = activation.forward, activation.deriv, activation.name
    ops = SCALAR_OPS

    if not activation.defaults:
        def apply(self: Value) -> Value:
            x = self.data
            out = forward(x, ops)
            return _node(out, (self,), (float(deriv(x, out, ops)),), name)

        return apply

    def apply_with_params(self: Value, *args: Any, **kwargs: Any) -> Value:
        params = activation.bind(args, kwargs)
        x = self.data
        out = forward(x, ops, **params)
        return _node(out, (self,), (float(deriv(x, out, ops, **params)),), name)

    return apply_with_params


activations.attach(Value, _activation_method)
