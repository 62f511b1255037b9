"""``OpCase``: one point to check a registered op at (its inputs and parameters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["OpCase", "describe"]


@dataclass(frozen=True)
class OpCase:
    """An op, the inputs and parameters to check it at, and finite-difference options.

    ``inputs`` hold float64 arrays (or Python floats, which the engines treat as
    constants) for the inputs that take a gradient, and any array for those that do not
    (a mask, an index).
    """

    name: str
    inputs: tuple[Any, ...]
    params: dict[str, Any] = field(default_factory=dict)
    options: dict[str, float] = field(default_factory=dict)

    def __repr__(self) -> str:
        shown = ", ".join(describe(x) for x in self.inputs)
        params = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({shown}{params})"


def describe(x: Any) -> str:
    """An input in a message: an array's shape, dtype and first values, or its repr."""
    if isinstance(x, np.ndarray):
        values = np.array2string(x, precision=4, threshold=8)
        return f"array{x.shape} {x.dtype} {values}"
    return repr(x)
