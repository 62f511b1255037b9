"""In-place changes to a tensor's array: ``add_`` and friends, ``x[index] = value``.

They are not graph ops: they change the array that existing nodes may have saved for
backward. So each bumps the tensor's version before it writes, and a later backward
through a graph that saved the old array raises instead of using the new values (as in
PyTorch). A leaf that requires grad may only be changed inside ``no_grad`` (an optimizer's
update); a result that requires grad not at all: use the out-of-place op.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..graph import _mode
from .tensor import Tensor, bump_version, plain_index

__all__ = ["install"]


def _check_writable(t: Tensor, name: str) -> None:
    if not t._requires_grad or not _mode.enabled:
        return
    if t.is_leaf:
        raise RuntimeError(
            f"{name}: a leaf that requires grad cannot be changed in place while gradients "
            "are recorded; do it inside `with no_grad():` (as optimizers do)"
        )
    raise RuntimeError(
        f"{name}: in-place changes to a result that requires grad are not supported "
        f"(its op's backward may need the old values); use the out-of-place op instead"
    )


def _operand(value: Any) -> Any:
    return value._data if isinstance(value, Tensor) else value


def _inplace(name: str, ufunc: Callable[..., Any], doc: str) -> Callable[[Tensor, Any], Tensor]:
    def method(self: Tensor, other: Any) -> Tensor:
        _check_writable(self, name)
        value = _operand(other)
        bump_version(self)  # before the write: a backward in another thread sees it
        try:
            ufunc(self._data, value, out=self._data, casting="same_kind")
        except ValueError:
            raise ValueError(f"{name}: cannot combine shape {np.shape(value)} into a tensor "
                             f"of shape {self._data.shape}") from None
        except TypeError as error:
            raise TypeError(f"{name}: {error} (tensor dtype {self._data.dtype})") from None
        return self

    method.__name__ = method.__qualname__ = name
    method.__doc__ = doc
    return method


def _fill_(self: Tensor, value: Any) -> Tensor:
    """Set every element to ``value``, in place; returns self."""
    _check_writable(self, "fill_")
    bump_version(self)
    self._data.fill(value)
    return self


def _zero_(self: Tensor) -> Tensor:
    """Set every element to 0, in place; returns self."""
    return _fill_(self, 0)


def _copy_(self: Tensor, source: Any) -> Tensor:
    """Copy ``source`` (broadcast to this shape, cast to this dtype) in, in place."""
    _check_writable(self, "copy_")
    value = _operand(source)
    bump_version(self)
    try:
        np.copyto(self._data, value, casting="same_kind")
    except ValueError:
        raise ValueError(f"copy_: cannot copy shape {np.shape(value)} into a tensor of "
                         f"shape {self._data.shape}") from None
    return self


def _setitem(self: Tensor, index: Any, value: Any) -> None:
    """``x[index] = value``, in place (the same rules as the other in-place ops)."""
    _check_writable(self, "setitem")
    bump_version(self)
    try:
        self._data[plain_index(index)] = _operand(value)
    except IndexError as error:
        raise IndexError(f"setitem: {error} (tensor shape {self._data.shape})") from None
    except ValueError as error:
        raise ValueError(f"setitem: {error} (tensor shape {self._data.shape})") from None


def install() -> None:
    """Attach the in-place methods to ``Tensor``."""
    methods: dict[str, Any] = {
        "add_": _inplace("add_", np.add, "self += other, in place; returns self."),
        "sub_": _inplace("sub_", np.subtract, "self -= other, in place; returns self."),
        "mul_": _inplace("mul_", np.multiply, "self *= other, in place; returns self."),
        "div_": _inplace("div_", np.true_divide, "self /= other, in place; returns self."),
        "fill_": _fill_,
        "zero_": _zero_,
        "copy_": _copy_,
        "__setitem__": _setitem,
    }
    for name, method in methods.items():
        setattr(Tensor, name, method)
