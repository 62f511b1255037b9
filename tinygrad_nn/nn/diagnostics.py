"""Training diagnostics: dead ReLUs, saturated sigmoids, gradient norms, per layer.

The classic advice: watch the fraction of ReLU units that never fire (a large learning rate
can kill them for good) and of sigmoid/tanh units stuck in their flat tails (their local
gradient is ~0, so nothing below them learns). Both are read off the activation's own
registered derivative, so they work for any activation, including ones you register:

- a unit is **dead** on a batch when its local gradient is exactly 0 on every sample;
- an activation is **saturated** when its local gradient is below 1% of the
  activation's peak slope (for ReLU that is every inactive input).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import activations
from .._array_ops import array_ops
from .._engine import no_grad
from ..tensor import Tensor
from ..value import SCALAR_OPS
from .layers import Dense, Sequential
from .module import Module

__all__ = ["LayerReport", "Report", "inspect"]

SATURATION = 0.01  # of the peak slope


@functools.cache
def peak_slope(name: str) -> float:
    """The largest |derivative| of a registered activation over its domain (sampled)."""
    activation = activations.get(name)
    low, high = activation.domain
    slopes = []
    for x in np.linspace(low, high, 4001).tolist():
        out = activation.forward(x, SCALAR_OPS, **activation.defaults)
        slopes.append(abs(activation.deriv(x, out, SCALAR_OPS, **activation.defaults)))
    return max(slopes)


@dataclass(frozen=True)
class LayerReport:
    """What one layer looked like on one batch."""

    name: str
    activation: str
    units: int
    dead: float  # fraction of units whose local gradient is 0 on every sample
    saturated: float  # fraction of (sample, unit) activations below 1% of the peak slope
    weight_grad_norm: float | None  # None before any backward
    bias_grad_norm: float | None


@dataclass(frozen=True)
class Report:
    """Per-layer diagnostics; ``str()`` gives a table."""

    layers: tuple[LayerReport, ...]

    def __str__(self) -> str:
        def norm(x: float | None) -> str:
            return "-" if x is None else f"{x:.3g}"

        header = f"{'layer':<10}{'activation':<12}{'units':>6}{'dead':>8}{'saturated':>11}" \
                 f"{'|grad W|':>11}{'|grad b|':>11}"
        rows = [
            f"{r.name:<10}{r.activation:<12}{r.units:>6}{r.dead:>8.1%}{r.saturated:>11.1%}"
            f"{norm(r.weight_grad_norm):>11}{norm(r.bias_grad_norm):>11}"
            for r in self.layers
        ]
        return "\n".join([header, *rows])


def _grad_norm(p: Any) -> float | None:
    if isinstance(p, Tensor):
        return None if p.grad is None else float(np.linalg.norm(p.grad))
    values = [v.grad for row in p for v in (row if isinstance(row, list) else [row])]
    return math.sqrt(sum(g * g for g in values))


def inspect(model: Module, x: Any) -> Report:
    """Run ``model`` on batch ``x`` (no graph recorded) and report on each Dense layer.

    ``model`` is a ``Dense`` or a ``Sequential``/``MLP`` (scalar-engine models are run
    sample by sample). Gradient norms are those of the last backward.
    """
    layers = list(model.layers) if isinstance(model, Sequential) else [model]
    reports = []
    batch = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    with no_grad():
        for index, layer in enumerate(layers):
            if isinstance(layer, Dense):
                z = _pre_activation(layer, batch)
                reports.append(_layer_report(f"{index}", layer, z))
            batch = _forward(layer, batch)
    return Report(tuple(reports))


def _pre_activation(layer: Dense, batch: np.ndarray) -> np.ndarray:
    if layer.engine == "tensor":
        return layer.pre_activation(Tensor(batch.astype(layer.weight.dtype))).data
    return np.array([[v.data for v in layer.pre_activation(row)] for row in batch.tolist()])


def _forward(layer: Module, batch: np.ndarray) -> np.ndarray:
    if getattr(layer, "engine", "tensor") == "tensor":
        dtype = getattr(getattr(layer, "weight", None), "dtype", batch.dtype)
        return layer(Tensor(batch.astype(dtype))).data
    rows = [layer(row) for row in batch.tolist()]
    return np.array([[v.data if hasattr(v, "data") else v for v in row] for row in rows])


def _layer_report(name: str, layer: Dense, z: np.ndarray) -> LayerReport:
    activation = activations.get(layer.activation)
    ops = array_ops(z.dtype)
    out = np.asarray(activation.forward(z, ops, **activation.defaults), dtype=z.dtype)
    slope = np.abs(np.broadcast_to(
        activation.deriv(z, out, ops, **activation.defaults), z.shape))
    dead = float(np.mean(np.all(slope == 0, axis=0)))
    saturated = float(np.mean(slope < SATURATION * peak_slope(layer.activation)))
    return LayerReport(
        name=name,
        activation=layer.activation,
        units=layer.nout,
        dead=dead,
        saturated=saturated,
        weight_grad_norm=_grad_norm(layer.weight),
        bias_grad_norm=_grad_norm(layer.bias),
    )
