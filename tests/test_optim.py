"""Optimizers follow their published update rules (PyTorch's), on Values and Tensors."""

import math

import numpy as np
import pytest

from tinygrad_nn import Tensor, Value
from tinygrad_nn.optim import SGD, Adam

P0 = [0.5, -1.5, 2.0]
GRADS = [[0.1, -0.2, 0.3], [0.4, 0.0, -0.6], [-0.2, 0.5, 0.1]]  # one row per step


def run(make_optimizer, steps=3):
    """Parameters after ``steps`` updates with the gradients above."""
    params = [Value(p) for p in P0]
    optimizer = make_optimizer(params)
    for grads in GRADS[:steps]:
        for p, g in zip(params, grads):
            p.grad = g
        optimizer.step()
    return [p.data for p in params]


def by_hand_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0):
    p, buffer = np.array(P0), None
    for g in map(np.array, GRADS):
        g = g + weight_decay * p
        if momentum:
            buffer = g.copy() if buffer is None else momentum * buffer + g
            g = g + momentum * buffer if nesterov else buffer
        p = p - lr * g
    return p


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 0.1},
        {"lr": 0.1, "momentum": 0.9},
        {"lr": 0.1, "momentum": 0.9, "nesterov": True},
        {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01},
        {"lr": 0.05, "weight_decay": 0.1},
    ],
)
def test_sgd_matches_its_update_rule(kwargs):
    assert run(lambda ps: SGD(ps, **kwargs)) == pytest.approx(by_hand_sgd(**kwargs), abs=1e-15)


def test_plain_sgd_first_step_by_hand():
    assert run(lambda ps: SGD(ps, lr=0.1), steps=1) == pytest.approx([0.49, -1.48, 1.97])


def by_hand_adam(lr, beta1, beta2, eps, weight_decay=0.0):
    p = np.array(P0)
    m = np.zeros(3)
    v = np.zeros(3)
    for t, g in enumerate(map(np.array, GRADS), start=1):
        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return p


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        {"lr": 0.1, "beta1": 0.5, "beta2": 0.9, "eps": 1e-3},
        {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.1},
    ],
)
def test_adam_matches_its_update_rule(kwargs):
    expected = by_hand_adam(**kwargs)
    betas = (kwargs.pop("beta1"), kwargs.pop("beta2"))
    assert run(lambda ps: Adam(ps, betas=betas, **kwargs)) == pytest.approx(expected, abs=1e-15)


def test_adam_first_step_moves_each_parameter_by_about_lr():
    # With bias correction the first step is lr * g / (|g| + eps): the sign of g times lr.
    after = run(lambda ps: Adam(ps, lr=0.01), steps=1)
    moved = [a - b for a, b in zip(after, P0)]
    assert moved == pytest.approx([-0.01, 0.01, -0.01], rel=1e-6)


@pytest.mark.parametrize(
    "make", [lambda ps: SGD(ps, lr=0.1, momentum=0.9), lambda ps: Adam(ps, lr=0.1)]
)
def test_state_dict_resumes_exactly(make):
    straight = run(make)

    params = [Value(p) for p in P0]
    first = make(params)
    for p, g in zip(params, GRADS[0]):
        p.grad = g
    first.step()
    saved = first.state_dict()

    resumed = make(params)
    resumed.load_state_dict(saved)
    for grads in GRADS[1:]:
        for p, g in zip(params, grads):
            p.grad = g
        resumed.step()
    assert [p.data for p in params] == straight


def test_load_state_dict_that_does_not_fit_changes_nothing():
    optimizer = SGD([Value(1.0), Value(2.0)], lr=0.1, momentum=0.9)
    before = optimizer.state_dict()
    bad = {"steps": np.asarray(3), "state.0.momentum_buffer": np.zeros(5)}
    with pytest.raises(ValueError, match="does not fit"):
        optimizer.load_state_dict(bad)
    with pytest.raises(ValueError, match="unexpected key 'oops'"):
        optimizer.load_state_dict({**before, "oops": np.zeros(1)})
    assert optimizer.steps == 0 and optimizer.state_dict().keys() == before.keys()


def test_zero_grad_resets_value_grads():
    params = [Value(1.0), Value(2.0)]
    for p in params:
        p.grad = 3.0
    SGD(params, lr=0.1).zero_grad()
    assert [p.grad for p in params] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("make", "error", "match"),
    [
        (lambda: SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda: SGD([Value(1.0)], lr=-1.0), ValueError, "lr must be >= 0"),
        (lambda: SGD([Value(1.0)], lr=0.1, nesterov=True), ValueError, "momentum > 0"),
        (lambda: Adam([Value(1.0)], betas=(1.0, 0.9)), ValueError, "betas"),
        (lambda: SGD([1.0], lr=0.1), TypeError, "Values or Tensors"),
    ],
)
def test_bad_arguments_are_explained(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_sgd_trains_a_value_to_a_minimum():
    x = Value(3.0)
    optimizer = SGD([x], lr=0.1, momentum=0.5)
    for _ in range(100):
        optimizer.zero_grad()
        ((x - 1.0) ** 2).backward()
        optimizer.step()
    assert math.isclose(x.data, 1.0, abs_tol=1e-6)


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda ps: Adam(ps, lr=0.1, weight_decay=0.01),
    ],
)
def test_tensors_get_the_same_updates_as_values(make):
    expected = run(make)
    p = Tensor(np.array(P0), requires_grad=True)
    data_before = p.data
    optimizer = make([p])
    for grads in GRADS:
        p.grad = np.array(grads)
        optimizer.step()
    np.testing.assert_allclose(p.data, expected, rtol=0, atol=1e-15)
    assert p.data is data_before  # updated in place: views and references stay valid


def test_float32_tensors_stay_float32():
    p = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    optimizer = Adam([p], lr=0.1)
    p.grad = np.ones(3, dtype=np.float32)
    optimizer.step()
    assert p.data.dtype == np.float32
    assert optimizer.state_dict()["state.0.exp_avg"].dtype == np.float32


def test_tensors_without_a_gradient_are_skipped():
    p = Tensor(np.ones(2), requires_grad=True)
    SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(p.data, [1.0, 1.0])


def test_a_tensor_that_does_not_require_grad_is_refused():
    with pytest.raises(TypeError, match="requires_grad=True"):
        SGD([Tensor(np.ones(2))], lr=0.1)
