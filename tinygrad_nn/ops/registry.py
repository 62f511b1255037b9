"""The op registry: one record per op, declared by one ``register`` call.

An op is a forward rule and one gradient rule per input, written with Python operators and
an ``ops`` namespace that the engine passes in::

    forward(*inputs, ops, **params) -> out
    grads[i](g, *inputs, out, ops, **params) -> the gradient reaching input i

``g`` is the gradient arriving at the output, ``out`` the output itself (so a rule need
not recompute it). The same text runs on floats (``Value``), on ndarrays (``Tensor``) and
on Tensors while ``grad(create_graph=True)`` records the backward pass, which is why second
derivatives need no second rule. A tensor op may also hand its rules something else it
computed on the way (``saves=True``: the forward returns ``(out, saved)`` and the rules
get ``saved=``), as PyTorch's ``ctx.save_for_backward`` does.

The registry knows no engine. Engines subscribe (``subscribe``): every registration, now
or later, installs the op on them as methods and in their ``ops`` namespaces, and a
registration that any engine refuses (a name that would shadow one of its own attributes)
changes nothing anywhere.
"""

from __future__ import annotations

import inspect
import keyword
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from .namespace import OPERATORS

__all__ = ["OpDef", "Subscriber", "get", "names", "register", "subscribe", "unregister"]

Rule = Callable[..., Any]


@dataclass(frozen=True, eq=False, slots=True)
class OpDef:
    """A registered op: its rules, its signature, and what property tests need to know.

    ``inputs`` names the forward rule's inputs (for a variadic op, the one ``*inputs``
    name); ``defaults`` holds the op's own parameters. ``grads`` is None for an op without
    a gradient; an entry is None for an input that takes none (a mask, an index). A
    variadic op has a single rule, called for each input with ``i=`` its position. A
    ``composite`` op has no rules: its forward runs on the engine's graph values, so the
    gradient flows through the registered ops it is made of.
    """

    name: str
    forward: Rule
    grads: tuple[Rule | None, ...] | None
    inputs: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    variadic: bool = False
    elementwise: bool = True
    composite: bool = False
    method: bool = True
    domain: tuple[float, float] | tuple[tuple[float, float], ...] = (-10.0, 10.0)
    kinks: tuple[float, ...] = ()
    params: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    cases: Callable[..., Any] | None = None
    doc: str = ""
    # One-input ops declared through ``activations.register``: d out / d x itself, which
    # the scalar engine stores as the local gradient without multiplying by g = 1. Such
    # ops take floating-point tensors only.
    deriv: Rule | None = None
    # The forward returns (out, saved), and the rules take saved= (None when the forward
    # ran on other values than the rules see: under create_graph they recompute).
    saves: bool = False
    _plain_params: frozenset[str] = field(default=frozenset(), init=False, repr=False)

    def __post_init__(self) -> None:
        # Parameters that take any value (an axis, a shape), as opposed to those with a
        # float default, which must be real numbers: bind checks only the latter.
        plain = frozenset(k for k, v in self.defaults.items() if type(v) is not float)
        object.__setattr__(self, "_plain_params", plain)

    def output(self, result: Any) -> Any:
        """A forward rule's result without what it saved for backward (see ``saves``)."""
        return result[0] if self.saves else result

    @property
    def differentiable(self) -> bool:
        """Whether gradients flow through this op (its own rules, or its parts')."""
        return self.grads is not None or self.composite

    def domain_of(self, i: int) -> tuple[float, float]:
        """The interval property tests draw input ``i`` from."""
        if isinstance(self.domain[0], tuple):
            return self.domain[i]
        return self.domain

    @property
    def arity(self) -> int | None:
        """The number of inputs, or None for a variadic op."""
        return None if self.variadic else len(self.inputs)

    @property
    def signature(self) -> inspect.Signature:
        """The signature of the op as a function: its inputs, then its own parameters."""
        kind: inspect._ParameterKind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        if self.variadic:
            parameters = [inspect.Parameter(self.inputs[0], inspect.Parameter.VAR_POSITIONAL)]
            kind = inspect.Parameter.KEYWORD_ONLY
        else:
            parameters = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                          for n in self.inputs]
        parameters += [inspect.Parameter(n, kind, default=d) for n, d in self.defaults.items()]
        return inspect.Signature(parameters)

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The op's own parameters from the arguments after its inputs (defaults filled).

        A parameter whose default is a float (a slope, a bound) must be given a real number.
        """
        if not args and not kwargs:
            return dict(self.defaults)
        if not args and kwargs.keys() <= self._plain_params:
            return {**self.defaults, **kwargs}
        if len(args) > len(self.defaults) or (self.variadic and args):
            raise TypeError(f"{self.name}{self.signature}: too many positional arguments")
        params = dict(self.defaults)
        given = dict(zip(self.defaults, args))
        for key, value in kwargs.items():
            if key not in self.defaults:
                raise TypeError(f"{self.name}{self.signature}: unexpected argument {key!r}")
            if key in given:
                raise TypeError(f"{self.name}{self.signature}: {key!r} given twice")
            given[key] = value
        for key, value in given.items():
            if type(self.defaults[key]) is float and (
                    isinstance(value, bool) or not isinstance(value, (int, float))):
                raise TypeError(f"{self.name}: parameter {key!r} must be a real number, "
                                f"got {type(value).__name__}")
        params.update(given)
        return params

    def split(self, args: Sequence[Any], kwargs: Mapping[str, Any]
              ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """A call's arguments as the op's inputs and its own parameters (defaults filled)."""
        if self.variadic:
            return tuple(args), self.bind((), kwargs)
        n = len(self.inputs)
        if len(args) < n:
            raise TypeError(f"{self.name}{self.signature}: needs {n} input(s), got {len(args)}")
        return tuple(args[:n]), self.bind(args[n:], kwargs)

    def __repr__(self) -> str:
        kind = "elementwise" if self.elementwise else "tensor"
        grads = "composite" if self.composite else "no gradient" if self.grads is None \
            else "grads"
        return f"<op {self.name}{self.signature} {kind}, {grads}>"


class Subscriber(Protocol):
    """An engine that installs registered ops (as methods, in its ``ops`` namespaces)."""

    def check(self, op: OpDef) -> None:
        """Raise ``ValueError`` if ``op`` cannot be installed (its name is taken)."""

    def install(self, op: OpDef) -> None:
        """Make ``op`` available on this engine."""

    def uninstall(self, op: OpDef) -> None:
        """Remove what ``install`` added."""


_registry: dict[str, OpDef] = {}
_subscribers: list[Subscriber] = []
_builtins: frozenset[str] = frozenset()
# Registration changes the engine classes; one at a time keeps it all or nothing.
_lock = threading.RLock()


def register(
    name: str,
    forward: Rule,
    grads: Sequence[Rule | None] | Rule | None = None,
    *,
    elementwise: bool = True,
    composite: bool = False,
    method: bool = True,
    domain: tuple[float, float] | Sequence[tuple[float, float]] = (-10.0, 10.0),
    kinks: Sequence[float] = (),
    params: Mapping[str, tuple[float, float]] | None = None,
    cases: Callable[..., Any] | None = None,
    doc: str = "",
    saves: bool = False,
    replace: bool = False,
) -> OpDef:
    """Declare an op once; it then exists on every engine, as a method and a function.

    Parameters
    ----------
    name
        The method name, the function name, the label in drawings and the test id.
    forward
        ``forward(*inputs, ops, **params) -> out``. Parameters before ``ops`` are the
        inputs; those after it are the op's own and need defaults (they become keyword
        arguments of the method). ``*inputs`` makes the op variadic.
    grads
        One rule per input, ``rule(g, *inputs, out, ops, **params)``, returning the
        gradient for that input (the upstream gradient ``g`` times the local derivative);
        None for an op without a gradient, or in place of one rule for an input that takes
        none. A variadic op gives one rule, called with ``i=`` the input's position.
    elementwise
        True (the default) for an op that applies to each element of broadcast inputs: it
        exists on ``Value`` and ``Tensor``. False for reductions, shape and linear-algebra
        ops, which exist on ``Tensor`` only.
    composite
        The forward is built from other registered ops and has no rules of its own: it
        runs on the engine's graph values, and the gradient flows through its parts.
    method
        Install the op as a method (False for ops whose first input is no natural
        ``self``, such as ``where``); it is a function either way.
    domain, kinks
        Where finite differences are trustworthy (one ``(low, high)`` for every input, or
        one per input), and the points where the derivative jumps: property tests draw
        elementwise inputs inside the one and away from the other.
    params
        The range property tests draw each numeric parameter from (unlisted ones keep
        their default).
    cases
        For non-elementwise ops: ``cases(draw) -> (inputs, params)``, drawing valid
        inputs with the helper ``tinygrad_nn.testing`` passes in. Without it, every input
        is drawn with one random shape.
    doc
        One line with the formula; the method's docstring.
    saves
        For a tensor op (``elementwise=False``) whose backward can reuse what its forward
        computed (a softmax, a factorisation): the forward returns ``(out, saved)``, and
        each rule takes a keyword ``saved``, which is None when the rules run on other
        values than the forward saw (as Tensors under ``create_graph=True``): a rule then
        recomputes what it needs, with ``ops``.
    replace
        Replace an op registered under ``name`` (otherwise that raises).

    Returns
    -------
    OpDef
        The new record. Registration is all or nothing: an invalid declaration, or a name
        that an engine already uses for something else, raises and changes nothing.
    """
    inputs, defaults, variadic = _forward_signature(name, forward)
    if composite:
        if grads is not None:
            raise TypeError(f"register({name!r}): a composite op takes no grads: its "
                            "gradient flows through the ops its forward is built from")
        rules = None
    else:
        if saves and (elementwise or variadic or grads is None or name in OPERATORS):
            raise TypeError(f"register({name!r}): saves=True is for a tensor op "
                            "(elementwise=False) with gradient rules, a fixed number of "
                            "inputs and no Python operator")
        rules = _grad_rules(name, grads, inputs, {**defaults, **({"saved": None} if saves
                                                                 else {})}, variadic)
    op = OpDef(
        name=name, forward=forward, grads=rules, inputs=inputs, defaults=defaults,
        variadic=variadic, elementwise=elementwise, composite=composite, method=method,
        domain=_domains(name, domain, len(inputs)), kinks=tuple(float(k) for k in kinks),
        params=_param_ranges(name, params, defaults), cases=cases, doc=doc, saves=saves,
    )
    return add(op, replace=replace)


_RESERVED = ("self", "out", "g", "i", "ops", "saved")


def add(op: OpDef, *, replace: bool = False) -> OpDef:
    """Enter a checked ``OpDef`` and install it on every engine, or change nothing."""
    _check_name(op.name)
    for param in op.defaults:
        if param in _RESERVED:
            raise TypeError(f"register({op.name!r}): {param!r} is reserved; rename the "
                            "parameter")
    with _lock:
        previous = _registry.get(op.name)
        if previous is not None and not replace:
            raise ValueError(f"op {op.name!r} is already registered (pass replace=True)")
        for subscriber in _subscribers:
            subscriber.check(op)
        if previous is not None:
            _uninstall_everywhere(previous)
        installed: list[Subscriber] = []
        try:
            for subscriber in _subscribers:
                subscriber.install(op)
                installed.append(subscriber)
        except BaseException:
            for subscriber in installed:
                subscriber.uninstall(op)
            if previous is not None:
                for subscriber in _subscribers:
                    subscriber.install(previous)
            raise
        _registry[op.name] = op
    return op


def unregister(name: str) -> None:
    """Remove a user-registered op from the registry and from every engine."""
    with _lock:
        if name not in _registry:
            raise KeyError(f"no op named {name!r}")
        if name in _builtins:
            raise ValueError(f"{name!r} is a built-in op; it cannot be unregistered")
        _uninstall_everywhere(_registry.pop(name))


def _uninstall_everywhere(op: OpDef) -> None:
    for subscriber in _subscribers:
        subscriber.uninstall(op)


def get(name: str) -> OpDef:
    """The op registered as ``name``."""
    try:
        return _registry[name]
    except KeyError:
        raise ValueError(f"unknown op {name!r}; see tinygrad_nn.ops.names()") from None


def names() -> list[str]:
    """Every registered op, built-ins first, in registration order."""
    return list(_registry)


def subscribe(subscriber: Subscriber) -> None:
    """Install every registered op on an engine now, and every later registration too."""
    with _lock:
        for op in _registry.values():
            subscriber.check(op)
        for op in _registry.values():
            subscriber.install(op)
        _subscribers.append(subscriber)


def freeze_builtins() -> None:
    """Mark the ops registered so far as built-ins, which cannot be unregistered."""
    global _builtins
    _builtins = frozenset(_registry)


# ----- Checking a declaration ------------------------------------------------------------


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"op name must be a Python identifier, got {name!r}")
    if name.startswith("_"):
        raise ValueError(f"op name must not start with '_', got {name!r}")


def _forward_signature(name: str, forward: Rule) -> tuple[tuple[str, ...], dict[str, Any], bool]:
    """The forward rule's inputs (before ``ops``), own parameters, and whether variadic."""
    if not callable(forward):
        raise TypeError(f"register({name!r}): forward must be callable, got {forward!r}")
    parameters = list(inspect.signature(forward).parameters.values())
    position = next((i for i, p in enumerate(parameters) if p.name == "ops"), None)
    if position is None:
        raise TypeError(f"register({name!r}): forward must take its inputs, then `ops`, then "
                        "its own parameters: forward(x, ops) or forward(a, b, ops, p=1.0)")
    inputs, own = parameters[:position], parameters[position + 1:]
    if not inputs:
        raise TypeError(f"register({name!r}): forward needs at least one input before `ops`")
    variadic = inputs[-1].kind is inspect.Parameter.VAR_POSITIONAL
    if variadic and len(inputs) > 1:
        raise TypeError(f"register({name!r}): a variadic forward takes only *inputs before ops")
    for p in inputs if not variadic else ():
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) or \
                p.default is not p.empty:
            raise TypeError(f"register({name!r}): input {p.name!r} must be a plain positional "
                            "parameter (give the op's own parameters after `ops`)")
    defaults = {}
    for p in own:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.default is p.empty:
            raise TypeError(f"register({name!r}): parameter {p.name!r} after `ops` needs a "
                            "default (the op's own parameters become keyword arguments)")
        if p.name in _RESERVED:
            raise TypeError(f"register({name!r}): {p.name!r} is reserved; rename the parameter")
        defaults[p.name] = p.default
    return tuple(p.name for p in inputs), defaults, variadic


def _grad_rules(name: str, grads: Any, inputs: tuple[str, ...], defaults: dict[str, Any],
                variadic: bool) -> tuple[Rule | None, ...] | None:
    """The rules as a tuple, each checked to accept (g, *inputs, out, ops, **params)."""
    if grads is None:
        return None
    if variadic:
        if not callable(grads):
            raise TypeError(f"register({name!r}): a variadic op takes one gradient rule, "
                            "called with i= the input's position")
        _check_rule(name, "grads", grads, (None, None, None), {"out": None, "ops": None,
                                                                "i": 0, **defaults})
        return (grads,)
    rules = (grads,) if callable(grads) else tuple(grads)
    if len(rules) != len(inputs):
        raise TypeError(f"register({name!r}): forward has {len(inputs)} input(s) "
                        f"({', '.join(inputs)}) but grads has {len(rules)} rule(s)")
    if all(rule is None for rule in rules):
        raise TypeError(f"register({name!r}): every rule is None; pass grads=None instead")
    for k, rule in enumerate(rules):
        if rule is not None:
            _check_rule(name, f"grads[{k}]", rule, (None,) * (len(inputs) + 3), defaults)
    return rules


def _check_rule(name: str, role: str, rule: Any, args: tuple[Any, ...],
                kwargs: dict[str, Any]) -> None:
    if not callable(rule):
        raise TypeError(f"register({name!r}): {role} must be callable or None, got {rule!r}")
    try:
        inspect.signature(rule).bind(*args, **kwargs)
    except TypeError as error:
        raise TypeError(f"register({name!r}): {role} must take (g, *inputs, out, ops) and the "
                        f"op's parameters {list(kwargs)}: {error}") from None


def _domains(name: str, domain: Any, n_inputs: int) -> Any:
    """One interval for every input, or one per input, each checked."""
    if len(domain) and all(isinstance(d, (tuple, list)) for d in domain):
        if len(domain) != n_inputs:
            raise ValueError(f"register({name!r}): {len(domain)} domains for {n_inputs} "
                             "inputs")
        return tuple(_domain(name, d) for d in domain)
    return _domain(name, domain)


def _domain(name: str, domain: tuple[float, float]) -> tuple[float, float]:
    low, high = (float(d) for d in domain)
    if not low < high or math.isnan(low) or math.isnan(high):
        raise ValueError(f"register({name!r}): domain must be (low, high), got {domain}")
    return low, high


def _param_ranges(name: str, ranges: Mapping[str, tuple[float, float]] | None,
                  defaults: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    ranges = dict(ranges or {})
    unknown = set(ranges) - set(defaults)
    if unknown:
        raise ValueError(f"register({name!r}): params {sorted(unknown)} are not parameters "
                         f"of forward ({', '.join(defaults) or 'it has none'})")
    return {k: (float(lo), float(hi)) for k, (lo, hi) in ranges.items()}
