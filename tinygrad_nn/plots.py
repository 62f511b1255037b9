"""Pictures of training: loss curves and decision boundaries (needs the ``plot`` extra).

Built with matplotlib's object API (``Figure``), not ``pyplot``: nothing here picks or
changes the user's backend, and saving works on a machine with no display.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

__all__ = ["decision_boundary", "loss_curve"]

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
