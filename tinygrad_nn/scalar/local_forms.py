"""Recognising the simplest rules, so the scalar engine's hot path calls none.

A micrograd-style graph is mostly ``add`` and ``mul`` nodes, and the local derivatives
of those are an input (``mul``: the other factor) or a constant (``add``: 1, ``sub``: -1).
When the scalar engine installs an op, it evaluates each gradient rule once on symbols
instead of numbers. If the rule, with ``g = 1``, gives an input, the output or a
constant, the engine takes the local derivative straight from there at every node; any
other rule is called as usual. Likewise a forward rule that is one Python operator
applied to the inputs in order (``a * b``, ``-a``) is written inline. The math still
comes from the registered rule: a rule that is changed (``register(..., replace=True)``)
is traced again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CONSTANT", "INPUT", "OUTPUT", "local_form", "operator_form"]

# The forms a local derivative can take: ("input", k), ("output",), ("constant", c).
INPUT, OUTPUT, CONSTANT = "input", "output", "constant"
Form = tuple[Any, ...]


class _NotSimple(Exception):
    """The rule did something other than scale g by an input, the output or a number."""


class _Upstream:
    """The symbol for ``g``: the gradient arriving at the op's output."""

    __slots__ = ()

    def __mul__(self, other: Any) -> _Local:
        if isinstance(other, _Value):
            return _Local(other.form)
        if isinstance(other, (int, float)) and not isinstance(other, bool):
            return _Local((CONSTANT, float(other)))
        raise _NotSimple

    __rmul__ = __mul__

    def __neg__(self) -> _Local:
        return _Local((CONSTANT, -1.0))

    def __pos__(self) -> _Upstream:
        return self


class _Value:
    """The symbol for an input or the output: only multiplying ``g`` by it is simple."""

    __slots__ = ("form",)

    def __init__(self, form: Form) -> None:
        self.form = form

    def __mul__(self, other: Any) -> _Local:
        if isinstance(other, _Upstream):
            return _Local(self.form)
        raise _NotSimple

    __rmul__ = __mul__


class _Local:
    """A traced result: the local derivative's form."""

    __slots__ = ("form",)

    def __init__(self, form: Form) -> None:
        self.form = form


class _NoOps:
    """An ``ops`` namespace whose every function is not simple."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        raise _NotSimple


def local_form(rule: Callable[..., Any], arity: int) -> Form | None:
    """The form of ``rule``'s local derivative, or None if it must be called.

    ``rule(g, *inputs, out, ops)`` is evaluated on symbols; symbols raise on anything but
    multiplying ``g`` by one of them or by a number (or negating ``g``), so a rule that
    compares, branches on values or calls ``ops`` is simply not recognised.
    """
    inputs = [_Value((INPUT, k)) for k in range(arity)]
    try:
        result = rule(_Upstream(), *inputs, _Value((OUTPUT,)), _NoOps())
    except Exception:  # any failure on symbols just means "call the rule"
        return None
    if isinstance(result, _Upstream):
        return (CONSTANT, 1.0)
    return result.form if isinstance(result, _Local) else None


# The operators whose result on two floats is always a float (``**`` is not among them: a
# negative base gives a complex number), so running one inline needs no check.
_FLOAT_OPERATORS = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/",
                    "__floordiv__": "//", "__mod__": "%", "__neg__": "-"}


class _Applied:
    """A traced forward result: ``operator`` applied to the inputs numbered ``operands``."""

    __slots__ = ("operands", "operator")

    def __init__(self, operator: str, operands: tuple[int, ...]) -> None:
        self.operator, self.operands = operator, operands


class _Operand:
    """The symbol for input ``k`` of a forward rule."""

    __slots__ = ("k",)

    def __init__(self, k: int) -> None:
        self.k = k


def _applying(dunder: str, operator: str) -> Callable[..., _Applied]:
    def apply(self: _Operand, *others: Any) -> _Applied:
        if not all(isinstance(other, _Operand) for other in others):
            raise _NotSimple
        return _Applied(operator, (self.k, *(other.k for other in others)))

    apply.__name__ = dunder
    return apply


for _dunder, _operator in _FLOAT_OPERATORS.items():
    setattr(_Operand, _dunder, _applying(_dunder, _operator))


def operator_form(forward: Callable[..., Any], arity: int) -> str | None:
    """The Python operator that ``forward`` is, if it is exactly one applied to its inputs
    in order (``a * b``; ``-a`` for one input), else None."""
    try:
        result = forward(*(_Operand(k) for k in range(arity)), _NoOps())
    except Exception:
        return None
    if isinstance(result, _Applied) and result.operands == tuple(range(arity)):
        return result.operator
    return None
