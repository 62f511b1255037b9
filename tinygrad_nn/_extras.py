"""Optional dependencies: a missing one names the extra that installs it.

Imports that need an extra go in a ``requires`` block::

    with requires("plot"):
        from matplotlib.figure import Figure

Without matplotlib that raises ``MissingExtraError: No module named 'matplotlib', which
the 'plot' extra installs: pip install "tinygrad-nn[plot]"``. The extras themselves are
declared in pyproject.toml.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["MissingExtraError", "install_line", "requires"]


class MissingExtraError(ModuleNotFoundError):
    """A module from an extra is not installed; the message says how to install it.

    A ``ModuleNotFoundError``, so ``except ImportError`` and ``pytest.importorskip`` treat
    it as the missing import it is. ``name`` is the missing module, ``extra`` the extra.
    """

    def __init__(self, name: str | None, extra: str) -> None:
        super().__init__(f"No module named {name!r}, which the {extra!r} extra installs: "
                         f"{install_line(extra)}", name=name)
        self.extra = extra


def install_line(extra: str) -> str:
    """The command that installs ``extra``: ``pip install "tinygrad-nn[EXTRA]"``."""
    return f'pip install "tinygrad-nn[{extra}]"'


@contextmanager
def requires(extra: str) -> Iterator[None]:
    """Turn a ``ModuleNotFoundError`` inside the block into a ``MissingExtraError``."""
    try:
        yield
    except MissingExtraError:
        raise  # an inner block already named the extra
    except ModuleNotFoundError as missing:
        raise MissingExtraError(missing.name, extra) from None
