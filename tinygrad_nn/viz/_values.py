"""What one node of a graph says: its box's lines, its op's label, and its full data.

Engines are duck-typed. A node whose ``data`` is an ndarray is a tensor, one with a float
``data`` a scalar, and one without ``data`` is what a Tensor's ``backward()`` left of an
intermediate result (``Released``: op, shape, dtype and links, no array).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import ops

_ELLIPSIS = "\N{HORIZONTAL ELLIPSIS}"
_DOT = "\N{MIDDLE DOT}"
OP_LABEL_WIDTH = 32  # characters of constants and parameters an op label shows


def num(x: float) -> str:
    return f"{x:.4g}"


def is_tensor(node: Any) -> bool:
    return hasattr(node, "shape")


def has_data(node: Any) -> bool:
    return hasattr(node, "data")


def shape_text(node: Any) -> str:
    return f"{'scalar' if not node.shape else tuple(node.shape)} {node.dtype}"


def tensor_grad(node: Any) -> np.ndarray | None:
    grad = getattr(node, "grad", None)
    return None if grad is None else np.asarray(grad)


def summary(a: np.ndarray, what: str) -> tuple[str, bool]:
    """One line about an array (its values when few, else statistics), and whether finite."""
    if a.dtype.kind not in "biuf":
        return f"{what} of dtype {a.dtype}", True
    if a.size <= 4:
        text = " ".join(num(float(v)) for v in a.ravel())
        finite = a.dtype.kind != "f" or bool(np.isfinite(a).all())
        return (f"{what} [{text}]" if a.ndim else f"{what} {text}"), finite
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            nan = int(np.isnan(a).sum())
            return f"{what}: {nan:,} NaN, {int(bad.sum()) - nan:,} Inf", False
    with np.errstate(all="ignore"):  # squares of huge float64s overflow to inf: fine here
        x = a.astype(np.float64)
        if what == "grad":
            return f"grad norm {num(float(np.sqrt(np.sum(x * x))))}", True
        return f"mean {num(float(x.mean()))} std {num(float(x.std()))}", True


def value_lines(node: Any, name: str, show_grad: bool) -> tuple[list[str], bool]:
    """The lines of a value's box, and whether everything it shows is finite."""
    lines = [name] if name else []
    if not is_tensor(node):
        lines.append(f"data {num(node.data)}")
        finite = math.isfinite(node.data)
        if show_grad:
            lines.append(f"grad {num(node.grad)}")
            finite = finite and math.isfinite(node.grad)
        return lines, finite
    lines.append(shape_text(node))
    finite = True
    if has_data(node):
        line, finite = summary(node.data, "data")
        lines.append(line)
    grad = tensor_grad(node)
    if show_grad and grad is not None:
        line, grad_finite = summary(grad, "grad")
        lines.append(line)
        finite = finite and grad_finite
    if node._op and not node._prev:
        # A result drawn as a leaf: none of its inputs needed a gradient, so none was kept.
        lines.append(f"from '{node._op}', inputs not recorded")
    return lines, finite


def node_name(node: Any) -> str:
    """The name the user gave: a Value's ``label`` or a Tensor's ``name`` ("" if none)."""
    return getattr(node, "label", "") or getattr(node, "name", "") or ""


def _short(x: Any) -> str:
    """A constant or parameter in a few characters: ``2``, ``(0, 1)``, ``array(32,)``."""
    if isinstance(x, float):
        return num(x)
    if isinstance(x, np.ndarray):
        return f"array{x.shape}"
    if isinstance(x, tuple):
        return f"({', '.join(_short(item) for item in x)}{',' if len(x) == 1 else ''})"
    text = repr(x)
    return text if len(text) <= 12 else text[:11] + _ELLIPSIS


def _same(value: Any, default: Any) -> bool:
    try:
        return value is default or (type(value) is type(default) and bool(value == default))
    except (TypeError, ValueError):  # an array compares elementwise
        return False


def op_label(node: Any) -> str:
    """``mul``; with the constants and parameters the op ran with when they are known:
    ``mul (·, 2)``, ``sum axis=1``. The op's name always comes first, alone, as registered."""
    parts = [node._op]
    args = getattr(node, "_args", ())
    if len(args) > len(node._prev):  # Python numbers among the operands
        shown = [_DOT if hasattr(a, "_prev") else _short(a) for a in args]
        parts.append(f"({', '.join(shown)})")
    params = getattr(node, "_params", None)
    if params:
        defaults = ops.get(node._op).defaults if node._op in ops.names() else {}
        parts += [f"{k}={_short(v)}" for k, v in params.items()
                  if k not in defaults or not _same(v, defaults[k])]
    text = " ".join(parts)
    if len(text) > len(node._op) + OP_LABEL_WIDTH:
        text = text[:len(node._op) + OP_LABEL_WIDTH] + _ELLIPSIS
    return text


# ----- Full text, for the HTML explorer ----------------------------------------------------


def _array_text(a: np.ndarray) -> str:
    with np.printoptions(threshold=1000, edgeitems=4, linewidth=100, precision=6):
        text = np.array2string(a)
    if a.size > 1 and a.dtype.kind in "biuf":
        with np.errstate(all="ignore"):
            x = a.astype(np.float64)
            text += (f"\nmin {num(float(x.min()))}  max {num(float(x.max()))}  "
                     f"mean {num(float(x.mean()))}  std {num(float(x.std()))}")
    return text


def details(node: Any) -> dict[str, str]:
    """A value's data and gradient in full (arrays up to 1,000 numbers, else summarised)."""
    if not is_tensor(node):
        return {"data": repr(node.data), "grad": repr(node.grad)}
    out = {"shape": shape_text(node)}
    out["data"] = _array_text(node.data) if has_data(node) else \
        "(freed by backward(): only the shape and dtype are kept)"
    grad = tensor_grad(node)
    out["grad"] = "None" if grad is None else _array_text(grad)
    return out
