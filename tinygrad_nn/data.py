"""Minibatches: ``TensorDataset`` and ``DataLoader``, with PyTorch's names and arguments.

::

    train = data.DataLoader(data.TensorDataset(X, y), batch_size=32, shuffle=True, seed=0)
    for xb, yb in train:          # Tensors: (32, features) and (32,)
        ...

A ``DataLoader`` takes any dataset with ``len()`` and integer indexing that returns a
tuple of arrays (or Tensors, or numbers) per sample; a ``TensorDataset`` is indexed a
whole batch at a time, which is what makes it fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import numpy as np

from .tensor import Tensor

__all__ = ["DataLoader", "Dataset", "TensorDataset"]

Seed = int | np.random.Generator | None


class Dataset(Protocol):
    """What a DataLoader needs: a length, and a tuple of arrays per index."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Sequence[Any]: ...


def _array(x: Any) -> np.ndarray:
    return x.data if isinstance(x, Tensor) else np.asarray(x)


class TensorDataset:
    """Arrays with a common first axis, indexed together: sample i is ``(X[i], y[i])``.

    Parameters
    ----------
    *arrays : array-like or Tensor
        Typically features ``X`` of shape (n, ...) and labels ``y`` of shape (n,). Arrays
        keep their dtypes (cast features to float32 yourself if the model is float32, to
        save a cast per batch); Tensors contribute their data.
    """

    def __init__(self, *arrays: Any) -> None:
        if not arrays:
            raise ValueError("TensorDataset needs at least one array")
        self.arrays = tuple(_array(a) for a in arrays)
        lengths = [len(a) if a.ndim else None for a in self.arrays]
        if None in lengths or len(set(lengths)) != 1:
            shapes = ", ".join(str(a.shape) for a in self.arrays)
            raise ValueError(f"TensorDataset: the arrays must have the same length along "
                             f"their first axis, got shapes {shapes}")

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index: Any) -> tuple[np.ndarray, ...]:
        """Sample ``index`` (or samples, for a slice or an index array) of every array."""
        return tuple(a[index] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.shape} {a.dtype}" for a in self.arrays)
        return f"TensorDataset({shapes})"


class DataLoader:
    """Batches of a dataset, as tuples of Tensors: ``for xb, yb in loader``.

    ``len(loader)`` is the number of batches per pass. A batch is a copy: changing it
    never changes the dataset.

    Parameters
    ----------
    dataset : TensorDataset or Dataset
        What to batch.
    batch_size : int
        Samples per batch (the last batch may be smaller, unless ``drop_last``).
    shuffle : bool
        Visit the samples in a new random order on every pass (epoch).
    drop_last : bool
        Leave out a last batch smaller than ``batch_size``.
    seed : int, numpy Generator or None
        Where shuffling draws from: the same seed gives the same sequence of epochs.
    """

    def __init__(self, dataset: TensorDataset | Dataset, batch_size: int = 32,
                 shuffle: bool = False, drop_last: bool = False, seed: Seed = None) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a whole number >= 1, got "
                             f"{batch_size!r}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self._rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[Tensor, ...]]:
        n = len(self.dataset)
        order = self._rng.permutation(n) if self.shuffle else np.arange(n)
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            yield self._batch(order[start:start + self.batch_size])

    def _batch(self, indices: np.ndarray) -> tuple[Tensor, ...]:
        if isinstance(self.dataset, TensorDataset):
            columns = [a[indices] for a in self.dataset.arrays]  # integer indexing copies
        else:
            samples = [self.dataset[int(i)] for i in indices]
            columns = [np.stack([_array(field) for field in fields]) for fields in zip(*samples)]
        return tuple(Tensor.from_numpy(column) for column in columns)

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last})")
