"""Training diagnostics: dead ReLUs, saturated sigmoids, gradient norms, per layer.

The classic advice: watch the fraction of ReLU units that never fire (a large learning rate
can kill them for good) and of sigmoid/tanh units stuck in their flat tails (their local
gradient is ~0, so nothing below them learns). Both are read off each layer's local
gradient, for registered activations through their own ``deriv`` rule, so they work for any
activation, including ones you register:

- a unit is **dead** on a batch when its local gradient is exactly 0 on every sample;
- an activation is **saturated** when its local gradient is below 1% of the activation's
  peak slope (for ReLU that is every inactive input).

Each layer's ``grad_rms`` (the root mean square of its parameters' gradients) is the number
``draw_graph(loss, grad_flow=True)`` colours that layer's parameters by: the table and the
picture show one measure.

``Dense`` and ``Neuron`` layers report on their activation, ``PReLU`` on its learned
slopes (it dies only where a slope has reached 0), and ``Maxout`` on its units (the
winning piece always passes the gradient: a maxout unit cannot die).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..graph import no_grad
from ..ops import activations
from ..scalar import Value
from ..scalar.math_ops import SCALAR_OPS
from ..tensor import Tensor
from ..tensor.array_ops import array_ops
from ..viz import grad_rms
from .layers import Activation, Dense, Maxout, Neuron, PReLU, Sequential
from .module import Module, _as_array, _flat_values

__all__ = ["LayerReport", "Report", "inspect"]

SATURATION = 0.01  # of the peak slope


@functools.cache
def peak_slope(name: str, params: tuple[tuple[str, float], ...] = ()) -> float:
    """The largest |derivative| of a registered activation over its domain (sampled)."""
    activation = activations.get(name)
    kwargs = {**activation.defaults, **dict(params)}
    low, high = activation.domain
    slopes = []
    for x in np.linspace(low, high, 4001).tolist():
        out = activation.forward(x, SCALAR_OPS, **kwargs)
        slopes.append(abs(activation.deriv(x, out, SCALAR_OPS, **kwargs)))
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
    dead_units: tuple[int, ...] = ()  # which units are dead
    grad_rms: float | None = None  # RMS of all its parameters' gradients, as draw_graph colours


@dataclass(frozen=True)
class Report:
    """Per-layer diagnostics; ``str()`` gives a table."""

    layers: tuple[LayerReport, ...]

    def __str__(self) -> str:
        def norm(x: float | None) -> str:
            return "-" if x is None else f"{x:.3g}"

        header = f"{'layer':<10}{'activation':<12}{'units':>6}{'dead':>8}{'saturated':>11}" \
                 f"{'|grad W|':>11}{'|grad b|':>11}{'grad rms':>11}"
        rows = [
            f"{r.name:<10}{r.activation:<12}{r.units:>6}{r.dead:>8.1%}{r.saturated:>11.1%}"
            f"{norm(r.weight_grad_norm):>11}{norm(r.bias_grad_norm):>11}{norm(r.grad_rms):>11}"
            for r in self.layers
        ]
        return "\n".join([header, *rows])


def inspect(model: Module, x: Any) -> Report:
    """Run ``model`` on batch ``x`` (no graph recorded) and report on each layer it can.

    ``model`` is a layer or a ``Sequential``/``MLP`` (nested ones too: layer ``1.0`` is the
    first layer of the second); scalar-engine models are run sample by sample. An
    ``Activation`` layer is reported with the gradient norms of the layer that feeds it
    (``Sequential(Linear(...), Activation("relu"))``, as in PyTorch). Gradient norms are
    those of the last backward.
    """
    reports: list[LayerReport] = []
    batch = x.data if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
    feeding: Module | None = None  # the layer before, whose output an Activation takes
    with no_grad():
        for name, layer in _layers(model):
            local = _local_slopes(layer, batch)
            if local is not None:
                owner = layer
                if isinstance(layer, Activation) and feeding is not None:
                    owner = feeding
                    if isinstance(feeding, Dense) and feeding.activation == "identity":
                        reports.pop()  # its row (linear: nothing to report) becomes this one
                reports.append(_report(name, owner, *local))
            batch = _forward(layer, batch)
            feeding = layer
    return Report(tuple(reports))


def _layers(model: Module, prefix: str = "") -> list[tuple[str, Module]]:
    """The layers a batch goes through, in order, named by their place (``"1.0"``)."""
    if not isinstance(model, Sequential):
        return [(prefix or "0", model)]
    return [named for index, layer in enumerate(model.layers)
            for named in _layers(layer, f"{prefix}.{index}" if prefix else str(index))]


def _local_slopes(layer: Module, batch: np.ndarray) -> tuple[str, np.ndarray, float] | None:
    """The layer's label, |local gradient| per (sample, unit), and its peak slope."""
    if isinstance(layer, (Dense, Neuron, Activation)):
        activation = activations.get(layer.activation)
        params = {**activation.defaults, **layer.activation_params}
        z = batch if isinstance(layer, Activation) else _pre_activation(layer, batch)
        ops = array_ops(z.dtype)
        out = np.asarray(activation.forward(z, ops, **params), dtype=z.dtype)
        slope = np.abs(np.broadcast_to(activation.deriv(z, out, ops, **params), z.shape))
        return layer.activation, slope, peak_slope(layer.activation,
                                                   tuple(sorted(layer.activation_params.items())))
    if isinstance(layer, PReLU):
        slopes = np.abs(_as_array(layer.slope))
        slope = np.where(batch > 0, 1.0, np.broadcast_to(slopes, batch.shape[-1:]))
        return "prelu", slope, max(1.0, float(slopes.max()))
    if isinstance(layer, Maxout):
        return "maxout", np.ones((len(batch), layer.nout)), 1.0
    return None


def _report(name: str, layer: Module, label: str, slope: np.ndarray, peak: float
            ) -> LayerReport:
    slope = slope.reshape(len(slope), -1)
    dead_units = tuple(int(i) for i in np.flatnonzero(np.all(slope == 0, axis=0)))
    weight = getattr(layer, "weight", getattr(layer, "slope", None))
    bias = getattr(layer, "bias", None)
    return LayerReport(
        name=name,
        activation=label,
        units=slope.shape[1],
        dead=len(dead_units) / slope.shape[1],
        saturated=float(np.mean(slope < SATURATION * peak)),
        weight_grad_norm=None if weight is None else _grad_norm(weight),
        bias_grad_norm=None if bias is None else _grad_norm(bias),
        dead_units=dead_units,
        grad_rms=_layer_grad_rms(layer),
    )


def _grad_norm(p: Any) -> float | None:
    if isinstance(p, Tensor):
        return None if p.grad is None else float(np.linalg.norm(p.grad))
    return math.sqrt(sum(v.grad * v.grad for v in _flat_values(p)))


def _layer_grad_rms(layer: Module) -> float | None:
    """The RMS over every gradient of the layer's parameters (None before any backward)."""
    grads = [np.asarray(p.grad, dtype=np.float64).ravel()
             for p in layer.parameters() if p.grad is not None]
    return grad_rms(np.concatenate(grads)) if grads else None


def _pre_activation(layer: Dense | Neuron, batch: np.ndarray) -> np.ndarray:
    if isinstance(layer, Neuron):
        weight, bias = _as_array(layer.weight), _as_array(layer.bias)
        return (batch @ weight + bias)[:, None]
    if layer.engine == "tensor":
        return layer.pre_activation(Tensor(batch.astype(layer.weight.dtype))).data
    return np.array([[v.data for v in layer.pre_activation(row)] for row in batch.tolist()])


def _forward(layer: Module, batch: np.ndarray) -> np.ndarray:
    if getattr(layer, "engine", "tensor") == "tensor":
        dtype = getattr(getattr(layer, "weight", None), "dtype", batch.dtype)
        return layer(Tensor(batch.astype(dtype))).data
    rows = [layer(row) for row in batch.tolist()]
    return np.array([[v.data if isinstance(v, Value) else v for v in _as_list(row)]
                     for row in rows])


def _as_list(out: Any) -> list[Any]:
    return out if isinstance(out, list) else [out]
