"""Optimizers follow their published update rules (PyTorch's), on Values and Tensors;
parameter groups, refusals, and resuming from a state dict."""

import math

import numpy as np
import pytest

from tinygrad_nn import Tensor, Value, load, save
from tinygrad_nn.optim import SGD, Adam, AdamW, RMSprop

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
        (lambda: SGD([Value(1.0)], lr=-1.0), ValueError, r"lr must be a number in \[0, inf\)"),
        (lambda: SGD([Value(1.0)], lr=float("nan")), ValueError, "lr must be a number"),
        (lambda: RMSprop([Value(1.0)], alpha=1.5), ValueError,
         r"alpha must be a number in \[0, 1\]"),
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
        lambda ps: AdamW(ps, lr=0.1),
        lambda ps: RMSprop(ps, lr=0.01, momentum=0.5, centered=True, weight_decay=0.1),
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


# ----- PyTorch parity ---------------------------------------------------------------------

SHAPES = [(3, 4), (4,)]
CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.1, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.1, "betas": (0.8, 0.99), "weight_decay": 0.5}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.8, "centered": True,
                 "weight_decay": 0.1}),
]


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in
                                                           enumerate(CONFIGS)])
def test_updates_and_state_match_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    start = [rng.normal(size=shape) for shape in SHAPES]
    ours = [Tensor(a.copy(), requires_grad=True) for a in start]
    theirs = [torch.tensor(a, requires_grad=True) for a in start]
    optimizer = globals()[name](ours, **kwargs)
    reference = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(6):
        for i, (p, q) in enumerate(zip(ours, theirs)):
            if step == 2 and i == 1:  # no gradient: skipped, its step count stays
                p.grad, q.grad = None, None
                continue
            g = rng.normal(size=p.shape)
            p.grad, q.grad = g.copy(), torch.tensor(g)
        optimizer.step()
        reference.step()
        for p, q in zip(ours, theirs):
            np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12, atol=1e-14)
    for p, q in zip(ours, theirs):
        for key, value in reference.state[q].items():
            np.testing.assert_allclose(optimizer.state[p][key], value.numpy(), rtol=1e-12,
                                       atol=1e-14, err_msg=key)


def test_param_groups_and_changing_lr_match_pytorch():
    torch = pytest.importorskip("torch")
    a, b = np.ones(3), np.full(2, -1.0)
    ours = [Tensor(a.copy(), requires_grad=True), Tensor(b.copy(), requires_grad=True)]
    theirs = [torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)]
    optimizer = Adam([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.1}], lr=0.01)
    reference = torch.optim.Adam([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.1}],
                                 lr=0.01)
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, 0.1]
    for step in range(4):
        if step == 2:  # a step reads each group's current values
            for opt in (optimizer, reference):
                opt.param_groups[0]["lr"] = 0.5
                opt.param_groups[1]["betas"] = (0.5, 0.9)
        for p, q in zip(ours, theirs):
            g = np.sin(np.arange(p.shape[0]) + step)
            p.grad, q.grad = g, torch.tensor(g)
        optimizer.step()
        reference.step()
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=1e-12)


def test_a_zero_learning_rate_takes_effect():
    p = Tensor(np.ones(2), requires_grad=True)
    optimizer = SGD([p], lr=0.1)
    optimizer.param_groups[0]["lr"] = 0.0
    p.grad = np.ones(2)
    optimizer.step()
    np.testing.assert_array_equal(p.data, [1.0, 1.0])


def test_add_param_group_takes_the_defaults():
    optimizer = SGD([Value(1.0)], lr=0.1, momentum=0.9)
    optimizer.add_param_group({"params": [Value(2.0)], "lr": 0.5})
    assert optimizer.param_groups[1]["lr"] == 0.5 and optimizer.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="lr must be"):
        optimizer.add_param_group({"params": [Value(3.0)], "lr": -1.0})


# ----- Refusals ---------------------------------------------------------------------------


def test_an_attribute_the_optimizer_does_not_have_cannot_be_set():
    optimizer = Adam([Value(1.0)], lr=0.1)
    with pytest.raises(AttributeError, match=r"param_groups\[0\]\['lr'\]"):
        optimizer.lr = 0.0
    with pytest.raises(AttributeError, match=r"param_groups\[0\]\['lr'\]"):
        _ = optimizer.lr
    with pytest.raises(AttributeError, match="has no attribute 'learning_rate'"):
        optimizer.learning_rate = 0.0
    assert optimizer.param_groups[0]["lr"] == 0.1


@pytest.mark.parametrize("engine", ["tensor", "scalar"])
def test_a_parameter_given_twice_is_refused(engine):
    w = Tensor(np.ones(2), requires_grad=True) if engine == "tensor" else Value(1.0)
    with pytest.raises(ValueError, match=r"position 1 .* was given twice"):
        Adam([w, w])
    with pytest.raises(ValueError, match="given twice"):
        SGD([{"params": [w]}, {"params": [w], "lr": 0.5}], lr=0.1)


# ----- Resuming ---------------------------------------------------------------------------


def test_state_dict_resumes_exactly_through_a_file(tmp_path):
    def make(params):
        return Adam([{"params": params[:1]}, {"params": params[1:], "lr": 0.05}], lr=0.01)

    def train(params, optimizer, grads):
        for g in grads:
            for p in params:
                p.grad = np.full(p.shape, g) if isinstance(p, Tensor) else g
            optimizer.step()

    def fresh():
        return [Tensor(np.ones((2, 2)), requires_grad=True), Value(1.0), Value(-1.0)]

    straight = fresh()
    train(straight, make(straight), [0.1, -0.3, 0.2, 0.5])

    params = fresh()
    first = make(params)
    train(params, first, [0.1, -0.3])
    save(first.state_dict(), tmp_path / "optimizer.safetensors")
    resumed = make(params)
    resumed.load_state_dict(load(tmp_path / "optimizer.safetensors"))
    train(params, resumed, [0.2, 0.5])
    np.testing.assert_array_equal(params[0].data, straight[0].data)
    assert [v.data for v in params[1:]] == [v.data for v in straight[1:]]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"state.0.step": np.asarray(-1)}, "whole number >= 0"),
        ({"state.0.step": np.asarray(1.5)}, "whole number >= 0"),
        ({"param_groups.0.lr": np.asarray(np.nan)}, "lr must be a number"),
        ({"param_groups.0.betas": np.asarray([1.5, 0.999])}, "betas must be"),
        ({"param_groups.0.eps": np.asarray(-1.0)}, "eps must be"),
        ({"state.0.exp_avg": np.zeros(5)}, "does not fit"),
        ({"state.9.exp_avg": np.zeros(3)}, "does not fit"),
        ({"param_groups.3.lr": np.asarray(0.1)}, "1 parameter groups"),
        ({"oops": np.zeros(1)}, "unexpected key 'oops'"),
    ],
)
def test_a_bad_state_dict_is_refused_and_changes_nothing(change, match):
    p = Tensor(np.ones(3), requires_grad=True)
    optimizer = Adam([p], lr=0.1)
    p.grad = np.ones(3)
    optimizer.step()
    before = optimizer.state_dict()
    with pytest.raises(ValueError, match=match):
        optimizer.load_state_dict({**before, **change})
    after = optimizer.state_dict()
    assert after.keys() == before.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)
    p.grad = np.ones(3)
    optimizer.step()  # and still works


def test_a_step_invalidates_a_graph_that_saved_the_old_weights():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    optimizer = SGD([w], lr=1.0)
    y = (w**2).sum()
    w.grad = np.array([10.0, 10.0])
    optimizer.step()
    w.grad = None
    with pytest.raises(RuntimeError, match="changed in place"):
        y.backward()


def test_repr_lists_the_groups():
    text = repr(SGD([Value(1.0), Value(2.0)], lr=0.1))
    assert text == "SGD([2 parameters, lr=0.1, momentum=0.0, nesterov=False, weight_decay=0.0])"
