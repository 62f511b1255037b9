"""Small classification problems made with NumPy: no downloads, seedable."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["DATASETS", "circles", "make", "moons", "spiral", "xor"]

Seed = int | np.random.Generator | None


def moons(n: int = 100, noise: float = 0.1, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: ``X`` of shape (n, 2), labels ``y`` in {0, 1}."""
    rng = np.random.default_rng(seed)
    n_upper = n // 2
    t_upper = np.linspace(0.0, np.pi, n_upper)
    t_lower = np.linspace(0.0, np.pi, n - n_upper)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)], axis=1)
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)], axis=1)
    X = np.concatenate([upper, lower]) + rng.normal(scale=noise, size=(n, 2))
    y = np.concatenate([np.zeros(n_upper, dtype=np.int64), np.ones(n - n_upper, dtype=np.int64)])
    return X, y


def spiral(
    n_per_class: int = 100, classes: int = 3, noise: float = 0.2, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved spiral arms, one per class: not linearly separable."""
    rng = np.random.default_rng(seed)
    radius = np.tile(np.linspace(0.0, 1.0, n_per_class), classes)
    labels = np.repeat(np.arange(classes), n_per_class)
    theta = (
        np.linspace(0.0, 4.0, n_per_class)[None, :] + 4.0 * np.arange(classes)[:, None]
    ).ravel() + rng.normal(scale=noise, size=n_per_class * classes)
    X = np.stack([radius * np.sin(theta), radius * np.cos(theta)], axis=1)
    return X, labels


def circles(n: int = 200, noise: float = 0.08, factor: float = 0.5, seed: Seed = 0
            ) -> tuple[np.ndarray, np.ndarray]:
    """A ring (label 0) around a smaller circle (label 1) of ``factor`` times its radius."""
    rng = np.random.default_rng(seed)
    n_outer = n // 2
    angles = rng.uniform(0.0, 2.0 * np.pi, size=n)
    radius = np.where(np.arange(n) < n_outer, 1.0, factor)
    X = np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)
    X += rng.normal(scale=noise, size=(n, 2))
    y = (np.arange(n) >= n_outer).astype(np.int64)
    return X, y


def xor(n: int = 200, noise: float = 0.25, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four blobs at the corners of a square: label 1 where the coordinates' signs differ."""
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 4, size=n)
    centres = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])[corners]
    X = centres + rng.normal(scale=noise, size=(n, 2))
    y = (corners >= 2).astype(np.int64)
    return X, y


DATASETS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "spiral": lambda n, seed: spiral(n // 3, classes=3, seed=seed),
    "moons": lambda n, seed: moons(n, seed=seed),
    "circles": lambda n, seed: circles(n, seed=seed),
    "xor": lambda n, seed: xor(n, seed=seed),
}


def make(name: str, n: int, seed: Seed = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dataset ``name`` (one of ``DATASETS``) with about ``n`` points."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    return DATASETS[name](n, seed)
