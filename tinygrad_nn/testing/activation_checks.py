"""Checks that every registered activation's declared derivative is its true derivative."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import activations
from .._autograd import grad
from ..tensor import Tensor
from ..value import SCALAR_OPS, Value
from .gradcheck import GradcheckError, close, numeric_derivative

__all__ = ["check_activation", "check_activation_property"]


def check_activation(name: str, x: float, *, atol: float = 1e-6, rtol: float = 1e-5,
                     **params: float) -> None:
    """Check activation ``name`` at one point ``x``; raise ``GradcheckError`` on a mismatch.

    - the ``Value`` method's gradient equals a central difference of the forward rule;
    - the method's output equals the forward rule (nothing lost between registry and engine);
    - the ``Tensor`` method (float64) gives the same value and gradient as ``Value``;
    - its second derivative, taken through ``grad(create_graph=True)``, equals a central
      difference of the ``deriv`` rule.

    ``x`` should lie inside the activation's ``domain`` and away from its ``kinks``, as
    ``strategies.activation_cases`` draws it.
    """
    activation = activations.get(name)
    params = {**activation.defaults, **params}

    def forward(xi: float) -> float:
        return float(activation.forward(xi, SCALAR_OPS, **params))

    leaf = Value(x)
    out = getattr(leaf, name)(**params)
    out.backward()
    numeric = numeric_derivative(forward, x)
    problems = []
    if out.data != forward(x):
        problems.append(f"Value.{name} gives {out.data!r}, the forward rule {forward(x)!r}")
    if not close(leaf.grad, numeric, atol, rtol):
        problems.append(f"gradient {leaf.grad!r}, finite difference {numeric!r}")
    problems += _tensor_problems(activation, x, params, out.data, leaf.grad)
    if problems:
        where = ", ".join(f"{k}={v!r}" for k, v in params.items())
        raise GradcheckError(f"{name}(x={x!r}{', ' + where if where else ''}): " +
                             "; ".join(problems))


def _tensor_problems(activation: activations.Activation, x: float, params: dict[str, float],
                     value: float, slope: float) -> list[str]:
    """How the Tensor engine disagrees with the Value engine and with deriv's own slope."""
    name, problems = activation.name, []
    t = Tensor(np.array([x], dtype=np.float64), requires_grad=True)
    t_out = getattr(t, name)(**params)
    (t_grad,) = grad(t_out.sum(), t, create_graph=True)
    # Same rule text on floats and on arrays: only libm vs NumPy rounding may differ.
    if not close(t_out.item(), value, 1e-12, 1e-12):
        problems.append(f"Tensor.{name} gives {t_out.item()!r}, Value.{name} {value!r}")
    if not close(t_grad.item(), slope, 1e-12, 1e-12):
        problems.append(f"Tensor gradient {t_grad.item()!r}, Value gradient {slope!r}")

    def deriv(xi: float) -> float:
        out = activation.forward(xi, SCALAR_OPS, **params)
        return float(activation.deriv(xi, out, SCALAR_OPS, **params))

    second = grad(t_grad.sum(), t)[0].item() if t_grad.requires_grad else 0.0
    numeric = numeric_derivative(deriv, x)
    if not close(second, numeric, 1e-5, 1e-4):
        problems.append(f"second derivative {second!r}, finite difference of deriv {numeric!r}")
    return problems


def check_activation_property(name: str, **settings: Any) -> None:
    """Run ``check_activation`` on inputs and parameters drawn by Hypothesis.

    ``settings`` override Hypothesis settings (``max_examples=...``); by default the loaded
    profile's apply. Needs the ``testing`` extra. Raises the smallest failing case found.
    """
    from hypothesis import given
    from hypothesis import settings as hypothesis_settings

    from .strategies import activation_cases

    @hypothesis_settings(**{"deadline": None, "database": None, **settings})
    @given(activation_cases(name))
    def run(case: Any) -> None:
        check_activation(case.name, case.x, **case.params)

    run()
