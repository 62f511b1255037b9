"""Registered ops as functions that pick their engine from their operands.

``tinygrad_nn.exp(v)`` on a ``Value`` runs the scalar engine; on anything else (Tensors,
arrays, numbers) the tensor engine. Only elementwise ops exist on the scalar engine.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from . import ops
from .scalar import Value
from .scalar import value as scalar_engine
from .tensor import apply as tensor_engine

__all__ = ["function"]


@cache
def _functions(name: str, op: ops.OpDef) -> tuple[Callable[..., Any], Callable[..., Any]]:
    return scalar_engine.function(op), tensor_engine.function(op)


def function(name: str) -> Callable[..., Any]:
    """The op ``name`` as a function of Values, or of Tensors, arrays and numbers."""
    op = ops.get(name)
    on_values, on_tensors = _functions(name, op)

    def call(*args: Any, **kwargs: Any) -> Any:
        if any(type(x) is Value for x in args):
            if not op.elementwise:
                raise TypeError(f"{name} is a Tensor op; it does not take Values")
            return on_values(*args, **kwargs)
        return on_tensors(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = op.doc
    call.__signature__ = op.signature  # type: ignore[attr-defined]
    return call
