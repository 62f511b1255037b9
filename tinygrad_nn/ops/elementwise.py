"""Elementwise ops on both engines: arithmetic, elementary functions, comparisons.

Each op is one ``register`` call: its forward rule, then one gradient rule per input, then
what property tests need (``domain`` where finite differences are trustworthy, ``kinks``
where the derivative jumps). Rules see ``g`` (the gradient arriving at the output), the
inputs, ``out`` (the output) and ``ops``; see ``ops.registry`` for the contract.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .registry import register

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)

# ----- Arithmetic ------------------------------------------------------------------------

register(
    "add",
    forward=lambda a, b, ops: a + b,
    grads=(lambda g, a, b, out, ops: g,
           lambda g, a, b, out, ops: g),
    doc="a + b",
)

register(
    "sub",
    forward=lambda a, b, ops: a - b,
    grads=(lambda g, a, b, out, ops: g,
           lambda g, a, b, out, ops: -g),
    doc="a - b",
)

register(
    "mul",
    forward=lambda a, b, ops: a * b,
    grads=(lambda g, a, b, out, ops: g * b,
           lambda g, a, b, out, ops: g * a),
    doc="a * b",
)

register(
    "div",
    forward=lambda a, b, ops: a / b,
    grads=(lambda g, a, b, out, ops: g / b,
           lambda g, a, b, out, ops: -g * out / b),
    domain=((-3.0, 3.0), (0.25, 4.0)),  # b away from 0, where a / b has its pole
    doc="a / b",
)


def _quotients_off_integers(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # a on odd multiples of 1/16, b on nonzero multiples of 1/2: a / b = odd / (8 k) is
    # never an integer (where // and % jump), and at least 1/48 away from one.
    shape_a, shape_b = draw.shapes(2)
    a = draw.array(shape_a, -5.0, 5.0) // 0.125 * 0.125 + 0.0625
    b = draw.array(shape_b, -3.0, 3.0, avoid=(0.0,))
    b = np.where(b > 0, np.ceil(2.0 * b), np.floor(2.0 * b)) / 2.0
    return (np.asarray(a), np.asarray(b)), {}  # 0-d arithmetic gives NumPy scalars


register(
    "floor_divide",
    forward=lambda a, b, ops: a // b,
    # NOTE: floor(a / b) is flat between its jumps, so both gradients are 0, as for
    # floor (PyTorch has no derivative for floor_divide: its backward raises).
    grads=(lambda g, a, b, out, ops: ops.zeros_like(g),
           lambda g, a, b, out, ops: ops.zeros_like(g)),
    cases=_quotients_off_integers,
    doc="a // b: the quotient rounded down (towards -inf), as Python, NumPy and PyTorch",
)

register(
    "remainder",
    forward=lambda a, b, ops: a % b,
    # a % b = a - b * floor(a / b): the gradients of PyTorch's remainder.
    grads=(lambda g, a, b, out, ops: g,
           lambda g, a, b, out, ops: -g * (a // b)),
    cases=_quotients_off_integers,
    doc="a % b = a - b * floor(a / b): the sign of b, as Python, NumPy and torch.remainder",
)

register(
    "neg",
    forward=lambda x, ops: -x,
    grads=(lambda g, x, out, ops: -g,),
    doc="-x",
)


def _pow_grad_base(g: Any, a: Any, b: Any, out: Any, ops: Any) -> Any:
    # NOTE: b * a ** (b - 1) rather than b * out / a, so the slope is right at a == 0: 0
    # for b > 1, and inf for 0 < b < 1 (sqrt's slope at 0), as in PyTorch. Where b == 0
    # the slope is 0 whatever a is (PyTorch's choice too), and a is replaced by 1 there so
    # that a ** -1 is never made (it overflows for a tiny a, and is inf for a == 0).
    return g * ops.where(b == 0, 0.0, b * ops.pow(ops.where(b == 0, 1.0, a), b - 1.0))


def _pow_grad_exponent(g: Any, a: Any, b: Any, out: Any, ops: Any) -> Any:
    # NOTE: d/db a ** b = a ** b log(a), which needs a > 0. PyTorch's values elsewhere: 0
    # where a == 0 and b >= 0 (the limit from a > 0); where a == 0 and b < 0, out * log(0)
    # = -inf (+inf for (-0.0) ** odd b, whose out is -inf); NaN for a negative base. Only
    # positive numbers reach log and only finite ones the product, so no branch warns.
    positive = a > 0
    slope = ops.where(positive, out, 0.0) * ops.log(ops.where(positive, a, 1.0))
    at_zero = ops.where(b >= 0, 0.0, ops.where(out < 0, math.inf, -math.inf))
    return g * ops.where(positive, slope, ops.where(a == 0, at_zero, math.nan))


register(
    "pow",
    forward=lambda a, b, ops: ops.pow(a, b),
    grads=(_pow_grad_base, _pow_grad_exponent),
    domain=((0.25, 3.0), (-2.5, 2.5)),  # a positive base: a ** b is real, smooth in both
    kinks=(0.0,),  # b == 0 switches the base's slope to the constant 0
    # On arrays, IEEE values without NumPy's warnings: 0 ** -1 == inf, (-8) ** (1/3) is NaN.
    doc="a ** b",
)

register(
    "square",
    forward=lambda x, ops: x * x,
    grads=(lambda g, x, out, ops: 2.0 * g * x,),
    doc="x * x",
)

register(
    "reciprocal",
    forward=lambda x, ops: 1.0 / x,
    grads=(lambda g, x, out, ops: -g * out * out,),
    domain=(0.25, 4.0),  # away from the pole at 0 (the rule holds on both sides)
    doc="1 / x",
)

# ----- Elementary functions ---------------------------------------------------------------

register(
    "exp",
    forward=lambda x, ops: ops.exp(x),
    grads=(lambda g, x, out, ops: g * out,),
    domain=(-5.0, 5.0),
    doc="exp(x)",
)

register(
    "log",
    forward=lambda x, ops: ops.log(x),
    grads=(lambda g, x, out, ops: g / x,),
    domain=(0.05, 20.0),
    doc="natural logarithm log(x)",
)

register(
    "log1p",
    forward=lambda x, ops: ops.log1p(x),
    grads=(lambda g, x, out, ops: g / (1.0 + x),),
    domain=(-0.95, 20.0),
    doc="log(1 + x), accurate for small x",
)

register(
    "exp2",
    forward=lambda x, ops: ops.exp2(x),
    grads=(lambda g, x, out, ops: g * out * _LN2,),
    domain=(-5.0, 5.0),
    doc="2 ** x",
)

register(
    "expm1",
    forward=lambda x, ops: ops.expm1(x),
    grads=(lambda g, x, out, ops: g * (out + 1.0),),
    domain=(-5.0, 5.0),
    doc="exp(x) - 1, accurate for small x",
)

register(
    "log2",
    forward=lambda x, ops: ops.log2(x),
    grads=(lambda g, x, out, ops: g / (x * _LN2),),
    domain=(0.05, 20.0),
    doc="base-2 logarithm",
)

register(
    "log10",
    forward=lambda x, ops: ops.log10(x),
    grads=(lambda g, x, out, ops: g / (x * _LN10),),
    domain=(0.05, 20.0),
    doc="base-10 logarithm",
)

register(
    "sqrt",
    forward=lambda x, ops: ops.sqrt(x),
    # NOTE: at 0 the slope is infinite (inf on arrays, as in PyTorch).
    grads=(lambda g, x, out, ops: 0.5 * g / out,),
    domain=(0.05, 20.0),
    doc="sqrt(x)",
)

register(
    "rsqrt",
    forward=lambda x, ops: 1.0 / ops.sqrt(x),
    grads=(lambda g, x, out, ops: -0.5 * g * out * out * out,),
    domain=(0.05, 20.0),
    doc="1 / sqrt(x)",
)


def _logaddexp(a: Any, b: Any, ops: Any) -> Any:
    # NOTE: max(a, b) + log1p(exp(-|a - b|)) never overflows. Equal inputs skip the
    # difference, so two infinities of one sign give that infinity (inf - inf is NaN).
    same = a == b
    gap = ops.abs(ops.where(same, 0.0, a) - ops.where(same, 0.0, b))
    return ops.maximum(a, b) + ops.log1p(ops.exp(-gap))


register(
    "logaddexp",
    forward=_logaddexp,
    # exp(a) / (exp(a) + exp(b)) = sigmoid(a - b), PyTorch's form: unlike exp(a - out), it
    # does not lose digits to out's rounding when |out| is large (0.5 exactly for a == b).
    grads=(lambda g, a, b, out, ops: g * ops.sigmoid(a - b),
           lambda g, a, b, out, ops: g * ops.sigmoid(b - a)),
    doc="log(exp(a) + exp(b)), without overflow",
)

# ----- The error function -----------------------------------------------------------------

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)

register(
    "erf",
    forward=lambda x, ops: ops.erf(x),
    grads=(lambda g, x, out, ops: _TWO_OVER_SQRT_PI * g * ops.exp(-x * x),),
    domain=(-4.0, 4.0),
    doc="erf(x) = 2/sqrt(pi) * integral of exp(-t^2) dt from 0 to x",
)

register(
    "erfc",
    forward=lambda x, ops: ops.erfc(x),
    grads=(lambda g, x, out, ops: -_TWO_OVER_SQRT_PI * g * ops.exp(-x * x),),
    domain=(-4.0, 4.0),
    doc="erfc(x) = 1 - erf(x), accurate where erf(x) is close to 1",
)

# ----- Trigonometric and hyperbolic functions ------------------------------------------

register(
    "sin",
    forward=lambda x, ops: ops.sin(x),
    grads=(lambda g, x, out, ops: g * ops.cos(x),),
    doc="sin(x)",
)

register(
    "cos",
    forward=lambda x, ops: ops.cos(x),
    grads=(lambda g, x, out, ops: -g * ops.sin(x),),
    doc="cos(x)",
)

register(
    "tan",
    forward=lambda x, ops: ops.tan(x),
    grads=(lambda g, x, out, ops: g * (1.0 + out * out),),
    domain=(-1.4, 1.4),  # inside (-pi/2, pi/2), away from the poles
    doc="tan(x)",
)

register(
    "arcsin",
    forward=lambda x, ops: ops.arcsin(x),
    grads=(lambda g, x, out, ops: g / ops.sqrt(1.0 - x * x),),
    domain=(-0.95, 0.95),
    doc="the inverse of sin, in [-pi/2, pi/2]",
)

register(
    "arccos",
    forward=lambda x, ops: ops.arccos(x),
    grads=(lambda g, x, out, ops: -g / ops.sqrt(1.0 - x * x),),
    domain=(-0.95, 0.95),
    doc="the inverse of cos, in [0, pi]",
)

register(
    "arctan",
    forward=lambda x, ops: ops.arctan(x),
    grads=(lambda g, x, out, ops: g / (1.0 + x * x),),
    doc="the inverse of tan, in (-pi/2, pi/2)",
)

register(
    "sinh",
    forward=lambda x, ops: ops.sinh(x),
    grads=(lambda g, x, out, ops: g * ops.cosh(x),),
    domain=(-5.0, 5.0),
    doc="(exp(x) - exp(-x)) / 2",
)

register(
    "cosh",
    forward=lambda x, ops: ops.cosh(x),
    grads=(lambda g, x, out, ops: g * ops.sinh(x),),
    domain=(-5.0, 5.0),
    doc="(exp(x) + exp(-x)) / 2",
)

register(
    "arcsinh",
    forward=lambda x, ops: ops.arcsinh(x),
    grads=(lambda g, x, out, ops: g / ops.sqrt(x * x + 1.0),),
    doc="the inverse of sinh",
)

register(
    "arccosh",
    forward=lambda x, ops: ops.arccosh(x),
    grads=(lambda g, x, out, ops: g / ops.sqrt(x * x - 1.0),),
    domain=(1.05, 10.0),
    doc="the inverse of cosh, for x >= 1",
)

register(
    "arctanh",
    forward=lambda x, ops: ops.arctanh(x),
    grads=(lambda g, x, out, ops: g / (1.0 - x * x),),
    domain=(-0.95, 0.95),
    doc="the inverse of tanh, for -1 < x < 1",
)

# ----- Piecewise constant: a zero gradient, as PyTorch gives -----------------------------


def _zero_grad(g: Any, x: Any, out: Any, ops: Any) -> Any:
    # The slope is 0 everywhere it exists (the jumps have none).
    return ops.zeros_like(g)


_INTEGERS = tuple(float(k) for k in range(-3, 4))

register("floor", forward=lambda x, ops: ops.floor(x), grads=(_zero_grad,), domain=(-3.0, 3.0),
         kinks=_INTEGERS, doc="the largest integer <= x")
register("ceil", forward=lambda x, ops: ops.ceil(x), grads=(_zero_grad,), domain=(-3.0, 3.0),
         kinks=_INTEGERS, doc="the smallest integer >= x")
register("trunc", forward=lambda x, ops: ops.trunc(x), grads=(_zero_grad,),
         domain=(-3.0, 3.0), kinks=_INTEGERS, doc="x rounded towards 0")
register("round", forward=lambda x, ops: ops.round(x), grads=(_zero_grad,),
         domain=(-3.0, 3.0), kinks=tuple(k + 0.5 for k in _INTEGERS),
         doc="x rounded to the nearest integer, halves to even (as NumPy and PyTorch)")

# ----- Tests of the value (no gradient) --------------------------------------------------

register("isnan", forward=lambda x, ops: ops.isnan(x), doc="whether x is NaN")
register("isinf", forward=lambda x, ops: ops.isinf(x), doc="whether x is +inf or -inf")
register("isfinite", forward=lambda x, ops: ops.isfinite(x),
         doc="whether x is neither infinite nor NaN")

register(
    "abs",
    forward=lambda x, ops: ops.abs(x),
    # NOTE: abs'(0) is taken as 0 (the sign), as in PyTorch.
    grads=(lambda g, x, out, ops: g * ops.sign(x),),
    kinks=(0.0,),
    doc="|x|",
)

register(
    "sign",
    forward=lambda x, ops: ops.sign(x),
    grads=(_zero_grad,),
    kinks=(0.0,),
    doc="sign(x): -1, 0 or 1",
)


def _tie_split(g: Any, loses: Any, ties: Any, ops: Any) -> Any:
    # maximum and minimum: g to every input that does not lose. NOTE: as in torch.maximum,
    # at a tie each input gets half, and beside a NaN (which neither beats nor ties) both
    # get all of it.
    return ops.where(loses, 0.0, ops.where(ties, 0.5 * g, g))


def _no_ties_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # Two grids offset by 1/16 never tie (a tie is the kink of maximum and minimum).
    shape_a, shape_b = draw.shapes(2)
    return (draw.array(shape_a) // 0.125 * 0.125,
            draw.array(shape_b) // 0.125 * 0.125 + 0.0625), {}


register(
    "maximum",
    forward=lambda a, b, ops: ops.maximum(a, b),
    grads=(lambda g, a, b, out, ops: _tie_split(g, a < b, a == b, ops),
           lambda g, a, b, out, ops: _tie_split(g, b < a, a == b, ops)),
    cases=_no_ties_case,
    doc="the larger of a and b; a tie splits the gradient evenly",
)

register(
    "minimum",
    forward=lambda a, b, ops: ops.minimum(a, b),
    grads=(lambda g, a, b, out, ops: _tie_split(g, a > b, a == b, ops),
           lambda g, a, b, out, ops: _tie_split(g, b > a, a == b, ops)),
    cases=_no_ties_case,
    doc="the smaller of a and b; a tie splits the gradient evenly",
)


def _clip(x: Any, ops: Any, lo: float | None = None, hi: float | None = None) -> Any:
    if lo is None and hi is None:
        raise ValueError("give lo, hi or both")
    if lo is not None:
        x = ops.maximum(x, lo)
    return x if hi is None else ops.minimum(x, hi)


def _clip_grad(g: Any, x: Any, out: Any, ops: Any, lo: float | None = None,
               hi: float | None = None) -> Any:
    # NOTE: the gradient passes at the bounds themselves (lo <= x <= hi), as torch.clamp.
    if lo is not None:
        g = ops.where(x >= lo, g, 0.0)
    if hi is not None:
        g = ops.where(x <= hi, g, 0.0)
    return g


def _clip_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    lo = draw.choice([None, draw.floats(-2.0, 0.0)])
    hi = draw.choice([draw.floats(0.5, 2.0)] + ([None] if lo is not None else []))
    x = draw.array(draw.shape(), avoid=tuple(b for b in (lo, hi) if b is not None))
    return (x,), {"lo": lo, "hi": hi}


register(
    "clip",
    forward=_clip,
    grads=(_clip_grad,),
    cases=_clip_case,  # x kept away from the bounds, the kinks
    doc="min(max(x, lo), hi); either bound may be None",
)

register(
    "where",
    forward=lambda condition, a, b, ops: ops.where(condition, a, b),
    # No gradient reaches the condition, and none reaches the branch not taken.
    grads=(None,
           lambda g, condition, a, b, out, ops: ops.where(condition, g, 0.0),
           lambda g, condition, a, b, out, ops: ops.where(condition, 0.0, g)),
    method=False,
    doc="a where condition holds, else b",
)

register(
    "zeros_like",
    forward=lambda x, ops: ops.zeros_like(x),
    doc="zeros of x's shape and dtype",
)

register(
    "ones_like",
    forward=lambda x, ops: ops.ones_like(x),
    doc="ones of x's shape and dtype",
)

# ----- Logic on booleans and integers (no gradient): & | ^ ~ ------------------------------
# Tensor only: the scalar engine's numbers are floats.


def _masks(draw: Any, n: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return tuple(draw.mask(shape) for shape in draw.shapes(n)), {}


register("bitwise_and", forward=lambda a, b, ops: a & b, elementwise=False,
         cases=lambda draw: _masks(draw, 2), doc="a & b (on booleans: and)")
register("bitwise_or", forward=lambda a, b, ops: a | b, elementwise=False,
         cases=lambda draw: _masks(draw, 2), doc="a | b (on booleans: or)")
register("bitwise_xor", forward=lambda a, b, ops: a ^ b, elementwise=False,
         cases=lambda draw: _masks(draw, 2), doc="a ^ b (on booleans: exclusive or)")
register("bitwise_not", forward=lambda x, ops: ~x, elementwise=False,
         cases=lambda draw: _masks(draw, 1), doc="~x (on booleans: not)")

# ----- Comparisons (their results carry no gradient) -----------------------------------

register("lt", forward=lambda a, b, ops: a < b, doc="a < b")
register("le", forward=lambda a, b, ops: a <= b, doc="a <= b")
register("gt", forward=lambda a, b, ops: a > b, doc="a > b")
register("ge", forward=lambda a, b, ops: a >= b, doc="a >= b")
register("eq", forward=lambda a, b, ops: a == b, doc="a == b")
register("ne", forward=lambda a, b, ops: a != b, doc="a != b")
