"""Pictures of training: learning curves and decision boundaries (needs the ``plot`` extra).

Built with matplotlib's object API (``Figure``), not ``pyplot``: nothing here picks or
changes the user's backend, and saving works on a machine with no display.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._extras import requires

with requires("plot"):
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

__all__ = ["decision_boundary", "loss_curve", "training_curves"]

PathLike = str | os.PathLike[str]
PALETTE = ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3"]


def loss_curve(losses: Sequence[float], path: PathLike, title: str = "training loss") -> Path:
    """Plot loss against step (log scale when it spans more than a decade) to a PNG."""
    figure = Figure(figsize=(5, 3.2), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    axes.plot(np.arange(1, len(losses) + 1), losses, color=PALETTE[0], linewidth=1.5)
    positive = [v for v in losses if v > 0]
    if positive and max(positive) > 10 * min(positive):
        axes.set_yscale("log")
    axes.set(xlabel="step", ylabel="loss", title=title)
    axes.grid(alpha=0.3)
    figure.savefig(path)
    return Path(path)


def training_curves(history: Any, path: PathLike | None = None, title: str = "training"
                    ) -> Any:
    """Loss and accuracy against epoch, for training and (if measured) validation.

    ``history`` is what ``training.fit`` returns. Returns the ``Figure`` (it shows inline
    in Jupyter), or, given ``path``, writes a PNG there and returns its ``Path``.
    """
    figure = Figure(figsize=(9, 3.4), dpi=110, layout="constrained")
    loss_axes, accuracy_axes = figure.subplots(1, 2)
    epochs = np.arange(1, len(history.train_loss) + 1)
    panels = ((loss_axes, "loss", history.train_loss, history.val_loss),
              (accuracy_axes, "accuracy", history.train_accuracy, history.val_accuracy))
    for axes, name, train, val in panels:
        axes.plot(epochs, train, color=PALETTE[0], linewidth=1.5, label="training")
        if len(val):
            axes.plot(epochs[:len(val)], val, color=PALETTE[1], linewidth=1.5,
                      label="validation")
        if history.best_epoch is not None:
            axes.axvline(history.best_epoch + 1, color="#888888", linestyle=":", linewidth=1,
                         label="best epoch")
        axes.set(xlabel="epoch", ylabel=name, title=f"{title}: {name}")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
        axes.legend(frameon=False)
    positive = [v for v in history.train_loss if v > 0]
    if positive and max(positive) > 10 * min(positive):
        loss_axes.set_yscale("log")
    if path is None:
        return figure
    figure.savefig(path)
    return Path(path)


def decision_boundary(predict: Callable[[np.ndarray], np.ndarray], X: np.ndarray,
                      y: np.ndarray, path: PathLike, title: str = "decision boundary",
                      resolution: int = 200) -> Path:
    """Colour the plane by ``predict`` (labels for an (n, 2) array) and overlay the data."""
    pad = 0.25 * (X.max(axis=0) - X.min(axis=0))
    low, high = X.min(axis=0) - pad, X.max(axis=0) + pad
    xs = np.linspace(low[0], high[0], resolution)
    ys = np.linspace(low[1], high[1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)
    labels = predict(np.column_stack([grid_x.ravel(), grid_y.ravel()])).reshape(grid_x.shape)

    classes = int(max(y.max(), labels.max())) + 1
    colours = [PALETTE[k % len(PALETTE)] for k in range(classes)]
    figure = Figure(figsize=(4.5, 4.5), dpi=120, layout="constrained")
    axes = figure.add_subplot()
    axes.contourf(grid_x, grid_y, labels, levels=np.arange(classes + 1) - 0.5,
                  cmap=ListedColormap(colours), alpha=0.25)
    axes.scatter(X[:, 0], X[:, 1], c=[colours[k] for k in y], s=14, edgecolors="white",
                 linewidths=0.4)
    axes.set(title=title, xlim=(low[0], high[0]), ylim=(low[1], high[1]), aspect="equal")
    axes.set_xticks([])
    axes.set_yticks([])
    figure.savefig(path)
    return Path(path)
