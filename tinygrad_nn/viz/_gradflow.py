"""Gradient flow: how much gradient reaches each value and runs along each arrow, and the
colour scale that shows it.

The measure is the gradient's root mean square: ``|g|`` for a Value, ``sqrt(mean(g**2))``
for a Tensor, so a weight matrix and a bias, or a scalar and a tensor model, compare on one
scale. ``nn.diagnostics`` reports the same number per layer (``grad_rms``). Arrows into an
op carry the gradient that the op sends back to that input: ``upstream x local`` on the
scalar engine; on the tensor engine the gradient of the input, which the drawing asks
``grad()`` for while the graph is still there (before a plain ``backward()`` released it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ._values import has_data, is_tensor

# Viridis at five stops (Matplotlib's, CC0): small gradients dark, large ones bright; it
# stays readable in grey and for the colour-blind.
_STOPS = ((0x44, 0x01, 0x54), (0x3B, 0x52, 0x8B), (0x21, 0x91, 0x8C), (0x5E, 0xC9, 0x62),
          (0xFD, 0xE7, 0x25))
ZERO = "#b8b8b8"  # exactly zero: nothing flows (a dead ReLU, a saturated step)
DECADES = 8  # the scale spans at most this many powers of ten below the largest gradient


def grad_rms(grad: Any) -> float | None:
    """The root mean square of a gradient (a float or an array); None for no gradient."""
    if grad is None:
        return None
    if isinstance(grad, (int, float)):
        return abs(float(grad))
    g = np.asarray(grad, dtype=np.float64)
    if g.size == 0:
        return 0.0
    with np.errstate(over="ignore"):  # an overflow is an infinite gradient: shown as such
        return float(np.sqrt(np.mean(g * g)))


def node_gradients(order: Sequence[Any], root: Any) -> dict[int, Any]:
    """``id(node) -> d(root)/d(node)`` for the nodes whose gradient is known.

    Values carry theirs in ``.grad``. A tensor graph still in memory is asked for the
    gradient of every node (one extra backward pass; ``.grad`` is not touched); once a
    plain ``backward()`` released it, only leaves and ``retain_grad()`` nodes kept theirs.
    """
    if not is_tensor(root):
        return {id(node): node.grad for node in order}
    known = {id(node): node.grad for node in order if getattr(node, "grad", None) is not None}
    alive = all(has_data(node) for node in order) and getattr(root, "_fn", None) is not None
    if alive and root.data.size == 1:
        from ..tensor import grad  # the one place a drawing runs the engine

        wanted = [node for node in order if node.requires_grad]
        for node, g in zip(wanted, grad(root, wanted, retain_graph=True, allow_unused=True)):
            known[id(node)] = g.data
    return known


def contributions(node: Any, upstream: Any, grads: dict[int, Any]) -> list[float | None]:
    """The gradient ``node`` sends back to each of its inputs, as an RMS (None: unknown)."""
    local = getattr(node, "_local", None)
    if local is not None and upstream is not None:  # a Value: upstream x local, exactly
        return [abs(upstream * d) for d in local]
    return [grad_rms(grads.get(id(child))) for child in node._prev]


def combine(magnitudes: Iterable[float | None]) -> float | None:
    """One magnitude for several gradients drawn as one arrow or box: their RMS."""
    known = [m for m in magnitudes if m is not None]
    if not known:
        return None
    return math.sqrt(sum(m * m for m in known) / len(known))


class ColourScale:
    """A log scale from the smallest to the largest nonzero finite magnitude drawn."""

    def __init__(self, magnitudes: Iterable[float | None]) -> None:
        finite = [m for m in magnitudes if m is not None and 0 < m < math.inf]
        self.high = math.log10(max(finite)) if finite else 0.0
        self.low = max(math.log10(min(finite)), self.high - DECADES) if finite else 0.0

    def position(self, m: float) -> float:
        """Where ``m`` sits on the scale, 0 (smallest) to 1 (largest)."""
        if self.high <= self.low:
            return 1.0
        return min(max((math.log10(m) - self.low) / (self.high - self.low), 0.0), 1.0)

    def colour(self, m: float | None) -> str | None:
        """The colour of magnitude ``m``: ZERO for 0, None when unknown or not finite."""
        if m is None or not math.isfinite(m):
            return None
        if m == 0:
            return ZERO
        t = self.position(m) * (len(_STOPS) - 1)
        i = min(int(t), len(_STOPS) - 2)
        a, b = _STOPS[i], _STOPS[i + 1]
        rgb = (round(x + (y - x) * (t - i)) for x, y in zip(a, b))
        return "#" + "".join(f"{c:02x}" for c in rgb)

    def penwidth(self, m: float | None) -> str:
        if m is None or not 0 < m < math.inf:
            return "1"
        return f"{1 + 2.5 * self.position(m):.2f}"

    def ticks(self) -> list[float]:
        """The magnitudes a colour bar labels: each power of ten across the scale."""
        low, high = math.floor(self.low), math.ceil(self.high)
        if high - low < 2:
            return [10.0**self.low, 10.0**self.high] if self.high > self.low else [10**self.high]
        step = max(1, math.ceil((high - low) / 6))
        return [10.0**e for e in range(low, high + 1, step)]


def text_colour(fill: str) -> str:
    """Black or white, whichever reads on ``fill``."""
    r, g, b = (int(fill[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"
