"""Property tests for any registered op, generated from its registry record.

``check_op(name)`` draws cases with Hypothesis (``strategies.op_cases``) and runs
``check_op_case`` on each; ``check_op_case`` needs only NumPy, so a failing case found once
can be replayed as a plain test.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .. import ops
from .._extras import requires
from ..ops.registry import OpDef
from ..scalar import Value
from ..scalar.value import apply as apply_on_values
from ..tensor import Tensor, concatenate, grad
from ..tensor.apply import apply
from ..tensor.array_ops import array_ops
from ..viz import draw_graph
from .cases import OpCase, describe
from .numeric import GradcheckError
from .tensor_checks import gradgradcheck, tensor_gradcheck

__all__ = ["OpCase", "check_op", "check_op_case"]


def _takes_gradient(op: OpDef, i: int, x: Any) -> bool:
    """Whether input ``i`` is one the finite-difference checks perturb."""
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        return False
    if op.composite or op.variadic:
        return True
    return op.grads is not None and op.grads[i] is not None


def check_op_case(case: OpCase, *, second_order: bool = True) -> None:
    """Check one case of a registered op; raise ``GradcheckError`` naming what is wrong.

    - the Tensor method computes what the op's forward rule computes on arrays;
    - elementwise ops: ``Value`` gives the same values and gradients, element by element;
    - gradients match central finite differences in float64 (first order, and second
      order through ``grad(create_graph=True)`` unless ``second_order=False``);
    - an op declared without a gradient gives a result that requires none;
    - float32 inputs give float32 outputs and gradients;
    - a drawing of the result labels its node with the op's name.
    """
    op = ops.get(case.name)
    try:
        _check(op, case, second_order)
    except GradcheckError as error:
        raise GradcheckError(f"check_op({case.name!r}) at {case!r}:\n{error}") from None


def _check(op: OpDef, case: OpCase, second_order: bool) -> None:
    inputs, params = case.inputs, case.params
    varying = [i for i, x in enumerate(inputs) if _takes_gradient(op, i, x)]

    def fn(*leaves: Any) -> Any:
        operands = list(inputs)
        for i, leaf in zip(varying, leaves):
            operands[i] = leaf
        out = apply(op, tuple(operands), dict(params))
        if type(out) is tuple:  # several results (split): checked as one, end to end
            out = concatenate([part.reshape(-1) for part in out])
        # An op that picks its own dtype (astype) is checked through a cast back.
        return out.astype(np.float64) if "dtype" in params and out.dtype.kind == "f" else out

    _check_values(op, case, fn, varying)
    if op.elementwise:
        _check_parity_with_values(op, case)
    if not varying:
        return
    if not op.differentiable:
        out = fn(*(Tensor(inputs[i], requires_grad=True) for i in varying))
        if out.requires_grad:
            raise GradcheckError(f"{op.name} is declared without a gradient, but its result "
                                 "requires grad")
        return
    points = [inputs[i] for i in varying]
    checks: tuple[tuple[str, Any], ...] = (("first", tensor_gradcheck), ("second", gradgradcheck))
    for order, check in checks:
        if order == "second" and not second_order:
            break
        try:
            check(fn, *points, **case.options)
        except GradcheckError as error:
            raise GradcheckError(f"{order} derivatives against finite differences "
                                 f"(inputs numbered among {varying}):\n{error}") from None
    if "dtype" not in params:
        _check_float32(op, fn, [inputs[i] for i in varying])


def _check_values(op: OpDef, case: OpCase, fn: Any, varying: list[int]) -> None:
    """The engine's result is the forward rule's, and the drawing names the op."""
    out = fn(*(Tensor(case.inputs[i], requires_grad=True) for i in varying))
    if op.composite:
        return  # its forward is a graph of other ops, checked by their own cases
    ops_ = array_ops(np.dtype(np.float64))
    if op.variadic:
        expected = op.forward(*case.inputs, ops=ops_, **case.params)
    else:
        expected = op.output(op.forward(*case.inputs, ops_, **case.params))
    expected = np.asarray(expected)
    if expected.shape != out.shape or not np.allclose(out.data, expected, rtol=1e-12,
                                                      atol=1e-12, equal_nan=True):
        raise GradcheckError(f"Tensor.{op.name} gives {describe(out.data)}, its forward "
                             f"rule {describe(expected)}")
    if varying and out.requires_grad and \
            not re.search(rf'label="?{op.name}"?[ \]]', draw_graph(out).source):
        raise GradcheckError(f"a drawing of {op.name}'s result does not label it {op.name!r}")


def _check_parity_with_values(op: OpDef, case: OpCase) -> None:
    """Elementwise ops: the scalar engine agrees with the tensor engine on every element."""
    arrays = [np.asarray(x, dtype=np.float64) if isinstance(x, np.ndarray) else x
              for x in case.inputs]
    shape = np.broadcast_shapes(*(np.shape(x) for x in arrays))
    spread = [np.broadcast_to(x, shape) if isinstance(x, np.ndarray) else x for x in arrays]
    tensors = [Tensor(x.copy(), requires_grad=x.dtype.kind == "f") if isinstance(x, np.ndarray)
               else x for x in spread]
    out = apply(op, tuple(tensors), dict(case.params))
    leaves = [t for t in tensors if isinstance(t, Tensor) and t.requires_grad]
    grads = grad(out.sum(), leaves, allow_unused=True) if out.requires_grad else ()
    by_leaf = dict(zip((id(t) for t in leaves), grads))
    for index in np.ndindex(shape):
        values = [Value(float(x[index])) if isinstance(x, np.ndarray) else x for x in spread]
        v_out = apply_on_values(op, tuple(values), dict(case.params))
        _close(f"Value.{op.name} at {index}", v_out.data, float(out.data[index]))
        if not out.requires_grad:
            continue
        v_out.backward()
        for k, (t, v) in enumerate(zip(tensors, values)):
            if isinstance(t, Tensor) and id(t) in by_leaf:
                _close(f"the gradient of input {k} at {index} (Value against Tensor)",
                       v.grad, float(by_leaf[id(t)].data[index]))


def _close(what: str, got: float, expected: float) -> None:
    # The same rule text on floats and arrays: only libm against NumPy rounding differs
    # (amplified where a rule cancels, as gelu's 1 + tanh near -1 does).
    if not np.isclose(got, expected, rtol=1e-10, atol=1e-10, equal_nan=True):
        raise GradcheckError(f"{what}: the scalar engine gives {got!r}, the tensor engine "
                             f"{expected!r}")


def _check_float32(op: OpDef, fn: Any, points: list[np.ndarray]) -> None:
    """No silent float64 upcast: float32 inputs give float32 outputs and gradients."""
    leaves = [Tensor(p.astype(np.float32), requires_grad=True) for p in points]
    out = fn(*leaves)
    if out.dtype != np.float32:
        raise GradcheckError(f"{op.name}: float32 inputs give a {out.dtype} output")
    if out.requires_grad:
        for k, g in enumerate(grad(out.sum(), leaves, allow_unused=True)):
            if g.dtype != np.float32:
                raise GradcheckError(f"{op.name}: float32 input {k} gets a {g.dtype} gradient")


def check_op(name: str, *, second_order: bool = True, **settings: Any) -> None:
    """Property-test a registered op from its registry record (needs the testing extra).

    Draws inputs as the record says (elementwise ops: broadcast shapes inside ``domain``,
    away from ``kinks``, parameters from ``params``; other ops: their ``cases``) and runs
    ``check_op_case`` on each: values, Value-against-Tensor parity, first and second
    derivatives against finite differences in float64, dtypes. ``settings`` override
    Hypothesis settings (``max_examples=...``). Raises ``GradcheckError`` for the smallest
    failing case, naming the op, the input and both numbers.
    """
    with requires("testing"):
        from hypothesis import given
        from hypothesis import settings as hypothesis_settings

    from .strategies import op_cases

    ops.get(name)  # an unknown name fails here, before Hypothesis starts

    @hypothesis_settings(**{"deadline": None, "database": None, **settings})
    @given(op_cases(name))
    def run(case: OpCase) -> None:
        check_op_case(case, second_order=second_order)

    run()
