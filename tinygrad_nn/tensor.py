"""The tensor graph: NumPy arrays as nodes, one local-gradient rule per op input.

Every op computes its output with NumPy and records which gradient rules apply (from
``GRADIENTS``, declared right above the op). A rule is written once, with Python operators
and an ``ops`` namespace, like the activation rules::

    rule(g, *inputs, out, ops, *ctx) -> gradient for one input

``g`` is the gradient flowing into the op's output, ``inputs`` and ``out`` are the op's
operands and result, ``ctx`` the op's saved parameters (axes, indices). A plain
``backward`` calls rules on ndarrays with a NumPy ``ops`` (fast: no Tensor is created);
``grad(create_graph=True)`` calls the very same rules on Tensors with a Tensor ``ops``, so
the backward pass is itself recorded and can be differentiated again.

Gradients with a broadcast shape are summed back to each input's shape in one place (the
backward loop), so no rule deals with broadcasting. Nodes hold references only to their
inputs, never a closure over themselves: graphs are freed by reference counting, and
``backward`` releases them unless asked to keep them.

Dtypes follow NumPy promotion (``float32 + float64 -> float64``); Python and NumPy scalars
are "weak" (``x * 2.0`` keeps ``x``'s dtype) and never become graph nodes. A gradient
always has its input's dtype.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import activations
from ._array_ops import array_ops, scatter_to, sum_to
from ._engine import _mode

__all__ = ["GRADIENTS", "Tensor", "concatenate", "maximum", "minimum", "stack", "where"]

Rule = Callable[..., Any]
Operand: TypeAlias = "Tensor | ArrayLike"
Axis: TypeAlias = "int | Sequence[int] | None"

# op name -> one gradient rule per input (see the module docstring). Tests read this table
# to check that every op has a finite-difference and a second-order property test.
GRADIENTS: dict[str, tuple[Rule, ...]] = {}


def _gradient(op: str, *rules: Rule) -> None:
    """Declare the local gradient of ``op``: one ``rule(g, *inputs, out, ops, *ctx)`` per input."""
    GRADIENTS[op] = rules


_new = object.__new__


def _make(data: Any, inputs: tuple[Tensor, ...], op: str, ctx: tuple[Any, ...] = (),
          rules: tuple[Rule, ...] | None = None) -> Tensor:
    """A result node; it joins the graph when recording and any input requires grad."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)  # ufuncs on 0-d arrays return NumPy scalars
    out = _new(Tensor)
    out.data = data
    out.grad = None
    out._op = op
    out._retain = False
    if _mode.enabled:
        for t in inputs:
            if t._requires_grad:
                out._requires_grad = True
                out._prev = inputs
                out._backward = GRADIENTS[op] if rules is None else rules
                out._ctx = ctx
                return out
    out._requires_grad = False
    out._prev = out._backward = out._ctx = ()
    return out


def _constant(data: Any) -> Tensor:
    """A leaf that shares ``data`` and needs no gradient."""
    return _make(data, (), "")


def _scalar(x: object) -> int | float | None:
    """``x`` as a Python number if it is a real scalar (NumPy scalars included), else None."""
    kind = type(x)
    if kind is float or kind is int:
        return x  # type: ignore[return-value]
    if isinstance(x, numbers.Real) and kind is not bool and not isinstance(x, np.bool_):
        return int(x) if isinstance(x, numbers.Integral) else float(x)
    return None


def _to_array(data: Any, dtype: DTypeLike | None) -> np.ndarray:
    if isinstance(data, Tensor):
        data = data.data
    if dtype is not None:
        array = np.array(data, dtype=dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)  # an array keeps its dtype: float64 stays float64
    else:
        array = np.array(data)
        if array.dtype.kind in "iuf":
            array = array.astype(np.float32)  # Python numbers and lists default to float32
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor data must be bool, integer or floating point, got dtype {array.dtype}"
        )
    return array


def _lift(x: object) -> Tensor | None:
    """A non-scalar operand as a constant Tensor (ndarrays are shared), or None if unusable."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            return None
        return _constant(x)
    if isinstance(x, (list, tuple, np.generic)):
        return Tensor(x)
    return None


def _operand_error(x: object, op: str) -> TypeError:
    kind = type(x).__name__
    hint = " (a Value belongs to the scalar engine; use .data or a Tensor)" \
        if kind == "Value" else ""
    return TypeError(f"{op} expects Tensors, arrays or real numbers, got {kind}{hint}")


def _tensor_arg(x: object, op: str) -> Tensor:
    """Any operand (Tensor, array-like, number) as a Tensor, for functions that take several."""
    if isinstance(x, Tensor):
        return x
    number = _scalar(x)
    lifted = _lift(x) if number is None else Tensor(number)
    if lifted is None:
        raise _operand_error(x, op)
    return lifted


def _operand_pair(a: object, b: object, op: str) -> tuple[Tensor, Tensor]:
    """Two operands as Tensors; a number takes the other operand's floating dtype."""
    ca, cb = _scalar(a), _scalar(b)
    if ca is not None and isinstance(b, Tensor) and b.data.dtype.kind == "f":
        return _constant(np.asarray(ca, dtype=b.data.dtype)), b
    if cb is not None and isinstance(a, Tensor) and a.data.dtype.kind == "f":
        return a, _constant(np.asarray(cb, dtype=a.data.dtype))
    return _tensor_arg(a, op), _tensor_arg(b, op)


def _broadcasting(ufunc: Callable[..., Any], a: Tensor, b: Tensor, op: str) -> Any:
    try:
        return ufunc(a.data, b.data)
    except ValueError:
        try:
            np.broadcast_shapes(a.data.shape, b.data.shape)
        except ValueError:
            raise ValueError(
                f"{op}: cannot broadcast shapes {a.data.shape} and {b.data.shape}"
            ) from None
        raise


def _pairwise_extreme(a: object, b: object, ufunc: Callable[..., Any], op: str) -> Tensor:
    """``maximum`` or ``minimum`` of two operands, as a method or a function."""
    ta, tb = _operand_pair(a, b, op)
    return _make(_broadcasting(ufunc, ta, tb, op), (ta, tb), op)


def _arith(a: Tensor, b: object, ufunc: Callable[..., Any], op: str) -> Tensor:
    """``ufunc(a, b)``: a Tensor operand joins the graph, a number is saved as a constant."""
    if type(b) is Tensor:
        return _make(_broadcasting(ufunc, a, b, op), (a, b), op)
    c = _scalar(b)
    if c is not None:
        return _make(ufunc(a.data, c), (a,), op + "_scalar", (c,))
    other = _tensor_arg(b, op)
    return _make(_broadcasting(ufunc, a, other, op), (a, other), op)


def _axes(axis: Axis, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes (None means all of them)."""
    if axis is None:
        return tuple(range(ndim))
    given = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = []
    for a in given:
        if not -ndim <= a < ndim:
            raise ValueError(f"{op}: axis {a} is out of range for a {ndim}-d tensor")
        axes.append(int(a) % ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: repeated axis in {axis}")
    return tuple(sorted(axes))


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a reduction over ``axes`` with ``keepdims=True``."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _plain_index(index: Any) -> Any:
    """An index with Tensors and lists replaced by ndarrays (NumPy then does the rest)."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(_plain_index(i) for i in index)
    return index


def _repeats_possible(index: Any) -> bool:
    """Whether ``index`` holds an integer array, which may pick one element twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype.kind in "iu" for p in parts)


def _shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both mean shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


# ----- Gradient rules too long for a lambda (each is registered next to its op) ---------


def _pow_scalar_grad(g: Any, x: Any, out: Any, ops: Any, c: float) -> Any:
    # NOTE: c * x ** (c - 1) rather than c * out / x, so the gradient is right at x == 0;
    # where it is infinite there (0 < c < 1, as in sqrt) it is inf, as in PyTorch.
    if c == 0:
        return g * 0.0
    if c == 1:
        return g
    if c == 2:
        return g * (2.0 * x)
    return g * (c * x ** (c - 1))


def _matmul_grad_a(g: Any, a: Any, b: Any, out: Any, ops: Any) -> Any:
    # A 1-d operand is a row (a) or a column (b) whose extra axis NumPy drops; put it back.
    # Batch axes added by broadcasting are summed away by the backward loop.
    if b.ndim == 1:
        return g.reshape((*g.shape, 1)) * b if a.ndim > 1 else g * b
    if a.ndim == 1:
        return g.reshape((*g.shape[:-1], 1, g.shape[-1])) @ b.mT
    return g @ b.mT


def _matmul_grad_b(g: Any, a: Any, b: Any, out: Any, ops: Any) -> Any:
    if a.ndim == 1:
        if b.ndim == 1:
            return g * a
        return a.reshape((*a.shape, 1)) * g.reshape((*g.shape[:-1], 1, g.shape[-1]))
    if b.ndim == 1:
        return g.reshape((*g.shape[:-1], 1, g.shape[-1])) @ a
    return a.mT @ g


def _extremum_grad(g: Any, x: Any, out: Any, ops: Any, axes: tuple[int, ...],
                   kept: tuple[int, ...]) -> Any:
    # NOTE: ties share the gradient evenly, as PyTorch's amax/amin do.
    hit = ops.where(x == out.reshape(kept), 1.0, 0.0)
    return hit * (g.reshape(kept) / hit.sum(axis=axes, keepdims=True))


def _clip_grad(g: Any, x: Any, out: Any, ops: Any, lo: float | None, hi: float | None) -> Any:
    # NOTE: the gradient passes at the bounds themselves (lo <= x <= hi), as torch.clamp.
    if lo is not None:
        g = ops.where(x >= lo, g, 0.0)
    if hi is not None:
        g = ops.where(x <= hi, g, 0.0)
    return g


def _tie_split(g: Any, wins: Any, ties: Any, ops: Any) -> Any:
    # maximum and minimum: g to the winner; NOTE: at a tie each input gets half, as in
    # torch.maximum.
    return ops.where(wins, g, ops.where(ties, 0.5 * g, 0.0))


class Tensor:
    """An n-dimensional array in a computation graph; ``grad`` holds d(output)/d(self).

    Dtypes: Python data defaults to float32 and arrays keep theirs. Ops follow NumPy's
    promotion (float32 with float64 gives float64); Python and NumPy scalars never upcast.
    Each input's gradient has that input's dtype; only floating tensors can require grad.
    """

    __slots__ = (
        "__weakref__",
        "_backward",
        "_ctx",
        "_op",
        "_prev",
        "_requires_grad",
        "_retain",
        "data",
        "grad",
    )

    data: np.ndarray
    grad: np.ndarray | None
    _requires_grad: bool
    _prev: tuple[Tensor, ...]
    # () on leaves; one rule per input on recorded results; None once backward released it
    _backward: tuple[Rule, ...] | None
    _ctx: tuple[Any, ...]
    _op: str
    _retain: bool

    if TYPE_CHECKING:
        # Activation methods (relu, sigmoid, ...) are attached by the registry at import.
        def __getattr__(self, name: str) -> Callable[..., Tensor]: ...

    # ndarray (op) Tensor must reach Tensor's reflected method, not broadcast over objects.
    __array_ufunc__ = None
    # Comparisons return Tensors, so identity is the hash (as for PyTorch tensors).
    __hash__ = object.__hash__

    def __init__(self, data: Operand, requires_grad: bool = False,
                 dtype: DTypeLike | None = None) -> None:
        self.data = _to_array(data, dtype)
        self.grad = None
        self._op = ""
        self._retain = False
        self._prev = self._backward = self._ctx = ()
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # ----- Creation --------------------------------------------------------------------

    @classmethod
    def from_numpy(cls, array: np.ndarray, requires_grad: bool = False) -> Tensor:
        """A tensor sharing ``array``'s memory and dtype (no copy)."""
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
            raise TypeError(f"from_numpy expects a numeric numpy.ndarray, got {kind}")
        t = _constant(array)
        t.requires_grad = requires_grad
        return t

    @classmethod
    def zeros(cls, *shape: Any, requires_grad: bool = False,
              dtype: DTypeLike = np.float32) -> Tensor:
        """A tensor of zeros: ``Tensor.zeros(2, 3)`` or ``Tensor.zeros((2, 3))``."""
        return cls(np.zeros(_shape_arg(shape), dtype), requires_grad=requires_grad)

    @classmethod
    def ones(cls, *shape: Any, requires_grad: bool = False,
             dtype: DTypeLike = np.float32) -> Tensor:
        """A tensor of ones."""
        return cls(np.ones(_shape_arg(shape), dtype), requires_grad=requires_grad)

    @classmethod
    def randn(cls, *shape: Any, requires_grad: bool = False, dtype: DTypeLike = np.float32,
              rng: np.random.Generator | int | None = None) -> Tensor:
        """Samples of N(0, 1); ``rng`` (a Generator or seed) defaults to ``np.random``."""
        source: Any = np.random if rng is None else np.random.default_rng(rng)
        sample = source.standard_normal(_shape_arg(shape))
        return cls(np.asarray(sample, dtype=dtype), requires_grad=requires_grad)

    @classmethod
    def uniform(cls, *shape: Any, low: float = -1.0, high: float = 1.0,
                requires_grad: bool = False, dtype: DTypeLike = np.float32,
                rng: np.random.Generator | int | None = None) -> Tensor:
        """Samples of U(low, high)."""
        source: Any = np.random if rng is None else np.random.default_rng(rng)
        sample = source.uniform(low, high, _shape_arg(shape))
        return cls(np.asarray(sample, dtype=dtype), requires_grad=requires_grad)

    # ----- Array protocol ----------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data``."""
        return self.data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self.data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self.data.size

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (shared, not copied)."""
        return self.data

    def item(self) -> float:
        """The single element as a Python number."""
        if self.data.size != 1:
            raise ValueError(
                f"item(): only a single-element tensor converts to a Python number; "
                f"this one has shape {self.data.shape}"
            )
        return self.data.item()

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        if copy:
            return np.array(self.data, dtype=dtype, copy=True)
        return np.asarray(self.data, dtype=dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self.data)

    def __iter__(self) -> Iterator[Tensor]:
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self.data)))

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with shape {self.data.shape} is ambiguous"
            )
        return bool(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extras = f", dtype={self.data.dtype}"
        if self._requires_grad:
            extras += ", requires_grad=True"
        if self._op:
            extras += f", op={self._op!r}"
        return f"Tensor({body}{extras})"

    # ----- Graph membership --------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor (only floating tensors can require them)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients, "
                f"this one has dtype {self.data.dtype}"
            )
        if not flag and not self.is_leaf:
            raise RuntimeError(
                "requires_grad can only be turned off on a leaf; use detach() to cut a "
                "result out of the graph"
            )
        self._requires_grad = bool(flag)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return self (for chaining)."""
        self.requires_grad = flag
        return self

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user (or needing no grad), False for op results."""
        return not self._requires_grad or self._backward == ()

    def retain_grad(self) -> None:
        """Keep ``grad`` on this non-leaf after backward (leaves always keep theirs)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retain = True

    def detach(self) -> Tensor:
        """The same data (shared) as a new leaf outside the graph."""
        return _constant(self.data)

    def backward(self, grad: Operand | None = None, retain_graph: bool = False) -> None:
        """Add d(self)/d(leaf) to ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is d(loss)/d(self), needed unless self has a single element. The graph is
        released afterwards unless ``retain_graph=True``.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no input had "
                "requires_grad=True, or it was computed under no_grad)"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: the output has shape {self.data.shape}; backward() without "
                    "grad= needs a single-element output (reduce it, e.g. with .sum(), or "
                    "pass grad= of the same shape)"
                )
            seed = np.ones_like(self.data)
        else:
            seed = np.asarray(grad.data if isinstance(grad, Tensor) else grad,
                              dtype=self.data.dtype)
            if seed.shape != self.data.shape:
                raise ValueError(
                    f"backward: grad has shape {seed.shape} but the output has shape "
                    f"{self.data.shape}"
                )
        from ._autograd import backprop  # the graph walk lives beside grad()

        backprop(self, seed, retain_graph=retain_graph)

    # ----- Arithmetic ------------------------------------------------------------------
    # Each op takes a Tensor, an array-like (a constant Tensor) or a number (never a node).

    _gradient("add", lambda g, a, b, out, ops: g, lambda g, a, b, out, ops: g)
    _gradient("add_scalar", lambda g, x, out, ops, c: g)

    def __add__(self, other: Operand) -> Tensor:
        """x + y"""
        return _arith(self, other, np.add, "add")

    __radd__ = __add__

    _gradient("sub", lambda g, a, b, out, ops: g, lambda g, a, b, out, ops: -g)
    _gradient("sub_scalar", lambda g, x, out, ops, c: g)

    def __sub__(self, other: Operand) -> Tensor:
        """x - y"""
        return _arith(self, other, np.subtract, "sub")

    _gradient("rsub_scalar", lambda g, x, out, ops, c: -g)

    def __rsub__(self, other: Operand) -> Tensor:
        c = _scalar(other)
        if c is not None:
            return _make(c - self.data, (self,), "rsub_scalar", (c,))
        return _tensor_arg(other, "sub") - self

    _gradient("mul", lambda g, a, b, out, ops: g * b, lambda g, a, b, out, ops: g * a)
    _gradient("mul_scalar", lambda g, x, out, ops, c: g * c)

    def __mul__(self, other: Operand) -> Tensor:
        """x * y"""
        return _arith(self, other, np.multiply, "mul")

    __rmul__ = __mul__

    _gradient("div", lambda g, a, b, out, ops: g / b, lambda g, a, b, out, ops: -g * out / b)
    _gradient("div_scalar", lambda g, x, out, ops, c: g / c)

    def __truediv__(self, other: Operand) -> Tensor:
        """x / y"""
        return _arith(self, other, np.true_divide, "div")

    _gradient("rdiv_scalar", lambda g, x, out, ops, c: -g * out / x)

    def __rtruediv__(self, other: Operand) -> Tensor:
        c = _scalar(other)
        if c is not None:
            return _make(c / self.data, (self,), "rdiv_scalar", (c,))
        return _tensor_arg(other, "div") / self

    _gradient(
        "pow",
        lambda g, a, b, out, ops: g * b * a ** (b - 1.0),
        # NOTE: d/db a**b = a**b log(a) is taken as 0 where a <= 0 (log undefined there).
        lambda g, a, b, out, ops: g * out * ops.log(ops.where(a > 0, a, 1.0)),
    )
    _gradient("pow_scalar", _pow_scalar_grad)

    def __pow__(self, exponent: Operand) -> Tensor:
        """x ** y"""
        return _arith(self, exponent, np.power, "pow")

    _gradient("rpow_scalar", lambda g, x, out, ops, c: g * out * math.log(c))

    def __rpow__(self, base: Operand) -> Tensor:
        c = _scalar(base)
        if c is None:
            return _tensor_arg(base, "pow") ** self
        if c <= 0 and self._requires_grad and _mode.enabled:
            raise ValueError(
                f"{c} ** Tensor: the base must be positive to differentiate "
                "(d/dx c**x = c**x log c)"
            )
        return _make(np.power(c, self.data), (self,), "rpow_scalar", (c,))

    _gradient("neg", lambda g, x, out, ops: -g)

    def __neg__(self) -> Tensor:
        """-x"""
        return _make(-self.data, (self,), "neg")

    def __pos__(self) -> Tensor:
        return self

    _gradient("matmul", _matmul_grad_a, _matmul_grad_b)

    def __matmul__(self, other: Operand) -> Tensor:
        """Matrix product x @ y: vectors, matrices and broadcast batches of matrices."""
        b = other if type(other) is Tensor else _lift(other)
        if b is None:
            raise _operand_error(other, "matmul")
        try:
            data = np.matmul(self.data, b.data)
        except ValueError:
            raise ValueError(_matmul_error(self.data.shape, b.data.shape)) from None
        return _make(data, (self, b), "matmul")

    def __rmatmul__(self, other: Operand) -> Tensor:
        lifted = _lift(other)
        if lifted is None:
            raise _operand_error(other, "matmul")
        return lifted @ self

    # ----- Elementary functions --------------------------------------------------------

    _gradient("exp", lambda g, x, out, ops: g * out)

    def exp(self) -> Tensor:
        """exp(x)"""
        return _make(np.exp(self.data), (self,), "exp")

    _gradient("log", lambda g, x, out, ops: g / x)

    def log(self) -> Tensor:
        """Natural logarithm log(x)."""
        return _make(np.log(self.data), (self,), "log")

    _gradient("log1p", lambda g, x, out, ops: g / (1.0 + x))

    def log1p(self) -> Tensor:
        """log(1 + x), accurate for small x."""
        return _make(np.log1p(self.data), (self,), "log1p")

    _gradient("sqrt", lambda g, x, out, ops: 0.5 * g / out)

    def sqrt(self) -> Tensor:
        """sqrt(x)"""
        return _make(np.sqrt(self.data), (self,), "sqrt")

    # NOTE: abs'(0) is taken as 0 (the sign), as in PyTorch.
    _gradient("abs", lambda g, x, out, ops: g * ops.sign(x))

    def abs(self) -> Tensor:
        """|x|"""
        return _make(np.abs(self.data), (self,), "abs")

    __abs__ = abs

    _gradient("clip", _clip_grad)

    def clip(self, lo: float | None = None, hi: float | None = None) -> Tensor:
        """min(max(x, lo), hi); either bound may be None."""
        if lo is None and hi is None:
            raise ValueError("clip: give lo, hi or both")
        return _make(np.clip(self.data, lo, hi), (self,), "clip", (lo, hi))

    _gradient("maximum",
              lambda g, a, b, out, ops: _tie_split(g, a > b, a == b, ops),
              lambda g, a, b, out, ops: _tie_split(g, b > a, a == b, ops))

    def maximum(self, other: Operand) -> Tensor:
        """Elementwise max(x, y), broadcasting; ties split the gradient evenly."""
        return _pairwise_extreme(self, other, np.maximum, "maximum")

    _gradient("minimum",
              lambda g, a, b, out, ops: _tie_split(g, a < b, a == b, ops),
              lambda g, a, b, out, ops: _tie_split(g, b < a, a == b, ops))

    def minimum(self, other: Operand) -> Tensor:
        """Elementwise min(x, y), broadcasting; ties split the gradient evenly."""
        return _pairwise_extreme(self, other, np.minimum, "minimum")

    _gradient("astype", lambda g, x, out, ops: g.astype(x.dtype))

    def astype(self, dtype: DTypeLike) -> Tensor:
        """The data cast to ``dtype``; differentiable between floating dtypes."""
        dtype = np.dtype(dtype)
        if dtype == self.data.dtype:
            return self
        if dtype.kind != "f":
            return _constant(self.data.astype(dtype))  # integers carry no gradient
        return _make(self.data.astype(dtype), (self,), "astype")

    # ----- Reductions ------------------------------------------------------------------

    _gradient("sum", lambda g, x, out, ops, kept: ops.broadcast_to(g.reshape(kept), x.shape))

    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default)."""
        axes = _axes(axis, self.data.ndim, "sum")
        data = self.data.sum(axis=axes, keepdims=keepdims)
        return _make(data, (self,), "sum", (_kept_shape(self.data.shape, axes),))

    _gradient(
        "mean",
        lambda g, x, out, ops, kept, n: ops.broadcast_to((g / n).reshape(kept), x.shape),
    )

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes by default)."""
        axes = _axes(axis, self.data.ndim, "mean")
        n = math.prod(self.data.shape[a] for a in axes)
        if self.data.dtype == np.float16:  # np.mean accumulates float16 in float32
            data = np.mean(self.data, axis=axes, keepdims=keepdims)
        else:  # the same sum, without np.mean's Python overhead (5x on small arrays)
            data = self.data.sum(axis=axes, keepdims=keepdims) / n
        return _make(data, (self,), "mean", (_kept_shape(self.data.shape, axes), n))

    _gradient("max", _extremum_grad)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Largest element over ``axis``; tied maxima share the gradient evenly."""
        axes = _axes(axis, self.data.ndim, "max")
        data = np.max(self.data, axis=axes, keepdims=keepdims)
        return _make(data, (self,), "max", (axes, _kept_shape(self.data.shape, axes)))

    _gradient("min", _extremum_grad)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Smallest element over ``axis``; tied minima share the gradient evenly."""
        axes = _axes(axis, self.data.ndim, "min")
        data = np.min(self.data, axis=axes, keepdims=keepdims)
        return _make(data, (self,), "min", (axes, _kept_shape(self.data.shape, axes)))

    # ----- Softmax family (stable: the max is subtracted before exp) -------------------

    _gradient("softmax",
              lambda g, x, out, ops, axes: out * (g - (g * out).sum(axis=axes, keepdims=True)))

    def softmax(self, axis: Axis = -1) -> Tensor:
        """exp(x) / sum(exp(x)) along ``axis``."""
        axes = _axes(axis, self.data.ndim, "softmax")
        e = self.data - self.data.max(axis=axes, keepdims=True)
        np.exp(e, out=e)
        e /= e.sum(axis=axes, keepdims=True)
        return _make(e, (self,), "softmax", (axes,))

    _gradient("log_softmax",
              lambda g, x, out, ops, axes: g - ops.exp(out) * g.sum(axis=axes, keepdims=True))

    def log_softmax(self, axis: Axis = -1) -> Tensor:
        """x - logsumexp(x) along ``axis``."""
        axes = _axes(axis, self.data.ndim, "log_softmax")
        shifted = self.data - self.data.max(axis=axes, keepdims=True)
        shifted -= np.log(np.exp(shifted).sum(axis=axes, keepdims=True))
        return _make(shifted, (self,), "log_softmax", (axes,))

    _gradient("logsumexp",
              lambda g, x, out, ops, kept: g.reshape(kept) * ops.exp(x - out.reshape(kept)))

    def logsumexp(self, axis: Axis = -1, keepdims: bool = False) -> Tensor:
        """log(sum(exp(x))) along ``axis``."""
        axes = _axes(axis, self.data.ndim, "logsumexp")
        top = self.data.max(axis=axes, keepdims=True)
        data = top + np.log(np.exp(self.data - top).sum(axis=axes, keepdims=True))
        kept = _kept_shape(self.data.shape, axes)
        if not keepdims:
            data = data.reshape([n for i, n in enumerate(kept) if i not in axes])
        return _make(data, (self,), "logsumexp", (kept,))

    # ----- Shape and indexing ------------------------------------------------------------

    _gradient("reshape", lambda g, x, out, ops: g.reshape(x.shape))

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in a new shape (one entry may be -1)."""
        try:
            data = self.data.reshape(_shape_arg(shape))
        except ValueError as error:
            raise ValueError(f"reshape: {error}") from None
        return _make(data, (self,), "reshape")

    _gradient("transpose", lambda g, x, out, ops, inverse: g.transpose(inverse))

    def transpose(self, *axes: Any) -> Tensor:
        """Permute the axes (reverse them when none are given)."""
        order = _shape_arg(axes) if axes else tuple(range(self.data.ndim))[::-1]
        try:
            data = self.data.transpose(order)
        except ValueError as error:
            raise ValueError(f"transpose: {error}") from None
        inverse = tuple(int(i) for i in np.argsort(order))
        return _make(data, (self,), "transpose", (inverse,))

    @property
    def T(self) -> Tensor:
        """All axes reversed."""
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped (a batch of transposed matrices)."""
        n = self.data.ndim
        if n < 2:
            raise ValueError(f"mT: a matrix transpose needs 2 or more dimensions, got {n}")
        return self.transpose(*range(n - 2), n - 1, n - 2)

    _gradient("broadcast_to", lambda g, x, out, ops: g)  # the backward loop sums g back

    def broadcast_to(self, *shape: Any) -> Tensor:
        """A read-only view repeated along new or size-1 axes to ``shape``."""
        target = _shape_arg(shape)
        try:
            data = np.broadcast_to(self.data, target)
        except ValueError:
            raise ValueError(
                f"broadcast_to: cannot broadcast shape {self.data.shape} to {target}"
            ) from None
        return _make(data, (self,), "broadcast_to")

    _gradient("sum_to", lambda g, x, out, ops: ops.broadcast_to(g, x.shape))

    def sum_to(self, *shape: Any) -> Tensor:
        """Sum down to ``shape``, undoing a broadcast: the adjoint of ``broadcast_to``."""
        return _make(sum_to(self.data, _shape_arg(shape)), (self,), "sum_to")

    _gradient("getitem",
              lambda g, x, out, ops, index, repeats: ops.scatter_to(g, x.shape, index, repeats))

    def __getitem__(self, index: Any) -> Tensor:
        """x[index]: slices, integers, None, Ellipsis, boolean masks and integer arrays.

        Integer arrays may repeat an element; its gradient then adds up every copy.
        """
        index = _plain_index(index)
        try:
            data = self.data[index]
        except IndexError as error:
            raise IndexError(f"getitem: {error} (tensor shape {self.data.shape})") from None
        return _make(data, (self,), "getitem", (index, _repeats_possible(index)))

    _gradient("scatter_to", lambda g, x, out, ops, shape, index, repeats: g[index])

    def scatter_to(self, shape: tuple[int, ...], index: Any, accumulate: bool = True) -> Tensor:
        """zeros(shape) with x added at ``index``: the adjoint of ``x[index]``.

        With ``accumulate`` (for integer arrays that repeat an index) every copy adds up.
        """
        index = _plain_index(index)
        data = scatter_to(self.data, tuple(shape), index, accumulate)
        return _make(data, (self,), "scatter_to", (tuple(shape), index, accumulate))

    # ----- Comparisons (their results carry no gradient) ---------------------------------

    def _compare(self, other: Operand, ufunc: Callable[..., Any], op: str) -> Tensor:
        c = _scalar(other)
        if c is not None:
            return _constant(ufunc(self.data, c))
        b = _lift(other)
        if b is None:
            return NotImplemented
        return _constant(_broadcasting(ufunc, self, b, op))

    def __lt__(self, other: Operand) -> Tensor:
        return self._compare(other, np.less, "lt")

    def __le__(self, other: Operand) -> Tensor:
        return self._compare(other, np.less_equal, "le")

    def __gt__(self, other: Operand) -> Tensor:
        return self._compare(other, np.greater, "gt")

    def __ge__(self, other: Operand) -> Tensor:
        return self._compare(other, np.greater_equal, "ge")

    def __eq__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.equal, "eq")  # type: ignore[arg-type]

    def __ne__(self, other: object) -> Tensor:  # type: ignore[override]
        return self._compare(other, np.not_equal, "ne")  # type: ignore[arg-type]


def _matmul_error(a: tuple[int, ...], b: tuple[int, ...]) -> str:
    if not a or not b:
        return f"matmul: shapes {a} and {b}: a 0-d operand cannot be matrix-multiplied"
    inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
    if inner_a != inner_b:
        return f"matmul: shapes {a} and {b} are not aligned ({inner_a} != {inner_b})"
    return f"matmul: shapes {a} and {b}: the batch dimensions cannot broadcast"


# ----- Functions of several tensors ---------------------------------------------------


_gradient("where",
          lambda g, a, b, out, ops, condition: ops.where(condition, g, 0.0),
          lambda g, a, b, out, ops, condition: ops.where(condition, 0.0, g))


def where(condition: Operand, a: Operand, b: Operand) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcasting); no gradient reaches the
    condition, and none reaches the branch not taken."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        cond = cond.astype(bool)
    ta, tb = _operand_pair(a, b, "where")
    try:
        data = np.where(cond, ta.data, tb.data)
    except ValueError:
        raise ValueError(
            f"where: cannot broadcast shapes {cond.shape}, {ta.data.shape} and {tb.data.shape}"
        ) from None
    return _make(data, (ta, tb), "where", (cond,))


def maximum(a: Operand, b: Operand) -> Tensor:
    """Elementwise max(a, b), broadcasting; NOTE: at a tie each gets half the gradient."""
    return _pairwise_extreme(a, b, np.maximum, "maximum")


def minimum(a: Operand, b: Operand) -> Tensor:
    """Elementwise min(a, b), broadcasting; NOTE: at a tie each gets half the gradient."""
    return _pairwise_extreme(a, b, np.minimum, "minimum")


def _take(index: tuple[Any, ...], g: Any, *_: Any) -> Any:
    # concatenate and stack: each input's gradient is its own slice of g.
    return g[index]


_gradient("concatenate", _take)  # one rule for every input, bound to that input's part
_gradient("stack", _take)


def _join(op: str, join: Callable[..., np.ndarray], tensors: Sequence[Operand], axis: int,
          parts_along: Callable[[Sequence[Tensor], int], Iterator[Any]]) -> Tensor:
    """``join`` the tensors; input i's gradient is ``g`` at the i-th of ``parts_along``."""
    parts = tuple(_tensor_arg(t, op) for t in tensors)
    if not parts:
        raise ValueError(f"{op}: needs at least one tensor")
    try:
        data = join([t.data for t in parts], axis=axis)
    except (ValueError, np.exceptions.AxisError) as error:
        shapes = ", ".join(str(t.data.shape) for t in parts)
        raise ValueError(f"{op}: shapes {shapes} along axis {axis}: {error}") from None
    axis = axis % data.ndim
    (take,) = GRADIENTS[op]
    rules = tuple(partial(take, (slice(None),) * axis + (part,))
                  for part in parts_along(parts, axis))
    return _make(data, parts, op, rules=rules)


def _slices(parts: Sequence[Tensor], axis: int) -> Iterator[slice]:
    start = 0
    for t in parts:
        stop = start + t.data.shape[axis]
        yield slice(start, stop)
        start = stop


def concatenate(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    return _join("concatenate", np.concatenate, tensors, axis, _slices)


def stack(tensors: Sequence[Operand], axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis."""
    return _join("stack", np.stack, tensors, axis, lambda parts, axis: iter(range(len(parts))))


# ----- Registered activations --------------------------------------------------------
# The local gradient of an activation is g * deriv(x, out, ops): the registry's own rule,
# so it serves plain backward and create_graph alike.

_gradient("activation",
          lambda g, x, out, ops, deriv, params: g * deriv(x, out, ops, **params))


def _activation_method(activation: activations.Activation) -> Callable[..., Tensor]:
    forward, deriv, name = activation.forward, activation.deriv, activation.name

    def apply(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        params = activation.bind(args, kwargs)
        x = self.data
        if x.dtype.kind != "f":
            raise TypeError(f"{name} expects a floating-point tensor, got dtype {x.dtype}")
        out = forward(x, array_ops(x.dtype), **params)
        if type(out) is not np.ndarray or out.dtype != x.dtype:
            out = np.asarray(out, dtype=x.dtype)  # e.g. where(c, 1.0, 0.0) is float64
        return _make(out, (self,), name, (deriv, params), GRADIENTS["activation"])

    return apply


activations.attach(Tensor, _activation_method)
