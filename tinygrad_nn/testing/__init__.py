"""Tools to prove gradients: finite-difference checks and Hypothesis strategies.

``gradcheck`` (both engines), ``gradgradcheck`` (second order, Tensor engine) and
``check_activation`` need only NumPy. ``strategies`` (and the
property-based ``check_activation_property``) need Hypothesis: ``pip install
"tinygrad-nn[testing]"``; they are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .activation_checks import check_activation, check_activation_property
from .cases import OpCase
from .gradcheck import gradcheck
from .numeric import GradcheckError
from .op_checks import check_op, check_op_case
from .tensor_checks import gradgradcheck, tensor_gradcheck

if TYPE_CHECKING:
    from . import strategies

__all__ = [
    "GradcheckError",
    "OpCase",
    "check_activation",
    "check_activation_property",
    "check_op",
    "check_op_case",
    "gradcheck",
    "gradgradcheck",
    "strategies",
    "tensor_gradcheck",
]


def __getattr__(name: str) -> Any:
    # Hypothesis is an extra: importing tinygrad_nn.testing must not require it.
    if name == "strategies":
        import importlib

        return importlib.import_module(".strategies", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
