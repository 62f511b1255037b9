"""The graph core both engines share: the node protocol, grad modes, the topological sort.

A node is any object with a ``_prev`` tuple of the nodes it was computed from. Nodes hold
references only towards their inputs (never back to their outputs, and no closures over
themselves), so a graph is a DAG of plain references that reference counting frees the
moment its root is dropped; the cyclic garbage collector never has to look at it.
"""

from __future__ import annotations

import linecache
import os
import threading
import traceback
from collections.abc import Callable
from contextlib import ContextDecorator
from typing import Any


class _GradMode(threading.local):
    # threading.local runs __init__ once per thread: every thread starts recording.
    def __init__(self) -> None:
        self.enabled = True
        self.saved: list[bool] = []  # modes to restore when the open blocks exit
        # The modules whose forward is running, outermost first: nodes made now record it,
        # so a drawing can group ops by the module that ran them.
        self.scope: tuple[Any, ...] = ()
        # Both of the above in one attribute, for the engines' hot paths (a thread-local
        # read costs as much as making half a node): the scope while ops record the
        # graph, None under no_grad.
        self.recording: tuple[Any, ...] | None = ()
        # The recording of a step in progress in this thread (see tensor/recorded.py).
        self.tape: Any = None

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self.recording = self.scope if enabled else None

    def set_scope(self, scope: tuple[Any, ...]) -> None:
        self.scope = scope
        self.recording = scope if self.enabled else None


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """Whether ops in this thread record the graph needed for backward."""
    return _mode.enabled


class _SetGradMode(ContextDecorator):
    _enabled: bool

    # The saved modes live in the thread-local state, not on the instance: one decorated
    # function may run in several threads at once, and may recurse.
    def __enter__(self) -> None:
        _mode.saved.append(_mode.enabled)
        _mode.set_enabled(self._enabled)

    def __exit__(self, *exc: object) -> None:
        _mode.set_enabled(_mode.saved.pop())


class no_grad(_SetGradMode):  # lower case, like the PyTorch context manager
    """Context manager and decorator: ops inside record no graph (this thread only)."""

    _enabled = False


class enable_grad(_SetGradMode):
    """Context manager and decorator: turn recording back on inside a ``no_grad`` block."""

    _enabled = True


class _Anomaly:
    # One switch for the whole process, as PyTorch's anomaly mode: the engines read it at
    # every node they make, so it must cost one attribute read when off.
    __slots__ = ("depth", "enabled")

    def __init__(self) -> None:
        self.enabled = False
        self.depth = 0


anomaly = _Anomaly()
_anomaly_lock = threading.Lock()
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class detect_anomaly(ContextDecorator):  # lower case, like the PyTorch context manager
    """Context manager and decorator: find where a NaN or an infinity came from.

    Inside, both engines remember the line of user code that made each node, and raise
    ``FloatingPointError`` at the first op whose output is NaN or infinite, or, during
    backward, at the first node whose incoming gradient is; the message names the op
    and that line. Off by default (it slows every op down); the switch is process-wide,
    as in PyTorch.
    """

    def __enter__(self) -> None:
        with _anomaly_lock:
            anomaly.depth += 1
            anomaly.enabled = True

    def __exit__(self, *exc: object) -> None:
        with _anomaly_lock:
            anomaly.depth -= 1
            anomaly.enabled = anomaly.depth > 0


def user_line() -> str:
    """``file:line`` of the innermost frame outside this package: where user code made
    the node being recorded (anomaly mode only; it walks the stack)."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE):
            return f"{frame.filename}:{frame.lineno}: {(frame.line or '').strip()}"
    return "(no user code on the stack)"


def compile_function(source: str, name: str, namespace: dict[str, Any],
                     filename: str) -> Callable[..., Any]:
    """The function ``name`` defined by generated Python ``source``, run in ``namespace``.

    The engines generate their hot paths (Value's operator methods, a recorded step's
    replay). The source is entered in linecache under ``filename`` (a path inside this
    package, so anomaly mode never takes it for user code), and tracebacks show it.
    """
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    function: Callable[..., Any] = namespace[name]
    return function


def created_at(node: Any) -> str:
    """Where ``node`` was made, if anomaly mode recorded it."""
    trace = getattr(node, "_trace", None)
    return f", made at {trace}" if trace else ""


def toposort(root: Any) -> list[Any]:
    """Every node ``root`` depends on, inputs before the nodes computed from them.

    Iterative depth-first search, so graph depth is bounded by memory, not by Python's
    recursion limit.
    """
    order = []
    seen = {root}
    stack = [(root, iter(root._prev))]
    while stack:
        node, inputs = stack[-1]
        for child in inputs:
            if child not in seen:
                seen.add(child)
                stack.append((child, iter(child._prev)))
                break
        else:
            stack.pop()
            order.append(node)
    return order
