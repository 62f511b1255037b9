"""Writing files so that a crash or a reader never sees half of one."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


def write_atomically(path: str | os.PathLike[str], payload: bytes) -> Path:
    """Write ``payload`` to a new file beside ``path``, flush it to disk, rename it over.

    The rename is atomic, so ``path`` holds either its old bytes or all of the new ones.
    The temporary file is opened with ``open(..., "xb")`` on a unique name rather than
    ``mkstemp``, so the result gets the usual umask mode (0644), not mkstemp's private 0600.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as file:
            file.write(payload)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
