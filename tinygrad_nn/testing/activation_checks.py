"""Checks that every registered activation's declared derivative is its true derivative."""

from __future__ import annotations

from typing import Any

from .. import activations
from ..value import SCALAR_OPS, Value
from .gradcheck import GradcheckError, close, numeric_derivative

__all__ = ["check_activation", "check_activation_property"]


def check_activation(name: str, x: float, *, atol: float = 1e-6, rtol: float = 1e-5,
                     **params: float) -> None:
    """Check activation ``name`` at one point ``x``; raise ``GradcheckError`` on a mismatch.

    - the ``Value`` method's gradient equals a central difference of the forward rule;
    - the method's output equals the forward rule (nothing lost between registry and engine).

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
    if problems:
        where = ", ".join(f"{k}={v!r}" for k, v in params.items())
        raise GradcheckError(f"{name}(x={x!r}{', ' + where if where else ''}): " +
                             "; ".join(problems))


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
