"""The breadth issue's elementwise ops where their behaviour is subtle: erf and erfc to
float64 accuracy, ``**`` at zero and negative bases, the signs of ``//`` and ``%``,
logaddexp at infinities, each against PyTorch (float64) on both engines, with no NumPy
warning anywhere (the suite turns warnings into errors).

The generated property tests (tests/test_ops.py) check every op's values, gradients and
second derivatives inside its domain; these tests pin the edges.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_nn as tg
from tinygrad_nn import Tensor, Value, grad
from tinygrad_nn.tensor.array_ops import erf, erfc

EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_values_and_grads(torch, fn, *arrays):
    """fn's output and its gradients for an upstream gradient of ones, in PyTorch."""
    inputs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    out.backward(torch.ones_like(out))
    return out.detach().numpy(), [t.grad.numpy() for t in inputs]


def ours_values_and_grads(fn, *arrays):
    inputs = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*inputs)
    return out.data, [g.data for g in grad(out, inputs, grad_output=np.ones(out.shape))]


def assert_same(actual, expected, rtol=1e-12, zero_signs=True):
    """Equal up to ``rtol``, NaN where NaN is, the same sign on infinities, and (with
    ``zero_signs``) on zeros."""
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=1e-300, equal_nan=True)
    signed = ~np.isnan(expected) & ((expected != 0) | zero_signs)
    np.testing.assert_array_equal(np.signbit(actual[signed]), np.signbit(expected[signed]))


# ----- erf and erfc ----------------------------------------------------------------------------


@given(st.floats(-30.0, 30.0, allow_nan=False) | st.floats(-1.0, 1.0, allow_nan=False))
def test_erf_and_erfc_match_math_to_a_few_rounding_errors(x):
    assert abs(erf(x) - math.erf(x)) <= 4 * EPS * abs(math.erf(x))
    assert abs(erfc(x) - math.erfc(x)) <= 6 * EPS * math.erfc(x) + 1e-320


def test_erf_and_erfc_on_arrays_with_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 0.46875, 4.0, 27.0])
    expected_erf = [math.erf(v) if not math.isnan(v) else math.nan for v in x]
    expected_erfc = [math.erfc(v) if not math.isnan(v) else math.nan for v in x]
    assert_same(erf(x), np.array(expected_erf))
    assert_same(erfc(x), np.array(expected_erfc))


def test_erf_keeps_the_floating_dtype_and_computes_in_float64():
    x = np.array([0.3, -2.0, 5.0], dtype=np.float32)
    assert erf(x).dtype == erfc(x).dtype == np.float32
    np.testing.assert_allclose(erf(x), [math.erf(v) for v in x.astype(np.float64)], rtol=1e-7)
    assert erf(np.array([1, 2])).dtype == np.float64  # integers compute in float64


def test_erf_ops_match_torch_with_gradients(torch):
    x = np.concatenate([np.linspace(-6.0, 6.0, 41), [0.0, -0.0, 30.0, -30.0]])
    for name in ("erf", "erfc"):
        ours = ours_values_and_grads(lambda t, n=name: getattr(t, n)(), x)
        theirs = torch_values_and_grads(torch, getattr(torch, name), x)
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-14, atol=1e-300)
        np.testing.assert_allclose(ours[1][0], theirs[1][0], rtol=1e-14, atol=1e-300)
        assert getattr(Value(0.5), name)().data == getattr(math, name)(0.5)


# ----- square, reciprocal, rsqrt ------------------------------------------------------------


@pytest.mark.parametrize("name", ["square", "reciprocal", "rsqrt"])
def test_power_shorthands_match_torch(torch, name):
    x = np.array([0.1, 0.5, 1.0, 2.0, 7.5]) * (-1.0 if name != "rsqrt" else 1.0)
    ours = ours_values_and_grads(lambda t: getattr(t, name)(), x)
    theirs = torch_values_and_grads(torch, getattr(torch, name), x)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-14)
    np.testing.assert_allclose(ours[1][0], theirs[1][0], rtol=1e-14)


# ----- ** at zero and negative bases ----------------------------------------------------------

BASES = [-2.0, -0.5, -0.0, 0.0, 0.5, 2.0]
EXPONENTS = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0]


def test_pow_with_a_tensor_exponent_gives_torchs_values_and_gradients(torch):
    # Every sign of zero and every kind of exponent: inf, -inf, nan and 0 where PyTorch has
    # them, and not one NumPy warning on the way (warnings are errors in this suite).
    a, b = (np.array(column) for column in zip(*itertools.product(BASES, EXPONENTS)))
    ours = ours_values_and_grads(lambda x, y: x**y, a, b)
    theirs = torch_values_and_grads(torch, lambda x, y: x**y, a, b)
    assert_same(ours[0], theirs[0])
    for mine, ref in zip(ours[1], theirs[1]):
        assert_same(mine, ref)


@pytest.mark.parametrize("exponent", [-1.0, -0.5, 0.5, 2.0, 3.0])
def test_pow_with_a_number_exponent_gives_torchs_values(torch, exponent):
    # NOTE: not at -0.0 for a fractional exponent: PyTorch computes x ** 0.5 and x ** -0.5
    # as sqrt and rsqrt there, which give -0.0 and -inf (and -inf slopes) where IEEE pow,
    # NumPy and PyTorch's own tensor-exponent path give +0.0 and +inf.
    a = np.array([x for x in BASES if exponent.is_integer() or math.copysign(1.0, x) > 0
                  or x != 0])
    ours = ours_values_and_grads(lambda x: x**exponent, a)
    theirs = torch_values_and_grads(torch, lambda x: x**exponent, a)
    assert_same(ours[0], theirs[0])
    assert_same(ours[1][0], theirs[1][0])


def test_pow_with_a_tensor_exponent_keeps_float32():
    a = Tensor(np.array([0.0, -2.0, 3.0], dtype=np.float32), requires_grad=True)
    b = Tensor(np.array([-1.0, 0.5, 2.0], dtype=np.float32), requires_grad=True)
    (a**b).sum().backward()
    assert a.grad.dtype == b.grad.dtype == np.float32
    assert a.grad[0] == -np.inf and np.isnan(b.grad[1])


def test_the_scalar_engine_agrees_where_it_is_defined():
    # The scalar engine raises for a negative base with a fractional exponent (math.pow
    # does); everywhere else it gives the tensor engine's values and gradients.
    for x, y in itertools.product(BASES, EXPONENTS):
        if x < 0 and not y.is_integer():
            with pytest.raises(ValueError, match="integer exponent"):
                Value(x) ** Value(y)
            continue
        a, b = Value(x), Value(y)
        out = a**b
        out.backward()
        ta, tb = Tensor([x], requires_grad=True), Tensor([y], requires_grad=True)
        (ta**tb).sum().backward()
        # A Value's gradient starts at 0.0, and 0.0 + -0.0 is 0.0: zeros lose their sign.
        assert_same(np.array([out.data, a.grad, b.grad]),
                    np.array([(ta**tb).data[0], ta.grad[0], tb.grad[0]], dtype=np.float64),
                    rtol=1e-6, zero_signs=False)


# ----- // and % --------------------------------------------------------------------------------

DIVIDENDS = [-7.5, -4.0, -3.5, -0.0, 0.0, 2.0, 3.5, 7.0]
DIVISORS = [-2.0, -1.5, 1.5, 2.0]


def test_floor_divide_and_remainder_follow_the_divisors_sign_as_torch(torch):
    a, b = (np.array(column) for column in zip(*itertools.product(DIVIDENDS, DIVISORS)))
    q, r = Tensor(a) // Tensor(b), Tensor(a) % Tensor(b)
    assert_same(q.data, torch.floor_divide(torch.tensor(a), torch.tensor(b)).numpy())
    # NOTE: a zero remainder is +-0.0 with the divisor's sign, as in NumPy and Python;
    # PyTorch keeps fmod's sign of the dividend. Only the zeros' signs differ.
    assert_same(r.data, torch.remainder(torch.tensor(a), torch.tensor(b)).numpy(),
                zero_signs=False)
    np.testing.assert_array_equal(q.data * b + r.data, a)  # a == b * (a // b) + a % b
    assert np.all((r.data == 0) | (np.sign(r.data) == np.sign(b)))


def test_remainder_has_torchs_gradients(torch):
    a, b = (np.array(column) for column in zip(*itertools.product(DIVIDENDS, DIVISORS)))
    ours = ours_values_and_grads(lambda x, y: x % y, a, b)
    theirs = torch_values_and_grads(torch, torch.remainder, a, b)
    for mine, ref in zip(ours[1], theirs[1]):
        np.testing.assert_array_equal(mine, ref)


def test_floor_divide_is_flat():
    # PyTorch's backward raises for floor_divide; its slope is 0 wherever it exists.
    a, b = Tensor([7.0, -7.0], requires_grad=True), Tensor([2.0, 2.0], requires_grad=True)
    (a // b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0, 0])
    np.testing.assert_array_equal(b.grad, [0, 0])


def test_floor_divide_and_remainder_on_both_engines_and_reflected():
    for x, y in itertools.product(DIVIDENDS, DIVISORS):
        assert (Value(x) // y).data == x // y and (Value(x) % Value(y)).data == x % y
        assert (x // Value(y)).data == x // y and (x % Value(y)).data == x % y
    t = Tensor([7.0, -7.0])
    np.testing.assert_array_equal((9 // t).data, [1, -2])
    np.testing.assert_array_equal((9 % t).data, [2, -5])
    assert (Value(7.0) % 2.0)._op == "remainder" and (t // 2)._op == "floor_divide"


def test_remainder_by_a_value_takes_its_gradient():
    a, b = Value(7.5), Value(-2.0)
    (a % b).backward()
    assert (a.grad, b.grad) == (1.0, -(7.5 // -2.0))


# ----- logaddexp -------------------------------------------------------------------------------


def test_logaddexp_matches_torch_at_large_magnitudes_and_infinities(torch):
    a = np.array([1e4, -1e4, 3.0, 0.0, np.inf, -np.inf, np.inf, -np.inf, 2.0])
    b = np.array([-1e4, -1e4, 3.0, 1e-300, np.inf, -np.inf, -np.inf, 5.0, -np.inf])
    ours = Tensor(a).logaddexp(Tensor(b)).data
    assert_same(ours, torch.logaddexp(torch.tensor(a), torch.tensor(b)).numpy())
    assert Value(-math.inf).logaddexp(-math.inf).data == -math.inf


def test_logaddexp_gradients_match_torch(torch):
    a = np.array([1e4, -1e4, 3.0, 0.0, -np.inf, 2.0, -40.0])
    b = np.array([-1e4, -1e4, 3.0, 1e-300, 5.0, -np.inf, 40.0])
    ours = ours_values_and_grads(lambda x, y: x.logaddexp(y), a, b)
    theirs = torch_values_and_grads(torch, torch.logaddexp, a, b)
    for mine, ref in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(mine, ref, rtol=1e-14, atol=1e-300)


def test_new_ops_are_registered_on_both_engines():
    for name in ("square", "reciprocal", "rsqrt", "erf", "erfc", "floor_divide", "remainder",
                 "logaddexp"):
        assert name in tg.ops.names() and hasattr(Value, name) and hasattr(Tensor, name)
        assert tg.ops.get(name).elementwise and tg.ops.get(name).doc
