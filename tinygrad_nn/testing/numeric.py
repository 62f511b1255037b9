"""Central finite differences, and the error every gradient check raises."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["GradcheckError", "close", "numeric_derivative"]


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


def numeric_derivative(f: Callable[[float], float], x: float, eps: float = 1e-6) -> float:
    """Central difference ``(f(x + eps) - f(x - eps)) / 2 eps``: error O(eps^2)."""
    return (f(x + eps) - f(x - eps)) / (2.0 * eps)


def close(analytic: float, numeric: float, atol: float, rtol: float) -> bool:
    return abs(analytic - numeric) <= atol + rtol * abs(numeric)
