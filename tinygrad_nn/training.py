"""A full-batch training loop for classifiers on either engine, as the demo and CLI use it.

A model with one output is a binary SVM (hinge loss on labels +-1, the micrograd demo);
a model with one output per class is a softmax classifier (cross-entropy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import no_grad
from .nn import functional as F
from .nn.module import Module
from .optim import Optimizer
from .scalar import Value

__all__ = ["History", "accuracy", "fit", "loss", "predict"]


@dataclass
class History:
    """Loss per step, final training accuracy and wall time of a ``fit``."""

    losses: list[float] = field(default_factory=list)
    accuracy: float = 0.0
    seconds: float = 0.0


def _engine(model: Module) -> str:
    return getattr(model, "engine", "tensor")


def loss(model: Module, X: np.ndarray, y: np.ndarray, l2: float = 0.0) -> Any:
    """The training loss of ``model`` on the whole of ``X``: a Value or a one-element Tensor."""
    if _engine(model) == "scalar":
        scores = [model(row) for row in X.tolist()]
        if isinstance(scores[0], Value):
            data = F.hinge(scores, (2.0 * y - 1.0).tolist())
        else:
            data = F.cross_entropy(scores, y.tolist())
    else:
        scores = model(X)
        if scores.shape[1] == 1:
            data = F.hinge(scores[:, 0], 2.0 * y - 1.0)
        else:
            data = F.cross_entropy(scores, y)
    return data + l2 * F.l2(model.parameters()) if l2 else data


def predict(model: Module, X: np.ndarray) -> np.ndarray:
    """Predicted labels: the sign of a single score, else the highest-scoring class."""
    with no_grad():
        if _engine(model) == "scalar":
            outs = [model(row) for row in X.tolist()]
            if isinstance(outs[0], Value):
                return np.array([int(v.data > 0) for v in outs])
            scores = np.array([[v.data for v in out] for out in outs])
        else:
            scores = model(X).data
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.int64)
    return scores.argmax(axis=1)


def accuracy(model: Module, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``X`` that ``model`` labels correctly."""
    return float(np.mean(predict(model, X) == y))


def fit(model: Module, X: np.ndarray, y: np.ndarray, optimizer: Optimizer, epochs: int,
        l2: float = 1e-4, progress: bool = False, desc: str = "training") -> History:
    """Full-batch training for ``epochs`` steps; a tqdm bar shows progress if asked."""
    steps: Any = range(epochs)
    if progress:
        from tqdm.auto import tqdm  # the `plot` extra

        steps = tqdm(steps, desc=desc, unit="step", leave=True)
    history = History()
    start = time.perf_counter()
    for _ in steps:
        optimizer.zero_grad()
        total = loss(model, X, y, l2)
        total.backward()
        optimizer.step()
        history.losses.append(float(total.data))
        if progress:
            steps.set_postfix(loss=f"{history.losses[-1]:.4f}", refresh=False)
    history.seconds = time.perf_counter() - start
    history.accuracy = accuracy(model, X, y)
    return history

