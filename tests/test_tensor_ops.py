"""Every Tensor op against central finite differences, first and second order.

``OP_CASES`` holds one Hypothesis strategy per op in ``tensor.GRADIENTS`` (activations are
covered by test_tensor_activations.py). Each strategy draws shapes (with broadcasting where
the op broadcasts), parameters (axes, indices, exponents) and float64 inputs inside the
op's domain, kept away from kinks and ties where a finite difference would straddle two
formulas. A test fails if an op has no case, so a new op cannot ship untested.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_nn as tg
from tinygrad_nn import Tensor, grad
from tinygrad_nn._engine import toposort
from tinygrad_nn.tensor import GRADIENTS
from tinygrad_nn.testing import GradcheckError, gradgradcheck, tensor_gradcheck
from tinygrad_nn.testing.strategies import arrays, broadcastable_shapes, shapes


@dataclass(frozen=True)
class Case:
    """``fn(*inputs)`` with ``label`` naming the drawn parameters (shown on failure)."""

    label: str
    fn: Callable[..., Tensor] = field(repr=False)
    inputs: tuple[np.ndarray, ...]
    check: dict[str, float] = field(default_factory=dict, repr=False)  # gradcheck options


# ----- Case builders ---------------------------------------------------------------------

NONZERO = (0.0,)


def grid(offset: float = 0.0) -> st.SearchStrategy[float]:
    """Multiples of 0.25 (+ offset): distinct draws are never within a finite difference."""
    return st.integers(-12, 12).map(lambda k: k * 0.25 + offset)


def unary(name: str, fn: Callable[[Tensor], Tensor], low: float = -3.0, high: float = 3.0,
          avoid: tuple[float, ...] = ()) -> st.SearchStrategy[Case]:
    return arrays(shapes(), low=low, high=high, avoid=avoid).map(
        lambda x: Case(name, fn, (x,)))


@st.composite
def binary(draw: st.DrawFn, name: str, fn: Callable[[Tensor, Tensor], Tensor],
           a: tuple[float, float] = (-3.0, 3.0), b: tuple[float, float] = (-3.0, 3.0),
           b_avoid: tuple[float, ...] = (), margin: float = 1e-3) -> Case:
    shape_a, shape_b = draw(broadcastable_shapes(2))
    xa = draw(arrays(shape_a, low=a[0], high=a[1]))
    xb = draw(arrays(shape_b, low=b[0], high=b[1], avoid=b_avoid, margin=margin))
    return Case(f"{name} {shape_a} {shape_b}", fn, (xa, xb))


@st.composite
def with_scalar(draw: st.DrawFn, name: str, fn: Callable[[Tensor, float], Tensor],
                x: tuple[float, float], c: st.SearchStrategy[float],
                x_avoid: tuple[float, ...] = ()) -> Case:
    constant = draw(c)
    xs = draw(arrays(shapes(), low=x[0], high=x[1], avoid=x_avoid, margin=0.3))
    return Case(f"{name} c={constant!r}", lambda t: fn(t, constant), (xs,))


@st.composite
def pow_scalar(draw: st.DrawFn) -> Case:
    # Integer exponents (0, 1 and 2 have their own branches) on any base away from 0;
    # fractional ones on a positive base.
    c = draw(st.one_of(st.sampled_from([0, 1, 2, 3, -1, -2]), st.floats(-2.5, 3.0)))
    integral = float(c).is_integer()
    low = -2.0 if integral else 0.5
    x = draw(arrays(shapes(), low=low, high=2.0, avoid=NONZERO, margin=0.3))
    return Case(f"x ** {c!r}", lambda t: t**c, (x,))


@st.composite
def reduction(draw: st.DrawFn, name: str, distinct: bool = False) -> Case:
    shape = draw(shapes())
    axis = draw(st.one_of(st.none(), *(
        [st.integers(-len(shape), len(shape) - 1),
         st.lists(st.integers(0, len(shape) - 1), unique=True).map(tuple)] if shape else []
    )))
    keepdims = draw(st.booleans())
    if distinct:  # max/min: a unique maximum, so the gradient is not split by a tie
        x = draw(hnp.arrays(np.float64, shape, elements=grid(), unique=True))
    else:
        x = draw(arrays(shape))
    return Case(f"{name}(axis={axis}, keepdims={keepdims}) {shape}",
                lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), (x,))


@st.composite
def along_axis(draw: st.DrawFn, name: str) -> Case:
    shape = draw(shapes(min_dims=1))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(arrays(shape, low=-5.0, high=5.0))
    if name == "logsumexp":
        keepdims = draw(st.booleans())
        return Case(f"logsumexp(axis={axis}, keepdims={keepdims}) {shape}",
                    lambda t: t.logsumexp(axis=axis, keepdims=keepdims), (x,))
    return Case(f"{name}(axis={axis}) {shape}", lambda t: getattr(t, name)(axis=axis), (x,))


@st.composite
def clip(draw: st.DrawFn) -> Case:
    lo = draw(st.one_of(st.none(), st.floats(-2.0, 0.0)))
    hi = draw(st.one_of(st.none() if lo is not None else st.nothing(), st.floats(0.5, 2.0)))
    bounds = tuple(b for b in (lo, hi) if b is not None)
    x = draw(arrays(shapes(), avoid=bounds, margin=1e-2))
    return Case(f"clip({lo}, {hi})", lambda t: t.clip(lo, hi), (x,))


@st.composite
def reshape(draw: st.DrawFn) -> Case:
    shape = draw(shapes())
    size = math.prod(shape)
    target = draw(st.sampled_from([(size,), (1, size), (size, 1), shape[::-1], (-1,)]))
    x = draw(arrays(shape))
    return Case(f"reshape {shape} -> {target}", lambda t: t.reshape(target), (x,))


@st.composite
def transpose(draw: st.DrawFn) -> Case:
    shape = draw(shapes())
    axes = tuple(draw(st.permutations(range(len(shape)))))
    x = draw(arrays(shape))
    return Case(f"transpose{axes} {shape}", lambda t: t.transpose(*axes), (x,))


@st.composite
def smaller_and_larger(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A shape and one it broadcasts to (some axes 1 or missing in the smaller)."""
    large = draw(shapes())
    keep = draw(st.integers(0, len(large)))
    small = tuple(1 if draw(st.booleans()) else n for n in large[len(large) - keep:])
    return small, large


@st.composite
def broadcast_to(draw: st.DrawFn) -> Case:
    small, large = draw(smaller_and_larger())
    return Case(f"broadcast_to {small} -> {large}", lambda t: t.broadcast_to(large),
                (draw(arrays(small)),))


@st.composite
def sum_to(draw: st.DrawFn) -> Case:
    small, large = draw(smaller_and_larger())
    return Case(f"sum_to {large} -> {small}", lambda t: t.sum_to(small), (draw(arrays(large)),))


@st.composite
def index(draw: st.DrawFn, shape: tuple[int, ...]) -> Any:
    """A basic index, an integer-array index (repeats likely) or a boolean mask."""
    kinds = [hnp.basic_indices(shape, allow_newaxis=True)]
    if shape:
        kinds.append(hnp.integer_array_indices(shape, result_shape=shapes(1, 2, max_side=5)))
        kinds.append(hnp.arrays(np.bool_, shape))
    return draw(st.one_of(*kinds))


@st.composite
def getitem(draw: st.DrawFn) -> Case:
    shape = draw(shapes())
    idx = draw(index(shape))
    return Case(f"x{shape}[{idx!r}]", lambda t: t[idx], (draw(arrays(shape)),))


@st.composite
def scatter_to(draw: st.DrawFn) -> Case:
    shape = draw(shapes())
    idx = draw(index(shape))
    picked = np.zeros(shape)[idx].shape
    repeats = isinstance(idx, tuple) and any(isinstance(i, np.ndarray) and i.dtype != bool
                                             for i in idx)
    return Case(f"scatter_to {picked} into {shape} at {idx!r}",
                lambda t: t.scatter_to(shape, idx, accumulate=repeats), (draw(arrays(picked)),))


@st.composite
def where(draw: st.DrawFn) -> Case:
    shape_c, shape_a, shape_b = draw(broadcastable_shapes(3))
    cond = draw(hnp.arrays(np.bool_, shape_c))
    return Case(f"where {shape_c} {shape_a} {shape_b}", lambda a, b: tg.where(cond, a, b),
                (draw(arrays(shape_a)), draw(arrays(shape_b))))


@st.composite
def extremum(draw: st.DrawFn, name: str) -> Case:
    # Two offset grids never tie, and differ by at least 0.125.
    shape_a, shape_b = draw(broadcastable_shapes(2))
    a = draw(hnp.arrays(np.float64, shape_a, elements=grid()))
    b = draw(hnp.arrays(np.float64, shape_b, elements=grid(0.125)))
    fn = tg.maximum if name == "maximum" else lambda x, y: x.minimum(y)
    return Case(f"{name} {shape_a} {shape_b}", fn, (a, b))


@st.composite
def joined(draw: st.DrawFn, name: str) -> Case:
    n = draw(st.integers(1, 3))
    if name == "stack":
        shape = draw(shapes())
        axis = draw(st.integers(-len(shape) - 1, len(shape)))
        parts = [shape] * n
        fn = lambda *ts: tg.stack(ts, axis=axis)
    else:
        shape = draw(shapes(min_dims=1))
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        sizes = [draw(st.integers(1, 3)) for _ in range(n)]
        at = axis % len(shape)
        parts = [(*shape[:at], k, *shape[at + 1:]) for k in sizes]
        fn = lambda *ts: tg.concatenate(ts, axis=axis)
    return Case(f"{name}(axis={axis}) {parts}", fn, tuple(draw(arrays(p)) for p in parts))


@st.composite
def matmul(draw: st.DrawFn) -> Case:
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    kind = draw(st.sampled_from(["vec@vec", "mat@vec", "vec@mat", "mat@mat", "batched"]))
    if kind == "batched":
        batch_a, batch_b = draw(broadcastable_shapes(2, max_dims=2, max_side=2))
        shape_a, shape_b = (*batch_a, n, k), (*batch_b, k, m)
    else:
        shape_a = (k,) if kind.startswith("vec") else (n, k)
        shape_b = (k,) if kind.endswith("vec") else (k, m)
    return Case(f"matmul {shape_a} @ {shape_b}", lambda a, b: a @ b,
                (draw(arrays(shape_a)), draw(arrays(shape_b))))


@st.composite
def astype(draw: st.DrawFn) -> Case:
    # Through float32 and back: a float32 rounding step is ~1e-7 relative, so a wider
    # finite difference (and tolerance) is needed to see the slope through it.
    x = draw(arrays(shapes()))
    return Case("astype float32 -> float64",
                lambda t: (t.astype(np.float32) * 2.0).astype(np.float64), (x,),
                {"eps": 1e-3, "atol": 1e-3, "rtol": 1e-3})


POSITIVE_C = st.floats(0.5, 3.0)
ANY_C = st.floats(-3.0, 3.0)

OP_CASES: dict[str, Callable[[], st.SearchStrategy[Case]]] = {
    "add": lambda: binary("add", lambda a, b: a + b),
    "add_scalar": lambda: with_scalar("x + c", lambda t, c: c + t, (-3, 3), ANY_C),
    "sub": lambda: binary("sub", lambda a, b: a - b),
    "sub_scalar": lambda: with_scalar("x - c", lambda t, c: t - c, (-3, 3), ANY_C),
    "rsub_scalar": lambda: with_scalar("c - x", lambda t, c: c - t, (-3, 3), ANY_C),
    "mul": lambda: binary("mul", lambda a, b: a * b),
    "mul_scalar": lambda: with_scalar("x * c", lambda t, c: c * t, (-3, 3), ANY_C),
    "div": lambda: binary("div", lambda a, b: a / b, b_avoid=NONZERO, margin=0.5),
    "div_scalar": lambda: with_scalar("x / c", lambda t, c: t / c, (-3, 3), POSITIVE_C),
    "rdiv_scalar": lambda: with_scalar("c / x", lambda t, c: c / t, (-3, 3), ANY_C, NONZERO),
    "pow": lambda: binary("pow", lambda a, b: a**b, a=(0.5, 3.0), b=(-2.0, 2.0)),
    "pow_scalar": pow_scalar,
    "rpow_scalar": lambda: with_scalar("c ** x", lambda t, c: c**t, (-2, 2), POSITIVE_C),
    "neg": lambda: unary("neg", lambda t: -t),
    "matmul": matmul,
    "exp": lambda: unary("exp", Tensor.exp),
    "log": lambda: unary("log", Tensor.log, 0.5, 5.0),
    "log1p": lambda: unary("log1p", Tensor.log1p, -0.5, 3.0),
    "sqrt": lambda: unary("sqrt", Tensor.sqrt, 0.5, 5.0),
    "abs": lambda: unary("abs", abs, avoid=NONZERO),
    "clip": clip,
    "astype": astype,
    "sum": lambda: reduction("sum"),
    "mean": lambda: reduction("mean"),
    "max": lambda: reduction("max", distinct=True),
    "min": lambda: reduction("min", distinct=True),
    "softmax": lambda: along_axis("softmax"),
    "log_softmax": lambda: along_axis("log_softmax"),
    "logsumexp": lambda: along_axis("logsumexp"),
    "reshape": reshape,
    "transpose": transpose,
    "broadcast_to": broadcast_to,
    "sum_to": sum_to,
    "getitem": getitem,
    "scatter_to": scatter_to,
    "where": where,
    "maximum": lambda: extremum("maximum"),
    "minimum": lambda: extremum("minimum"),
    "concatenate": lambda: joined("concatenate"),
    "stack": lambda: joined("stack"),
}
OPS = sorted(OP_CASES)


def test_every_op_has_a_case():
    """Adding an op to GRADIENTS without a case here fails, instead of going untested."""
    assert set(GRADIENTS) - {"activation"} == set(OP_CASES)


def ops_in_graph(root: Tensor) -> set[str]:
    return {node._op for node in toposort(root)}


# ----- First and second order ------------------------------------------------------------


@pytest.mark.parametrize("op", OPS)
def test_gradient_matches_finite_differences(op):
    @given(OP_CASES[op]())
    def check(case: Case) -> None:
        leaves = [Tensor(x, requires_grad=True) for x in case.inputs]
        assert op in ops_in_graph(case.fn(*leaves)), f"{case.label} does not exercise {op}"
        tensor_gradcheck(case.fn, *case.inputs, **case.check)

    check()


@pytest.mark.parametrize("op", OPS)
def test_second_order_matches_finite_differences(op):
    @settings(max_examples=max(10, settings().max_examples // 2))
    @given(OP_CASES[op]())
    def check(case: Case) -> None:
        gradgradcheck(case.fn, *case.inputs, **case.check)

    check()


@pytest.mark.parametrize("op", OPS)
def test_float32_stays_float32(op):
    """No silent float64 upcast: float32 inputs give float32 outputs and gradients."""

    @settings(max_examples=10)
    @given(OP_CASES[op]())
    def check(case: Case) -> None:
        leaves = [Tensor(x.astype(np.float32), requires_grad=True) for x in case.inputs]
        out = case.fn(*leaves)
        if op == "astype":
            out = out.astype(np.float32)
        assert out.dtype == np.float32
        grads = grad(out.sum(), leaves, allow_unused=True)
        assert all(g.dtype == np.float32 for g in grads)

    check()


# ----- The checks can fail -----------------------------------------------------------------


def test_a_wrong_first_order_rule_is_caught(monkeypatch):
    # d(a*b)/da = b; claim it is a instead.
    monkeypatch.setitem(GRADIENTS, "mul", (lambda g, a, b, out, ops: g * a, GRADIENTS["mul"][1]))
    a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])
    with pytest.raises(GradcheckError, match="input 0"):
        tensor_gradcheck(lambda x, y: x * y, a, b)


def test_a_rule_right_only_to_first_order_is_caught(monkeypatch):
    # exp's rule with `out` detached: every first derivative is right, but under
    # create_graph the gradient no longer depends on x, so the second derivative is lost.
    monkeypatch.setitem(GRADIENTS, "exp", (
        lambda g, x, out, ops: g * (out.detach() if isinstance(out, Tensor) else out),))
    x = np.array([0.5, -1.0])
    assert tensor_gradcheck(lambda t: t.exp(), x)
    with pytest.raises(GradcheckError):
        gradgradcheck(lambda t: t.exp(), x)


def test_a_wrong_broadcast_reduction_is_caught(monkeypatch):
    # A rule that returns the right value for the wrong input shape: the backward loop
    # sums it to the input's shape; here the rule double counts before that.
    monkeypatch.setitem(GRADIENTS, "add", (lambda g, a, b, out, ops: 2 * g, GRADIENTS["add"][1]))
    with pytest.raises(GradcheckError):
        tensor_gradcheck(lambda x, y: x + y, np.ones((2, 3)), np.ones(3))


# ----- Subgradient conventions (PyTorch's) ---------------------------------------------


def leaf(values: Any) -> Tensor:
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_max_ties_share_the_gradient_evenly():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = leaf([1.0, -1.0, -1.0])
    y.min().backward()
    np.testing.assert_array_equal(y.grad, [0, 0.5, 0.5])


def test_maximum_and_minimum_ties_give_half_to_each():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    tg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0, 1])
    np.testing.assert_array_equal(b.grad, [0.5, 1, 0])
    c, d = leaf([1.0, 2.0]), leaf([1.0, 0.0])
    c.minimum(d).sum().backward()
    np.testing.assert_array_equal(c.grad, [0.5, 0])


def test_relu_and_abs_have_zero_gradient_at_zero():
    x = leaf([0.0, -0.0, 1.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 1])
    y = leaf([0.0, -2.0, 2.0])
    y.abs().sum().backward()
    np.testing.assert_array_equal(y.grad, [0, -1, 1])


def test_clip_passes_the_gradient_at_its_bounds():
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])


def test_repeated_indices_accumulate():
    x = leaf([10.0, 20.0, 30.0])
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 1])
    m = leaf(np.zeros((2, 3)))
    m[np.array([1, 1]), np.array([2, 2])].sum().backward()
    np.testing.assert_array_equal(m.grad, [[0, 0, 0], [0, 0, 2]])


def test_where_sends_nothing_to_the_unchosen_branch():
    a, b = leaf([1.0, 2.0]), leaf([3.0])
    tg.where(np.array([True, False]), a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 0])
    np.testing.assert_array_equal(b.grad, [1])  # broadcast: summed back to shape (1,)


def test_pow_gradient_is_right_at_zero_base():
    x = leaf([0.0, 1.0])
    (x**2).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 2])
    y = leaf([0.0, 2.0])
    (y**3).sum().backward()
    np.testing.assert_array_equal(y.grad, [0, 12])


def test_comparisons_carry_no_gradient():
    x = leaf([1.0, -1.0])
    mask = x > 0
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert not (x == x).requires_grad
    np.testing.assert_array_equal((x <= 0).data, [False, True])
