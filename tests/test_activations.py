"""The activation registry, and every registered activation proven on the scalar engine.

The parametrized tests are generated from `activations.names()`; the `toy_activation`
fixture shows that a newly registered activation is picked up by the same checks.
"""

import math

import pytest

from tinygrad_nn import Value, activations
from tinygrad_nn.testing import GradcheckError, check_activation, check_activation_property

BUILT_INS = ["identity", "step", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu",
             "softplus"]


def test_built_ins_are_registered_in_order():
    assert activations.names()[: len(BUILT_INS)] == BUILT_INS


@pytest.mark.parametrize("name", activations.names())
def test_is_a_value_method_with_its_own_op_label(name):
    out = getattr(Value(0.5), name)()
    assert out._op == name
    assert getattr(Value, name).__doc__ == activations.get(name).doc


@pytest.mark.parametrize("name", activations.names())
@pytest.mark.parametrize("x", [-1e4, -50.0, 50.0, 1e4])
def test_finite_for_large_inputs(name, x):
    v = Value(x)
    out = getattr(v, name)()
    out.backward()
    assert math.isfinite(out.data) and math.isfinite(v.grad)


@pytest.mark.parametrize(
    ("name", "x", "expected", "slope"),
    [
        ("sigmoid", 0.0, 0.5, 0.25),
        ("sigmoid", -1e4, 0.0, 0.0),
        ("sigmoid", 1e4, 1.0, 0.0),
        ("tanh", 0.0, 0.0, 1.0),
        ("relu", -2.0, 0.0, 0.0),
        ("relu", 0.0, 0.0, 0.0),
        ("relu", 3.0, 3.0, 1.0),
        ("leaky_relu", -2.0, -0.02, 0.01),
        ("elu", -1e4, -1.0, 0.0),
        ("softplus", 1e4, 1e4, 1.0),
        ("softplus", 0.0, math.log(2.0), 0.5),
        ("softplus", -1e4, 0.0, 0.0),
        ("step", 2.0, 1.0, 0.0),
        ("step", -2.0, 0.0, 0.0),
        ("identity", -2.0, -2.0, 1.0),
        ("silu", 0.0, 0.0, 0.5),
        ("gelu", 0.0, 0.0, 0.5),
    ],
)
def test_known_values_and_slopes(name, x, expected, slope):
    v = Value(x)
    out = getattr(v, name)()
    out.backward()
    assert out.data == pytest.approx(expected, abs=1e-12)
    assert v.grad == pytest.approx(slope, abs=1e-12)


def test_tanh_is_a_scaled_sigmoid():
    for x in (-3.0, -0.5, 0.0, 0.7, 4.0):
        assert Value(x).tanh().data == pytest.approx(2 * Value(2 * x).sigmoid().data - 1)


def test_params_bind_positionally_and_by_keyword():
    assert Value(-2.0).leaky_relu(0.1).data == pytest.approx(-0.2)
    assert Value(-2.0).leaky_relu(alpha=0.1).data == pytest.approx(-0.2)
    assert Value(-2.0).leaky_relu().data == pytest.approx(-0.02)
    with pytest.raises(TypeError, match="leaky_relu"):
        Value(-2.0).leaky_relu(0.1, 0.2)
    with pytest.raises(TypeError, match="alpha"):
        Value(-2.0).leaky_relu(alpha="big")
    with pytest.raises(TypeError, match="beta"):
        Value(-2.0).leaky_relu(beta=1.0)


def test_unknown_activation_names_the_registered_ones():
    with pytest.raises(ValueError, match=r"unknown activation 'swish2'.*relu"):
        activations.get("swish2")


# ----- Registering -----------------------------------------------------------------------------


@pytest.fixture
def toy_activation():
    """A user activation, registered for one test and then removed again."""
    activations.register(
        "cube_tanh",
        forward=lambda x, ops, scale=1.0: ops.tanh(scale * x * x * x),
        deriv=lambda x, out, ops, scale=1.0: 3.0 * scale * x * x * (1.0 - out * out),
        domain=(-1.5, 1.5),
        params={"scale": (0.1, 2.0)},
        doc="cube_tanh(x) = tanh(scale * x^3)",
    )
    yield "cube_tanh"
    activations.unregister("cube_tanh")


def test_a_registered_activation_is_everywhere_at_once(toy_activation):
    assert toy_activation in activations.names()
    x = Value(0.5)
    out = x.cube_tanh(scale=2.0)
    out.backward()
    assert out._op == "cube_tanh"
    assert out.data == pytest.approx(math.tanh(0.25))
    check_activation_property(toy_activation)


def test_unregister_removes_the_method():
    activations.register("double", forward=lambda x, ops: 2 * x, deriv=lambda x, out, ops: 2.0)
    assert Value(1.0).double().data == 2.0
    activations.unregister("double")
    assert not hasattr(Value(1.0), "double")
    assert "double" not in activations.names()
    with pytest.raises(KeyError, match="double"):
        activations.unregister("double")


def test_a_wrong_derivative_is_caught():
    activations.register(
        "bad_softsign",
        forward=lambda x, ops: x / (1.0 + ops.abs(x)),
        deriv=lambda x, out, ops: 1.0 / (1.0 + ops.abs(x)),  # should be squared
        kinks=(0.0,),
    )
    try:
        with pytest.raises(GradcheckError, match="bad_softsign"):
            check_activation("bad_softsign", 2.0)
        with pytest.raises(GradcheckError):
            check_activation_property("bad_softsign")
    finally:
        activations.unregister("bad_softsign")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"name": "exp"}, ValueError,
         r"op 'exp' is already registered"),
        ({"name": "relu"}, ValueError, "already registered"),
        ({"name": "2fast"}, ValueError, "identifier"),
        ({"name": "_private"}, ValueError, "must not start with '_'"),
        ({"forward": lambda y, ops: y}, TypeError, r"forward must take \(x, ops"),
        ({"deriv": lambda x, ops: x}, TypeError, r"deriv must take \(x, out, ops"),
        ({"forward": lambda x, ops, a: x}, TypeError, "needs a numeric default"),
        ({"forward": lambda x, ops, a=1.0: x}, TypeError, "must match"),
        ({"params": {"beta": (0, 1)}}, ValueError, "not parameters of forward"),
        ({"domain": (1.0, -1.0)}, ValueError, "domain"),
    ],
)
def test_register_rejects_bad_declarations(kwargs, error, match):
    declaration = {"name": "fine", "forward": lambda x, ops: x, "deriv": lambda x, out, ops: 1.0}
    with pytest.raises(error, match=match):
        activations.register(**{**declaration, **kwargs})
    assert "fine" not in activations.names()


def test_replace_swaps_the_rules():
    activations.register("twice", forward=lambda x, ops: 2 * x, deriv=lambda x, out, ops: 2.0)
    try:
        activations.register("twice", forward=lambda x, ops: 3 * x,
                             deriv=lambda x, out, ops: 3.0, replace=True)
        assert Value(1.0).twice().data == 3.0
    finally:
        activations.unregister("twice")
