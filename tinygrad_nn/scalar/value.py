"""The scalar graph: every number is a ``Value`` node (the micrograd idea).

Every op comes from the registry: a ``Value`` method runs the op's forward rule on floats
and, at the same moment, its gradient rules with ``g = 1``, which gives the local
derivative with respect to each input (plain floats in ``_local``, aligned with
``_prev``). Backward is then one loop of multiply-adds over a topological order. Local
derivatives are taken when the op runs, so changing a ``.data`` afterwards cannot change
a gradient. No node holds a closure or a reference to its outputs, so graphs contain no
reference cycles and are freed by reference counting as soon as they are dropped.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

import numpy as np

from .. import ops as registry
from ..graph import _mode, anomaly, created_at, ranked, toposort, user_line
from ..ops.namespace import ELEMENTWISE, OPERATORS
from ..ops.registry import OpDef
from .local_forms import INPUT, OUTPUT, local_form
from .math_ops import SCALAR_OPS, ScalarOps

__all__ = ["Value"]

# Only the additions into .grad, which graphs running backward in other threads may share,
# are serialised; each backward pass works on a scratch list of its own.
_accumulating = threading.Lock()

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
    out._scope = _mode.scope
    if anomaly.enabled:
        _watch(out)
    return out


def _watch(node: Value) -> None:
    """Anomaly mode: remember where user code made ``node``, and refuse a non-finite one."""
    node._trace = user_line()
    if not math.isfinite(node.data):
        raise FloatingPointError(f"forward: {_describe(node)} produced {node.data}"
                                 f"{created_at(node)}")


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


def _as_float(x: object, name: str) -> float:
    """A rule's result as a float: numbers and bools convert, anything else is refused."""
    if isinstance(x, (numbers.Real, bool)):
        return float(x)
    raise TypeError(f"Value.{name}: the rule returned {type(x).__name__}, not a number")


def _op_error(name: str, inputs: Sequence[Any], error: Exception) -> Exception:
    """``error`` raised inside op ``name``, re-raised naming the op and its inputs."""
    call = f"{name}({', '.join(repr(x) for x in inputs)})"
    if isinstance(error, OverflowError):
        what = "overflows a float"
    elif isinstance(error, ZeroDivisionError):
        what = "divides by zero"
    else:
        what = f"is undefined ({error})"
    return type(error)(f"Value.{name}: {call} {what}")


class Value:
    """A scalar in a computation graph, with the gradient of the last backward in ``grad``."""

    __slots__ = ("_label", "_local", "_op", "_prev", "_scope", "_trace", "data", "grad")

    data: float
    grad: float
    _prev: tuple[Value, ...]
    _local: tuple[float, ...]
    _op: str
    _scope: tuple[Any, ...]  # the modules whose forward made this node (for drawings)
    _trace: str  # where user code made it (anomaly mode only)

    def __init__(self, data: Number, label: str = "") -> None:
        if not _is_number(data):
            raise TypeError(f"Value expects a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self._prev = ()
        self._local = ()
        self._op = ""
        self._scope = ()
        if label:
            self.label = label

    if TYPE_CHECKING:
        # Every registered elementwise op (exp, relu, ...) is attached as a method at import,
        # and so are the operators; these stubs tell type checkers so.
        def __getattr__(self, name: str) -> Callable[..., Value]: ...
        def __add__(self, other: Operand) -> Value: ...
        def __radd__(self, other: Number) -> Value: ...
        def __sub__(self, other: Operand) -> Value: ...
        def __rsub__(self, other: Number) -> Value: ...
        def __mul__(self, other: Operand) -> Value: ...
        def __rmul__(self, other: Number) -> Value: ...
        def __truediv__(self, other: Operand) -> Value: ...
        def __rtruediv__(self, other: Number) -> Value: ...
        def __pow__(self, other: Operand) -> Value: ...
        def __rpow__(self, other: Number) -> Value: ...
        def __floordiv__(self, other: Operand) -> Value: ...
        def __rfloordiv__(self, other: Number) -> Value: ...
        def __mod__(self, other: Operand) -> Value: ...
        def __rmod__(self, other: Number) -> Value: ...
        def __neg__(self) -> Value: ...
        def __abs__(self) -> Value: ...

    @property
    def label(self) -> str:
        """A name for this value in drawings ("" if none)."""
        try:
            return self._label
        except AttributeError:
            return ""

    @label.setter
    def label(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"label must be a string, got {type(text).__name__}")
        self._label = text

    def __repr__(self) -> str:
        label = f", label={self.label!r}" if self.label else ""
        op = f", op={self._op!r}" if self._op else ""
        return f"Value(data={self.data!r}, grad={self.grad!r}{label}{op})"

    def __float__(self) -> float:
        return self.data

    def __deepcopy__(self, memo: dict[int, Any]) -> Value:
        # Iterative: a graph thousands of ops deep copies without hitting the recursion
        # limit (the default deepcopy recurses once per node).
        for node in toposort(self):
            if id(node) in memo:
                continue
            clone = _new(Value)
            for slot in Value.__slots__:
                if hasattr(node, slot):
                    setattr(clone, slot, getattr(node, slot))
            clone._prev = tuple(memo[id(child)] for child in node._prev)
            memo[id(node)] = clone
        result: Any = memo[id(self)]
        return result

    def __reduce__(self) -> Any:
        raise TypeError(
            "Value graphs are not pickled (tinygrad_nn uses no pickle): keep the numbers "
            "(v.data), or save a model's weights with tinygrad_nn.save(model.state_dict())"
        )

    def __pos__(self) -> Value:
        return self

    # ----- Comparisons: of the data, as Python bools ------------------------------------
    # ``if v > 0:`` must mean what it says; ``==`` stays identity, so Values can key dicts.

    def __lt__(self, other: Operand) -> bool:
        return self.data < _data(other, "<")

    def __le__(self, other: Operand) -> bool:
        return self.data <= _data(other, "<=")

    def __gt__(self, other: Operand) -> bool:
        return self.data > _data(other, ">")

    def __ge__(self, other: Operand) -> bool:
        return self.data >= _data(other, ">=")

    __hash__ = object.__hash__

    def max(self, other: Operand) -> Value:
        """The larger of two values (the ``maximum`` op); a tie splits the gradient evenly."""
        return self.maximum(other)

    def min(self, other: Operand) -> Value:
        """The smaller of two values (the ``minimum`` op); a tie splits the gradient evenly."""
        return self.minimum(other)

    # ----- Fused ops: one node where the graph would have many ---------------------------

    @staticmethod
    def sum(values: Iterable[Operand], start: Operand = 0.0) -> Value:
        """One ``sum`` node for ``start + sum(values)``: an n-input add, cheaper than a chain.

        Each input's local derivative is ``add``'s, 1.
        """
        total = 0.0
        prev = []
        for v in (start, *values):
            if type(v) is Value:
                total += v.data
                prev.append(v)
            else:
                total += _number(v, "Value.sum")
        return _node(total, tuple(prev), (_ADD_SLOPE,) * len(prev), "sum")

    @staticmethod
    def dot(weights: Iterable[Operand], inputs: Iterable[Operand], bias: Operand = 0.0) -> Value:
        """One ``dot`` node for ``bias + sum(w * x)``: a neuron's pre-activation in one op.

        Same value and gradients as the chain of ``mul`` and ``add`` nodes it replaces, with
        one node instead of two per input: each factor's local derivative is what ``mul``'s
        registered rule gives (the other factor), the bias's what ``add``'s gives (1).
        """
        weights, inputs = list(weights), list(inputs)
        if len(weights) != len(inputs):
            raise ValueError(f"Value.dot: {len(weights)} weights but {len(inputs)} inputs")
        prev: list[Value] = []
        local: list[float] = []
        if type(bias) is Value:
            total = bias.data
            prev.append(bias)
            local.append(_ADD_SLOPE)
        else:
            total = _number(bias, "Value.dot")
        partner = _MUL_SLOPES is None  # mul's rules give the other factor: no call needed
        for w, x in zip(weights, inputs):
            w_data = w.data if type(w) is Value else _number(w, "Value.dot")
            x_data = x.data if type(x) is Value else _number(x, "Value.dot")
            total += w_data * x_data
            if type(w) is Value:
                prev.append(w)
                local.append(x_data if partner else _mul_slope(0, w_data, x_data))
            if type(x) is Value:
                prev.append(x)
                local.append(w_data if partner else _mul_slope(1, w_data, x_data))
        return _node(total, tuple(prev), tuple(local), "dot")

    # ----- Backward ------------------------------------------------------------------

    def backward(self, *, check_finite: bool = False) -> None:
        """Add d(self)/d(node) to ``node.grad`` for every node this value depends on.

        Gradients accumulate across calls (PyTorch semantics); a Value graph holds only
        floats and is never released, so backward may run through it again. Several
        threads may run backward at once, through graphs that share nodes: each pass
        works on its own scratch list, and only the final additions into ``.grad`` are
        serialised, so none is lost.

        With ``check_finite=True`` (or inside ``detect_anomaly()``), raise
        ``FloatingPointError`` naming the first op whose output is NaN or infinite, or
        that passes a NaN or infinite gradient to an input. NOTE: a zero upstream gradient
        is not propagated at all, so ``0 * inf`` never turns into NaN here (PyTorch gives
        NaN); the function really is flat along that path.
        """
        order, position = ranked(self)
        grads = [0.0] * len(order)
        grads[-1] = 1.0  # d self / d self; self comes last in the order
        if check_finite or anomaly.enabled:
            _backward_checked(order, position, grads)
        else:
            for i in range(len(order) - 1, -1, -1):
                g = grads[i]
                if g:
                    node = order[i]
                    for child, local in zip(node._prev, node._local):
                        grads[position[child]] += local * g
        with _accumulating:
            for node, g in zip(order, grads):
                node.grad += g

    def zero_grad(self) -> None:
        """Reset ``grad`` to 0 on this value and on every value it was computed from."""
        for node in toposort(self):
            node.grad = 0.0


def _data(x: object, op: str) -> float:
    if type(x) is Value:
        return x.data
    if _is_number(x):
        return x
    raise TypeError(f"'{op}' is not supported between Value and {type(x).__name__}")


def _backward_checked(order: list[Value], position: dict[Value, int],
                      grads: list[float]) -> None:
    """The backward loop, raising at the first NaN or infinity (check_finite, anomaly mode)."""
    _raise_if_not_finite(order)
    for i in range(len(order) - 1, -1, -1):
        g = grads[i]
        if not g:
            continue
        node = order[i]
        for k, (child, local) in enumerate(zip(node._prev, node._local)):
            contribution = local * g
            if not math.isfinite(contribution):
                raise FloatingPointError(
                    f"backward: {_describe(node)} passes gradient {contribution} to its "
                    f"input {k} (data={child.data}){created_at(node)}")
            grads[position[child]] += contribution


def _raise_if_not_finite(order: list[Value]) -> None:
    """Name the first op, in the order they ran, whose output is NaN or infinite."""
    for node in order:
        if not math.isfinite(node.data):
            raise FloatingPointError(f"forward: {_describe(node)} produced {node.data}"
                                     f"{created_at(node)}")


def _describe(node: Value) -> str:
    inputs = ", ".join(repr(child.data) for child in node._prev)
    return f"{node._op!r} node (inputs: {inputs})" if node._op else "a leaf"


# ----- Registered ops as Value methods --------------------------------------------------
# One factory per calling convention; the fast ones (one or two inputs, no parameters)
# cover the arithmetic and the activations, the generic one everything else.

OPS = SCALAR_OPS


def _ieee(rule: Any, args: tuple[float, ...]) -> float:
    """A local derivative that divides by zero (the slope of sqrt at 0), taken again in
    IEEE arithmetic: +-inf or NaN, as on the tensor engine and in PyTorch, where Python
    floats would raise. The op's output itself was finite, so the graph goes on."""
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = rule(*(np.float64(a) for a in args), OPS)
    return float(slope)


# The three factories below are the scalar engine's hot path (a node per op in a
# micrograd-style graph): each branch computes its result and local derivatives in place.


def _unary(op: OpDef) -> Callable[..., Value]:
    """``self.op()`` for a one-input op: elementary functions and activations."""
    forward, name, deriv = op.forward, op.name, op.deriv
    rule: Any = op.grads[0]  # type: ignore[index]

    def method(self: Value) -> Value:
        x = self.data
        try:
            out = forward(x, OPS)
            if not _mode.enabled:
                return _node(_as_float(out, name), (), (), name)
        except (ArithmeticError, ValueError) as error:
            raise _op_error(name, (x,), error) from None
        try:
            slope = deriv(x, out, OPS) if deriv is not None else rule(1.0, x, out, OPS)
        except ZeroDivisionError:
            slope = _ieee(deriv or rule, (x, out) if deriv is not None else (1.0, x, out))
        if type(out) is not float or type(slope) is not float:
            out, slope = _as_float(out, name), _as_float(slope, name)
        node = _new(Value)
        node.data, node.grad, node._op = out, 0.0, name
        node._prev, node._local, node._scope = (self,), (slope,), _mode.scope
        if anomaly.enabled:
            _watch(node)
        return node

    return method


# How a fast path gets a local derivative: an input (A, B), the output, a constant, or by
# calling the rule (see local_forms: add, sub and mul need no call).
_A, _B, _OUT, _CONSTANT, _CALL = range(5)


def _picker(rule: Any, arity: int) -> tuple[int, float]:
    form = local_form(rule, arity)
    if form is None:
        return _CALL, 0.0
    if form[0] == INPUT:
        return form[1], 0.0
    if form[0] == OUTPUT:
        return _OUT, 0.0
    return _CONSTANT, form[1]


def _call(rule: Any, *args: float) -> Any:
    """Call a rule on floats; a division by zero (an infinite slope) gives IEEE's inf."""
    try:
        return rule(*args, OPS)
    except ZeroDivisionError:
        return _ieee(rule, args)


def _binary(op: OpDef) -> Callable[..., Value]:
    """``self (op) other`` for a two-input op: the arithmetic operators."""
    forward, name = op.forward, op.name
    rule_a: Any
    rule_b: Any
    rule_a, rule_b = op.grads  # type: ignore[misc]
    (ka, ca), (kb, cb) = _picker(rule_a, 2), _picker(rule_b, 2)

    def method(self: Value, other: Operand) -> Value:
        a = self.data
        if type(other) is Value:
            b = other.data
            prev: tuple[Value, ...] = (self, other)
        elif _is_number(other):
            b = other
            prev = (self,)
        else:
            return NotImplemented
        try:
            out = forward(a, b, OPS)
        except (ArithmeticError, ValueError) as error:
            raise _op_error(name, (a, b), error) from None
        if not _mode.enabled:
            return _node(_as_float(out, name), (), (), name)
        da = b if ka == _B else ca if ka == _CONSTANT else a if ka == _A else \
            out if ka == _OUT else _call(rule_a, 1.0, a, b, out)
        if len(prev) == 2:
            db = a if kb == _A else cb if kb == _CONSTANT else b if kb == _B else \
                out if kb == _OUT else _call(rule_b, 1.0, a, b, out)
            local: tuple[Any, ...] = (da, db)
            if type(out) is not float or type(da) is not float or type(db) is not float:
                out, local = _as_float(out, name), (_as_float(da, name), _as_float(db, name))
        else:
            local = (da,)
            if type(out) is not float or type(da) is not float:
                out, local = _as_float(out, name), (_as_float(da, name),)
        node = _new(Value)
        node.data, node.grad, node._op = out, 0.0, name
        node._prev, node._local, node._scope = prev, local, _mode.scope
        if anomaly.enabled:
            _watch(node)
        return node

    return method


def _reflected(op: OpDef) -> Callable[..., Value]:
    """``other (op) self`` with ``other`` a number: Python's reflected operators."""
    forward, name = op.forward, op.name
    rule_b: Any = op.grads[1]  # type: ignore[index]

    def method(self: Value, other: Number) -> Value:
        if not _is_number(other):
            return NotImplemented
        b = self.data
        try:
            out = forward(other, b, OPS)
            if not _mode.enabled:
                return _node(_as_float(out, name), (), (), name)
        except (ArithmeticError, ValueError) as error:
            raise _op_error(name, (other, b), error) from None
        try:
            db = rule_b(1.0, other, b, out, OPS)
        except ZeroDivisionError:
            db = _ieee(rule_b, (1.0, other, b, out))
        if type(out) is not float or type(db) is not float:
            out, db = _as_float(out, name), _as_float(db, name)
        return _node(out, (self,), (db,), name)

    return method


def apply(op: OpDef, operands: Sequence[Any], params: dict[str, Any]) -> Value:
    """Run ``op`` on Values and numbers: any number of inputs, any parameters."""
    if op.composite:
        return op.forward(*operands, VALUE_OPS, **params)
    data = [x.data if type(x) is Value else _number(x, f"Value.{op.name}") for x in operands]
    try:
        out = op.forward(*data, OPS, **params)
        prev, local = [], []
        if op.grads is not None and _mode.enabled:
            for i, x in enumerate(operands):
                rule = op.grads[0] if op.variadic else op.grads[i]
                if type(x) is not Value or rule is None:
                    continue
                prev.append(x)
                if op.variadic:
                    local.append(rule(1.0, *data, out=out, ops=OPS, i=i, **params))
                else:
                    local.append(rule(1.0, *data, out, OPS, **params))
    except (ArithmeticError, ValueError) as error:
        raise _op_error(op.name, data, error) from None
    return _node(_as_float(out, op.name), tuple(prev),
                 tuple(_as_float(s, op.name) for s in local), op.name)


def function(op: OpDef) -> Callable[..., Value]:
    """The op as a function of Values and numbers: ``f(*inputs, **params)``."""

    def call(*args: Any, **kwargs: Any) -> Value:
        return apply(op, *op.split(args, kwargs))

    return call


def _generic(op: OpDef) -> Callable[..., Value]:
    def method(self: Value, *args: Any, **kwargs: Any) -> Value:
        return apply(op, *op.split((self, *args), kwargs))

    return method


def _method(op: OpDef) -> Callable[..., Value]:
    if op.defaults or op.composite or op.variadic or op.grads is None or None in op.grads:
        return _generic(op)
    if len(op.inputs) == 1:
        return _unary(op)
    if len(op.inputs) == 2:
        return _binary(op)
    return _generic(op)


class ValueOps:
    """The ``ops`` namespace on Values: registered ops that record graph nodes.

    Composite ops run their forward rule on it, so their gradient flows through the
    registered ops they are made of.
    """

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Any:
        return a if condition else b

    @staticmethod
    def zeros_like(x: Any) -> float:
        return 0.0

    @staticmethod
    def ones_like(x: Any) -> float:
        return 1.0


VALUE_OPS = ValueOps()

class _ScalarEngine:
    """Installs registered elementwise ops on ``Value`` and in the scalar ``ops``."""

    def __init__(self) -> None:
        self.installed: dict[str, list[tuple[type, str]]] = {}

    def check(self, op: OpDef) -> None:
        if not op.elementwise:
            return
        for name in self._method_names(op):
            if name in vars(Value) and (Value, name) not in self._owned():
                raise ValueError(f"cannot register {op.name!r}: Value.{name} already exists "
                                 "and is not a registered op")
        if op.deriv is not None:
            _check_scalar_rules(op)

    def install(self, op: OpDef) -> None:
        if not op.elementwise:
            return
        _learn_fused_slopes(op)
        added = self.installed.setdefault(op.name, [])
        if op.name not in ELEMENTWISE:  # a primitive stays native; other ops run their rule
            forward = op.forward
            added.append(_add(ScalarOps, op.name, staticmethod(
                lambda *xs, **params: forward(*xs, SCALAR_OPS, **params))))
        added.append(_add(ValueOps, op.name, staticmethod(function(op))))
        if op.method:
            added.append(_add(Value, op.name, _named(_method(op), op.name, op)))
        for dunder in self._dunders(op):
            reflected = dunder.startswith("__r")
            method = _reflected(op) if reflected else _method(op)
            added.append(_add(Value, dunder, _named(method, dunder, op)))

    def uninstall(self, op: OpDef) -> None:
        for cls, name in self.installed.pop(op.name, []):
            delattr(cls, name)

    def _owned(self) -> set[tuple[type, str]]:
        return {entry for entries in self.installed.values() for entry in entries}

    @staticmethod
    def _dunders(op: OpDef) -> tuple[str, ...]:
        # Comparisons on Values are Python comparisons of the data (see Value.__lt__).
        if op.name in ("lt", "le", "gt", "ge", "eq", "ne"):
            return ()
        return OPERATORS.get(op.name, ())

    def _method_names(self, op: OpDef) -> tuple[str, ...]:
        return ((op.name,) if op.method else ()) + self._dunders(op)


def _add(cls: type, name: str, attribute: Any) -> tuple[type, str]:
    setattr(cls, name, attribute)
    return cls, name


def _named(method: Callable[..., Any], name: str, op: OpDef) -> Callable[..., Any]:
    method.__name__ = name
    method.__qualname__ = f"Value.{name}"
    method.__doc__ = op.doc or f"The {op.name!r} op."
    return method


def _check_scalar_rules(op: OpDef) -> None:
    """Refuse an activation whose rules do not map a real number to a real number."""
    low, high = op.domain if isinstance(op.domain[0], float) else op.domain[0]
    probe = next(x for x in (0.5 * (low + high), low + 0.1 * (high - low), 0.37)
                 if all(abs(x - k) > 1e-6 for k in op.kinks))
    try:
        out = op.forward(probe, SCALAR_OPS, **op.defaults)
        slope = op.deriv(probe, out, SCALAR_OPS, **op.defaults)  # type: ignore[misc]
    except Exception as error:
        raise TypeError(f"register({op.name!r}): the rules fail at x={probe}: {error!r}") \
            from None
    for role, result in (("forward", out), ("deriv", slope)):
        if isinstance(result, bool) or not isinstance(result, numbers.Real):
            raise TypeError(f"register({op.name!r}): {role}({probe}) returned "
                            f"{type(result).__name__}, not a real number")


# The fused ops' local derivatives come from the registered rules they fuse: Value.sum's
# from add's, Value.dot's from mul's (recognised as "the other factor" when they are, see
# local_forms, and otherwise called for each product). Installing add or mul (again)
# updates them.
_ADD_SLOPE = 1.0
_MUL_RULES: Any = None
_MUL_SLOPES: Any = None


def _learn_fused_slopes(op: OpDef) -> None:
    global _ADD_SLOPE, _MUL_RULES, _MUL_SLOPES
    if op.name == "add":
        _ADD_SLOPE = float(_call(op.grads[0], 1.0, 0.0, 0.0, 0.0))  # type: ignore[index]
    elif op.name == "mul":
        rules: Any = op.grads
        partner = (local_form(rules[0], 2), local_form(rules[1], 2))
        _MUL_RULES = rules
        _MUL_SLOPES = None if partner == ((INPUT, 1), (INPUT, 0)) else rules


def _mul_slope(k: int, w: float, x: float) -> float:
    return float(_call(_MUL_RULES[k], 1.0, w, x, w * x))


registry.subscribe(_ScalarEngine())
