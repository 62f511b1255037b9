"""Training loops for classifiers: ``fit`` over minibatches, and ``evaluate``/``predict``.

``fit`` runs the loop a PyTorch user writes by hand: for every epoch, for every batch of
a ``DataLoader``: zero the gradients, forward, loss, backward, step; then a pass over a
validation loader (in evaluation mode, recording no graph), a scheduler step, and early
stopping on a validation metric. It returns a ``History`` of loss and accuracy per epoch,
which plots itself (``history.plot()``, the ``plot`` extra)::

    train = data.DataLoader(data.TensorDataset(X_train, y_train), batch_size=32,
                            shuffle=True, seed=0)
    val = data.DataLoader(data.TensorDataset(X_test, y_test), batch_size=256)
    history = training.fit(model, F.cross_entropy, optimizer, train, epochs=20,
                           val_loader=val, patience=5)

Both engines: a scalar-engine model is called once per sample (a list of numbers) and
``loss_fn`` receives the list of outputs and the list of labels.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._extras import requires
from .graph import no_grad
from .nn import functional as F
from .nn.module import Module
from .optim import Optimizer
from .scalar import Value
from .tensor import Tensor

__all__ = ["History", "accuracy", "classifier_loss", "evaluate", "fit", "predict"]

LossFn = Callable[[Any, Any], Any]
MONITORS = ("val_loss", "val_accuracy")


@dataclass
class History:
    """What ``fit`` measured, one entry per epoch.

    Losses are ``loss_fn``'s (penalties included), means over the epoch's samples.
    Training figures are taken on the fly (training mode, weights changing during the
    epoch); validation figures after the epoch, in evaluation mode. Accuracies are NaN
    when the targets are not integer class labels; validation lists are empty without a
    validation loader.
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)  # the first group's rate during the epoch
    seconds: float = 0.0  # wall time of the whole fit
    best_epoch: int | None = None  # 0-based epoch of the best monitored value
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """How many epochs ran."""
        return len(self.train_loss)

    def plot(self, path: str | Path | None = None, title: str = "training") -> Any:
        """Loss and accuracy against epoch, training and validation: a matplotlib Figure,
        or the PNG written to ``path`` (needs the ``plot`` extra)."""
        from . import plots

        return plots.training_curves(self, path, title=title)


# ----- Running a model on a batch ---------------------------------------------------------


def _engine(model: Module) -> str:
    return getattr(model, "engine", "tensor")


def _forward(model: Module, x: Any) -> Any:
    """The model on a batch: one call on the tensor engine, one per sample on the scalar."""
    if _engine(model) == "scalar":
        rows = x.data.tolist() if isinstance(x, Tensor) else np.asarray(x).tolist()
        return [model(row) for row in rows]
    return model(x)


def _targets(model: Module, y: Any) -> Any:
    """Labels as the loss function gets them: a Tensor, or a list on the scalar engine."""
    if _engine(model) == "scalar":
        return (y.data if isinstance(y, Tensor) else np.asarray(y)).tolist()
    return y


def _scores(out: Any) -> np.ndarray:
    """Model outputs as a (batch, outputs) array of numbers."""
    if isinstance(out, Tensor):
        scores = out.data
        return scores.reshape(len(scores), -1) if scores.ndim != 2 else scores
    rows = [[v.data for v in row] if isinstance(row, list) else [row.data] for row in out]
    return np.array(rows, dtype=np.float64)


def _labels(scores: np.ndarray) -> np.ndarray:
    """Predicted labels: the sign of a single score (1 if positive), else the best class."""
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.int64)
    return scores.argmax(axis=1)


def _correct(out: Any, y: Any) -> float:
    """How many outputs pick their label; NaN when the targets are not class labels."""
    labels = y.data if isinstance(y, Tensor) else np.asarray(y)
    if labels.dtype.kind not in "iub":
        return math.nan
    return float(np.count_nonzero(_labels(_scores(out)) == labels.reshape(-1)))


def _number(loss: Any) -> float:
    return float(loss.data)


# ----- Loops ------------------------------------------------------------------------------


@contextmanager
def _evaluating(model: Module) -> Iterator[None]:
    """Evaluation mode and no graph inside the block; every module's mode restored after."""
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with no_grad():
            yield
    finally:
        for module, mode in modes:
            module.training = mode


def evaluate(model: Module, loss_fn: LossFn, loader: Iterable[Any]) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader``, in evaluation mode, recording
    no graph; every module's mode is restored afterwards."""
    total, correct, seen = 0.0, 0.0, 0
    with _evaluating(model):
        for x, y, *_ in loader:
            out = _forward(model, x)
            n = len(y)
            total += _number(loss_fn(out, _targets(model, y))) * n
            correct += _correct(out, y)
            seen += n
    if not seen:
        raise ValueError("evaluate: the loader gave no samples")
    return total / seen, correct / seen


def _train_epoch(model: Module, loss_fn: LossFn, optimizer: Optimizer,
                 loader: Iterable[Any]) -> tuple[float, float]:
    """One pass of minibatch steps; the mean loss and accuracy seen along the way."""
    total, correct, seen = 0.0, 0.0, 0
    for x, y, *_ in loader:
        optimizer.zero_grad()
        out = _forward(model, x)
        loss = loss_fn(out, _targets(model, y))
        loss.backward()
        optimizer.step()
        n = len(y)
        total += _number(loss) * n
        correct += _correct(out, y)
        seen += n
    if not seen:
        raise ValueError("fit: the training loader gave no samples")
    return total / seen, correct / seen


def fit(model: Module, loss_fn: LossFn, optimizer: Optimizer, train_loader: Iterable[Any],
        epochs: int = 10, *, val_loader: Iterable[Any] | None = None, scheduler: Any = None,
        progress: bool = True, patience: int | None = None, monitor: str = "val_loss",
        restore_best: bool = True, desc: str = "training") -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Parameters
    ----------
    model : Module
        Put in training mode for the epochs (``evaluate`` switches to evaluation mode for
        validation and back).
    loss_fn : callable
        ``loss_fn(outputs, targets)`` -> a one-element Tensor (or a Value on the scalar
        engine): ``nn.functional.cross_entropy``, or a function adding a penalty to it.
    optimizer : Optimizer
        Stepped once per batch.
    train_loader : iterable of (inputs, targets) batches
        Usually a ``data.DataLoader``; a new pass is made every epoch (so shuffling
        reshuffles).
    epochs : int
        The most epochs to run.
    val_loader : iterable of (inputs, targets) batches, optional
        Evaluated after every epoch.
    scheduler : optional
        An ``optim.lr_scheduler`` scheduler, stepped after every epoch.
    progress : bool
        Show a tqdm bar with the latest figures (the ``plot`` extra).
    patience : int, optional
        Stop when ``monitor`` has not improved for this many epochs (needs
        ``val_loader``).
    monitor : {"val_loss", "val_accuracy"}
        The validation figure early stopping watches (lower loss or higher accuracy is
        better), and by which ``History.best_epoch`` is chosen.
    restore_best : bool
        With ``patience``, finish with the weights of the best epoch.
    desc : str
        The progress bar's label.

    Returns
    -------
    History
        Per-epoch training and validation loss and accuracy, learning rates, wall time.
    """
    if monitor not in MONITORS:
        raise ValueError(f"fit: monitor must be one of {MONITORS}, got {monitor!r}")
    if patience is not None and (val_loader is None or patience < 1):
        raise ValueError("fit: early stopping (patience=N, N >= 1) needs a val_loader")
    epoch_range: Any = range(epochs)
    if progress:
        with requires("plot"):
            from tqdm.auto import tqdm

        epoch_range = tqdm(epoch_range, desc=desc, unit="epoch", leave=True)
    history = History()
    best_value, best_state = math.inf, None
    sign = 1.0 if monitor == "val_loss" else -1.0  # compare as "lower is better"
    start = time.perf_counter()
    model.train()
    for epoch in epoch_range:
        history.lr.append(optimizer.param_groups[0]["lr"])
        train_loss, train_accuracy = _train_epoch(model, loss_fn, optimizer, train_loader)
        history.train_loss.append(train_loss)
        history.train_accuracy.append(train_accuracy)
        figures = {"loss": history.train_loss[-1], "acc": history.train_accuracy[-1]}
        if val_loader is not None:
            val_loss, val_accuracy = evaluate(model, loss_fn, val_loader)
            history.val_loss.append(val_loss)
            history.val_accuracy.append(val_accuracy)
            figures.update(val_loss=val_loss, val_acc=val_accuracy)
            value = sign * (val_loss if monitor == "val_loss" else val_accuracy)
            if value < best_value:
                best_value, history.best_epoch = value, epoch
                if patience is not None and restore_best:
                    best_state = model.state_dict()
        if scheduler is not None:
            scheduler.step()
        if progress:
            epoch_range.set_postfix({k: f"{v:.4f}" for k, v in figures.items()}, refresh=False)
        if patience is not None and history.best_epoch is not None \
                and epoch - history.best_epoch >= patience:
            history.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    history.seconds = time.perf_counter() - start
    return history


# ----- Classifiers ------------------------------------------------------------------------


def classifier_loss(model: Module, l2: float = 0.0) -> LossFn:
    """The loss the command line trains classifiers with, on either engine.

    A model with one output per sample is a binary SVM (hinge loss on labels 0/1 mapped
    to -1/+1, the micrograd demo); one with an output per class is a softmax classifier
    (cross-entropy). ``l2 > 0`` adds ``l2 * sum(p^2)`` over the model's parameters.
    """
    parameters = model.parameters()

    def loss_fn(out: Any, y: Any) -> Any:
        if isinstance(out, Tensor):
            labels = y.data if isinstance(y, Tensor) else np.asarray(y)
            data = F.hinge(out[:, 0], 2.0 * labels - 1.0) if out.shape[1] == 1 \
                else F.cross_entropy(out, labels)
        elif isinstance(out[0], Value):
            data = F.hinge(out, [2.0 * label - 1.0 for label in y])
        else:
            data = F.cross_entropy(out, y)
        return data + l2 * F.l2(parameters) if l2 else data

    return loss_fn


def predict(model: Module, X: Any) -> np.ndarray:
    """Predicted labels for the rows of ``X``, in evaluation mode and recording no graph:
    the sign of a single score (1 if positive), else the highest-scoring class."""
    with _evaluating(model):
        scores = _scores(_forward(model, X))
    return _labels(scores)


def accuracy(model: Module, X: Any, y: Any) -> float:
    """The fraction of the rows of ``X`` that ``model`` labels correctly."""
    return float(np.mean(predict(model, X) == np.asarray(y)))
