"""Linear algebra (Tensor only): matrix products, ``einsum`` and the contractions built on it.

``einsum``'s gradient for any subscripts is one more einsum per operand: the upstream
gradient contracted with the other operands, written back in the operand's own
subscripts (``_einsum_grad_plan``). ``tensordot`` is einsum with generated subscripts,
so it shares that rule.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from .reduce import normalize_axis
from .registry import register

Shape = tuple[int, ...]


def _matmul_grad_a(g: Any, a: Any, b: Any, out: Any, ops: Any) -> Any:
    # A 1-d operand is a row (a) or a column (b) whose extra axis NumPy drops; put it back.
    # Batch axes added by broadcasting are summed away by the backward loop.
    if b.ndim == 1:
        return ops.reshape(g, (*g.shape, 1)) * b if a.ndim > 1 else g * b
    if a.ndim == 1:
        return ops.reshape(g, (*g.shape[:-1], 1, g.shape[-1])) @ b.mT
    return g @ b.mT


def _matmul_grad_b(g: Any, a: Any, b: Any, out: Any, ops: Any) -> Any:
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return ops.reshape(a, (*a.shape, 1)) * ops.reshape(g, (*g.shape[:-1], 1, g.shape[-1]))
    if b.ndim == 1:
        return ops.reshape(g, (*g.shape[:-1], 1, g.shape[-1])) @ a
    return a.mT @ g


def _matmul_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    n, k, m = (draw.integers(1, 3) for _ in range(3))
    kind = draw.choice(["vec@vec", "mat@vec", "vec@mat", "mat@mat", "batched"])
    if kind == "batched":
        batch_a, batch_b = draw.shapes(2, max_dims=2, max_side=2)
        shape_a, shape_b = (*batch_a, n, k), (*batch_b, k, m)
    else:
        shape_a = (k,) if kind.startswith("vec") else (n, k)
        shape_b = (k,) if kind.endswith("vec") else (k, m)
    return (draw.array(shape_a), draw.array(shape_b)), {}


register(
    "matmul",
    forward=lambda a, b, ops: ops.matmul(a, b),
    grads=(_matmul_grad_a, _matmul_grad_b),
    elementwise=False,
    cases=_matmul_case,
    doc="matrix product a @ b: vectors, matrices and broadcast batches of matrices",
)


def _vectors(a: Any, b: Any) -> None:
    for name, x in (("a", a), ("b", b)):
        if x.ndim != 1:
            raise ValueError(f"{name} must be 1-d, got shape {x.shape}")


def _dot(a: Any, b: Any, ops: Any) -> Any:
    _vectors(a, b)
    return ops.matmul(a, b)


def _vector_pair_case(draw: Any, same: bool) -> tuple[tuple[Any, ...], dict[str, Any]]:
    n = draw.integers(1, 4)
    m = n if same else draw.integers(1, 4)
    return (draw.array((n,)), draw.array((m,))), {}


def _linear_grad_weight(g: Any, x: Any, w: Any, b: Any, out: Any, ops: Any) -> Any:
    # out[..., j] = sum_i x[..., i] w[j, i]: every leading axis is a sample, so flatten
    # them and take one matrix product, g^T x, of shape (out features, in features).
    if x.ndim != 2:
        g, x = ops.reshape(g, (-1, w.shape[0])), ops.reshape(x, (-1, w.shape[1]))
    return ops.matmul(ops.transpose(g, None), x)


def _linear_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    n_in, n_out = draw.integers(1, 3), draw.integers(1, 3)
    lead = draw.shape(min_dims=0, max_dims=2, max_side=3)
    bias_shape = draw.choice([(n_out,), ()])  # the shapes PyTorch documents for its bias
    return (draw.array((*lead, n_in)), draw.array((n_out, n_in)), draw.array(bias_shape)), {}


register(
    "linear",
    forward=lambda x, weight, bias, ops: ops.matmul(x, ops.transpose(weight, None)) + bias,
    grads=(lambda g, x, w, b, out, ops: ops.matmul(g, w),
           _linear_grad_weight,
           lambda g, x, w, b, out, ops: g),  # summed to the bias's shape by the backward loop
    elementwise=False,
    cases=_linear_case,
    doc="x @ weight.T + bias: a fully connected layer, weight of shape (out, in) as in "
        "PyTorch; one node where three (transpose, matmul, add) would do",
)


register(
    "dot",
    forward=_dot,
    grads=(lambda g, a, b, out, ops: g * b,
           lambda g, a, b, out, ops: g * a),
    elementwise=False,
    cases=lambda draw: _vector_pair_case(draw, same=True),
    doc="sum(a * b) of two 1-d tensors of one length (as PyTorch's dot)",
)


def _outer(a: Any, b: Any, ops: Any) -> Any:
    _vectors(a, b)
    return ops.reshape(a, (-1, 1)) * b


register(
    "outer",
    forward=_outer,
    grads=(lambda g, a, b, out, ops: ops.matmul(g, b),
           lambda g, a, b, out, ops: ops.matmul(a, g)),
    elementwise=False,
    cases=lambda draw: _vector_pair_case(draw, same=False),
    doc="out[i, j] = a[i] * b[j] for 1-d a and b",
)

# ----- einsum -----------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _explicit(subscripts: str, shapes: tuple[Shape, ...]) -> tuple[tuple[str, ...], str]:
    """The subscripts of each operand and of the output, with ``...`` spelled out as
    letters and the output made explicit (implicit mode: broadcast axes, then the
    letters used once, in alphabetical order, as NumPy does)."""
    equation = subscripts.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"subscripts {subscripts!r} name {len(terms)} operand(s), got "
                         f"{len(shapes)}")
    letters = set(equation) - set(",->.")
    if not all(c in string.ascii_letters for c in letters) or \
            equation.replace("...", "").count(".") or "->" in output:
        raise ValueError(f"subscripts {subscripts!r} may hold letters, ',', '->' and '...'")
    spare = [c for c in string.ascii_letters if c not in letters]
    broadcast = 0  # how many axes the widest '...' stands for
    for k, (term, shape) in enumerate(zip(terms, shapes)):
        named = len(term.replace("...", ""))
        if ("..." in term and named > len(shape)) or ("..." not in term and named != len(shape)):
            raise ValueError(f"operand {k} has {len(shape)} dimension(s), but subscripts "
                             f"{term!r} name {named}")
        if "..." in term:
            broadcast = max(broadcast, len(shape) - named)
    if broadcast > len(spare):
        raise ValueError(f"subscripts {subscripts!r}: too many axes under '...'")
    dots = "".join(spare[:broadcast])
    # Broadcast axes line up from the right, as in NumPy broadcasting.
    spelled = tuple(term.replace("...", dots[broadcast - (len(shape) - len(term) + 3):])
                    if "..." in term else term for term, shape in zip(terms, shapes))
    if arrow:
        if "..." in output and "..." not in inputs:
            raise ValueError(f"subscripts {subscripts!r}: '...' in the output only")
        result = output.replace("...", dots)
        unknown = set(result) - set("".join(spelled))
        if unknown or len(set(result)) < len(result):
            raise ValueError(f"subscripts {subscripts!r}: each output letter must appear "
                             "once, and in an operand")
    else:
        joined = "".join(terms).replace("...", "")
        result = dots + "".join(sorted(c for c in set(joined) if joined.count(c) == 1))
    return spelled, result


def _einsum(*xs: Any, ops: Any, subscripts: str = "") -> Any:
    terms, result = _explicit(subscripts, tuple(x.shape for x in xs))
    return ops.einsum(*xs, subscripts=",".join(terms) + "->" + result)


@lru_cache(maxsize=512)
def _einsum_grad_plan(subscripts: str, shapes: tuple[Shape, ...], i: int
                      ) -> tuple[str, tuple[tuple[str, int], ...]]:
    """The einsum giving operand ``i``'s gradient: the upstream gradient (in the output's
    subscripts) times the other operands, written back in operand i's subscripts. Two
    kinds of constant operands fill in what that alone cannot say:

    - a letter repeated in operand i (``ii``: its diagonal) is renamed at its second
      place and tied to the first by an identity matrix ("eye"): off the diagonal the
      gradient is 0;
    - a letter only operand i has (summed there alone: ``ij->i``) gets a vector of ones,
      which broadcasts the gradient along it.

    Returns the subscripts and the constants, as (kind, length) pairs, in order.
    """
    terms, result = _explicit(subscripts, shapes)
    own, others = terms[i], terms[:i] + terms[i + 1:]
    spare = iter(c for c in string.ascii_letters if c not in "".join(terms))
    target, constants, seen = [], [], set()
    for letter, n in zip(own, shapes[i]):
        if letter in seen:
            fresh = next(spare)
            target.append(fresh)
            constants.append((letter + fresh, "eye", n))
        else:
            seen.add(letter)
            target.append(letter)
    reached = set(result).union(*others, *(labels for labels, _, _ in constants))
    for letter, n in zip(own, shapes[i]):
        if letter not in reached:
            reached.add(letter)
            constants.append((letter, "ones", n))
    operands = [result, *others, *(labels for labels, _, _ in constants)]
    return ",".join(operands) + "->" + "".join(target), \
        tuple((kind, n) for _, kind, n in constants)


@lru_cache(maxsize=256)
def _constant(kind: str, n: int, dtype: np.dtype) -> np.ndarray:
    array = np.eye(n, dtype=dtype) if kind == "eye" else np.ones(n, dtype=dtype)
    array.flags.writeable = False
    return array


def _einsum_grad(g: Any, *xs: Any, out: Any, ops: Any, i: int, subscripts: str = "") -> Any:
    equation, constants = _einsum_grad_plan(subscripts, tuple(tuple(x.shape) for x in xs), i)
    extra = [_constant(kind, n, g.dtype) for kind, n in constants]
    return ops.einsum(g, *xs[:i], *xs[i + 1:], *extra, subscripts=equation)


# Subscripts to draw einsum cases from: each letter is given a random length per case.
_EINSUM_CASES = (
    "ij,jk->ik", "ij,jk", "bij,bjk->bik", "i,i->", "i,j->ij", "ii->i", "ii", "ij->",
    "ij->ji", "iij->ji", "ii,i->i", "ij,ij,ij->i", "...ij,...jk->...ik", "...i,...i",
    "i...->...", "ab,bc,cd->ad", "ijk->kj",
)


def _einsum_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    subscripts = draw.choice(_EINSUM_CASES)
    lengths = {c: draw.integers(1, 3) for c in sorted(set(subscripts) - set(",->."))}
    broadcast = draw.shapes(2, max_dims=2, max_side=2)  # for '...', which may broadcast
    shapes = []
    for k, term in enumerate(subscripts.split("->")[0].split(",")):
        before, dots, after = term.partition("...")
        shapes.append((*(lengths[c] for c in before), *(broadcast[k % 2] if dots else ()),
                       *(lengths[c] for c in after)))
    return tuple(draw.array(shape) for shape in shapes), {"subscripts": subscripts}


register(
    "einsum",
    forward=_einsum,
    grads=_einsum_grad,
    elementwise=False,
    method=False,
    cases=_einsum_case,
    doc="Einstein summation over the operands as subscripts says: einsum('ij,jk->ik', a, "
        "b); repeated letters, '...' and implicit output included",
)


@lru_cache(maxsize=256)
def _tensordot_subscripts(ndim_a: int, ndim_b: int, axes: Any) -> str:
    """tensordot as einsum subscripts: a's summed axes share letters with b's."""
    if isinstance(axes, int):
        if not 0 <= axes <= min(ndim_a, ndim_b):
            raise ValueError(f"axes={axes} must lie in [0, {min(ndim_a, ndim_b)}] for "
                             f"{ndim_a}-d and {ndim_b}-d operands")
        summed_a, summed_b = list(range(ndim_a - axes, ndim_a)), list(range(axes))
    else:
        if len(axes) != 2:
            raise ValueError(f"axes={axes} must be an int or a pair of axis lists")
        summed_a = [normalize_axis(a, ndim_a, "axes[0]") for a in _ints(axes[0])]
        summed_b = [normalize_axis(b, ndim_b, "axes[1]") for b in _ints(axes[1])]
        if len(summed_a) != len(summed_b) or len(set(summed_a)) < len(summed_a) \
                or len(set(summed_b)) < len(summed_b):
            raise ValueError(f"axes={axes} must pair distinct axes of a with as many of b")
    letters = iter(string.ascii_letters)
    a = [next(letters) for _ in range(ndim_a)]
    b = [next(letters) for _ in range(ndim_b)]
    for x, y in zip(summed_a, summed_b):
        b[y] = a[x]
    kept = [c for k, c in enumerate(a) if k not in summed_a] + \
        [c for k, c in enumerate(b) if k not in summed_b]
    return "".join(a) + "," + "".join(b) + "->" + "".join(kept)


def _ints(value: int | Sequence[int]) -> tuple[int, ...]:
    return (value,) if isinstance(value, int) else tuple(value)


def _hashable(axes: Any) -> Any:
    return axes if isinstance(axes, int) else tuple(_ints(part) for part in axes)


def _tensordot_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    shared = draw.shape(max_dims=2, max_side=3)
    a = draw.array((*draw.shape(max_dims=2, max_side=3), *shared))
    b = draw.array((*shared, *draw.shape(max_dims=2, max_side=3)))
    if draw.boolean():
        return (a, b), {"axes": len(shared)}
    k = len(shared)
    return (a, b), {"axes": (list(range(a.ndim - k, a.ndim)), list(range(k)))}


register(
    "tensordot",
    forward=lambda a, b, ops, axes=2: ops.einsum(
        a, b, subscripts=_tensordot_subscripts(a.ndim, b.ndim, _hashable(axes))),
    grads=(lambda g, a, b, out, ops, axes=2: _einsum_grad(
               g, a, b, out=out, ops=ops, i=0,
               subscripts=_tensordot_subscripts(a.ndim, b.ndim, _hashable(axes))),
           lambda g, a, b, out, ops, axes=2: _einsum_grad(
               g, a, b, out=out, ops=ops, i=1,
               subscripts=_tensordot_subscripts(a.ndim, b.ndim, _hashable(axes)))),
    elementwise=False,
    cases=_tensordot_case,
    doc="sums over paired axes of a and b: the last axes of a with the first of b "
        "(axes an int), or axes=(a's axes, b's axes)",
)
