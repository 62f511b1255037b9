"""Activations: the one-input shorthand for ``ops.register``, and the built-in activations.

An activation is an elementwise op declared by two rules:

- ``forward(x, ops, **params)`` computes ``out``;
- ``deriv(x, out, ops, **params)`` computes the local gradient ``d out / d x``;

the shorthand turns ``deriv`` into the op's gradient rule ``g * deriv(...)``. Registering
makes the activation a method on both engines (``Value.relu``, ``Tensor.relu``), a
function (``tinygrad_nn.relu``), a name for ``nn`` layers (``Dense(..., activation=
"relu")``), a label in drawings and a case in the generated property tests, with no
other code to touch. ``init`` tells layers how to initialise the weights feeding it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import registry
from .registry import OpDef

__all__ = ["INITS", "Activation", "get", "names", "register", "unregister"]

Rule = Callable[..., Any]

INITS = ("glorot", "he")


@dataclass(frozen=True)
class Activation:
    """A registered activation: its rules, its parameters and how to initialise for it."""

    name: str
    forward: Rule
    deriv: Rule
    defaults: Mapping[str, float] = field(default_factory=dict)
    params: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    kinks: tuple[float, ...] = ()
    domain: Any = (-10.0, 10.0)  # (low, high)
    doc: str = ""
    init: str = "glorot"

    @property
    def op(self) -> OpDef:
        """The registry record this activation was declared as."""
        return registry.get(self.name)

    @property
    def signature(self) -> inspect.Signature:
        """The method signature the engines expose: ``(self, <params with defaults>)``."""
        kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
        parameters = [inspect.Parameter("self", kind)]
        parameters += [inspect.Parameter(n, kind, default=d) for n, d in self.defaults.items()]
        return inspect.Signature(parameters)

    def bind(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, float]:
        """Resolve a call's arguments to a full ``{param: float}`` mapping."""
        values = self.op.bind(args, kwargs)
        for param, value in values.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(
                    f"{self.name}: parameter {param!r} must be a real number, "
                    f"got {type(value).__name__}"
                )
            values[param] = float(value)
        return values


_activations: dict[str, Activation] = {}


def _rule_params(rule: Rule, leading: tuple[str, ...], role: str, name: str) -> dict[str, float]:
    """Check that a rule starts with ``leading`` and return its keyword params and defaults."""
    if not callable(rule):
        raise TypeError(f"register({name!r}): {role} must be callable, got {rule!r}")
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
        if isinstance(p.default, bool) or not isinstance(p.default, (int, float)):
            raise TypeError(f"register({name!r}): {role} parameter {p.name!r} needs a numeric "
                            f"default, got {p.default!r}")
        defaults[p.name] = float(p.default)
    return defaults


def _grad_rule(deriv: Rule, has_params: bool) -> Rule:
    """The op's gradient rule: the upstream gradient times the local derivative."""
    if has_params:
        return lambda g, x, out, ops, **params: g * deriv(x, out, ops, **params)
    return lambda g, x, out, ops: g * deriv(x, out, ops)


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
    """Add an elementwise activation to every engine: ``ops.register`` for one input.

    ``kinks`` are the inputs where the derivative jumps, ``domain`` the interval where
    finite differences are trustworthy, and ``params`` the range each parameter is drawn
    from in property tests (parameters not listed keep their default there). ``init``
    names the weight initialisation that suits layers using it: ``"he"`` (variance 2/fan_in,
    for the ReLU family, which zeroes half its inputs) or ``"glorot"`` (variance
    2/(fan_in + fan_out), for symmetric units such as tanh).
    Registering an existing name raises unless ``replace=True``. Registration is all or
    nothing: a declaration that is refused leaves no trace.
    """
    defaults = _rule_params(forward, ("x", "ops"), "forward", name)
    deriv_defaults = _rule_params(deriv, ("x", "out", "ops"), "deriv", name)
    if deriv_defaults != defaults:
        raise TypeError(
            f"register({name!r}): forward params {defaults} and deriv params "
            f"{deriv_defaults} must match"
        )
    if init not in INITS:
        raise ValueError(f"register({name!r}): init must be one of {INITS}, got {init!r}")
    op = OpDef(
        name=name,
        forward=forward,
        grads=(_grad_rule(deriv, bool(defaults)),),
        inputs=("x",),
        defaults=defaults,
        domain=registry._domain(name, domain),
        kinks=tuple(float(k) for k in kinks),
        params=registry._param_ranges(name, params, defaults),
        doc=doc,
        deriv=deriv,
    )
    if name in _activations and not replace:
        raise ValueError(f"activation {name!r} is already registered (pass replace=True)")
    registry.add(op, replace=replace)
    activation = Activation(name=name, forward=forward, deriv=deriv, defaults=defaults,
                            params=op.params, kinks=op.kinks, domain=op.domain, doc=doc,
                            init=init)
    _activations[name] = activation
    return activation


def unregister(name: str) -> None:
    """Remove a registered activation and its engine methods."""
    if name not in _activations:
        raise KeyError(f"no activation named {name!r}")
    registry.unregister(name)
    del _activations[name]


def get(name: str) -> Activation:
    """The registered activation called ``name``."""
    try:
        return _activations[name]
    except KeyError:
        known = ", ".join(_activations)
        raise ValueError(f"unknown activation {name!r}; registered: {known}") from None


def names() -> list[str]:
    """Names of every registered activation, in registration order."""
    return list(_activations)


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

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _gelu_deriv(x: Any, ops: Any) -> Any:
    # Phi(x) + x phi(x): the normal distribution function and density.
    return 0.5 * ops.erfc(-_SQRT_HALF * x) + _INV_SQRT_2PI * x * ops.exp(-0.5 * x * x)


register(
    "gelu",
    # NOTE: the exact form, PyTorch's default (approximate="none"); gelu_tanh is the tanh
    # approximation. erfc(-x/sqrt(2)) rather than 1 + erf(x/sqrt(2)), which cancels to
    # nothing for very negative x.
    forward=lambda x, ops: 0.5 * x * ops.erfc(-_SQRT_HALF * x),
    deriv=lambda x, out, ops: _gelu_deriv(x, ops),
    doc="gelu(x) = x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))",
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


def _softplus(x: Any, ops: Any) -> Any:
    # NOTE: max(x, 0) + log1p(exp(-|x|)) is log(1 + exp(x)) without overflow.
    return ops.maximum(x, 0.0) + ops.log1p(ops.exp(-ops.abs(x)))


register(
    "softplus",
    # NOTE: no threshold where PyTorch switches to x itself (beta * x > 20): the formula
    # is exact there too, and differs from x by less than 3e-9.
    forward=lambda x, ops, beta=1.0: _softplus(beta * x, ops) / beta,
    deriv=lambda x, out, ops, beta=1.0: _sigmoid(beta * x, ops),
    domain=(-20.0, 20.0),
    params={"beta": (0.25, 4.0)},
    doc="softplus(x) = log(1 + exp(beta * x)) / beta, a smooth relu",
    init="he",
)

# ----- Clamps, the ELU family and other smooth relus (PyTorch's names and conventions) --


def _inside(x: Any, low: float, high: float, ops: Any) -> Any:
    """1 where low < x < high, else 0: the slope of a clamp, bounds excluded (PyTorch's
    hardtanh_backward)."""
    return ops.where(x > low, ops.where(x < high, 1.0, 0.0), 0.0)


register(
    "relu6",
    forward=lambda x, ops: ops.minimum(ops.maximum(x, 0.0), 6.0),
    # NOTE: the slope is 0 at both corners, x = 0 and x = 6 (PyTorch's choice).
    deriv=lambda x, out, ops: _inside(x, 0.0, 6.0, ops),
    kinks=(0.0, 6.0),
    doc="relu6(x) = min(max(x, 0), 6)",
    init="he",
)

register(
    "hardtanh",
    forward=lambda x, ops, min_val=-1.0, max_val=1.0:
        ops.minimum(ops.maximum(x, min_val), max_val),
    # NOTE: the slope is 0 at the bounds themselves, as in PyTorch (clip, whose gradient
    # passes at its bounds, follows torch.clamp instead).
    deriv=lambda x, out, ops, min_val=-1.0, max_val=1.0: _inside(x, min_val, max_val, ops),
    kinks=(-1.0, 1.0),  # the default bounds: property tests keep the defaults
    doc="hardtanh(x) = min(max(x, min_val), max_val)",
)

register(
    "hardsigmoid",
    forward=lambda x, ops: ops.minimum(ops.maximum(x + 3.0, 0.0), 6.0) / 6.0,
    # NOTE: the slope is 0 at x = -3 and x = 3, as in PyTorch.
    deriv=lambda x, out, ops: _inside(x, -3.0, 3.0, ops) / 6.0,
    kinks=(-3.0, 3.0),
    doc="hardsigmoid(x) = relu6(x + 3) / 6, a piecewise linear sigmoid",
)

register(
    "hardswish",
    forward=lambda x, ops: x * ops.minimum(ops.maximum(x + 3.0, 0.0), 6.0) / 6.0,
    # NOTE: at the corners PyTorch takes the outer slopes: 0 at x = -3, 1 at x = 3.
    deriv=lambda x, out, ops: ops.where(
        x <= -3.0, 0.0, ops.where(x >= 3.0, 1.0, x / 3.0 + 0.5)),
    kinks=(-3.0, 3.0),
    doc="hardswish(x) = x * relu6(x + 3) / 6 (MobileNetV3)",
    init="he",
)

# SELU's constants (Klambauer et al., 2017), as PyTorch spells them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

register(
    "selu",
    forward=lambda x, ops: _SELU_SCALE * ops.where(
        x > 0, x, _SELU_ALPHA * ops.expm1(ops.minimum(x, 0.0))),
    # NOTE: at 0 the slope is scale * alpha, the negative side's, as in PyTorch (and elu).
    # scale * alpha * exp(x) rather than out + scale * alpha, which cancels for x << 0.
    deriv=lambda x, out, ops: ops.where(
        x > 0, _SELU_SCALE, _SELU_SCALE * _SELU_ALPHA * ops.exp(ops.minimum(x, 0.0))),
    kinks=(0.0,),
    domain=(-30.0, 30.0),
    doc="selu(x) = scale * (x if x > 0 else alpha * (exp(x) - 1)), alpha ~ 1.673, "
        "scale ~ 1.051",
    # Self-normalising nets want LeCun's variance 1/fan_in; of the two initialisations
    # layers offer, Glorot's 2/(fan_in + fan_out) is the nearer.
    init="glorot",
)

register(
    "celu",
    forward=lambda x, ops, alpha=1.0: ops.where(
        x > 0, x, alpha * ops.expm1(ops.minimum(x, 0.0) / alpha)),
    # NOTE: at 0 the slope is 1 from both sides; only the second derivative jumps. As for
    # selu, exp(x / alpha) rather than out / alpha + 1, which cancels for x << 0.
    deriv=lambda x, out, ops, alpha=1.0: ops.where(
        x > 0, 1.0, ops.exp(ops.minimum(x, 0.0) / alpha)),
    kinks=(0.0,),
    domain=(-30.0, 30.0),
    params={"alpha": (0.25, 3.0)},
    doc="celu(x) = x if x > 0 else alpha * (exp(x / alpha) - 1)",
    init="he",
)

register(
    "softsign",
    forward=lambda x, ops: x / (1.0 + ops.abs(x)),
    deriv=lambda x, out, ops: 1.0 / ((1.0 + ops.abs(x)) * (1.0 + ops.abs(x))),
    kinks=(0.0,),  # the second derivative jumps at 0
    domain=(-20.0, 20.0),
    doc="softsign(x) = x / (1 + |x|)",
)

register(
    "logsigmoid",
    # NOTE: min(x, 0) - log1p(exp(-|x|)) = -softplus(-x): finite and warning-free for any x.
    forward=lambda x, ops: ops.minimum(x, 0.0) - ops.log1p(ops.exp(-ops.abs(x))),
    deriv=lambda x, out, ops: _sigmoid(-x, ops),
    domain=(-20.0, 20.0),
    doc="logsigmoid(x) = log(sigmoid(x)) = -softplus(-x)",
)


def _mish_deriv(x: Any, ops: Any) -> Any:
    t = ops.tanh(_softplus(x, ops))
    return t + x * _sigmoid(x, ops) * (1.0 - t * t)


register(
    "mish",
    forward=lambda x, ops: x * ops.tanh(_softplus(x, ops)),
    deriv=lambda x, out, ops: _mish_deriv(x, ops),
    domain=(-20.0, 20.0),
    doc="mish(x) = x * tanh(softplus(x))",
    init="he",
)

_GELU_C = 0.7978845608028654  # sqrt(2 / pi)
_GELU_K = 0.044715


def _gelu_tanh_deriv(x: Any, ops: Any) -> Any:
    t = ops.tanh(_GELU_C * (x + _GELU_K * x * x * x))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * _GELU_C * (1.0 + 3.0 * _GELU_K * x * x)


register(
    "gelu_tanh",
    # The tanh approximation of gelu (Hendrycks & Gimpel; GPT-2; PyTorch's
    # gelu(approximate="tanh")), for models trained with it.
    forward=lambda x, ops: 0.5 * x * (1.0 + ops.tanh(_GELU_C * (x + _GELU_K * x * x * x))),
    deriv=lambda x, out, ops: _gelu_tanh_deriv(x, ops),
    doc="gelu_tanh(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
    init="he",
)
