"""Hypothesis strategies for property tests of tinygrad_nn graphs (needs the ``testing`` extra).

>>> from hypothesis import given
>>> from tinygrad_nn.testing import gradcheck, strategies
>>> @given(strategies.expressions())
... def test_backward(case):
...     gradcheck(case.fn, *case.inputs)

Tensor strategies build on ``hypothesis.extra.numpy``: ``shapes``, ``float_dtypes``,
``arrays``, ``tensors`` and ``broadcastable_pairs`` (two arrays whose shapes broadcast).

>>> @given(strategies.broadcastable_pairs())
... def test_mul(pair):
...     gradcheck(lambda a, b: a * b, *pair)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._extras import requires

with requires("testing"):
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

from .. import ops
from ..ops import activations
from ..scalar import Value
from ..tensor import Tensor
from .cases import OpCase

__all__ = [
    "ActivationCase",
    "Draw",
    "Expression",
    "activation_cases",
    "activation_names",
    "arrays",
    "broadcastable_pairs",
    "broadcastable_shapes",
    "elements",
    "expressions",
    "finite_floats",
    "float_dtypes",
    "op_cases",
    "shapes",
    "tensors",
    "values",
]

# Keeps x +- eps and every intermediate of a random expression far from overflow.
DEFAULT_BOUND = 1e3


def finite_floats(min_value: float = -DEFAULT_BOUND, max_value: float = DEFAULT_BOUND
                  ) -> st.SearchStrategy[float]:
    """Finite floats (no NaN, no infinity) in ``[min_value, max_value]``."""
    return st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)


def values(min_value: float = -DEFAULT_BOUND, max_value: float = DEFAULT_BOUND
           ) -> st.SearchStrategy[Value]:
    """Leaf ``Value``s holding finite floats."""
    return st.builds(Value, finite_floats(min_value, max_value))


def activation_names() -> st.SearchStrategy[str]:
    """Names of the registered activations, read when the strategy is drawn from.

    Deferred, so an activation registered after this call is still drawn.
    """
    return st.deferred(lambda: st.sampled_from(activations.names()))


@dataclass(frozen=True)
class ActivationCase:
    """An activation, an input and parameter values to check it at."""

    name: str
    x: float
    params: dict[str, float] = field(default_factory=dict)


def activation_cases(name: str | None = None, kink_margin: float = 1e-3
                     ) -> st.SearchStrategy[ActivationCase]:
    """Inputs inside an activation's ``domain``, at least ``kink_margin`` from its kinks,
    with parameters drawn from its declared ``params`` ranges.

    With no ``name``, the activation is drawn too (from all registered ones).
    """
    if name is None:
        return activation_names().flatmap(lambda drawn: activation_cases(drawn, kink_margin))
    activation = activations.get(name)
    low, high = activation.domain
    x = finite_floats(low, high).filter(
        lambda v: all(abs(v - kink) >= kink_margin for kink in activation.kinks)
    )
    params = st.fixed_dictionaries(
        {p: finite_floats(lo, hi) for p, (lo, hi) in activation.params.items()}
    )
    return st.builds(ActivationCase, st.just(name), x, params)


# ----- Random expression graphs ----------------------------------------------------------
# Each op is smooth on the whole real line (no kinks, no singularities), so a finite
# difference is a fair judge whatever the operands. Taking operands from every node made
# so far is what creates diamonds: one node feeding several ops, or one op twice.

EXPRESSION_OPS: dict[str, Callable[[Value, Value], Value]] = {
    "{a} + {b}": lambda a, b: a + b,
    "{a} - {b}": lambda a, b: a - b,
    "{a} * {b}": lambda a, b: a * b,
    "{a} / (1 + {b}**2)": lambda a, b: a / (1 + b**2),
    "3 - {a}": lambda a, b: 3 - a,
    "2 / (1 + {a}**2)": lambda a, b: 2 / (1 + a**2),
    "-{a} * 0.5": lambda a, b: -a * 0.5,
    "{a} ** 3": lambda a, b: a**3,
    "sqrt(1 + {a}**2)": lambda a, b: (1 + a * a) ** 0.5,
    "log(1 + {a}**2)": lambda a, b: (1 + a * a).log(),
    "exp(tanh({a}))": lambda a, b: a.tanh().exp(),
    "2 ** tanh({a})": lambda a, b: 2 ** a.tanh(),
    "(1 + {a}**2) ** tanh({b})": lambda a, b: (1 + a * a) ** b.tanh(),
    "sigmoid({a}) * {b}": lambda a, b: a.sigmoid() * b,
    "sum({a}, {b}, {a})": lambda a, b: Value.sum([a, b, a]),
    "dot([{a}, {b}], [{b}, {a}]) + 1": lambda a, b: Value.dot([a, b], [b, a], 1.0),
}


@dataclass(frozen=True)
class Expression:
    """A random program over ``Value``s; ``fn(*inputs)`` runs it and returns its last node."""

    steps: tuple[tuple[str, int, int], ...]
    inputs: tuple[float, ...]

    def fn(self, *leaves: Any) -> Any:
        nodes = list(leaves)
        for op, i, j in self.steps:
            nodes.append(EXPRESSION_OPS[op](nodes[i], nodes[j]))
        return nodes[-1]

    def __repr__(self) -> str:
        names = [f"x{i}" for i in range(len(self.inputs))]
        lines = [f"{n} = {v!r}" for n, v in zip(names, self.inputs)]
        for k, (op, i, j) in enumerate(self.steps):
            lines.append(f"v{k} = " + op.format(a=names[i], b=names[j]))
            names.append(f"v{k}")
        return "Expression:\n  " + "\n  ".join(lines)


@st.composite
def expressions(draw: st.DrawFn, max_inputs: int = 3, max_steps: int = 6,
                bound: float = 2.0) -> Expression:
    """Random expression graphs that reuse nodes (diamonds), with inputs in ``[-bound, bound]``."""
    n_inputs = draw(st.integers(1, max_inputs))
    inputs = tuple(draw(finite_floats(-bound, bound)) for _ in range(n_inputs))
    steps = []
    for k in range(draw(st.integers(1, max_steps))):
        available = st.integers(0, n_inputs + k - 1)
        steps.append((draw(st.sampled_from(sorted(EXPRESSION_OPS))), draw(available),
                      draw(available)))
    return Expression(tuple(steps), inputs)


# ----- Arrays and tensors ----------------------------------------------------------------
# Small shapes on purpose: a finite-difference check perturbs every element twice.

MAX_DIMS = 3
MAX_SIDE = 4


def shapes(min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 1,
           max_side: int = MAX_SIDE) -> st.SearchStrategy[tuple[int, ...]]:
    """Array shapes, 0-d (a scalar tensor) included by default."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def float_dtypes() -> st.SearchStrategy[np.dtype]:
    """The dtypes a Tensor computes gradients in: float32 and float64."""
    return st.sampled_from([np.dtype(np.float32), np.dtype(np.float64)])


def elements(low: float = -3.0, high: float = 3.0, avoid: tuple[float, ...] = (),
             margin: float = 1e-3) -> st.SearchStrategy[float]:
    """Floats in ``[low, high]`` at least ``margin`` away from every point in ``avoid``
    (kinks and singularities, where a finite difference straddles two formulas)."""
    drawn = finite_floats(low, high)
    if avoid:
        drawn = drawn.filter(lambda v: all(abs(v - a) >= margin for a in avoid))
    return drawn


def arrays(shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
           dtype: Any = np.float64, low: float = -3.0, high: float = 3.0,
           avoid: tuple[float, ...] = (), margin: float = 1e-3) -> st.SearchStrategy[np.ndarray]:
    """ndarrays of ``dtype`` with elements from ``elements(low, high, avoid, margin)``."""
    dtype = np.dtype(dtype)
    width = 32 if dtype == np.float32 else 64
    values = elements(low, high, avoid, margin).map(float)
    if width == 32:  # a float64 draw may not be representable in float32
        values = values.map(lambda v: float(np.float32(v))).filter(
            lambda v: low <= v <= high and all(abs(v - a) >= margin for a in avoid))
    return hnp.arrays(dtype, shapes() if shape is None else shape, elements=values)


def tensors(shape: tuple[int, ...] | st.SearchStrategy[tuple[int, ...]] | None = None,
            dtype: Any = np.float64, low: float = -3.0, high: float = 3.0,
            requires_grad: bool = False) -> st.SearchStrategy[Tensor]:
    """Leaf Tensors with elements in ``[low, high]``."""
    return arrays(shape, dtype, low, high).map(
        lambda a: Tensor(a, requires_grad=requires_grad))


Shape = tuple[int, ...]


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = MAX_DIMS,
                         max_side: int = MAX_SIDE) -> st.SearchStrategy[tuple[Shape, ...]]:
    """``num_shapes`` shapes that broadcast together (NumPy rules), as a tuple."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims, max_side=max_side
    ).map(lambda drawn: tuple(drawn.input_shapes))


@st.composite
def broadcastable_pairs(draw: st.DrawFn, dtype: Any = np.float64, low: float = -3.0,
                        high: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Two arrays whose shapes broadcast together, e.g. (3, 1) and (4,)."""
    shape_a, shape_b = draw(broadcastable_shapes(2))
    return draw(arrays(shape_a, dtype, low, high)), draw(arrays(shape_b, dtype, low, high))


# ----- Registered ops ----------------------------------------------------------------------


class Draw:
    """What an op's ``cases(draw)`` function draws with: shapes, arrays, axes, indices.

    It wraps a Hypothesis ``draw``, so cases written against it shrink like any other
    Hypothesis data; ``draw(strategy)`` draws from any strategy directly.
    """

    def __init__(self, draw: st.DrawFn) -> None:
        self._draw = draw

    def __call__(self, strategy: st.SearchStrategy[Any]) -> Any:
        return self._draw(strategy)

    def shape(self, min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 1,
              max_side: int = MAX_SIDE) -> tuple[int, ...]:
        """A shape (0-d included by default)."""
        return self._draw(shapes(min_dims, max_dims, min_side, max_side))

    def shapes(self, n: int, min_dims: int = 0, max_dims: int = MAX_DIMS,
               max_side: int = MAX_SIDE) -> tuple[tuple[int, ...], ...]:
        """``n`` shapes that broadcast together."""
        return self._draw(broadcastable_shapes(n, min_dims, max_dims, max_side))

    def array(self, shape: tuple[int, ...], low: float = -3.0, high: float = 3.0, *,
              avoid: tuple[float, ...] = (), unique: bool = False,
              dtype: Any = np.float64) -> np.ndarray:
        """An array of ``shape`` with elements in ``[low, high]``, away from ``avoid``;
        ``unique`` draws distinct elements on a grid of step 1/8 (no ties, so no kinks of
        max, sort and friends)."""
        if unique:
            grid = st.integers(int(np.ceil(low * 8)), int(np.floor(high * 8))).map(
                lambda k: k / 8.0).filter(lambda v: all(abs(v - a) >= 1e-3 for a in avoid))
            return self._draw(hnp.arrays(dtype, shape, elements=grid, unique=True))
        return self._draw(arrays(shape, dtype, low, high, avoid))

    def mask(self, shape: tuple[int, ...]) -> np.ndarray:
        """A boolean array of ``shape``."""
        return self._draw(hnp.arrays(np.bool_, shape))

    def axis(self, ndim: int, *, none: bool = True, many: bool = True
             ) -> int | tuple[int, ...] | None:
        """An axis of an ``ndim``-d array: None (all), one (negative too), or several."""
        options: list[st.SearchStrategy[Any]] = [st.none()] if none or not ndim else []
        if ndim:
            options.append(st.integers(-ndim, ndim - 1))
            if many:
                options.append(st.lists(st.integers(0, ndim - 1), unique=True).map(tuple))
        return self._draw(st.one_of(*options))

    def integers(self, low: int, high: int) -> int:
        return self._draw(st.integers(low, high))

    def floats(self, low: float, high: float) -> float:
        return self._draw(finite_floats(low, high))

    def boolean(self) -> bool:
        return self._draw(st.booleans())

    def choice(self, options: Any) -> Any:
        return self._draw(st.sampled_from(list(options)))

    def permutation(self, items: Any) -> list[Any]:
        return self._draw(st.permutations(list(items)))

    def index(self, shape: tuple[int, ...]) -> Any:
        """An index into ``shape``: basic (slices, ints, None, Ellipsis), an integer array
        (repeats likely) or a boolean mask."""
        kinds: list[st.SearchStrategy[Any]] = [hnp.basic_indices(shape, allow_newaxis=True)]
        if shape:
            kinds.append(hnp.integer_array_indices(shape, result_shape=shapes(1, 2, max_side=5)))
            kinds.append(hnp.arrays(np.bool_, shape))
        return self._draw(st.one_of(*kinds))


def op_cases(name: str) -> st.SearchStrategy[OpCase]:
    """Cases to check the registered op ``name`` at, as its registry record describes.

    Elementwise ops: inputs of broadcastable shapes inside ``domain``, away from ``kinks``
    (an input that takes a gradient is sometimes a plain number, which the engines treat as
    a constant), parameters drawn from ``params``. Other ops: their ``cases`` function, or
    without one, inputs of one shape inside ``domain``.
    """
    return _op_case(name)


@st.composite
def _op_case(draw: st.DrawFn, name: str) -> OpCase:
    op = ops.get(name)
    params = {p: draw(finite_floats(lo, hi)) for p, (lo, hi) in op.params.items()}
    if op.cases is not None:
        drawn, given, *options = op.cases(Draw(draw))
        return OpCase(name, tuple(drawn), {**params, **given}, options[0] if options else {})
    n = draw(st.integers(1, 3)) if op.variadic else len(op.inputs)
    # Elementwise inputs broadcast together; other ops get one shape for all.
    input_shapes = draw(broadcastable_shapes(n)) if op.elementwise else (draw(shapes()),) * n
    inputs: list[Any] = []
    for i, shape in enumerate(input_shapes):
        low, high = op.domain_of(0 if op.variadic else i)
        inputs.append(draw(arrays(shape, np.float64, low, high, op.kinks)))
    if op.elementwise and n > 1:
        # A Python number in place of one input: the engines' constant path.
        k = draw(st.integers(-1, n - 1))
        if k >= 0 and inputs[k].ndim == 0 and draw(st.booleans()):
            inputs[k] = float(inputs[k])
    return OpCase(name, tuple(inputs), params)
