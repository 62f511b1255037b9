"""Checkpoints in the safetensors format: plain arrays and a JSON header, never pickle.

Loading a file only parses a header and copies bytes, so it cannot run code. Writes go to
a temporary file in the same folder, are flushed to disk, then renamed over the target:
a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from ._files import write_atomically

__all__ = ["CheckpointError", "load", "save"]

PathLike = str | os.PathLike[str]


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: truncated, corrupt or not safetensors."""


def _as_array(name: str, value: Any) -> np.ndarray:
    # A Tensor holds its array in .data (an ndarray's own .data is a raw buffer).
    data = value if isinstance(value, np.ndarray) else getattr(value, "data", value)
    if not isinstance(data, np.ndarray):
        if isinstance(data, (int, float)) and not isinstance(data, bool):
            data = np.asarray(data, dtype=np.float64)
        else:
            raise TypeError(
                f"save: {name!r} must be a NumPy array, a Tensor or a number, "
                f"got {type(value).__name__}"
            )
    if data.dtype == object:
        raise TypeError(f"save: {name!r} is an object array; only numeric arrays are saved")
    # Not np.ascontiguousarray: it turns a 0-d array into shape (1,).
    return data if data.flags.c_contiguous else data.copy(order="C")


def save(state_dict: Mapping[str, Any], path: PathLike,
         metadata: Mapping[str, str] | None = None) -> None:
    """Write ``state_dict`` (names to arrays, Tensors or numbers) to ``path`` atomically."""
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save expects a mapping of names to arrays, got {type(state_dict)}")
    arrays = {}
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}")
        arrays[name] = _as_array(name, value)
    payload = safetensors.numpy.save(arrays, metadata=dict(metadata) if metadata else None)

    write_atomically(path, payload)


def load(path: PathLike) -> dict[str, np.ndarray]:
    """Read a checkpoint written by ``save`` (or any safetensors file of NumPy dtypes).

    Raises ``FileNotFoundError`` for a missing file and ``CheckpointError`` (naming the
    file) for one that is truncated, corrupt or in another format.
    """
    data = Path(path).read_bytes()
    try:
        return safetensors.numpy.load(data)
    except (SafetensorError, ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"{os.fspath(path)}: not a readable safetensors checkpoint "
                              f"({error})") from None
