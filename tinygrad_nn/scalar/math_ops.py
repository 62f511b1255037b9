"""The ``ops`` namespace on floats: the scalar engine's primitives, from ``math``.

Where ``math`` raises (``log(0)``, ``exp(1000)``) these raise too, and the ``Value`` op
that called them re-raises naming itself and its inputs; other registered ops are added
here by name (``ops.sigmoid(x)``), computed from their forward rules.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["SCALAR_OPS", "ScalarOps"]


def _pow(a: float, b: float) -> float:
    """IEEE ``a ** b``: ``0 ** -1`` is inf (``math.pow`` raises); never a complex result."""
    try:
        return math.pow(a, b)
    except ValueError:
        if a == 0.0 and b < 0:
            # NOTE: (-0.0) ** b is -inf for an odd integer b, as in C, NumPy and PyTorch.
            return math.copysign(math.inf, a) if b % 2 == 1 else math.inf
        raise ValueError(f"({a}) ** {b}: a negative base needs an integer exponent") from None


def _minimum(a: float, b: float) -> float:
    # NOTE: NaN propagates from either side, as np.minimum and torch.minimum do (Python's
    # min would return whichever operand comes first).
    return a if a < b or a != a else b


def _maximum(a: float, b: float) -> float:
    return a if a > b or a != a else b


def _round(x: float) -> float:
    # NOTE: halves go to the even neighbour, as np.round and torch.round do.
    return float(round(x)) if math.isfinite(x) else x


class ScalarOps:
    """Primitives on Python floats (the scalar engine's ``ops``)."""

    exp = staticmethod(math.exp)
    exp2 = staticmethod(lambda x: math.pow(2.0, x))
    expm1 = staticmethod(math.expm1)
    log = staticmethod(math.log)
    log2 = staticmethod(math.log2)
    log10 = staticmethod(math.log10)
    log1p = staticmethod(math.log1p)
    sqrt = staticmethod(math.sqrt)
    pow = staticmethod(_pow)
    erf = staticmethod(math.erf)
    erfc = staticmethod(math.erfc)
    sin = staticmethod(math.sin)
    cos = staticmethod(math.cos)
    tan = staticmethod(math.tan)
    arcsin = staticmethod(math.asin)
    arccos = staticmethod(math.acos)
    arctan = staticmethod(math.atan)
    sinh = staticmethod(math.sinh)
    cosh = staticmethod(math.cosh)
    tanh = staticmethod(math.tanh)
    arcsinh = staticmethod(math.asinh)
    arccosh = staticmethod(math.acosh)
    arctanh = staticmethod(math.atanh)
    abs = staticmethod(abs)
    floor = staticmethod(lambda x: float(math.floor(x)) if math.isfinite(x) else x)
    ceil = staticmethod(lambda x: float(math.ceil(x)) if math.isfinite(x) else x)
    trunc = staticmethod(lambda x: float(math.trunc(x)) if math.isfinite(x) else x)
    round = staticmethod(_round)
    isnan = staticmethod(math.isnan)
    isinf = staticmethod(math.isinf)
    isfinite = staticmethod(math.isfinite)
    minimum = staticmethod(_minimum)
    maximum = staticmethod(_maximum)

    @staticmethod
    def sign(x: float) -> float:
        return 1.0 if x > 0 else -1.0 if x < 0 else 0.0 * x  # 0 * x keeps NaN

    @staticmethod
    def where(condition: Any, a: float, b: float) -> float:
        return a if condition else b

    @staticmethod
    def zeros_like(x: float) -> float:
        return 0.0

    @staticmethod
    def ones_like(x: float) -> float:
        return 1.0


SCALAR_OPS = ScalarOps()
