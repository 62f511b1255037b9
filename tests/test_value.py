"""The scalar engine: every op against finite differences, semantics, errors."""

import gc
import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_nn import Value, enable_grad, no_grad
from tinygrad_nn.testing import GradcheckError, gradcheck
from tinygrad_nn.testing.strategies import expressions, finite_floats

# ----- Every op against finite differences -------------------------------------------------
# (name, function of Values, strategy for each input). Domains keep away from kinks and
# singularities, where a finite difference is no judge.

away_from_zero = finite_floats(-100, 100).filter(lambda x: abs(x) > 1e-2)
positive = finite_floats(1e-2, 100)
moderate = finite_floats(-10, 10)

OPS = [
    ("add", lambda a, b: a + b, [moderate, moderate]),
    ("add number", lambda a: a + 2.5, [moderate]),
    ("radd number", lambda a: 2.5 + a, [moderate]),
    ("sub", lambda a, b: a - b, [moderate, moderate]),
    ("sub number", lambda a: a - 2.5, [moderate]),
    ("rsub number", lambda a: 2.5 - a, [moderate]),
    ("mul", lambda a, b: a * b, [moderate, moderate]),
    ("mul number", lambda a: a * -1.5, [moderate]),
    ("rmul number", lambda a: -1.5 * a, [moderate]),
    ("div", lambda a, b: a / b, [moderate, away_from_zero]),
    ("div number", lambda a: a / 4.0, [moderate]),
    ("rdiv number", lambda a: 3.0 / a, [away_from_zero]),
    ("neg", lambda a: -a, [moderate]),
    ("pow 2", lambda a: a**2, [moderate]),
    ("pow 3", lambda a: a**3, [moderate]),
    ("pow -1", lambda a: a**-1, [away_from_zero]),
    ("pow 0.5", lambda a: a**0.5, [positive]),
    ("pow 0", lambda a: a**0 + a, [moderate]),
    ("pow value", lambda a, b: a**b, [positive.filter(lambda x: x < 10), moderate]),
    ("rpow", lambda a: 2.0**a, [moderate]),
    ("exp", lambda a: a.exp(), [moderate]),
    ("log", lambda a: a.log(), [positive]),
    ("abs", lambda a: abs(a), [away_from_zero]),
    ("max", lambda a, b: a.max(b), [moderate, moderate]),
    ("max number", lambda a: a.max(0.5), [moderate]),
    ("sum", lambda a, b, c: Value.sum([a, b, c, 1.0]), [moderate] * 3),
    ("sum start", lambda a, b: Value.sum([a, a], b), [moderate] * 2),
    ("dot", lambda w1, w2, x1, b: Value.dot([w1, w2], [x1, 3.0], b), [moderate] * 4),
    ("dot self", lambda a, b: Value.dot([a, b], [a, b]), [moderate] * 2),
]


@pytest.mark.parametrize(("name", "fn", "domains"), OPS, ids=[op[0] for op in OPS])
@given(data=st.data())
def test_op_gradient_matches_finite_differences(name, fn, domains, data):
    inputs = [data.draw(domain, label=f"x{i}") for i, domain in enumerate(domains)]
    if name.startswith("max"):  # the kink is where the operands tie
        other = inputs[1] if len(inputs) > 1 else 0.5
        if abs(inputs[0] - other) < 1e-3:
            return
    gradcheck(fn, *inputs)


@given(expressions())
def test_random_expression_graphs_with_shared_nodes(expression):
    gradcheck(expression.fn, *expression.inputs)


def test_gradcheck_catches_a_wrong_gradient():
    def wrong_square(a):
        out = a * a
        out._db = a.data * 0.5  # should be a.data, the other factor
        return out

    with pytest.raises(GradcheckError, match="input 0"):
        gradcheck(wrong_square, 1.5)
    assert gradcheck(wrong_square, 1.5, raise_exception=False) is False


def test_the_api_example():
    a, b = Value(2.0), Value(-3.0)
    c = (a * b + b**2).tanh()
    c.backward()
    t = math.tanh(3.0)
    assert c.data == pytest.approx(t)
    assert a.grad == pytest.approx((1 - t * t) * -3.0)
    assert b.grad == pytest.approx((1 - t * t) * (2.0 + 2 * -3.0))
    assert isinstance(a.data, float) and isinstance(a.grad, float)


# ----- Semantics ----------------------------------------------------------------------------


def test_grad_is_zero_float_before_backward():
    assert Value(3).grad == 0.0 and isinstance(Value(3).grad, float)
    assert Value(3).data == 3.0 and isinstance(Value(3).data, float)


def test_gradients_accumulate_across_backward_calls():
    x = Value(3.0)
    y = x * x + x  # dy/dx = 2x + 1 = 7, through an intermediate node
    y.backward()
    y.backward()
    assert x.grad == 14.0
    assert y.grad == 2.0


def test_zero_grad_resets_the_whole_graph():
    x = Value(3.0)
    h = x * x
    y = h + x
    y.backward()
    y.zero_grad()
    assert (x.grad, h.grad, y.grad) == (0.0, 0.0, 0.0)


def test_a_node_used_twice_gets_both_contributions():
    x = Value(2.0)
    y = x * x * x  # 3x^2
    y.backward()
    assert x.grad == 12.0


def test_sum_and_dot_agree_with_chains_of_ops():
    ws = [Value(0.5), Value(-1.25), Value(2.0)]
    xs = [Value(1.5), 2.0, Value(-0.75)]
    fused = Value.dot(ws, xs, 0.1).tanh()
    chained = sum((w * x for w, x in zip(ws, xs)), Value(0.1)).tanh()
    assert fused.data == pytest.approx(chained.data, abs=1e-15)
    fused.backward()
    fused_grads = [v.grad for v in (*ws, xs[0], xs[2])]
    for v in (*ws, xs[0], xs[2]):
        v.grad = 0.0
    chained.backward()
    assert fused_grads == pytest.approx([v.grad for v in (*ws, xs[0], xs[2])], abs=1e-15)


def test_max_splits_the_gradient_at_a_tie():
    a, b = Value(1.0), Value(1.0)
    a.max(b).backward()
    assert (a.grad, b.grad) == (0.5, 0.5)


def test_abs_and_relu_have_zero_gradient_at_zero():
    x = Value(0.0)
    (abs(x) + x.relu()).backward()
    assert x.grad == 0.0


def test_sqrt_gradient_at_zero_is_infinite():
    x = Value(0.0)
    (x**0.5).backward()
    assert x.grad == math.inf


def test_repr_is_readable():
    assert repr(Value(2.0)) == "Value(data=2.0, grad=0.0)"
    assert repr(Value(2.0) * 3) == "Value(data=6.0, grad=0.0, op='mul')"
    assert repr(Value(1.0).relu()) == "Value(data=1.0, grad=0.0, op='relu')"


def test_ops_record_their_names():
    x = Value(2.0)
    ops = [(x + 1)._op, (x**2)._op, x.exp()._op, x.sigmoid()._op]
    assert ops == ["add", "pow", "exp", "sigmoid"]


# ----- Modes ----------------------------------------------------------------------------------


def test_no_grad_records_no_graph():
    x = Value(2.0)
    with no_grad():
        y = x * x
        with enable_grad():
            z = x * x
    assert y._prev == () and z._prev == (x, x)
    y.backward()
    assert x.grad == 0.0


def test_no_grad_works_as_a_decorator_and_nests():
    @no_grad()
    def square(v):
        return v * v

    x = Value(2.0)
    assert square(x)._prev == ()
    assert (x * x)._prev == (x, x)


def test_no_grad_is_per_thread():
    seen = {}
    inside = threading.Event()
    done = threading.Event()

    def worker():
        inside.wait()
        seen["other thread"] = (Value(1.0) * 2)._prev != ()
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    with no_grad():
        inside.set()
        done.wait(5)
        seen["this thread"] = (Value(1.0) * 2)._prev != ()
    thread.join()
    assert seen == {"other thread": True, "this thread": False}


# ----- Errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["1.0", None, [1.0], True, 1j])
def test_value_rejects_non_numbers(bad):
    with pytest.raises(TypeError, match="real number"):
        Value(bad)


@pytest.mark.parametrize("op", [lambda v: v + "a", lambda v: v * None, lambda v: [1] - v])
def test_ops_with_non_numbers_raise_type_error(op):
    with pytest.raises(TypeError):
        op(Value(1.0))


@pytest.mark.parametrize("x", [0.0, -1.0])
def test_log_of_a_non_positive_value_raises(x):
    with pytest.raises(ValueError, match=r"log\(.*\) is undefined"):
        Value(x).log()


def test_pow_with_a_value_exponent_follows_pytorch_at_zero_and_negative_bases():
    # d/dy x**y = x**y log(x): NaN for a negative base, 0 at x == 0 with y >= 0.
    x, y = Value(-2.0), Value(2.0)
    out = x**y
    out.backward()
    assert out.data == 4.0 and x.grad == -4.0 and math.isnan(y.grad)
    zero, y = Value(0.0), Value(3.0)
    (zero**y).backward()
    assert zero.grad == 0.0 and y.grad == 0.0
    exponent = Value(2.0)
    ((-2.0) ** exponent).backward()
    assert math.isnan(exponent.grad)


def test_negative_base_with_fractional_exponent_raises():
    with pytest.raises(ValueError, match="integer exponent"):
        Value(-2.0) ** 0.5


def test_exp_overflow_is_explained():
    with pytest.raises(OverflowError, match=r"Value\.exp"):
        Value(1000.0).exp()


def test_dot_length_mismatch_raises():
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        Value.dot([Value(1.0), Value(2.0)], [1.0, 2.0, 3.0])


def test_check_finite_names_the_op_that_went_wrong():
    x = Value(0.0)
    y = (x**0.5 + 1.0).log()
    y.backward()  # allowed by default: IEEE semantics, as in PyTorch
    assert x.grad == math.inf
    with pytest.raises(FloatingPointError, match=r"'pow' node \(inputs: 0.0\) passes"):
        y.backward(check_finite=True)


def test_check_finite_reports_a_non_finite_forward_value():
    with pytest.raises(FloatingPointError, match=r"forward: 'mul' node .* produced inf"):
        (Value(1e200) * 1e200).backward(check_finite=True)


def test_a_zero_upstream_gradient_does_not_turn_inf_into_nan():
    x = Value(0.0)
    ((x**0.5) * 0.0).backward()  # flat in x: 0, where PyTorch would give nan
    assert x.grad == 0.0


# ----- Memory ---------------------------------------------------------------------------------


def test_graphs_hold_no_reference_cycles():
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            w = [Value(0.1 * i) for i in range(5)]
            loss = Value.sum(Value.dot(w, [1.0, 2.0, 3.0, 4.0, 5.0]).tanh() * wi for wi in w)
            loss.backward()
            del loss, w
        assert gc.collect() == 0  # nothing was left for the cycle collector to find
    finally:
        gc.enable()
