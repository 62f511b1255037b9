"""The scalar graph: every number is a ``Value`` node (the micrograd idea).

Every op comes from the registry: a ``Value`` method runs the op's forward rule on floats
and, at the same moment, its gradient rules with ``g = 1``, which gives the local
derivative ("slope") with respect to each input. Backward is then one loop of
multiply-adds. Local derivatives are taken when the op runs, so changing a ``.data``
afterwards cannot change a gradient.

A node is one object and nothing else: its one or two inputs and their slopes sit in
slots of its own (``_a``, ``_da``, ``_b``, ``_db``), not in tuples, because every object
a node owns is one more for the cyclic garbage collector to track, and in a
micrograd-style graph, a node per ``*`` and ``+``, that collector's passes cost more than
the arithmetic. (Only an op of three or more inputs, such as ``Value.dot``, keeps tuples.)
No node holds a closure or a reference to its outputs, so graphs contain no reference
cycles and are freed by reference counting as soon as they are dropped.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeGuard

import numpy as np

from .. import ops as registry
from ..graph import _mode, anomaly, compile_function, created_at, toposort, user_line
from ..ops.namespace import ELEMENTWISE, OPERATORS
from ..ops.registry import OpDef
from .local_forms import INPUT, OUTPUT, local_form, operator_form
from .math_ops import SCALAR_OPS, ScalarOps

__all__ = ["Value"]

# One backward pass at a time: a pass keeps its running gradients in the nodes (``_g``),
# and graphs in several threads may share nodes. (Under the GIL, passes in two threads
# could not run at once anyway.)
_backward_lock = threading.Lock()

Number: TypeAlias = int | float
Operand: TypeAlias = "Value | int | float"

_new = object.__new__
# In ``_b``: this node has three or more inputs, kept as tuples in ``_a`` (the inputs)
# and ``_da`` (their slopes).
_MANY: Any = object()


def _node(data: float, prev: tuple[Value, ...], local: tuple[float, ...], op: str) -> Value:
    """Make a result node from its inputs and their slopes (none under ``no_grad``)."""
    out = _new(Value)
    out.data = data
    out.grad = 0.0
    out._op = op
    scope = _mode.recording
    out._scope = () if scope is None else scope
    out._mark = None
    if scope is None or not prev:
        out._a = out._b = None
    elif len(prev) == 1:
        out._a, out._da, out._b = prev[0], local[0], None
    elif len(prev) == 2:
        out._a, out._da, out._b, out._db = prev[0], local[0], prev[1], local[1]
    else:
        out._a, out._da, out._b = prev, local, _MANY
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

    __slots__ = ("_a", "_b", "_da", "_db", "_g", "_label", "_mark", "_op", "_scope",
                 "_trace", "_users", "data", "grad")

    data: float
    grad: float
    _a: Any  # the first input (None for a leaf), or the inputs' tuple when _b is _MANY
    _b: Any  # the second input (None for fewer), or _MANY
    _da: Any  # d(self)/d(_a), or the slopes' tuple when _b is _MANY
    _db: float  # d(self)/d(_b)
    _op: str
    _scope: tuple[Any, ...]  # the modules whose forward made this node (for drawings)
    _trace: str  # where user code made it (anomaly mode only)
    # Scratch of the backward pass that last reached this node (see _backward_pass).
    _mark: object
    _users: int
    _g: float

    def __init__(self, data: Number, label: str = "") -> None:
        if not _is_number(data):
            raise TypeError(f"Value expects a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self._a = self._b = self._mark = None
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

    @property
    def _prev(self) -> tuple[Value, ...]:
        """The inputs, in order (the node protocol that sorting and drawing use)."""
        a, b = self._a, self._b
        if a is None:
            return ()
        if b is _MANY:
            inputs: tuple[Value, ...] = a
            return inputs
        return (a,) if b is None else (a, b)

    @property
    def _local(self) -> tuple[float, ...]:
        """The local derivative with respect to each input, aligned with ``_prev``."""
        a, b = self._a, self._b
        if a is None:
            return ()
        if b is _MANY:
            slopes: tuple[float, ...] = self._da
            return slopes
        return (self._da,) if b is None else (self._da, self._db)

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
            clone._mark = None
            if node._b is _MANY:
                clone._a = tuple(memo[id(child)] for child in node._a)
            else:
                for slot in ("_a", "_b"):
                    child = getattr(node, slot)
                    setattr(clone, slot, None if child is None else memo[id(child)])
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
        floats and is never released, so backward may run through it again. Passes in
        several threads, through graphs that may share nodes, take turns, so none loses
        an addition.

        With ``check_finite=True`` (or inside ``detect_anomaly()``), raise
        ``FloatingPointError`` naming the first op whose output is NaN or infinite, or
        that passes a NaN or infinite gradient to an input. NOTE: a zero upstream gradient
        is not propagated at all, so ``0 * inf`` never turns into NaN here (PyTorch gives
        NaN); the function really is flat along that path.
        """
        with _backward_lock:
            if check_finite or anomaly.enabled:
                _backward_checked(self)
            else:
                _backward_pass(self)

    def zero_grad(self) -> None:
        """Reset ``grad`` to 0 on this value and on every value it was computed from."""
        for node in toposort(self):
            node.grad = 0.0


def _count_users(root: Value) -> None:
    """Mark every node ``root`` depends on with this pass's token and count, in
    ``_users``, the edges from its consumers in this graph; ``_g`` starts at 0."""
    token = object()
    arrivals = [root]  # every node reached, once per edge that reaches it (the root once)
    while arrivals:
        node = arrivals.pop()
        if node._mark is token:
            node._users += 1
            continue
        node._mark, node._users, node._g = token, 1, 0.0
        a = node._a
        if a is not None:
            b = node._b
            if b is _MANY:
                arrivals.extend(a)
            else:
                arrivals.append(a)
                if b is not None:
                    arrivals.append(b)
    root._users = 0  # reached by no edge


def _backward_pass(root: Value) -> None:
    """Backward without checks: the hot loop of a micrograd-style graph.

    A node's gradient is complete once every consumer has sent its share, so a node is
    processed when the last of its ``_users`` has (Kahn's order, consumers first): no
    topological sort to store, one stack, and each edge visited twice in all.
    """
    _count_users(root)
    root._g = 1.0
    stack = [root]
    pop, push = stack.pop, stack.append
    while stack:
        node = pop()
        g = node._g
        node.grad += g
        a, b = node._a, node._b
        if a is None:
            continue
        if b is _MANY:
            for child, slope in zip(a, node._da):
                if g:
                    child._g += slope * g
                child._users -= 1
                if not child._users:
                    push(child)
            continue
        if g:
            a._g += node._da * g
        a._users -= 1
        if not a._users:
            push(a)
        if b is not None:
            if g:
                b._g += node._db * g
            b._users -= 1
            if not b._users:
                push(b)


def _data(x: object, op: str) -> float:
    if type(x) is Value:
        return x.data
    if _is_number(x):
        return x
    raise TypeError(f"'{op}' is not supported between Value and {type(x).__name__}")


def _backward_checked(root: Value) -> None:
    """The backward pass, raising at the first NaN or infinity (check_finite, anomaly
    mode). Gradients are added to ``.grad`` only once the whole pass has succeeded."""
    order = toposort(root)
    _raise_if_not_finite(order)
    position = {node: i for i, node in enumerate(order)}
    grads = [0.0] * len(order)
    grads[-1] = 1.0
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
    for node, g in zip(order, grads):
        node.grad += g


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
# The arithmetic operators and the one-input ops make every node of a micrograd-style
# graph, so their methods are generated for each op from its registry record (the other
# ops share one generic method, `apply`). Generated, the hot path holds only what the op
# needs: a forward rule that is one Python operator runs inline (``a * b``), and a slope
# that is an input, the output or a constant (see local_forms) is read from there; any
# other rule is called. The generated source is in linecache, so tracebacks show it.

OPS = SCALAR_OPS


def _ieee(rule: Any, args: tuple[float, ...]) -> float:
    """A local derivative that divides by zero (the slope of sqrt at 0), taken again in
    IEEE arithmetic: +-inf or NaN, as on the tensor engine and in PyTorch, where Python
    floats would raise. The op's output itself was finite, so the graph goes on."""
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = rule(*(np.float64(a) for a in args), OPS)
    return float(slope)


def _slope(rule: Any, name: str, *args: float) -> float:
    """Call a gradient (or ``deriv``) rule on floats for one local derivative."""
    try:
        slope = rule(*args, OPS)
    except ZeroDivisionError:
        return _ieee(rule, args)
    return slope if type(slope) is float else _as_float(slope, name)


def _taking(operand: str, values: bool) -> str:
    """Generated lines that set ``operand`` from ``other``: a Value's data (if ``values``)
    or a real number as a float; for anything else the method returns NotImplemented."""
    branches = [("type(other) is Value", "other.data")] if values else []
    branches += [("type(other) is float", "other"), ("_is_number(other)", "float(other)")]
    lines = [f"    {'elif' if i else 'if'} {test}:\n        {operand} = {value}\n"
             for i, (test, value) in enumerate(branches)]
    return "".join(lines) + "    else:\n        return NotImplemented\n"


_RUN_FORWARD = """\
    try:
        out = {forward}
    except (ArithmeticError, ValueError) as error:
        raise _op_error(name, {inputs}, error) from None
    if type(out) is not float:
        out = _as_float(out, name)
    node = _new(Value)
    node.data = out
    node.grad = 0.0
    node._op = name
    node._mark = None
    scope = _mode.recording
    if scope is None:  # no_grad: a result without inputs
        node._scope = ()
        node._a = node._b = None
        return node
    node._scope = scope
    node._a = self
"""

_WATCH = """\
    if anomaly.enabled:
        _watch(node)
    return node
"""



def _template(parameters: str, own: str, taking: str, slopes: str) -> str:
    """A generated method: name ``self``'s data ``own``, take the other operand
    (``taking``), run the forward rule, make the node and set its slopes (``slopes``)."""
    return (f"def {{method}}({parameters}):\n    {own} = self.data\n" + taking + _RUN_FORWARD
            + slopes + _WATCH)


# self.op(); self (op) other, with other a Value or a number; other (op) self, with other a
# number (a reflected operator: 2 * v).
_UNARY = _template("self", "a", "", "    node._da = {slope_a}\n    node._b = None\n")
_BINARY = _template("self, other", "a", _taking("b", True), """\
    node._da = {slope_a}
    if type(other) is Value:
        node._b = other
        node._db = {slope_b}
    else:
        node._b = None
""")
_REFLECTED = _template("self, other", "b", _taking("a", False),
                       "    node._da = {slope_b}\n    node._b = None\n")


def _slope_text(rule: Any, which: str, arity: int, names: dict[str, Any]) -> str:
    """The expression for one local derivative in generated code: an input, the output,
    a constant (added to ``names`` as ``constant_a``), or a call of the rule (``rule_a``,
    the gradient rule of input ``a``)."""
    names[f"rule_{which}"] = rule
    form = local_form(rule, arity)
    if form is None:
        args = "1.0, a, b, out" if arity == 2 else "1.0, a, out"
        return f"_slope(rule_{which}, name, {args})"
    if form[0] == INPUT:
        return "ab"[form[1]]
    if form[0] == OUTPUT:
        return "out"
    names[f"constant_{which}"] = form[1]  # the one form left: a constant
    return f"constant_{which}"


def _generate(op: OpDef, template: str, method_name: str) -> Callable[..., Value]:
    """Compile ``template`` for ``op`` as ``Value.<method_name>``."""
    arity = len(op.inputs)
    rules: Any = op.grads
    names: dict[str, Any] = {"name": op.name, "forward": op.forward}
    if op.deriv is not None:  # the one-input shorthand: deriv(x, out, ops) is the slope
        names["rule_a"] = op.deriv
        slopes = {"slope_a": "_slope(rule_a, name, a, out)"}
    else:
        slopes = {f"slope_{which}": _slope_text(rule, which, arity, names)
                  for which, rule in zip("ab", rules)}
    operator = operator_form(op.forward, arity)
    inputs = "a" if arity == 1 else "a, b"
    if operator is None:
        forward = f"forward({inputs}, OPS)"
    else:
        forward = f"{operator}a" if arity == 1 else f"a {operator} b"
    source = template.format(method=method_name, forward=forward,
                             inputs="(a,)" if arity == 1 else "(a, b)", **slopes)
    return compile_function(source, method_name, {**globals(), **names},
                            f"{__file__} (generated: Value.{method_name})")


def apply(op: OpDef, operands: Sequence[Any], params: dict[str, Any]) -> Value:
    """Run ``op`` on Values and numbers: any number of inputs, any parameters."""
    if op.composite:
        return op.forward(*operands, VALUE_OPS, **params)
    data = [x.data if type(x) is Value else _number(x, f"Value.{op.name}") for x in operands]
    try:
        out = op.forward(*data, OPS, **params)
        prev, local = [], []
        if op.grads is not None and _mode.recording is not None:
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


def _method(op: OpDef, method_name: str) -> Callable[..., Value]:
    if op.defaults or op.composite or op.variadic or op.grads is None or None in op.grads:
        return _generic(op)
    if len(op.inputs) == 1:
        return _generate(op, _UNARY, method_name)
    if len(op.inputs) == 2:
        reflected = method_name.startswith("__r")
        return _generate(op, _REFLECTED if reflected else _BINARY, method_name)
    return _generic(op)


class ValueOps:
    """The ``ops`` namespace on Values: registered ops that record graph nodes.

    Composite ops run their forward rule on it, so their gradient flows through the
    registered ops they are made of.
    """

    # A branch is taken in Python, and a constant is a number, as on floats.
    where = staticmethod(ScalarOps.where)
    zeros_like = staticmethod(ScalarOps.zeros_like)
    ones_like = staticmethod(ScalarOps.ones_like)


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
        for name in self._method_names(op):
            added.append(_add(Value, name, _named(_method(op, name), name, op)))

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
        _ADD_SLOPE = _slope(op.grads[0], "add", 1.0, 0.0, 0.0, 0.0)  # type: ignore[index]
    elif op.name == "mul":
        rules: Any = op.grads
        partner = (local_form(rules[0], 2), local_form(rules[1], 2))
        _MUL_RULES = rules
        _MUL_SLOPES = None if partner == ((INPUT, 1), (INPUT, 0)) else rules


def _mul_slope(k: int, w: float, x: float) -> float:
    return _slope(_MUL_RULES[k], "mul", 1.0, w, x, w * x)


registry.subscribe(_ScalarEngine())
