"""``Tensor``: an ndarray in a computation graph.

This file holds what a tensor *is*: construction, the array protocol, graph membership
and the entry to backward. What a tensor can *do* comes from the op registry:
``tensor.methods`` installs every registered op as a method.

A result node remembers the op's record (``_fn``), its operands (``_args``: Tensors, or
Python numbers, which never become nodes), the op's parameters, and the Tensors among its
operands (``_prev``, for graph walks). Nodes hold references only to their inputs, never a
closure over themselves: graphs are freed by reference counting, and ``backward``
releases them unless asked to keep them.

Dtypes follow NumPy promotion (``float32 + float64 -> float64``); Python and NumPy scalars
are "weak" (``x * 2.0`` keeps ``x``'s dtype). A gradient always has its input's dtype.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from ..graph import _mode, anomaly, created_at, toposort, user_line
from ..ops.registry import OpDef
from .backprop import backprop, seed_gradient

__all__ = ["Tensor", "bump_version"]

Operand: TypeAlias = "Tensor | ArrayLike"

_new = object.__new__
_EMPTY: dict[str, Any] = {}


def make(data: Any, op: OpDef, args: tuple[Any, ...], prev: tuple[Tensor, ...], arrays: Any,
         params: dict[str, Any], dtype: np.dtype, saved: Any = None) -> Tensor:
    """A result node; it joins the graph when recording, differentiable, and any input
    requires grad (only floating results can).

    A recorded node keeps what backward needs: the op's record, its operands, the arrays
    the forward rule saw (``_saved``) and its own output (``_out``), and the version of
    each input Tensor, so that a later in-place change to one of them is caught.
    ``dtype`` is the one the forward rule computed in (the ``ops`` it was given), and
    ``saved`` what it kept for the gradient rules (ops registered with ``saves=True``).
    """
    if type(data) is not np.ndarray:
        data = np.asarray(data)  # ufuncs on 0-d arrays return NumPy scalars
    out = _new(Tensor)
    tape = _mode.tape
    if tape is not None:  # a step being recorded (tensor/recorded.py)
        tape.ran(out, op, args, params, dtype)
    out._data = data
    out.grad = None
    out._op = op.name
    out._retain = False
    scope = _mode.recording
    out._scope = () if scope is None else scope
    out._name = ""
    out._version = 0
    if op.grads is not None and scope is not None and data.dtype.kind == "f":
        for t in prev:
            if t._requires_grad:
                out._requires_grad = True
                out._fn = op
                out._args = args
                out._prev = prev
                out._params = params
                out._saved = arrays
                out._out = data
                out._from_forward = saved
                out._held = 1  # its own output is saved (rules may read it)
                if len(prev) == 1:
                    out._versions = (t._version,)
                    t._held += 1
                else:
                    out._versions = tuple([x._version for x in prev])
                    for x in prev:
                        x._held += 1
                if anomaly.enabled:
                    _watch(out, prev)
                return out
    out._requires_grad = False
    out._fn = None
    out._prev = out._args = ()
    out._params = _EMPTY
    out._held = 0
    if anomaly.enabled:
        _watch(out, prev)
    return out


def _refuse_while_recording(what: str) -> None:
    """Raise if a step is being recorded in this thread: its replay would not do ``what``
    (only ops are replayed, not Python)."""
    tape = _mode.tape
    if tape is not None:
        tape.refuse(what)


def _watch(out: Tensor, prev: tuple[Tensor, ...]) -> None:
    """Anomaly mode: remember where user code made ``out``, and refuse a NaN or infinity."""
    out._trace = user_line()
    data = out._data
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        inputs = ", ".join(str(t._data.shape) for t in prev)
        raise FloatingPointError(
            f"forward: '{out._op}' (inputs of shape {inputs}) produced "
            f"{int(np.isnan(data).sum())} NaN and {int(np.isinf(data).sum())} infinite "
            f"values{created_at(out)}"
        )


def bump_version(t: Tensor) -> None:
    """Record that ``t``'s array was changed in place (an optimizer step, a load).

    Every library code path that writes into a tensor's existing array calls this, so
    that a backward through a graph that saved the old values can refuse to run.
    """
    tape = _mode.tape  # inline (one frame, not two): optimizers call this per parameter
    if tape is not None:
        tape.refuse("changes a tensor in place")
    t._version += 1


def constant(data: Any, *, fixed: bool = False) -> Tensor:
    """A leaf that shares ``data`` and needs no gradient. ``fixed``: the library's own
    constant (a number as an array), the same whatever data a step runs on."""
    if type(data) is not np.ndarray:
        data = np.asarray(data)
    return _fill_leaf(_new(Tensor), data, fixed)


def _fill_leaf(out: Tensor, data: np.ndarray, fixed: bool) -> Tensor:
    """Set every field of ``out`` as a leaf holding ``data`` that needs no gradient. A step
    being recorded notes it as made inside the step, unless it is ``fixed``."""
    tape = _mode.tape
    if tape is not None and not fixed:
        tape.made(out)
    out._data = data
    out.grad = None
    out._op = ""
    out._retain = False
    out._scope = ()
    out._name = ""
    out._version = 0
    out._held = 0
    out._requires_grad = False
    out._fn = None
    out._prev = out._args = ()
    out._params = _EMPTY
    return out


def scalar(x: object) -> int | float | None:
    """``x`` as a Python number if it is a real scalar (NumPy scalars included), else None."""
    kind = type(x)
    if kind is float or kind is int:
        return x  # type: ignore[return-value]
    if isinstance(x, numbers.Real) and kind is not bool and not isinstance(x, np.bool_):
        return int(x) if isinstance(x, numbers.Integral) else float(x)
    return None


def to_array(data: Any, dtype: DTypeLike | None) -> np.ndarray:
    """``data`` as a new array: Python numbers and lists default to float32."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        array = np.array(data, dtype=dtype)
    elif isinstance(data, (np.ndarray, np.generic)):
        array = np.array(data)  # an array keeps its dtype: float64 stays float64
    else:
        array = np.array(data)
        if array.dtype.kind in "iuf":
            array = array.astype(np.float32)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"Tensor data must be bool, integer or floating point, got dtype {array.dtype}"
        )
    return array


def shape_arg(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """``f(2, 3)`` and ``f((2, 3))`` both mean shape (2, 3)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


class Tensor:
    """An n-dimensional array in a computation graph; ``grad`` holds d(output)/d(self).

    Dtypes: Python data defaults to float32 and arrays keep theirs. Ops follow NumPy's
    promotion (float32 with float64 gives float64); Python and NumPy scalars never upcast.
    Each input's gradient has that input's dtype; only floating tensors can require grad.
    """

    __slots__ = (
        "__weakref__",
        "_args",
        "_data",
        "_fn",
        "_from_forward",
        "_held",
        "_name",
        "_op",
        "_out",
        "_params",
        "_prev",
        "_requires_grad",
        "_retain",
        "_saved",
        "_scope",
        "_trace",
        "_version",
        "_versions",
        "grad",
    )

    _data: np.ndarray
    grad: np.ndarray | None
    _requires_grad: bool
    _fn: OpDef | None  # the op that made this node; None on leaves and constants
    _args: tuple[Any, ...]  # its operands: Tensors and Python numbers, in order
    _prev: tuple[Tensor, ...]  # the Tensors among them
    _params: dict[str, Any]
    _op: str
    _retain: bool
    _scope: tuple[Any, ...]  # the modules whose forward made this node (for drawings)
    _version: int  # bumped by every in-place change to the data (see bump_version)
    # Recorded nodes only: the arrays the forward rule saw, the output, the inputs' versions.
    _saved: Any
    _out: np.ndarray
    _from_forward: Any  # what an op registered with saves=True kept for its rules
    _versions: tuple[int, ...]
    _held: int  # how many unreleased nodes saved this tensor's array (see the data property)
    _trace: str  # where user code made it (anomaly mode only)

    if TYPE_CHECKING:
        # Every registered op (exp, sum, relu, ...) is attached as a method at import, and
        # so are the operators; these stubs tell type checkers so.
        def __getattr__(self, name: str) -> Callable[..., Any]: ...
        def __add__(self, other: Operand) -> Tensor: ...
        def __radd__(self, other: Operand) -> Tensor: ...
        def __sub__(self, other: Operand) -> Tensor: ...
        def __rsub__(self, other: Operand) -> Tensor: ...
        def __mul__(self, other: Operand) -> Tensor: ...
        def __rmul__(self, other: Operand) -> Tensor: ...
        def __truediv__(self, other: Operand) -> Tensor: ...
        def __rtruediv__(self, other: Operand) -> Tensor: ...
        def __pow__(self, other: Operand) -> Tensor: ...
        def __rpow__(self, other: Operand) -> Tensor: ...
        def __floordiv__(self, other: Operand) -> Tensor: ...
        def __rfloordiv__(self, other: Operand) -> Tensor: ...
        def __mod__(self, other: Operand) -> Tensor: ...
        def __rmod__(self, other: Operand) -> Tensor: ...
        def __matmul__(self, other: Operand) -> Tensor: ...
        def __rmatmul__(self, other: Operand) -> Tensor: ...
        def __neg__(self) -> Tensor: ...
        def __abs__(self) -> Tensor: ...
        def __lt__(self, other: Operand) -> Tensor: ...
        def __le__(self, other: Operand) -> Tensor: ...
        def __gt__(self, other: Operand) -> Tensor: ...
        def __ge__(self, other: Operand) -> Tensor: ...
        def __and__(self, other: Operand) -> Tensor: ...
        def __or__(self, other: Operand) -> Tensor: ...
        def __xor__(self, other: Operand) -> Tensor: ...
        def __invert__(self) -> Tensor: ...
        def __getitem__(self, index: Any) -> Tensor: ...
        def __setitem__(self, index: Any, value: Any) -> None: ...

    # ndarray (op) Tensor must reach Tensor's reflected method, not broadcast over objects.
    __array_ufunc__ = None
    # Comparisons return Tensors, so identity is the hash (as for PyTorch tensors).
    __hash__ = object.__hash__

    def __init__(self, data: Operand, requires_grad: bool = False,
                 dtype: DTypeLike | None = None, name: str | None = None) -> None:
        _fill_leaf(self, to_array(data, dtype), fixed=False)
        if requires_grad:
            self.requires_grad = True
        if name:
            self.name = name

    # ----- Creation --------------------------------------------------------------------

    @classmethod
    def from_numpy(cls, array: np.ndarray, requires_grad: bool = False) -> Tensor:
        """A tensor sharing ``array``'s memory and dtype (no copy)."""
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            kind = array.dtype if isinstance(array, np.ndarray) else type(array).__name__
            raise TypeError(f"from_numpy expects a numeric numpy.ndarray, got {kind}")
        t = constant(array)
        t.requires_grad = requires_grad
        return t

    @classmethod
    def zeros(cls, *shape: Any, requires_grad: bool = False,
              dtype: DTypeLike = np.float32) -> Tensor:
        """A tensor of zeros: ``Tensor.zeros(2, 3)`` or ``Tensor.zeros((2, 3))``."""
        return cls(np.zeros(shape_arg(shape), dtype), requires_grad=requires_grad)

    @classmethod
    def ones(cls, *shape: Any, requires_grad: bool = False,
             dtype: DTypeLike = np.float32) -> Tensor:
        """A tensor of ones."""
        return cls(np.ones(shape_arg(shape), dtype), requires_grad=requires_grad)

    @classmethod
    def randn(cls, *shape: Any, requires_grad: bool = False, dtype: DTypeLike = np.float32,
              rng: np.random.Generator | int | None = None) -> Tensor:
        """Samples of N(0, 1); ``rng`` (a Generator or seed) defaults to ``np.random``."""
        source: Any = np.random if rng is None else np.random.default_rng(rng)
        sample = source.standard_normal(shape_arg(shape))
        return cls(np.asarray(sample, dtype=dtype), requires_grad=requires_grad)

    @classmethod
    def uniform(cls, *shape: Any, low: float = -1.0, high: float = 1.0,
                requires_grad: bool = False, dtype: DTypeLike = np.float32,
                rng: np.random.Generator | int | None = None) -> Tensor:
        """Samples of U(low, high)."""
        source: Any = np.random if rng is None else np.random.default_rng(rng)
        sample = source.uniform(low, high, shape_arg(shape))
        return cls(np.asarray(sample, dtype=dtype), requires_grad=requires_grad)

    # ----- Array protocol ----------------------------------------------------------------

    @property
    def data(self) -> np.ndarray:
        """The values, as an ndarray: the tensor's own array, written through freely.

        While a graph that has not run backward yet saved this array, the tensor first
        moves to a copy of it: writes through ``data`` (``w.data[0] = 5``, ``w.data -=
        lr * g``) then never change what that graph's backward reads, so its gradient
        stays the gradient of the forward pass that was run. In-place changes the library
        makes (optimizer steps, ``load_state_dict``, in-place ops) make such a backward
        raise instead, as in PyTorch.
        """
        _refuse_while_recording("reads a tensor's values (.data, .numpy(), np.asarray)")
        if self._held:
            self._data = self._data.copy()
            self._held = 0
        return self._data

    @data.setter
    def data(self, array: Any) -> None:
        if array is self._data:  # an in-place update (x.data -= ...) assigns it back
            return
        _refuse_while_recording("replaces a tensor's data")
        if not isinstance(array, np.ndarray):
            array = np.asarray(array, dtype=self._data.dtype)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Tensor data must be a numeric array, got dtype {array.dtype}")
        if self._requires_grad and array.dtype.kind != "f":
            raise TypeError(f"this tensor requires grad, so its data must stay floating "
                            f"point, got dtype {array.dtype}")
        self._data = array

    @property
    def name(self) -> str:
        """A name for this tensor in drawings ("" if none)."""
        return self._name

    @name.setter
    def name(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"name must be a string, got {type(text).__name__}")
        self._name = text

    @property
    def shape(self) -> tuple[int, ...]:
        """The shape of ``data``."""
        return self._data.shape

    @property
    def dtype(self) -> np.dtype:
        """The dtype of ``data``."""
        return self._data.dtype

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    @property
    def size(self) -> int:
        """The number of elements."""
        return self._data.size

    @property
    def T(self) -> Tensor:
        """All axes reversed (the ``transpose`` op)."""
        return self.transpose()

    @property
    def mT(self) -> Tensor:
        """The last two axes swapped: a batch of transposed matrices."""
        n = self._data.ndim
        if n < 2:
            raise ValueError(f"mT: a matrix transpose needs 2 or more dimensions, got {n}")
        return self.transpose(*range(n - 2), n - 1, n - 2)

    def numpy(self) -> np.ndarray:
        """The data as an ndarray, shared with the tensor (see ``data``)."""
        return self.data

    def item(self) -> Any:
        """The single element as a Python number."""
        _refuse_while_recording("reads a tensor's value (.item(), float(), int())")
        if self._data.size != 1:
            raise ValueError(
                f"item(): only a single-element tensor converts to a Python number; "
                f"this one has shape {self._data.shape}"
            )
        return self._data.item()

    def __array__(self, dtype: DTypeLike | None = None, copy: bool | None = None) -> np.ndarray:
        _refuse_while_recording("reads a tensor's values (np.asarray, np.array)")
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        return np.asarray(self.data, dtype=dtype)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return len(self._data)

    def __iter__(self) -> Iterator[Tensor]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self._data)))

    def __bool__(self) -> bool:
        _refuse_while_recording("branches on a tensor's value (if, and, or, not)")
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with shape {self._data.shape} is ambiguous"
            )
        return bool(self._data)

    def __repr__(self) -> str:
        body = np.array2string(self._data, separator=", ", prefix="Tensor(")
        extras = f", dtype={self._data.dtype}"
        if self._requires_grad:
            extras += ", requires_grad=True"
        if self._op:
            extras += f", op={self._op!r}"
        if self.name:
            extras += f", name={self.name!r}"
        return f"Tensor({body}{extras})"

    # ----- Graph membership --------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        """Whether gradients flow to this tensor (only floating tensors can require them)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self._data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients, "
                f"this one has dtype {self._data.dtype}"
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
        return not self._requires_grad or not self._op

    def retain_grad(self) -> None:
        """Keep ``grad`` on this non-leaf after backward (leaves always keep theirs)."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retain = True

    def detach(self) -> Tensor:
        """The same array (shared) as a new leaf outside the graph.

        Like ``data``, a write through the detached tensor's ``data`` while a graph still
        holds the array goes to a fresh copy, so that graph's backward stays exact.
        """
        out = constant(self._data)
        out._held = self._held
        return out

    def backward(self, grad: Operand | None = None, retain_graph: bool = False, *,
                 check_finite: bool = False) -> None:
        """Add d(self)/d(leaf) to ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is d(loss)/d(self), needed unless self has a single element. The graph is
        released afterwards unless ``retain_graph=True``: the arrays it saved are freed and
        a second backward through it raises, as in PyTorch; its structure stays, so it can
        still be drawn. With ``check_finite=True`` (or inside ``detect_anomaly()``), raise
        ``FloatingPointError`` at the first op that passes a NaN or infinite gradient.
        """
        if not self._requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad (no input had "
                "requires_grad=True, or it was computed under no_grad)"
            )
        given = grad._data if isinstance(grad, Tensor) else grad
        seed = seed_gradient(self._data, given, "backward", "grad")
        backprop(self, seed, retain_graph=retain_graph, check_finite=check_finite)

    # ----- Copies --------------------------------------------------------------------------

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        # Iterative: a graph thousands of ops deep copies without hitting the recursion
        # limit. Copies share the op records and parameters, and get arrays of their own.
        for node in toposort(self):
            if id(node) not in memo:
                memo[id(node)] = _copy_node(node, memo)
        result: Any = memo[id(self)]
        return result

    def __reduce__(self) -> tuple[Any, ...]:
        # A tensor pickles as a leaf with its values (and its gradient); its graph does not
        # travel. tinygrad_nn itself never reads pickles: checkpoints are safetensors.
        return (_rebuild, (self._data, self._requires_grad, self._name, self.grad))


def _rebuild(data: np.ndarray, requires_grad: bool, name: str, grad: Any) -> Tensor:
    t = Tensor(data, requires_grad=requires_grad, dtype=data.dtype, name=name)
    t.grad = grad
    return t


def _copy_node(node: Any, memo: dict[int, Any]) -> Any:
    """A copy of one node whose inputs were copied already (``memo`` maps ids to copies)."""
    clone = _new(type(node))
    for slot in type(node).__slots__:
        if slot != "__weakref__" and hasattr(node, slot):
            setattr(clone, slot, getattr(node, slot))
    clone._prev = tuple(memo[id(child)] for child in node._prev)
    if type(node) is not Tensor:  # a Released stand-in holds no arrays
        return clone
    clone._data = memo[id(node._data)] = node._data.copy()
    if node.grad is not None:
        clone.grad = np.array(node.grad)
    if node._fn is not None:
        clone._args = tuple(memo.get(id(a), a) for a in node._args)
        clone._saved = tuple(memo.get(id(a), a) for a in node._saved)
        clone._out = clone._data
    return clone


def lift(x: object) -> Tensor | None:
    """A non-scalar operand as a constant Tensor (ndarrays are shared), or None if unusable."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "biuf":
            return None
        return constant(x)
    if isinstance(x, (list, tuple, np.generic)):
        return Tensor(x)
    if isinstance(x, bool):  # a mask operand: x & True
        return constant(np.asarray(x))
    return None


def operand_error(x: object, op: str) -> TypeError:
    kind = type(x).__name__
    hint = " (a Value belongs to the scalar engine; use .data or a Tensor)" \
        if kind == "Value" else ""
    return TypeError(f"{op} expects Tensors, arrays or real numbers, got {kind}{hint}")


def tensor_arg(x: object, op: str) -> Tensor:
    """Any operand (Tensor, array-like, number) as a Tensor, for functions that take several."""
    if isinstance(x, Tensor):
        return x
    number = scalar(x)
    lifted = lift(x) if number is None else Tensor(number)
    if lifted is None:
        raise operand_error(x, op)
    return lifted


def plain_index(index: Any) -> Any:
    """An index with Tensors and lists replaced by ndarrays (NumPy then does the rest)."""
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, list):
        return np.asarray(index)
    if isinstance(index, tuple):
        return tuple(plain_index(i) for i in index)
    return index


Shape: TypeAlias = Sequence[int]
