"""Losses as single ops (Tensor only), where the composite would cost several nodes.

``cross_entropy`` is log-softmax, picking each sample's class and averaging: four ops
on the graph, each with its own backward. As one op its gradient is the familiar
``softmax(logits) - one_hot(labels)``, one rule. ``nn.functional.cross_entropy`` checks
the labels and calls it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from .registry import register

REDUCTIONS = ("mean", "sum", "none")


@lru_cache(maxsize=64)
def _positions(n: int) -> np.ndarray:
    positions = np.arange(n)
    positions.flags.writeable = False
    return positions


def _reduced(losses: Any, reduction: str, ops: Any) -> Any:
    if reduction == "mean":
        return ops.sum(losses) / losses.shape[0]
    if reduction == "sum":
        return ops.sum(losses)
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _cross_entropy(logits: Any, labels: Any, ops: Any, reduction: str = "mean") -> Any:
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"logits must be (batch, classes) and labels (batch,), got shapes "
                         f"{logits.shape} and {labels.shape}")
    picked = ops.getitem(logits, (_positions(labels.shape[0]), labels))
    return _reduced(ops.logsumexp(logits, axis=-1) - picked, reduction, ops)


def _cross_entropy_grad(g: Any, logits: Any, labels: Any, out: Any, ops: Any,
                        reduction: str = "mean") -> Any:
    # d loss_i / d logits_i = softmax(logits_i) - one_hot(label_i), times the upstream
    # gradient of loss_i: g / n for a mean, g for a sum, g_i for no reduction.
    classes = _positions(logits.shape[-1])
    one_hot = ops.where(ops.reshape(labels, (labels.shape[0], 1)) == classes, 1.0, 0.0)
    if reduction == "mean":
        g = g / logits.shape[0]
    elif reduction == "none":
        g = ops.reshape(g, (logits.shape[0], 1))
    return (ops.softmax(logits, axis=-1) - one_hot) * g


def _cross_entropy_case(draw: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    n, classes = draw.integers(1, 4), draw.integers(1, 4)
    labels = np.array([draw.integers(0, classes - 1) for _ in range(n)], dtype=np.int64)
    return (draw.array((n, classes), low=-5.0, high=5.0), labels), \
        {"reduction": draw.choice(REDUCTIONS)}


register(
    "cross_entropy",
    forward=_cross_entropy,
    grads=(_cross_entropy_grad, None),  # the labels take no gradient
    elementwise=False,
    method=False,
    cases=_cross_entropy_case,
    doc="-log softmax(logits)[label] per sample (batch, classes), reduced by mean, sum or "
        "none; one op, its gradient softmax - one_hot",
)
