"""Every registered op, property-tested from its registry record; and the registry itself.

``test_every_op`` is generated from ``ops.names()``: a new op, built-in or user-added, is
covered by it with no test of its own (``testing.check_op`` draws its inputs as the
record says and checks values, Value-against-Tensor parity, and first and second
derivatives against finite differences in float64).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import settings

import tinygrad_nn as tg
from tinygrad_nn import Tensor, Value, draw_graph, grad, ops
from tinygrad_nn.ops.namespace import ELEMENTWISE, NAMESPACE
from tinygrad_nn.scalar.math_ops import ScalarOps
from tinygrad_nn.tensor.apply import TensorOps
from tinygrad_nn.tensor.array_ops import ArrayOps
from tinygrad_nn.testing import GradcheckError, OpCase, check_op, check_op_case


@pytest.mark.parametrize("name", ops.names())
def test_every_op(name):
    check_op(name, max_examples=settings().max_examples)


# ----- The ops namespace: one list, every engine ------------------------------------------


def test_every_primitive_is_a_registered_op():
    assert set(NAMESPACE) <= set(ops.names())


@pytest.mark.parametrize(("namespace", "names"), [
    (ScalarOps, ELEMENTWISE),
    (ArrayOps, NAMESPACE),
    (TensorOps, NAMESPACE),
])
def test_every_engine_offers_every_primitive(namespace, names):
    missing = [name for name in names if not callable(getattr(namespace, name, None))]
    assert missing == []


def test_registered_ops_are_reachable_in_every_namespace_too():
    # A rule may call any op by name: ops.sigmoid(x) on floats, arrays and Tensors.
    x = 0.3
    expected = 1.0 / (1.0 + math.exp(-x))
    from tinygrad_nn.scalar.math_ops import SCALAR_OPS
    from tinygrad_nn.tensor.apply import tensor_ops
    from tinygrad_nn.tensor.array_ops import array_ops

    assert SCALAR_OPS.sigmoid(x) == pytest.approx(expected)
    assert array_ops(np.dtype(np.float64)).sigmoid(np.array(x)) == pytest.approx(expected)
    on_tensor = tensor_ops(np.dtype(np.float64)).sigmoid(Tensor(x, dtype=np.float64))
    assert isinstance(on_tensor, Tensor) and on_tensor.item() == pytest.approx(expected)


# ----- A user's op: one register call, everywhere at once -------------------------------


def logaddexp_forward(a, b, ops):
    return ops.maximum(a, b) + ops.log1p(ops.exp(-ops.abs(a - b)))


@pytest.fixture
def my_logaddexp():
    """A multi-input op declared as a user would, removed again after the test."""
    ops.register(
        "my_logaddexp",
        forward=logaddexp_forward,
        grads=(lambda g, a, b, out, ops: g * ops.exp(a - out),
               lambda g, a, b, out, ops: g * ops.exp(b - out)),
        domain=(-5.0, 5.0),
        doc="log(exp(a) + exp(b))",
    )
    yield "my_logaddexp"
    ops.unregister("my_logaddexp")


def test_a_registered_op_exists_everywhere(my_logaddexp):
    expected = math.log(math.exp(1.0) + math.exp(2.0))
    assert "my_logaddexp" in ops.names() and "my_logaddexp" in dir(tg)
    v = Value(1.0).my_logaddexp(2.0)
    t = Tensor([1.0, 2.0]).my_logaddexp(Tensor([0.5, 0.5]))
    assert v.data == pytest.approx(expected)
    assert t.shape == (2,) and t.data[0] == pytest.approx(math.log(math.exp(1.0) + math.exp(0.5)))
    assert tg.my_logaddexp(Value(1.0), 2.0).data == pytest.approx(expected)
    assert tg.my_logaddexp(np.array([1.0]), 2.0).data[0] == pytest.approx(expected)
    assert v._op == t._op == "my_logaddexp"
    assert "my_logaddexp" in draw_graph(Tensor([1.0], requires_grad=True).my_logaddexp(2.0)).source
    check_op("my_logaddexp", max_examples=30)


def test_a_registered_op_has_second_derivatives(my_logaddexp):
    a = Tensor([0.3, -1.2], dtype=np.float64, requires_grad=True)
    b = Tensor([1.1, 0.4], dtype=np.float64, requires_grad=True)
    (ga,) = grad(a.my_logaddexp(b).sum(), a, create_graph=True)
    (haa,) = grad(ga.sum(), a)
    s = 1.0 / (1.0 + np.exp(b.data - a.data))  # d/da = sigmoid(a - b)
    np.testing.assert_allclose(ga.data, s, rtol=1e-12)
    np.testing.assert_allclose(haa.data, s * (1 - s), rtol=1e-12)


def test_unregistering_removes_every_trace(my_logaddexp):
    ops.unregister("my_logaddexp")
    try:
        assert "my_logaddexp" not in ops.names()
        assert not hasattr(Value, "my_logaddexp") and not hasattr(Tensor, "my_logaddexp")
        assert not hasattr(ArrayOps, "my_logaddexp") and not hasattr(ScalarOps, "my_logaddexp")
        with pytest.raises(AttributeError):
            tg.my_logaddexp  # noqa: B018
    finally:
        ops.register("my_logaddexp", forward=logaddexp_forward, grads=None)


def test_a_tensor_op_with_parameters_and_a_hand_written_gradient():
    # A straight-through estimator: round in the forward pass, identity in the backward.
    ops.register(
        "round_ste",
        forward=lambda x, ops, step=1.0: ops.sign(x) * ops.floor(ops.abs(x) / step + 0.5) * step,
        grads=(lambda g, x, out, ops, step=1.0: g,),
        doc="x rounded to a multiple of step; its gradient passes straight through",
        cases=lambda draw: ((draw.array(draw.shape()),), {"step": 0.5}),
        elementwise=False,
    )
    try:
        x = Tensor([0.2, 0.7, -1.4], requires_grad=True)
        y = x.round_ste(step=0.5)
        y.sum().backward()
        np.testing.assert_allclose(y.data, [0.0, 0.5, -1.5])
        np.testing.assert_array_equal(x.grad, [1, 1, 1])
        assert not hasattr(Value, "round_ste")  # a Tensor op only
    finally:
        ops.unregister("round_ste")


def test_an_op_hands_its_rules_what_its_forward_saved():
    # A row softmax whose rule reuses the forward's output of exp: `saved` is that array in
    # a plain backward, and None under create_graph, where the rule recomputes on Tensors.
    seen = []

    def forward(x, ops):
        e = ops.exp(x - ops.max(x, -1, True))
        return e / ops.sum(e, -1, True), e

    def rule(g, x, out, ops, saved=None):
        seen.append(saved is None)
        return out * (g - ops.sum(g * out, -1, True))

    ops.register("saving_softmax", forward=forward, grads=(rule,), elementwise=False,
                 saves=True, cases=lambda draw: ((draw.array((2, 3)),), {}))
    try:
        check_op("saving_softmax", max_examples=20)  # first and second derivatives
        assert True in seen and False in seen  # both paths were taken
        x = Tensor(np.array([[0.1, 2.0, -1.0]]), requires_grad=True)
        weights = Tensor([[1.0, 2.0, 3.0]])
        seen.clear()
        (x.saving_softmax() * weights).sum().backward()
        assert seen == [False]
        eager = x.grad
        step = tg.record_step(lambda: (x.saving_softmax() * weights).sum())
        for _ in range(2):  # recorded, then replayed: the replay hands the rule saved too
            x.grad = None
            seen.clear()
            step()
            # (Recording runs the rule eagerly, traced, and in the rules' replay; a traced
            # replay makes the rule's NumPy calls without calling it.)
            assert not any(seen)
            np.testing.assert_array_equal(x.grad, eager)
        assert step.traced == 1
    finally:
        ops.unregister("saving_softmax")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"elementwise": True}, "saves=True is for a tensor op"),
    ({"grads": (lambda g, x, out, ops: g,)}, r"grads\[0\] must take"),  # no saved=
])
def test_saves_is_refused_where_it_cannot_work(kwargs, match):
    declaration = {"name": "saving_op", "forward": lambda x, ops: (x, None),
                   "grads": (lambda g, x, out, ops, saved=None: g,), "elementwise": False,
                   "saves": True}
    with pytest.raises(TypeError, match=match):
        ops.register(**{**declaration, **kwargs})
    assert "saving_op" not in ops.names()


# ----- The checks can fail --------------------------------------------------------------


def test_check_op_catches_a_wrong_rule():
    ops.register(
        "bad_logaddexp",
        forward=logaddexp_forward,
        grads=(lambda g, a, b, out, ops: g * ops.exp(a - out),
               lambda g, a, b, out, ops: g * ops.exp(a - out)),  # should be b - out
        domain=(-5.0, 5.0),
    )
    try:
        with pytest.raises(GradcheckError) as caught:
            check_op("bad_logaddexp", max_examples=50)
        message = str(caught.value)
        assert "bad_logaddexp" in message and "input 1" in message
        assert "analytic" in message and "numeric" in message
    finally:
        ops.unregister("bad_logaddexp")


def test_a_rule_right_only_to_first_order_is_caught():
    # exp's rule with `out` taken as a constant: every first derivative is right, but
    # under create_graph the gradient no longer depends on x, so the second is lost.
    ops.register(
        "flat_exp",
        forward=lambda x, ops: ops.exp(x),
        grads=(lambda g, x, out, ops: g * (out.detach() if isinstance(out, Tensor) else out),),
        domain=(-2.0, 2.0),
    )
    try:
        case = OpCase("flat_exp", (np.array([0.5, -1.0]),))
        check_op_case(case, second_order=False)
        with pytest.raises(GradcheckError, match="second derivatives"):
            check_op_case(case)
    finally:
        ops.unregister("flat_exp")


def test_a_rule_that_ignores_broadcasting_is_caught():
    # The backward loop sums a gradient down to its input's shape; a rule that does that
    # itself, too, counts twice.
    ops.register(
        "double_count",
        forward=lambda a, b, ops: a + b,
        grads=(lambda g, a, b, out, ops: g,
               lambda g, a, b, out, ops: ops.sum_to(g, b.shape) * 2.0),
        elementwise=False,
    )
    try:
        with pytest.raises(GradcheckError):
            check_op_case(OpCase("double_count", (np.ones((2, 3)), np.ones(3))))
    finally:
        ops.unregister("double_count")


# ----- Registration is all or nothing ------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "mul"}, ValueError, "already registered"),
        ({"name": "shape"}, ValueError, r"Tensor\.shape already exists"),
        ({"name": "backward"}, ValueError, r"backward already exists"),
        ({"name": "not an identifier"}, ValueError, "identifier"),
        ({"forward": lambda x: x}, TypeError, "then `ops`"),
        ({"forward": lambda x, ops, p: x}, TypeError, "needs a default"),
        ({"forward": lambda x, ops, self=1.0: x}, TypeError, "reserved"),
        ({"grads": (lambda g, x, out, ops: g, None)}, TypeError, "1 input"),
        ({"grads": (lambda g, out, ops: g,)}, TypeError, r"grads\[0\] must take"),
        ({"params": {"beta": (0, 1)}}, ValueError, "not parameters"),
        ({"domain": (2.0, 1.0)}, ValueError, "domain"),
    ],
)
def test_a_refused_registration_leaves_no_trace(kwargs, error, match):
    declaration = {"name": "fine_op", "forward": lambda x, ops: x,
                   "grads": (lambda g, x, out, ops: g,)}
    before = ops.names()
    with pytest.raises(error, match=match):
        ops.register(**{**declaration, **kwargs})
    assert ops.names() == before
    assert not hasattr(Value, "fine_op") and not hasattr(Tensor, "fine_op")


def test_built_in_ops_cannot_be_unregistered():
    with pytest.raises(ValueError, match="built-in"):
        ops.unregister("mul")


def test_op_records_describe_themselves():
    mul = ops.get("mul")
    assert mul.inputs == ("a", "b") and mul.elementwise and mul.differentiable
    assert "mul(a, b)" in repr(mul)
    assert not ops.get("lt").differentiable
    assert ops.get("sum").defaults == {"axis": None, "keepdims": False}
    with pytest.raises(ValueError, match="unknown op 'nope'"):
        ops.get("nope")


# ----- One label per op, the same on both engines -------------------------------------------


def test_both_engines_label_an_expression_alike():
    v = Value(2.0)
    t = Tensor([2.0], requires_grad=True)
    for f in (lambda x: x * 3, lambda x: 3 - x, lambda x: x / 2, lambda x: 2 / x,
              lambda x: x**2, lambda x: 2**x, lambda x: -x, lambda x: x + x):
        assert f(v)._op == f(t)._op in ops.names()


# ----- A user's op against PyTorch ------------------------------------------------------


def test_a_user_op_matches_pytorch_to_second_order(my_logaddexp):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a_np, b_np, v_np = rng.normal(size=(3, 5)), rng.normal(size=(5,)), rng.normal(size=(3, 5))

    a = Tensor(a_np, requires_grad=True)
    b = Tensor(b_np, requires_grad=True)
    out = a.my_logaddexp(b)
    ga, gb = grad((out * v_np).sum(), [a, b], create_graph=True)
    (haa,) = grad((ga * ga).sum(), a)

    ta = torch.tensor(a_np, requires_grad=True)
    tb = torch.tensor(b_np, requires_grad=True)
    t_out = torch.logaddexp(ta, tb)
    t_ga, t_gb = torch.autograd.grad((t_out * torch.tensor(v_np)).sum(), [ta, tb],
                                     create_graph=True)
    (t_haa,) = torch.autograd.grad((t_ga * t_ga).sum(), ta)

    for ours, theirs in ((out, t_out), (ga, t_ga), (gb, t_gb), (haa, t_haa)):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
