"""Tracing: the NumPy calls that gradient rules make, written out as straight-line code.

A recorded step (``recorded.py``) replays the same rules on new arrays. Most of a small
step's time then goes to the rules' Python: the rule functions, the ``ops`` namespace's
wrappers, the helpers they call. Run once on ``Traced`` stand-ins for the arrays, the
rules reveal the calls they make (``ops.matmul``, ``x - top``, ``np.exp``...); a replay
can make just those calls, as one function of locals.

What the rules decide in Python from the values (``if ops.any(x == 0):``, a check that
raises) is kept as a guard: the replay computes the value again and gives up if it
differs, and the caller then runs the rules themselves. Shapes and dtypes need no guard:
a recording holds for one set of them. A value the trace cannot follow (converted to an
array by NumPy, iterated, written in place) stops the tracing; the caller then replays
the rules themselves.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Trace", "Traced", "TracingOps", "Untraceable", "real"]


class Untraceable(Exception):
    """A rule did something with a traced value that a replay of its calls would lose."""


# ndarray attributes that depend on the shape and dtype only (fixed for a recording), and
# methods that compute a new array whose shape does not depend on the values (none writes
# into its operand; ``repeat`` is left out: its counts could be values).
_STATIC = frozenset({"shape", "ndim", "dtype", "size", "itemsize", "nbytes"})
_PURE_METHODS = frozenset({
    "all", "any", "argmax", "argmin", "astype", "clip", "conj", "copy", "cumprod",
    "cumsum", "diagonal", "dot", "flatten", "max", "mean", "min", "prod", "ravel",
    "reshape", "round", "squeeze", "std", "sum", "swapaxes", "take", "transpose", "var",
    "view"})
# NumPy functions that write into an operand (their effect would not be replayed), and
# those whose result's shape depends on the values (a replay could not trust the shapes
# the trace read off it).
_WRITING = frozenset({"copyto", "put", "place", "putmask", "fill_diagonal", "put_along_axis"})
_SHAPED_BY_VALUES = frozenset({"nonzero", "argwhere", "flatnonzero", "unique", "extract",
                               "compress", "unique_values", "unique_counts", "trim_zeros",
                               "repeat", "bincount", "delete", "insert", "split",
                               "array_split"})


class Traced:
    """An array (or NumPy scalar) whose every use is written into a ``Trace``.

    Operators, ``ops`` calls, NumPy ufuncs and functions, and array methods on it compute
    the real value and note the call; converting it to a Python bool or number notes a
    guard.
    """

    __slots__ = ("name", "real", "trace")
    __hash__ = object.__hash__  # __eq__ is elementwise; identity stays hashable

    def __init__(self, real: Any, name: str, trace: Trace) -> None:
        self.real, self.name, self.trace = real, name, trace

    def __getattr__(self, name: str) -> Any:  # only for what the slots do not hold
        if name in _STATIC:
            return getattr(self.real, name)
        if name in ("T", "mT"):  # transposed views
            return self.trace.emit(f"{self.name}.{name}", getattr(self.real, name))
        if name in _PURE_METHODS:
            return lambda *args, **kwargs: self.trace.method(self, name, args, kwargs)
        if hasattr(np.ndarray, name):
            raise Untraceable(f"reads .{name} of an array")
        raise AttributeError(name)  # as an array would (a probe for a protocol, say)

    def __len__(self) -> int:
        return len(self.real)

    # Python values decided from the data: guarded.
    def __bool__(self) -> bool:
        return self.trace.guard("bool", self, bool(self.real))

    def __float__(self) -> float:
        return self.trace.guard("float", self, float(self.real))

    def __int__(self) -> int:
        return self.trace.guard("int", self, int(self.real))

    def __index__(self) -> int:
        return self.trace.guard("operator.index", self, operator.index(self.real))

    def item(self) -> Any:
        return self.trace.guard("_item", self, self.real.item())

    # What a replay of the calls cannot follow.
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise Untraceable("converts an array with NumPy (np.asarray)")

    def __iter__(self) -> Any:
        raise Untraceable("iterates over an array")

    def __setitem__(self, index: Any, value: Any) -> None:
        raise Untraceable("writes into an array")

    def __abs__(self) -> Any:
        return self.trace.call(abs, (self,), {})

    def __getitem__(self, index: Any) -> Any:
        _refuse_shaping_index(index)
        return self.trace.emit(f"{self.name}[{self.trace.expr(index)}]",
                               self.real[real(index)])

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if method == "at" or "out" in kwargs:
            raise Untraceable(f"writes into an array with np.{ufunc.__name__}")
        function = ufunc if method == "__call__" else getattr(ufunc, method)
        return self.trace.call(function, inputs, kwargs)

    def __array_function__(self, function: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if function.__name__ in _WRITING:
            raise Untraceable(f"writes into an array with np.{function.__name__}")
        if function.__name__ in _SHAPED_BY_VALUES or (
                function is np.where and len(args) + len(kwargs) == 1):  # = np.nonzero
            raise Untraceable(f"calls np.{function.__name__}, shaped by the values")
        return self.trace.call(function, args, kwargs)


def _refuse_shaping_index(index: Any) -> None:
    """Indexing by a boolean array, or slicing by bounds, computed from the values gives a
    result whose shape depends on them."""
    for part in index if type(index) is tuple else (index,):
        if type(part) is Traced and getattr(part.real, "dtype", None) == np.bool_:
            raise Untraceable("indexes by a mask computed from the values")
        if type(part) is slice and Traced in (type(part.start), type(part.stop),
                                              type(part.step)):
            raise Untraceable("slices by bounds computed from the values")


def _operator(symbol: str, function: Callable[[Any, Any], Any], reflected: bool) -> Any:
    def method(self: Traced, other: Any) -> Any:
        a, b = (other, self) if reflected else (self, other)
        trace = self.trace
        return trace.emit(f"{trace.expr(a)} {symbol} {trace.expr(b)}",
                          function(real(a), real(b)))

    return method


for _name, _symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("truediv", "/"),
                       ("floordiv", "//"), ("mod", "%"), ("pow", "**"), ("matmul", "@"),
                       ("and", "&"), ("or", "|"), ("xor", "^")):
    _function = getattr(operator, _name + "_" if _name in ("and", "or") else _name)
    setattr(Traced, f"__{_name}__", _operator(_symbol, _function, reflected=False))
    setattr(Traced, f"__r{_name}__", _operator(_symbol, _function, reflected=True))
for _name, _symbol in (("lt", "<"), ("le", "<="), ("gt", ">"), ("ge", ">="), ("eq", "=="),
                       ("ne", "!=")):
    setattr(Traced, f"__{_name}__", _operator(_symbol, getattr(operator, _name), False))


def _unary(symbol: str, function: Callable[[Any], Any]) -> Any:
    def method(self: Traced) -> Any:
        return self.trace.emit(f"{symbol}{self.name}", function(self.real))

    return method


for _name, _symbol in (("neg", "-"), ("pos", "+"), ("invert", "~")):
    setattr(Traced, f"__{_name}__", _unary(_symbol, getattr(operator, _name)))


def real(x: Any) -> Any:
    """``x`` with every traced value replaced by its real one (in tuples, lists, dicts)."""
    if type(x) is Traced:
        return x.real
    if type(x) in (tuple, list):
        return type(x)(real(v) for v in x)
    if type(x) is dict:
        return {k: real(v) for k, v in x.items()}
    if type(x) is slice:
        return slice(real(x.start), real(x.stop), real(x.step))
    return x


class TracingOps:
    """An ``ops`` namespace whose calls are noted in a trace (and computed on the real
    arrays by the namespace it stands for)."""

    def __init__(self, ops: Any, trace: Trace) -> None:
        self._ops, self._trace = ops, trace

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._ops, name)
        if not callable(attribute):
            return attribute  # the dtype, say
        trace = self._trace
        if name == "getitem":
            def getitem(x: Any, index: Any) -> Any:
                _refuse_shaping_index(index)
                return trace.call(attribute, (x, index), {})

            return getitem
        return lambda *args, **kwargs: trace.call(attribute, args, kwargs)


_LARGE = 1 << 16  # bytes: an array this large is freed as soon as the replay is done with it
_LOCAL = re.compile(r"\bt\d+\b")


def _item(x: Any) -> Any:
    return x.item()


class Trace:
    """Straight-line Python source: one assignment per call, guards, and the constants
    (functions, arrays, NumPy scalars) the source refers to by name."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"operator": operator, "_item": _item}
        self._constants: dict[int, str] = {}  # id -> name, for the objects in _kept
        self._kept: list[Any] = []  # alive while tracing, so that no id is reused
        self._count = 0
        self._large: set[str] = set()  # locals holding large arrays

    def value(self, array: Any, name: str) -> Traced:
        """A traced value known to the source as ``name`` (an argument, a local)."""
        return Traced(array, name, self)

    def constant(self, x: Any) -> str:
        """A name for ``x`` in the source. An array is kept read-only: if a call wrote into
        it, the replay would raise instead of reusing changed values."""
        key = id(x)
        name = self._constants.get(key)
        if name is None:
            self._kept.append(x)
            if type(x) is np.ndarray and x.flags.writeable:
                x = x.copy()
                x.flags.writeable = False
            name = self._constants[key] = f"c{len(self._constants)}"
            self.names[name] = x
        return name

    def expr(self, x: Any) -> str:
        """Source text for an operand."""
        kind = type(x)
        if kind is Traced:
            return x.name
        if x is None or x is Ellipsis or kind is bool or kind is str or kind is int:
            return f"({x!r})"
        if kind is float and math.isfinite(x):
            return f"({x!r})"
        if kind is tuple:
            return "(" + "".join(f"{self.expr(v)}, " for v in x) + ")"
        if kind is list:
            return "[" + ", ".join(self.expr(v) for v in x) + "]"
        if kind is dict and all(type(k) is str for k in x):
            return "{" + ", ".join(f"{k!r}: {self.expr(v)}" for k, v in x.items()) + "}"
        if kind is slice:
            return f"slice({self.expr(x.start)}, {self.expr(x.stop)}, {self.expr(x.step)})"
        return self.constant(x)

    def emit(self, text: str, value: Any) -> Any:
        """``value``, computed by the source ``text``, as a new local (a tuple or list of
        results as one local per item)."""
        name = f"t{self._count}"
        self._count += 1
        self.lines.append(f"{name} = {text}")
        if type(value) in (tuple, list):
            return type(value)(self.emit(f"{name}[{k}]", v) for k, v in enumerate(value))
        if getattr(value, "nbytes", 0) >= _LARGE:
            self._large.add(name)
        return Traced(value, name, self)

    def call(self, function: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        """``function(*args, **kwargs)``, computed and noted."""
        value = function(*real(args), **real(kwargs))
        return self.emit(f"{self.constant(function)}({self._operands(args, kwargs)})", value)

    def method(self, x: Traced, name: str, args: Any, kwargs: dict[str, Any]) -> Any:
        """``x.name(*args, **kwargs)``, computed and noted."""
        value = getattr(x.real, name)(*real(args), **real(kwargs))
        return self.emit(f"{x.name}.{name}({self._operands(args, kwargs)})", value)

    def _operands(self, args: Any, kwargs: dict[str, Any]) -> str:
        return ", ".join([*(self.expr(a) for a in args),
                          *(f"{k}={self.expr(v)}" for k, v in kwargs.items())])

    def source(self, results: set[str]) -> list[str]:
        """The lines, with each large array deleted after its last use (unless it is one of
        ``results``): a step's temporaries then take no more memory than in an eager
        backward, which frees them as it goes. Small ones stay: a ``del`` costs more than
        holding them."""
        last_use: dict[str, int] = {}
        for k, line in enumerate(self.lines):
            for name in _LOCAL.findall(line):
                last_use[name] = k
        frees: dict[int, list[str]] = {}
        for name in self._large - results:
            frees.setdefault(last_use[name], []).append(name)
        lines = []
        for k, line in enumerate(self.lines):
            lines.append(line)
            if k in frees:
                lines.append(f"del {', '.join(sorted(frees[k]))}")
        return lines

    def guard(self, convert: str, x: Traced, value: Any) -> Any:
        """``value`` = convert(x) as the rules saw it; a replay that computes another gives up."""
        if type(value) is float and not math.isfinite(value):
            raise Untraceable("decides on a value that is not finite")
        self.lines.append(f"if {convert}({x.name}) != {value!r}: return None")
        return value
