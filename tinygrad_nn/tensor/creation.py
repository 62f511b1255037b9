"""Creation functions, as PyTorch spells them: ``arange``, ``linspace``, ``eye``, ``full``,
``zeros_like``, ``ones_like``, ``full_like``, ``rand`` and ``randint``.

Each returns a new leaf Tensor and takes ``dtype=`` and ``requires_grad=`` (only a
floating tensor can require grad). Without ``dtype=``, dtypes follow PyTorch: integer
arguments give int64 (``arange(5)``, ``full((2,), 3)``, ``randint``), a boolean fill
gives bool, and everything else float32, this library's default float (``arange(0.5,
3)``, ``linspace``, ``eye``, ``rand``); ``*_like`` keep the template's dtype. Random
functions take ``rng=`` (a ``numpy.random.Generator`` or a seed), as ``Tensor.randn``.

>>> arange(3)                               # Tensor([0, 1, 2], dtype=int64)
>>> linspace(0, 1, 5, requires_grad=True)   # float32 leaf
>>> full_like(x, -math.inf)                 # x's shape and dtype
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from .tensor import Tensor, lift, operand_error, scalar, shape_arg

__all__ = ["arange", "eye", "full", "full_like", "linspace", "ones_like", "rand", "randint",
           "zeros_like"]

DEFAULT_FLOAT = np.dtype(np.float32)
DEFAULT_INT = np.dtype(np.int64)

Shape = int | Sequence[int]


def _leaf(array: np.ndarray, requires_grad: bool, where: str) -> Tensor:
    """``array`` (made here, so not shared with anyone) as a new leaf."""
    if requires_grad and array.dtype.kind != "f":
        raise TypeError(f"{where}: requires_grad=True needs a floating dtype, got "
                        f"{array.dtype} (pass dtype=np.float32, say)")
    return Tensor.from_numpy(array, requires_grad=requires_grad)


def _dtype(dtype: DTypeLike | None, values: Sequence[Any], where: str) -> np.dtype:
    """``dtype``, or PyTorch's choice for these values: bool, int64 or the default float."""
    if dtype is not None:
        chosen = np.dtype(dtype)
        if chosen.kind not in "biuf":
            raise TypeError(f"{where}: dtype must be bool, integer or floating, got {chosen}")
        return chosen
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return np.dtype(np.bool_)
    if all(isinstance(v, numbers.Integral) for v in values):
        return DEFAULT_INT
    return DEFAULT_FLOAT


def _number(value: Any, name: str, where: str) -> int | float:
    number = scalar(value)
    if number is None:
        raise TypeError(f"{where}: {name} must be a real number, got {type(value).__name__}")
    return number


def _size(shape: Shape, where: str) -> tuple[int, ...]:
    sizes: tuple[Any, ...] = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if not all(isinstance(n, numbers.Integral) and int(n) >= 0 for n in sizes):
        raise ValueError(f"{where}: shape must hold sizes >= 0, got {shape!r}")
    return tuple(int(n) for n in sizes)


def _generator(rng: np.random.Generator | int | None) -> np.random.Generator | None:
    """``rng`` as a Generator; None stays None: NumPy's global state (``np.random.seed``),
    as ``Tensor.randn`` uses."""
    return None if rng is None else np.random.default_rng(rng)


# ----- Ranges -----------------------------------------------------------------------------


def arange(start: float, end: float | None = None, step: float = 1, *,
           dtype: DTypeLike | None = None, requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to but excluding end; ``arange(n)`` counts from 0.

    Parameters
    ----------
    start, end, step
        Real numbers; ``end`` None means ``arange(0, start)``. ``step`` must not be 0
        and must point from start towards end (or the range is empty).
    dtype
        int64 when every argument is an integer, else float32, unless given.

    Returns
    -------
    Tensor
        1-d, of length ``ceil((end - start) / step)``.
    """
    if end is None:
        start, end = 0, start
    numbers_ = [_number(v, name, "arange") for v, name in
                ((start, "start"), (end, "end"), (step, "step"))]
    first, last, stride = numbers_
    if stride == 0:
        raise ValueError("arange: step must not be 0")
    if (last - first) * stride < 0:
        raise ValueError(f"arange: step {step} points away from end {end} (start {start})")
    chosen = _dtype(dtype, numbers_, "arange")
    # Computed in float64 (or int64) and then cast, so float32 values are rounded once.
    values = np.arange(first, last, stride)
    return _leaf(values.astype(chosen, copy=False), requires_grad, "arange")


def linspace(start: float, end: float, steps: int, *, dtype: DTypeLike | None = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced numbers from start to end, both included.

    Returns
    -------
    Tensor
        1-d of length ``steps``; float32 unless ``dtype`` says otherwise.
    """
    first, last = _number(start, "start", "linspace"), _number(end, "end", "linspace")
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"linspace: steps must be an integer >= 0, got {steps!r}")
    chosen = np.dtype(dtype) if dtype is not None else DEFAULT_FLOAT
    # Computed in float64, then cast (an integer dtype truncates, as in PyTorch).
    values = np.linspace(first, last, int(steps))
    return _leaf(values.astype(chosen), requires_grad, "linspace")


def eye(n: int, m: int | None = None, *, dtype: DTypeLike | None = None,
        requires_grad: bool = False) -> Tensor:
    """The identity matrix: (n, m) (m defaults to n), ones where row == column.

    Returns
    -------
    Tensor
        2-d, float32 unless ``dtype`` says otherwise.
    """
    rows, cols = _size((n, n if m is None else m), "eye")
    chosen = np.dtype(dtype) if dtype is not None else DEFAULT_FLOAT
    return _leaf(np.eye(rows, cols, dtype=chosen), requires_grad, "eye")


# ----- Filled -----------------------------------------------------------------------------


def full(shape: Shape, fill_value: Any, *, dtype: DTypeLike | None = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` holding ``fill_value`` everywhere.

    Parameters
    ----------
    shape
        An int or a sequence of ints.
    fill_value
        A number (``-math.inf`` for a mask, say) or a bool.
    dtype
        bool for a bool fill, int64 for an integer, float32 otherwise, unless given.
    """
    if not isinstance(fill_value, (bool, np.bool_)):
        fill_value = _number(fill_value, "fill_value", "full")
    chosen = _dtype(dtype, [fill_value], "full")
    return _leaf(np.full(_size(shape, "full"), fill_value, dtype=chosen), requires_grad, "full")


def _template(x: Any, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of a ``*_like`` template: a Tensor, an array or array-like."""
    if isinstance(x, (Tensor, np.ndarray)):
        return x.shape, x.dtype
    number = scalar(x)
    template = Tensor(number) if number is not None else lift(x)
    if template is None:
        raise operand_error(x, where)
    return template.shape, template.dtype


def full_like(x: Any, fill_value: Any, *, dtype: DTypeLike | None = None,
              requires_grad: bool = False) -> Tensor:
    """A tensor with x's shape (and dtype, unless given) holding ``fill_value``.

    ``x`` is a Tensor, an ndarray, or anything ``Tensor(x)`` accepts.
    """
    shape, like = _template(x, "full_like")
    if not isinstance(fill_value, (bool, np.bool_)):
        fill_value = _number(fill_value, "fill_value", "full_like")
    return _filled(shape, like, fill_value, dtype, requires_grad, "full_like")


def _filled(shape: tuple[int, ...], like: np.dtype, fill_value: Any, dtype: DTypeLike | None,
            requires_grad: bool, where: str) -> Tensor:
    """A new leaf of ``shape`` holding ``fill_value``, in ``dtype`` or else ``like``."""
    chosen = np.dtype(dtype) if dtype is not None else like
    return _leaf(np.full(shape, fill_value, dtype=chosen), requires_grad, where)


def zeros_like(x: Any, *, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Any:
    """Zeros with x's shape (and dtype, unless given); a new leaf.

    ``x`` is a Tensor, an ndarray, or anything ``Tensor(x)`` accepts; on a ``Value`` this
    is its registered elementwise op (``Value(0.0)``).
    """
    if _other_engine(x, "zeros_like", dtype, requires_grad):
        return x.zeros_like()
    return _filled(*_template(x, "zeros_like"), 0, dtype, requires_grad, "zeros_like")


def ones_like(x: Any, *, dtype: DTypeLike | None = None, requires_grad: bool = False) -> Any:
    """Ones with x's shape (and dtype, unless given); a new leaf.

    ``x`` is a Tensor, an ndarray, or anything ``Tensor(x)`` accepts; on a ``Value`` this
    is its registered elementwise op (``Value(1.0)``).
    """
    if _other_engine(x, "ones_like", dtype, requires_grad):
        return x.ones_like()
    return _filled(*_template(x, "ones_like"), 1, dtype, requires_grad, "ones_like")


def _other_engine(x: Any, name: str, dtype: Any, requires_grad: bool) -> bool:
    """Whether ``x`` is another engine's node (a ``Value``) that has op ``name`` itself.

    zeros_like and ones_like are registered elementwise ops too, which the package offers
    as functions of Values; this engine does not know Value, so it defers to the op.
    """
    if isinstance(x, (Tensor, np.ndarray)) or not callable(getattr(type(x), name, None)):
        return False
    if dtype is not None or requires_grad:
        raise TypeError(f"{name}: dtype= and requires_grad= apply to Tensors, not to a "
                        f"{type(x).__name__}")
    return True


# ----- Random -----------------------------------------------------------------------------


def rand(*shape: Any, dtype: DTypeLike | None = None, requires_grad: bool = False,
         rng: np.random.Generator | int | None = None) -> Tensor:
    """Samples of U[0, 1): ``rand(2, 3)`` or ``rand((2, 3))``; float32 unless ``dtype``."""
    chosen = np.dtype(dtype) if dtype is not None else DEFAULT_FLOAT
    if chosen.kind != "f":
        raise TypeError(f"rand: dtype must be floating, got {chosen}")
    size, source = _size(shape_arg(shape), "rand"), _generator(rng)
    sample = np.random.random_sample(size) if source is None else source.random(size)
    return _leaf(np.asarray(sample, dtype=chosen), requires_grad, "rand")


def randint(low: int, high: int | Shape | None = None, size: Shape = (), *,
            dtype: DTypeLike | None = None, requires_grad: bool = False,
            rng: np.random.Generator | int | None = None) -> Tensor:
    """Integers drawn uniformly from [low, high), as PyTorch: ``randint(10, (3,))``
    (low 0) or ``randint(2, 10, (3,))``; int64 unless ``dtype`` says otherwise.

    Returns
    -------
    Tensor
        Of shape ``size`` (a 0-d tensor by default).
    """
    if high is None or not isinstance(high, numbers.Integral):
        low, high, size = 0, low, (() if high is None else high)
    if not (isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral)):
        raise TypeError(f"randint: low and high must be integers, got {low!r} and {high!r}")
    if high <= low:
        raise ValueError(f"randint: high ({high}) must be larger than low ({low})")
    chosen = np.dtype(dtype) if dtype is not None else DEFAULT_INT
    shape, source = _size(size, "randint"), _generator(rng)
    sample = np.random.randint(low, high, shape) if source is None else \
        source.integers(low, high, shape)
    return _leaf(np.asarray(sample, dtype=chosen), requires_grad, "randint")
