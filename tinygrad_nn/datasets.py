"""Small classification problems made with NumPy: no downloads, seedable."""

from __future__ import annotations

import numpy as np

__all__ = ["moons", "spiral"]

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
