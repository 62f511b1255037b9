"""Recorded steps: one training step's ops captured once, then replayed without a graph.

In a small step, eager Python spends more time on bookkeeping than on arithmetic: making
nodes, sorting the graph, checking versions, releasing it. ``record_step(loss_fn)`` runs
``loss_fn`` and its backward eagerly once for each kind of input (shapes and dtypes),
noting every op that ran; later calls replay that list, the same forward rules and then
the same gradient rules in the same order on plain arrays. The loss and the gradients are
exactly those of the eager step, bit for bit, and no node is made. (The idea of TinyJit
and of CUDA graphs, on NumPy.)

The rules are also traced once, when recording (``tracing.py``): a replay then makes just
the NumPy calls they made, without calling them, which in a small step halves what is
left of Python's overhead. What a rule decided in Python from the values (a check, a
branch) is a guard: data that decides otherwise replays the rules themselves. So a
rule's other Python (a print, a counter, a global it reads) runs when the step is
recorded, not at every replay; a rule that draws random numbers is noticed (its trace
and its replay disagree) and replayed itself.

A replay repeats ops, not Python: numbers, branches and loops in the step are those of
the recording. So a step is recorded only if nothing it does would be lost; otherwise
the recording raises, naming what the step did:

- it reads a tensor's values (``.item()``, ``.data``, ``if t:``), so Python could decide
  differently on other data;
- it changes a tensor in place (an optimizer step, BatchNorm's running statistics, an
  in-place op), which a replay would not do;
- an op's operand was made inside the step from data that is not an input (a dropout
  mask, ``Tensor(array)``), which a replay would reuse unchanged;
- an op takes an array as a parameter (an index array), which a replay would reuse too.

A step is recorded again when its inputs' shapes or dtypes, the ``training`` flag of a
module it ran, or the ``requires_grad`` flag of a tensor it read change. Parameters are
read afresh at every replay, so optimizer updates between steps are seen.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..graph import _mode, anomaly, compile_function, toposort
from ..ops.registry import OpDef
from .apply import result_array
from .array_ops import array_ops
from .backprop import _keep_grads
from .tensor import Tensor, constant
from .tracing import Trace, Traced, TracingOps, real

__all__ = ["RecordedStep", "record_step"]

_NUMBERS = (int, float)
_MAX_RECORDINGS = 8  # kinds of input (shapes, dtypes) remembered per step
_MAX_MISSES = 8  # net replays a traced step may give up on before it is no longer tried


def record_step(loss_fn: Callable[..., Tensor]) -> RecordedStep:
    """``loss_fn`` as a recorded step: each call computes the loss and its backward.

    ``step = record_step(loss_fn)``; then ``loss = step(*inputs)`` does what
    ``loss = loss_fn(*inputs); loss.backward()`` does, adding d(loss)/d(p) to ``p.grad``
    for every tensor ``p`` that requires grad, and returns the loss (a single-element
    Tensor, outside any graph). The first call for each kind of input (shapes and dtypes)
    runs eagerly and records; the next ones replay (see the module's notes for what a
    recording refuses).

    Parameters
    ----------
    loss_fn : callable
        Takes Tensors or arrays (a batch: inputs, labels) and returns a single-element
        loss Tensor. It may read parameters and buffers of any model; it must not run
        backward or an optimizer step itself.
    """
    return RecordedStep(loss_fn)


class RecordedStep:
    """A loss function whose forward and backward are recorded once and replayed."""

    def __init__(self, loss_fn: Callable[..., Tensor]) -> None:
        self.loss_fn = loss_fn
        self._programs: dict[tuple[Any, ...], _Program] = {}
        self._lock = threading.Lock()
        # For tests and curiosity: how many times a call recorded, and how many of those
        # recordings replay as traced NumPy calls (the others call the rules).
        self.recordings = self.traced = 0

    def __call__(self, *inputs: Any) -> Tensor:
        if _mode.tape is not None:
            raise RuntimeError("record_step: a recorded step cannot run inside the "
                               "recording of another")
        if not _mode.enabled or anomaly.enabled:  # an eager step gives the eager answer
            loss = self.loss_fn(*inputs)
            loss.backward()
            return loss
        arrays = [x._data if type(x) is Tensor else np.asarray(x) for x in inputs]
        key = tuple([(a.shape, a.dtype) for a in arrays])
        program = self._programs.get(key)
        if program is not None:
            replayed = program.replay(arrays)
            if replayed is not None:
                return replayed
        loss, program = self._record(inputs, arrays)
        with self._lock:
            if len(self._programs) >= _MAX_RECORDINGS and key not in self._programs:
                self._programs.pop(next(iter(self._programs)))
            self._programs[key] = program
            self.recordings += 1
            self.traced += program._traced is not None
        loss.backward()
        return loss.detach()

    def _record(self, inputs: tuple[Any, ...], arrays: list[np.ndarray]
                ) -> tuple[Tensor, _Program]:
        tensors = [x if type(x) is Tensor else constant(a) for x, a in zip(inputs, arrays)]
        for k, t in enumerate(tensors):
            if t._requires_grad:
                raise RuntimeError(f"record_step: input {k} requires grad; the inputs of a "
                                   "recorded step are data (use a plain eager step)")
        tape = _Tape()
        _mode.tape = tape
        try:
            loss = self.loss_fn(*tensors)
        finally:
            _mode.tape = None
        if type(loss) is not Tensor or loss._data.size != 1 or not loss._requires_grad \
                or id(loss) not in tape.index:
            raise RuntimeError("record_step: the loss function must return a single-element "
                               "Tensor computed by the step and requiring grad")
        return loss, _Program(tape, tensors, loss)


class _Tape:
    """What one eager run of a step did: every op it ran, in order, with the result; and
    every tensor it made from other data (``Tensor(...)``, arrays lifted as operands)."""

    __slots__ = ("index", "made_here", "ran_ops")

    def __init__(self) -> None:
        self.ran_ops: list[tuple[Tensor, OpDef, tuple[Any, ...], dict[str, Any], np.dtype]] \
            = []
        self.index: dict[int, int] = {}  # id(result) -> its position in ran_ops
        self.made_here: dict[int, Tensor] = {}

    def ran(self, out: Tensor, op: OpDef, args: tuple[Any, ...], params: dict[str, Any],
            dtype: np.dtype) -> None:
        for value in params.values():
            if _holds_array(value):
                self.refuse(f"calls '{op.name}' with an array parameter (an index array), "
                            "which a replay would reuse; pass arrays as op inputs")
        self.index[id(out)] = len(self.ran_ops)
        self.ran_ops.append((out, op, args, params, dtype))

    def made(self, t: Tensor) -> None:
        self.made_here[id(t)] = t

    def refuse(self, what: str) -> None:
        raise RuntimeError(
            f"record_step: the step {what}. A replay repeats the recorded ops only, so "
            "this cannot be recorded; keep the loss function to ops on its inputs and on "
            "parameters (read values, step optimizers and update statistics outside it), "
            "or run the step eagerly")


def _holds_array(value: Any) -> bool:
    if isinstance(value, (np.ndarray, Tensor)):
        return True
    if isinstance(value, (tuple, list)):
        return any(_holds_array(v) for v in value)
    return False


class _Program:
    """A recorded step: where each op's operands come from, and the backward's plan,
    compiled into one function.

    Every value has a slot: the inputs first, then the live tensors (parameters,
    buffers: their arrays are read afresh at every replay), then the Python numbers, then
    each op's result in the order the ops ran. An operand is a slot.
    """

    def __init__(self, tape: _Tape, inputs: list[Tensor], loss: Tensor) -> None:
        self.lives: list[Tensor] = []
        self.constants: list[Any] = []
        self.n_inputs = len(inputs)
        by_id: dict[int, tuple[str, int]] = {id(t): ("input", k) for k, t in enumerate(inputs)}
        by_array: dict[int, tuple[str, int]] = {id(t._data): ("input", k)
                                                for k, t in enumerate(inputs)}
        by_number: dict[tuple[type, Any], int] = {}

        def source(x: Any, op: OpDef) -> tuple[str, int]:
            if type(x) in _NUMBERS:
                key = (type(x), x)
                if key not in by_number:
                    by_number[key] = len(self.constants)
                    self.constants.append(x)
                return "number", by_number[key]
            where = by_id.get(id(x))
            if where is not None:
                return where
            if id(x) in tape.made_here:
                where = by_array.get(id(x._data))
                if where is None or x._requires_grad:
                    tape.refuse(f"gives '{op.name}' an operand made inside the step from "
                                "data that is not one of its inputs (a dropout mask, "
                                "Tensor(...) of an array), which a replay would reuse")
                by_id[id(x)] = where  # type: ignore[assignment]
                return where  # type: ignore[return-value]
            if x._fn is not None:
                tape.refuse(f"gives '{op.name}' a result computed before the step (by "
                            f"'{x._op}', requiring grad), which a replay would reuse and "
                            "backward would go through; compute it inside the step")
            by_id[id(x)] = ("live", len(self.lives))
            self.lives.append(x)
            return by_id[id(x)]

        symbolic = []
        for k, (out, op, args, params, dtype) in enumerate(tape.ran_ops):
            symbolic.append((op, [source(x, op) for x in args], params, dtype))
            by_id[id(out)] = by_array[id(out._data)] = ("result", k)
        starts = {"input": 0, "live": self.n_inputs,
                  "number": self.n_inputs + len(self.lives),
                  "result": self.n_inputs + len(self.lives) + len(self.constants)}

        def slot(where: tuple[str, int]) -> int:
            return starts[where[0]] + where[1]

        self.first_result = starts["result"]
        self.forward = [(op, [slot(w) for w in sources], params, dtype, array_ops(dtype))
                        for op, sources, params, dtype in symbolic]
        self.sources = {self.first_result + k: sources
                        for k, (_, sources, *_) in enumerate(self.forward)}
        self.root = slot(by_id[id(loss)])
        self.loss_shape, self.loss_dtype = loss._data.shape, loss._data.dtype
        self.backward, kept = self._plan_backward(loss, by_id, slot)
        self.kept_slots = [at for at, _ in kept]
        self.kept_tensors = [t for _, t in kept]
        modules = {id(m): m for out, *_ in tape.ran_ops for m in out._scope}
        self.modules = list(modules.values())
        self.held = (*self.lives, *self.modules)  # what _run takes after the inputs
        self._run = self._compile()
        self._traced = self._trace([t._data for t in inputs])
        self._misses = 0  # replays the traced code gave up on, less those it made

    @staticmethod
    def _plan_backward(loss: Tensor, by_id: dict[int, tuple[str, int]],
                       slot: Callable[[tuple[str, int]], int]) -> tuple[list[Any], list[Any]]:
        """The nodes backward visits, in its order, with the gradient rules it calls: the
        same walk as ``backprop``, decided once (which nodes a gradient reaches depends
        only on the graph's structure)."""
        reached = {id(loss)}
        steps: list[Any] = []
        kept: list[tuple[int, Tensor]] = []
        for node in reversed(toposort(loss)):
            if id(node) not in reached:
                continue
            op = node._fn
            if op is None:
                if node._requires_grad:  # a parameter: its gradient goes to .grad
                    kept.append((slot(by_id[id(node)]), node))
                continue
            targets = []
            for i, child in enumerate(node._args):
                if type(child) in _NUMBERS or not child._requires_grad:
                    continue
                rule = op.grads[0] if op.variadic else op.grads[i]
                if rule is None:
                    continue
                data = child._data
                targets.append((i, rule, slot(by_id[id(child)]), data.shape, data.dtype))
                reached.add(id(child))
            steps.append((slot(by_id[id(node)]), op, node._params, array_ops(node._data.dtype),
                          targets))
        return steps, kept

    def replay(self, inputs: list[np.ndarray]) -> Tensor | None:
        """Run the recorded step on ``inputs``: the loss, with the gradients added to
        ``.grad``; or None if the recording no longer fits (record again)."""
        result = None
        traced = self._traced
        if traced is not None:
            try:
                result = traced(*inputs, *self.held)
            except _ChangedWhileRunning:
                raise
            except Exception:  # the rules' own replay raises it, naming the op
                result = None
        if result is None:  # a guard failed (or the recording no longer fits)
            result = self._run(*inputs, *self.held)
            if result is None:
                return None
            if traced is not None:
                self._misses += 1
                if self._misses >= _MAX_MISSES:  # the data keeps deciding otherwise
                    self._traced = None
        elif self._misses:
            self._misses -= 1
        loss, seed, grads = result
        _keep_grads(zip(self.kept_tensors, grads), id(seed))
        return constant(loss)

    # ----- Code generation ---------------------------------------------------------------
    # Two replays are generated from the plan: ``_run`` calls the rules themselves;
    # ``_traced`` makes only the NumPy calls the rules made when traced (see tracing.py),
    # under guards, and falls back on ``_run`` when one fails.

    def _prologue(self, name: str, names: dict[str, Any]) -> list[str]:
        """``def name(*inputs, *lives, *modules):`` and the checks of what the code below
        assumes: a module switched between train() and eval(), or a live tensor with
        another requires_grad, shape or dtype (a parameter given a new array) means
        recording again. The live tensors' arrays become ``v<slot>``."""
        inputs = [f"v{k}" for k in range(self.n_inputs)]
        lives = [f"L{k}" for k in range(len(self.lives))]
        modules = [f"M{k}" for k in range(len(self.modules))]
        lines = [f"def {name}({', '.join(inputs + lives + modules)}):"]
        for k, module in enumerate(self.modules):
            names[f"T{k}"] = module.training
            lines += [f"    if M{k}.training != T{k}:", "        return None"]
        for k, t in enumerate(self.lives):
            v = f"v{self.n_inputs + k}"
            names.update({f"R{k}": t._requires_grad, f"S{k}": t._data.shape,
                          f"D{k}": t._data.dtype})
            lines += [f"    {v} = L{k}._data",
                      f"    if L{k}._requires_grad is not R{k} or {v}.shape != S{k} "
                      f"or {v}.dtype is not D{k}:",
                      "        return None",
                      f"    n{k} = L{k}._version"]
        n_sources = self.n_inputs + len(self.lives)
        for k, number in enumerate(self.constants):
            names[f"v{n_sources + k}"] = number
        # d loss / d loss, one array for every replay: read-only, and _keep_grads copies
        # it if it is handed on as a gradient.
        seed = names["seed"] = np.ones(self.loss_shape, dtype=self.loss_dtype)
        seed.flags.writeable = False
        names["_changed"] = _changed
        return lines

    def _epilogue(self, loss: str, kept: list[str]) -> list[str]:
        """Return the loss, the seed and the kept gradients; unless another thread wrote
        into a tensor the step read while it ran."""
        lines = []
        if self.lives:
            changed = " or ".join(f"L{k}._version != n{k}" for k in range(len(self.lives)))
            lines += [f"    if {changed}:", "        raise _changed()"]
        return [*lines, f"    return {loss}, seed, ({''.join(f'{g}, ' for g in kept)})"]

    def _compile(self) -> Callable[..., Any]:
        """The replay that calls the rules, as one straight-line Python function.

        ``_run(*input arrays, *live tensors, *modules)`` returns the loss, the seed and the
        kept gradients, or None if the recording no longer fits. Every array is a local
        variable (``v<slot>``, gradients ``g<slot>``). The source is in linecache.
        """
        names: dict[str, Any] = {"ndarray": np.ndarray, "result_array": result_array,
                                 "_failed": _failed}
        lines = self._prologue("_run", names)
        for k, (op, sources, params, dtype, ops) in enumerate(self.forward):
            at = self.first_result + k
            names.update({f"f{at}": op.forward, f"o{at}": ops, f"p{at}": params,
                          f"d{at}": dtype})
            args = ", ".join(f"v{j}" for j in sources)
            call = f"f{at}({args}, ops=o{at}, **p{at})" if op.variadic else \
                f"f{at}({args}, o{at}, **p{at})" if params else f"f{at}({args}, o{at})"
            result = f"v{at}, k{at}" if op.saves else f"v{at}"  # k: what the forward kept
            lines += [
                "    try:",
                f"        {result} = {call}",
                "    except (ValueError, IndexError, TypeError) as error:",
                f"        raise _failed({op.name!r}, error) from None",
                f"    if type(v{at}) is not ndarray or v{at}.dtype is not d{at}:",
                f"        v{at} = result_array(v{at}, d{at}, p{at})",
            ]
        lines.append(f"    g{self.root} = seed")
        assigned = {self.root}
        for at, op, params, ops, targets in self.backward:
            args = ", ".join(f"v{j}" for j in self.sources[at])
            for i, rule, child, shape, dtype in targets:
                tag = f"{at}_{i}"
                names.update({f"r{tag}": rule, f"s{tag}": shape, f"t{tag}": dtype,
                              f"o{tag}": ops, f"p{tag}": params})
                extra = (f", saved=k{at}" if op.saves else "") + (f", **p{tag}" if params else "")
                if op.variadic:
                    call = f"r{tag}(g{at}, {args}, out=v{at}, ops=o{tag}, i={i}{extra})"
                else:
                    call = f"r{tag}(g{at}, {args}, v{at}, o{tag}{extra})"
                lines += [
                    f"    gi = {call}",
                    f"    if gi.shape != s{tag}:",
                    f"        gi = o{tag}.sum_to(gi, s{tag})",
                    f"    if gi.dtype is not t{tag} and gi.dtype != t{tag}:",
                    f"        gi = o{tag}.astype(gi, t{tag})",
                    f"    g{child} = g{child} + gi" if child in assigned else f"    g{child} = gi",
                ]
                assigned.add(child)
        lines += self._epilogue(f"v{self.root}", [f"g{slot}" for slot in self.kept_slots])
        return compile_function("\n".join(lines) + "\n", "_run", names,
                                f"{__file__} (generated: a recorded step of "
                                f"{len(self.forward)} ops)")

    def _trace(self, inputs: list[np.ndarray]) -> Callable[..., Any] | None:
        """The replay that makes only the rules' NumPy calls, traced on ``inputs`` (the
        arrays the step was recorded on); None if the rules cannot be traced, or if the
        traced replay does not give exactly what ``_run`` gives on them."""
        trace = Trace()
        values: dict[int, Any] = {}
        for k, array in enumerate([*inputs, *(t._data for t in self.lives)]):
            values[k] = trace.value(array, f"v{k}")
        for k, number in enumerate(self.constants):
            values[self.n_inputs + len(self.lives) + k] = number
        saved: dict[int, Any] = {}
        try:
            for k, (op, sources, params, dtype, ops) in enumerate(self.forward):
                at = self.first_result + k
                args, traced_ops = [values[j] for j in sources], TracingOps(ops, trace)
                out = op.forward(*args, ops=traced_ops, **params) if op.variadic else \
                    op.forward(*args, traced_ops, **params)
                if op.saves:
                    out, saved[at] = out
                data = real(out)
                if type(data) is not np.ndarray or data.dtype is not dtype:
                    out = trace.call(result_array, (out, dtype, params), {})
                values[at] = out
            grads = {self.root: trace.value(np.ones(self.loss_shape, self.loss_dtype), "seed")}
            for at, op, params, ops, targets in self.backward:
                args, traced_ops = [values[j] for j in self.sources[at]], TracingOps(ops, trace)
                extra = {"saved": saved[at]} if op.saves else {}
                for i, rule, child, shape, dtype in targets:
                    g = grads[at]
                    if op.variadic:
                        gi = rule(g, *args, out=values[at], ops=traced_ops, i=i, **extra,
                                  **params)
                    else:
                        gi = rule(g, *args, values[at], traced_ops, **extra, **params)
                    if real(gi).shape != shape:
                        gi = trace.call(ops.sum_to, (gi, shape), {})
                    if real(gi).dtype is not dtype and real(gi).dtype != dtype:
                        gi = trace.call(ops.astype, (gi, dtype), {})
                    grads[child] = gi if child not in grads else grads[child] + gi
            outputs = [values[self.root], *(grads[slot] for slot in self.kept_slots)]
            if any(type(x) is not Traced for x in outputs):
                return None  # a constant result: nothing to gain
        except Exception:  # Untraceable, or any other failure: the rules' replay serves
            return None
        names = dict(trace.names)
        lines = self._prologue("_traced", names)
        lines += [f"    {line}" for line in trace.source({x.name for x in outputs})]
        lines += self._epilogue(outputs[0].name, [g.name for g in outputs[1:]])
        traced = compile_function("\n".join(lines) + "\n", "_traced", names,
                                  f"{__file__} (generated: a traced recorded step of "
                                  f"{len(self.forward)} ops)")
        return traced if self._same(traced, inputs) else None

    def _same(self, traced: Callable[..., Any], inputs: list[np.ndarray]) -> bool:
        """Whether ``traced`` gives exactly ``_run``'s loss and gradients on ``inputs``.
        (It would not if a rule drew random numbers, or read state that changes, which
        the trace keeps as constants.)"""
        try:
            mine = traced(*inputs, *self.held)
            theirs = self._run(*inputs, *self.held)
        except Exception:  # any failure means: do not use it
            return False
        if mine is None or theirs is None:
            return False
        pairs = [(mine[0], theirs[0]), *zip(mine[2], theirs[2])]
        return all(type(a) is type(b) and np.shape(a) == np.shape(b)
                   and np.asarray(a).dtype == np.asarray(b).dtype
                   and np.array_equal(a, b, equal_nan=True) for a, b in pairs)


class _ChangedWhileRunning(RuntimeError):
    """Another thread wrote into a tensor the step read, while the replay ran."""


def _changed() -> RuntimeError:
    return _ChangedWhileRunning(
        "record_step: a tensor the step reads was changed in place while it ran (by "
        "another thread); the gradients would mix two versions of it, so none were stored")


def _failed(op: str, error: Exception) -> Exception:
    """An error raised by an op's forward rule during a replay, naming the op."""
    message = f"{op} (in a recorded step): {error}"
    return np.exceptions.AxisError(message) if isinstance(error, np.exceptions.AxisError) \
        else type(error)(message)
