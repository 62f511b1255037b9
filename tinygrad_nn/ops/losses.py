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

from .reduce import _shifted
from .registry import register

REDUCTIONS = ("mean", "sum", "none")


@lru_cache(maxsize=64)
def _positions(n: int) -> np.ndarray:
    positions = np.arange(n)
    positions.flags.writeable = False
    return positions


@lru_cache(maxsize=64)
def _one_hots(classes: int, dtype: np.dtype) -> np.ndarray:
    """Row k is the one-hot vector of class k."""
    rows = np.eye(classes, dtype=dtype)
    rows.flags.writeable = False
    return rows


def _reduced(losses: Any, reduction: str, ops: Any) -> Any:
    if reduction == "mean":
        return ops.sum(losses) / losses.shape[0]
    if reduction == "sum":
        return ops.sum(losses)
    if reduction == "none":
        return losses
    raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _out_of_range(labels: Any, classes: int) -> ValueError:
    return ValueError(f"labels must lie in [0, {classes}), got {labels.min()}...{labels.max()}")


def _cross_entropy(logits: Any, labels: Any, ops: Any, reduction: str = "mean") -> Any:
    if logits.ndim != 2 or labels.shape != logits.shape[:1]:
        raise ValueError(f"logits must be (batch, classes) and labels (batch,), got shapes "
                         f"{logits.shape} and {labels.shape}")
    # The labels are checked here, in the op, so that a recorded step's replay checks
    # every batch too: a negative label here, one past the last class by the indexing.
    n, classes = logits.shape
    if n and ops.min(labels) < 0:
        raise _out_of_range(labels, classes)
    # -log softmax(x)[label] = log sum exp(s) - s[label], with s = x - max(x) (stable).
    shifted = _shifted(logits, -1, ops)
    try:
        picked = ops.getitem(shifted, (_positions(n), labels))
    except IndexError:
        raise _out_of_range(labels, classes) from None
    e = ops.exp(shifted)
    total = ops.sum(e, -1, True)
    losses = ops.log(ops.reshape(total, (n,))) - picked
    return _reduced(losses, reduction, ops), e / total  # the softmax, for the gradient


def _cross_entropy_grad(g: Any, logits: Any, labels: Any, out: Any, ops: Any,
                        reduction: str = "mean", saved: Any = None) -> Any:
    # d loss_i / d logits_i = softmax(logits_i) - one_hot(label_i), times the upstream
    # gradient of loss_i: g / n for a mean, g for a sum, g_i for no reduction. The softmax
    # is the forward's, or computed again on Tensors (under create_graph).
    n, classes = logits.shape
    probabilities = ops.softmax(logits, axis=-1) if saved is None else saved
    one_hot = ops.getitem(_one_hots(classes, logits.dtype), labels)
    if reduction == "mean":
        g = g / n
    elif reduction == "none":
        g = ops.reshape(g, (n, 1))
    return (probabilities - one_hot) * g


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
    saves=True,
    cases=_cross_entropy_case,
    doc="-log softmax(logits)[label] per sample (batch, classes), reduced by mean, sum or "
        "none; one op, its gradient softmax - one_hot",
)
