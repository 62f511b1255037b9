"""The scalar engine: every number is a ``Value`` node, every registered elementwise op
a method on it."""

from .value import Value

__all__ = ["Value"]
