"""Datasets: small 2-D classification problems made with NumPy, scikit-learn's digits, and
a train/test split. Nothing is downloaded.

Every generator takes ``n``, the total number of points, and a ``seed``, and returns
``X`` of shape (n, 2) (float64) and integer labels ``y`` of shape (n,) (int64).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ._extras import requires

__all__ = ["DATASETS", "circles", "digits", "make", "moons", "spiral", "split", "xor"]

Seed = int | np.random.Generator | None
Data = tuple[np.ndarray, np.ndarray]


def _check_size(n: int, classes: int, name: str) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < classes:
        raise ValueError(f"{name}: n is the total number of points and must be a whole number "
                         f">= {classes} (one per class), got {n!r}")


def _counts(n: int, classes: int) -> list[int]:
    """``n`` points shared between ``classes`` as evenly as possible (first ones get more)."""
    return [n // classes + (k < n % classes) for k in range(classes)]


def moons(n: int = 100, noise: float = 0.1, seed: Seed = 0) -> Data:
    """Two interleaving half circles: ``X`` of shape (n, 2), labels ``y`` in {0, 1}."""
    _check_size(n, 2, "moons")
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    n_lower = n - n_upper
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    y = np.repeat(np.arange(2, dtype=np.int64), [n_upper, n_lower])
    return X, y


def spiral(n: int = 300, classes: int = 3, noise: float = 0.2, seed: Seed = 0) -> Data:
    """Interleaved spiral arms, one per class, ``n`` points in all: not linearly separable."""
    _check_size(n, classes, "spiral")
    rng = np.random.default_rng(seed)
    counts = _counts(n, classes)
    jitter = rng.normal(scale=noise, size=n)
    radius = np.concatenate([np.linspace(0.0, 1.0, count) for count in counts])
    theta = np.concatenate([np.linspace(0.0, 4.0, count) + 4.0 * k
                            for k, count in enumerate(counts)]) + jitter
    X = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=1)
    return X, np.repeat(np.arange(classes, dtype=np.int64), counts)


def circles(n: int = 200, noise: float = 0.08, factor: float = 0.5, seed: Seed = 0) -> Data:
    """A ring (label 0) around a smaller circle (label 1) of ``factor`` times its radius."""
    _check_size(n, 2, "circles")
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    angles = rng.uniform(0.0, 2.0 * np.pi, size=n)
    radius = np.where(np.arange(n) < n_outer, 1.0, factor)
    X = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    X += rng.normal(scale=noise, size=(n, 2))
    y = (np.arange(n) >= n_outer).astype(np.int64)
    return X, y


def xor(n: int = 200, noise: float = 0.25, seed: Seed = 0) -> Data:
    """Four blobs at the corners of a square: label 1 where the coordinates' signs differ."""
    _check_size(n, 2, "xor")
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 4, size=n)
    centres = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])[corners]
    X = centres + rng.normal(scale=noise, size=(n, 2))
    y = (corners >= 2).astype(np.int64)
    return X, y


DATASETS: dict[str, Callable[..., Data]] = {
    "spiral": spiral,
    "moons": moons,
    "circles": circles,
    "xor": xor,
}


def make(name: str, n: int, seed: Seed = 0) -> Data:
    """Generated dataset ``name`` (one of ``DATASETS``) with ``n`` points."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    return DATASETS[name](n, seed=seed)


def digits() -> Data:
    """scikit-learn's bundled 8x8 images of handwritten digits (1797 of them).

    Needs the ``data`` extra (``pip install "tinygrad-nn[data]"``); the images ship inside
    scikit-learn, so nothing is downloaded.

    Returns
    -------
    X : ndarray of shape (1797, 64), float32
        Pixel intensities scaled to [0, 1], each image flattened row by row.
    y : ndarray of shape (1797,), int64
        The digit shown, 0 to 9.
    """
    with requires("data"):
        from sklearn.datasets import load_digits

    images = load_digits()
    X = (images.data / 16.0).astype(np.float32)  # intensities are 0..16
    return X, images.target.astype(np.int64)


def split(X: np.ndarray, y: np.ndarray, test: float = 0.2, seed: Seed = 0
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle, then hold out a fraction ``test`` of the samples for testing.

    Parameters
    ----------
    X : ndarray of shape (n, ...)
        Samples, one per row.
    y : ndarray of shape (n,)
        Their labels.
    test : float
        The fraction held out, in (0, 1): the test part has ceil(test * n) samples.
    seed : int, numpy Generator or None
        The shuffle's seed: the same seed gives the same split.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
        In scikit-learn's order; each part keeps its array's dtype.
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"split: X and y need one row per sample, got shapes {X.shape} and "
                         f"{y.shape}")
    if not 0.0 < test < 1.0:
        raise ValueError(f"split: test is the fraction held out, in (0, 1), got {test!r}")
    n_test = math.ceil(test * len(X))
    if n_test >= len(X):
        raise ValueError(f"split: {len(X)} samples leave none for training at test={test}")
    order = np.random.default_rng(seed).permutation(len(X))
    train, held_out = order[n_test:], order[:n_test]
    return X[train], X[held_out], y[train], y[held_out]
