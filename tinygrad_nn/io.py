"""Checkpoints in the safetensors format: plain arrays and a JSON header, never pickle.

Loading a file only parses a header and copies bytes, so it cannot run code. Writes go to
a temporary file in the same folder, are flushed to disk, then renamed over the target:
a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
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

    Only a regular file is read (a device such as ``/dev/zero``, a pipe or a directory is
    refused at once, without reading), and no more than its size. Raises
    ``FileNotFoundError`` for a missing file and ``CheckpointError`` (naming the file) for
    one that is not a regular file, or is truncated, corrupt or in another format.
    """
    name = os.fspath(path)
    # O_NONBLOCK: opening a pipe for reading must not wait for a writer.
    descriptor = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CheckpointError(f"{name}: not a regular file; a checkpoint is a file "
                                  "written by tinygrad_nn.save")
        data = _read_exactly(file, info.st_size, name)
    if len(data) >= _HEADER_LENGTH:
        header_length = int.from_bytes(data[:_HEADER_LENGTH], "little")
        if header_length > len(data) - _HEADER_LENGTH:
            raise CheckpointError(f"{name}: not a readable safetensors checkpoint (its header "
                                  f"claims {header_length} bytes; the file has {len(data)})")
    try:
        return safetensors.numpy.load(data)
    except (SafetensorError, ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"{name}: not a readable safetensors checkpoint "
                              f"({error})") from None


_HEADER_LENGTH = 8  # safetensors: a little-endian u64, the length of the JSON header


def _read_exactly(file: Any, size: int, name: str) -> bytes:
    """The file's ``size`` bytes: never more (a file that grows is not read on and on)."""
    data = file.read(size)
    if len(data) != size:
        raise CheckpointError(f"{name}: the file changed while it was read")
    return bytes(data)
