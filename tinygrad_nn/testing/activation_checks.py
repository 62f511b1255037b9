"""Checks of a registered activation: ``check_op`` for the one-input shorthand."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import activations
from .op_checks import OpCase, check_op, check_op_case

__all__ = ["check_activation", "check_activation_property"]


def check_activation(name: str, x: float, *, atol: float = 1e-5, rtol: float = 1e-4,
                     **params: float) -> None:
    """Check activation ``name`` at one point ``x``; raise ``GradcheckError`` on a mismatch.

    The checks are ``check_op_case``'s: the methods compute the forward rule, ``Value``
    and ``Tensor`` agree, and the first and second derivatives match finite differences.
    ``x`` should lie inside the activation's ``domain`` and away from its ``kinks``, as
    ``strategies.activation_cases`` draws it.
    """
    activation = activations.get(name)
    params = {**activation.defaults, **params}
    case = OpCase(name, (np.array([float(x)]),), params, {"atol": atol, "rtol": rtol})
    check_op_case(case)


def check_activation_property(name: str, **settings: Any) -> None:
    """Run the checks on inputs and parameters drawn by Hypothesis (``check_op``).

    ``settings`` override Hypothesis settings (``max_examples=...``); by default the loaded
    profile's apply. Needs the ``testing`` extra. Raises the smallest failing case found.
    """
    activations.get(name)
    check_op(name, **settings)
