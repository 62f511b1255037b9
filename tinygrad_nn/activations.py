"""The activation registry: one declaration per activation serves every engine.

An activation is an elementwise op declared by two rules:

- ``forward(x, ops, **params)`` computes ``out``;
- ``deriv(x, out, ops, **params)`` computes the local gradient ``d out / d x``.

Rules use only Python operators and the ``ops`` namespace the engine passes in, so the
same text runs on floats (``Value``), on NumPy arrays (``Tensor``) and on ``Tensor`` graphs
when gradients are themselves differentiated. ``ops`` offers exactly::

    exp  log  log1p  tanh  sqrt  abs  minimum  maximum  where  zeros_like  ones_like

``where`` evaluates both branches, so each branch must stay finite on every input
(hence ``exp(minimum(x, 0))`` rather than ``exp(x)`` in a branch that is only taken for
negative x). Engines cast the rules' results to the input's dtype.

Registering makes the activation a method on every engine class (``Value.relu``,
``Tensor.relu``), a name for ``nn`` layers, a label in drawings and a case in the
gradient property tests, with no other code to touch.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Activation", "attach", "get", "names", "register", "unregister"]

Rule = Callable[..., Any]
MethodFactory = Callable[["Activation"], Callable[..., Any]]

# Marks engine methods that the registry installed, so re-registration may replace them
# but a registration can never shadow a real engine method such as `exp`.
_INSTALLED_BY_REGISTRY = "_activation_name"


@dataclass(frozen=True)
class Activation:
    """A registered elementwise activation: its rules and what tests need to know of it."""

    name: str
    forward: Rule
    deriv: Rule
    defaults: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    kinks: tuple[float, ...] = ()
    domain: tuple[float, float] = (-10.0, 10.0)
    doc: str = ""
    init: str = "glorot"

    @property
    def signature(self) -> inspect.Signature:
        """The method signature the engines expose: ``(self, <params with defaults>)``."""
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        parameters = [inspect.Parameter("self", kind)]
        parameters += [inspect.Parameter(n, kind, default=d) for n, d in self.defaults.items()]
        return inspect.Signature(parameters)

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, float]:
        """Resolve a call's arguments to a full ``{param: float}`` mapping."""
        if not args and not kwargs:
            return dict(self.defaults)
        try:
            bound = self.signature.bind(None, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{self.name}{self.signature}: {error}") from None
        bound.apply_defaults()
        values = dict(bound.arguments)
        del values["self"]
        for param, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(
                    f"{self.name}: parameter {param!r} must be a real number, "
                    f"got {type(value).__name__}"
                )
            values[param] = float(value)
        return values


INITS = ("glorot", "he")

_registry: dict[str, Activation] = {}
_subscribers: list[tuple[type, MethodFactory]] = []


def _rule_params(rule: Rule, leading: tuple[str, ...], role: str, name: str) -> dict[str, float]:
    """Check that a rule starts with ``leading`` and return its keyword params and defaults."""
    parameters = list(inspect.signature(rule).parameters.values())
    given = tuple(p.name for p in parameters[: len(leading)])
    if given != leading:
        expected = ", ".join(leading)
        raise TypeError(f"register({name!r}): {role} must take ({expected}, **params) first")
    defaults = {}
    for p in parameters[len(leading) :]:
        if p.default is inspect.Parameter.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(
                f"register({name!r}): {role} parameter {p.name!r} needs a numeric default"
            )
        defaults[p.name] = float(p.default)
    return defaults


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"activation name must be a Python identifier, got {name!r}")
    if name.startswith("_"):
        raise ValueError(f"activation name must not start with '_', got {name!r}")
    for cls, _ in _subscribers:
        existing = getattr(cls, name, None)
        if existing is not None and not hasattr(existing, _INSTALLED_BY_REGISTRY):
            raise ValueError(
                f"cannot register {name!r}: {cls.__name__}.{name} already exists "
                "and is not an activation"
            )


def register(
    name: str,
    forward: Rule,
    deriv: Rule,
    *,
    kinks: tuple[float, ...] = (),
    domain: tuple[float, float] = (-10.0, 10.0),
    params: Mapping[str, tuple[float, float]] | None = None,
    doc: str = "",
    init: str = "glorot",
    replace: bool = False,
) -> Activation:
    """Add an elementwise activation to every engine.

    ``kinks`` are the inputs where the derivative jumps, ``domain`` the interval where
    finite differences are trustworthy, and ``params`` the range each parameter is drawn
    from in property tests (parameters not listed keep their default there). ``init``
    names the weight initialisation that suits layers using it: ``"he"`` (variance 2/fan_in,
    for the ReLU family, which zeroes half its inputs) or ``"glorot"`` (variance
    2/(fan_in + fan_out), for symmetric units such as tanh).
    Registering an existing name raises unless ``replace=True``.
    """
    _check_name(name)
    if name in _registry and not replace:
        raise ValueError(f"activation {name!r} is already registered (pass replace=True)")
    defaults = _rule_params(forward, ("x", "ops"), "forward", name)
    deriv_defaults = _rule_params(deriv, ("x", "out", "ops"), "deriv", name)
    if deriv_defaults != defaults:
        raise TypeError(
            f"register({name!r}): forward params {defaults} and deriv params "
            f"{deriv_defaults} must match"
        )
    params = dict(params or {})
    unknown = set(params) - set(defaults)
    if unknown:
        raise ValueError(f"register({name!r}): params {sorted(unknown)} are not rule parameters")
    if init not in INITS:
        raise ValueError(f"register({name!r}): init must be one of {INITS}, got {init!r}")
    low, high = domain
    if not low < high:
        raise ValueError(f"register({name!r}): domain must be (low, high), got {domain}")

    activation = Activation(
        name=name,
        forward=forward,
        deriv=deriv,
        defaults=defaults,
        params=params,
        kinks=tuple(float(k) for k in kinks),
        domain=(float(low), float(high)),
        doc=doc,
        init=init,
    )
    _registry[name] = activation
    for cls, factory in _subscribers:
        _install(cls, factory, activation)
    return activation


def unregister(name: str) -> None:
    """Remove a registered activation and its engine methods."""
    if name not in _registry:
        raise KeyError(f"no activation named {name!r}")
    del _registry[name]
    for cls, _ in _subscribers:
        if name in vars(cls):
            delattr(cls, name)


def get(name: str) -> Activation:
    """The registered activation called ``name``."""
    try:
        return _registry[name]
    except KeyError:
        known = ", ".join(sorted(_registry))
        raise ValueError(f"unknown activation {name!r}; registered: {known}") from None


def names() -> list[str]:
    """Names of every registered activation, in registration order."""
    return list(_registry)


def _install(cls: type, factory: MethodFactory, activation: Activation) -> None:
    method = factory(activation)
    method.__name__ = activation.name
    method.__qualname__ = f"{cls.__name__}.{activation.name}"
    method.__doc__ = activation.doc or f"The {activation.name!r} activation."
    method.__signature__ = activation.signature  # type: ignore[attr-defined]
    setattr(method, _INSTALLED_BY_REGISTRY, activation.name)
    setattr(cls, activation.name, method)


def attach(cls: type, factory: MethodFactory) -> None:
    """Install every activation on ``cls`` now, and every later registration too.

    ``factory(activation)`` returns the method an engine wants for that activation.
    """
    _subscribers.append((cls, factory))
    for activation in _registry.values():
        _install(cls, factory, activation)


# ----- Built-in activations --------------------------------------------------------------


def _sigmoid(x: Any, ops: Any) -> Any:
    # NOTE: exp(-|x|) never overflows; the branch picks the form that cannot divide
    # inf by inf, so sigmoid stays finite and warning-free for any magnitude. -|x| is
    # written as a where on the same condition (not abs, whose slope at 0 is 0), so that
    # differentiating this rule under create_graph is exact at x = 0 too.
    z = ops.exp(ops.where(x >= 0, -x, x))
    return ops.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


register(
    "identity",
    forward=lambda x, ops: x,
    deriv=lambda x, out, ops: ops.ones_like(x),
    doc="identity(x) = x",
)

register(
    "step",
    forward=lambda x, ops: ops.where(x > 0, 1.0, 0.0),
    # NOTE: the derivative is zero everywhere it exists (and undefined at 0), so a step
    # unit passes no gradient back: it is here to show why perceptrons were not trained
    # by gradient descent, not to be trained with it.
    deriv=lambda x, out, ops: ops.zeros_like(x),
    kinks=(0.0,),
    doc="step(x) = 1 if x > 0 else 0; its gradient is zero (documented, not a bug)",
)

register(
    "sigmoid",
    forward=_sigmoid,
    deriv=lambda x, out, ops: out * (1.0 - out),
    domain=(-20.0, 20.0),
    doc="sigmoid(x) = 1 / (1 + exp(-x))",
)

register(
    "tanh",
    forward=lambda x, ops: ops.tanh(x),
    deriv=lambda x, out, ops: 1.0 - out * out,
    doc="tanh(x) = 2 * sigmoid(2x) - 1",
)

register(
    "relu",
    forward=lambda x, ops: ops.maximum(x, 0.0),
    # NOTE: relu'(0) is taken as 0, as PyTorch does.
    deriv=lambda x, out, ops: ops.where(x > 0, 1.0, 0.0),
    kinks=(0.0,),
    doc="relu(x) = max(x, 0)",
    init="he",
)

register(
    "leaky_relu",
    forward=lambda x, ops, alpha=0.01: ops.where(x > 0, x, alpha * x),
    # NOTE: at 0 the slope is alpha, matching PyTorch.
    deriv=lambda x, out, ops, alpha=0.01: ops.where(x > 0, 1.0, alpha),
    kinks=(0.0,),
    params={"alpha": (0.0, 0.5)},
    doc="leaky_relu(x) = x if x > 0 else alpha * x",
    init="he",
)

register(
    "elu",
    forward=lambda x, ops, alpha=1.0: ops.where(
        x > 0, x, alpha * (ops.exp(ops.minimum(x, 0.0)) - 1.0)
    ),
    deriv=lambda x, out, ops, alpha=1.0: ops.where(x > 0, 1.0, out + alpha),
    kinks=(0.0,),  # the derivative jumps at 0 unless alpha == 1
    domain=(-30.0, 30.0),
    params={"alpha": (0.1, 2.0)},
    doc="elu(x) = x if x > 0 else alpha * (exp(x) - 1)",
    init="he",
)

_GELU_C = 0.7978845608028654  # sqrt(2 / pi)
_GELU_K = 0.044715


def _gelu_deriv(x: Any, ops: Any) -> Any:
    t = ops.tanh(_GELU_C * (x + _GELU_K * x * x * x))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3.0 * _GELU_K * x * x)


register(
    "gelu",
    # The tanh form (Hendrycks & Gimpel; GPT-2; PyTorch's approximate="tanh"): NumPy has
    # no erf, and one formula keeps both engines identical to the last bit.
    forward=lambda x, ops: 0.5 * x * (1.0 + ops.tanh(_GELU_C * (x + _GELU_K * x * x * x))),
    deriv=lambda x, out, ops: _gelu_deriv(x, ops),
    doc="gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
    init="he",
)


def _silu_deriv(x: Any, ops: Any) -> Any:
    s = _sigmoid(x, ops)
    return s * (1.0 + x * (1.0 - s))


register(
    "silu",
    forward=lambda x, ops: x * _sigmoid(x, ops),
    deriv=lambda x, out, ops: _silu_deriv(x, ops),
    domain=(-20.0, 20.0),
    doc="silu(x) = x * sigmoid(x) (also called swish)",
    init="he",
)


register(
    "softplus",
    # NOTE: max(x, 0) + log1p(exp(-|x|)) is log(1 + exp(x)) without overflow.
    forward=lambda x, ops: ops.maximum(x, 0.0) + ops.log1p(ops.exp(-ops.abs(x))),
    deriv=lambda x, out, ops: _sigmoid(x, ops),
    domain=(-20.0, 20.0),
    doc="softplus(x) = log(1 + exp(x)), a smooth relu",
    init="he",
)
