"""The ``ops`` namespace contract: the primitives every engine supplies to the rules.

Rules are written with Python operators and these names only, so one text runs on
floats (``scalar.math_ops``), on ndarrays (``tensor.array_ops``) and on Tensors recorded
for ``create_graph`` (``tensor.tensor_ops``). Each engine implements the primitives
natively; every primitive is also a registered op of the same name, which is how the
Tensor namespace records it. Any other registered op is reachable in ``ops`` too (by
name), computed from its own forward rule. A test checks every engine against these lists.

Semantics follow NumPy: ``where`` evaluates both branches (keep both finite on every
input), ``minimum``/``maximum`` propagate NaN, ``sign(0) == 0``, ``pow`` is IEEE (``0 **
-1 == inf``). Shapes are plain tuples of ints on every engine (``x.shape``), so shape
arithmetic in a rule needs no primitive.
"""

from __future__ import annotations

__all__ = ["ELEMENTWISE", "NAMESPACE", "OPERATORS", "TENSOR"]

# On every engine, scalars included: NumPy's names for math's elementary functions.
ELEMENTWISE: tuple[str, ...] = (
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "pow", "erf", "erfc",
    "sin", "cos", "tan", "arcsin", "arccos", "arctan",
    "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "abs", "sign", "floor", "ceil", "trunc", "round",
    "isnan", "isinf", "isfinite",
    "minimum", "maximum", "where", "zeros_like", "ones_like",
)

# On arrays and Tensors only: reductions take ``axis`` (an int, a tuple or None) and
# ``keepdims``; ``sum_to`` undoes a broadcast; ``scatter_to`` undoes an index. Scans
# (``cumsum``, ``cumprod``), ``flip`` and ``roll`` take ``axis`` (None: the flattened
# array); ``einsum`` takes its operands, then ``subscripts=``.
TENSOR: tuple[str, ...] = (
    "sum", "max", "min", "reshape", "transpose", "broadcast_to", "sum_to", "getitem",
    "scatter_to", "concatenate", "stack", "astype", "matmul",
    "prod", "cumsum", "cumprod", "argmax", "argmin", "any", "all", "flip", "roll", "einsum",
    # Images (ops/conv.py): an image batch as its sliding windows, the adjoint that adds
    # windows back, and the first maximum of each window.
    "windows2d", "fold_windows2d", "window_max_mask",
)

NAMESPACE: tuple[str, ...] = ELEMENTWISE + TENSOR

# Python operators, by the op they perform: the operator, then its reflected form.
OPERATORS: dict[str, tuple[str, ...]] = {
    "add": ("__add__", "__radd__"),
    "sub": ("__sub__", "__rsub__"),
    "mul": ("__mul__", "__rmul__"),
    "div": ("__truediv__", "__rtruediv__"),
    "floor_divide": ("__floordiv__", "__rfloordiv__"),
    "remainder": ("__mod__", "__rmod__"),
    "pow": ("__pow__", "__rpow__"),
    "matmul": ("__matmul__", "__rmatmul__"),
    "neg": ("__neg__",),
    "abs": ("__abs__",),
    "lt": ("__lt__",),
    "le": ("__le__",),
    "gt": ("__gt__",),
    "ge": ("__ge__",),
    "eq": ("__eq__",),
    "ne": ("__ne__",),
    "bitwise_and": ("__and__", "__rand__"),
    "bitwise_or": ("__or__", "__ror__"),
    "bitwise_xor": ("__xor__", "__rxor__"),
    "bitwise_not": ("__invert__",),
}
