"""Learning-rate schedules give PyTorch's sequences; clip_grad_norm_ gives PyTorch's norms
and clipped gradients. The parity tests skip without PyTorch (pip install torch==2.13.0)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tinygrad_nn import Tensor, Value, load, nn, save
from tinygrad_nn.optim import SGD, Adam, lr_scheduler

EPOCHS = 25


def lr_sequence(optimizer, scheduler, epochs=EPOCHS):
    """Every group's rate during each epoch (as an epoch's optimizer steps see it)."""
    rates = []
    for _ in range(epochs):
        rates.append([group["lr"] for group in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return rates


SCHEDULES = [
    ("StepLR", {"step_size": 3}),
    ("StepLR", {"step_size": 4, "gamma": 0.5}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),  # 25 epochs: past T_max, the cosine goes back up
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.01}),
    ("LambdaLR", {"lr_lambda": lambda epoch: 1.0 / (1.0 + epoch)}),
    ("LambdaLR", {"lr_lambda": [lambda e: 0.95**e, lambda e: 1.0 if e < 5 else 0.1]}),
]


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES,
                         ids=[f"{n}-{i}" for i, (n, _) in enumerate(SCHEDULES)])
def test_schedules_match_pytorch(name, kwargs):
    torch = pytest.importorskip("torch")
    ours = SGD([{"params": [Value(1.0)]}, {"params": [Value(2.0)], "lr": 0.3}], lr=0.1)
    theirs = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                              {"params": [torch.zeros(1, requires_grad=True)], "lr": 0.3}],
                             lr=0.1)
    ours_scheduler = getattr(lr_scheduler, name)(ours, **kwargs)
    theirs_scheduler = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    np.testing.assert_allclose(lr_sequence(ours, ours_scheduler),
                               lr_sequence(theirs, theirs_scheduler), rtol=1e-12, atol=1e-15)
    assert ours_scheduler.get_last_lr() == pytest.approx(theirs_scheduler.get_last_lr(),
                                                          rel=1e-12)
    assert ours.param_groups[0]["initial_lr"] == 0.1


def test_step_lr_by_hand():
    optimizer = SGD([Value(0.0)], lr=1.0)
    scheduler = lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    assert scheduler.get_last_lr() == [1.0]  # epoch 0's rate is set on creation
    rates = [rate for [rate] in lr_sequence(optimizer, scheduler, epochs=6)]
    assert rates == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01, 0.01])


def test_cosine_reaches_eta_min_at_t_max():
    optimizer = Adam([Value(0.0)], lr=0.5)
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=4, eta_min=0.1)
    rates = [rate for [rate] in lr_sequence(optimizer, scheduler, epochs=5)]
    assert rates[0] == 0.5 and rates[2] == pytest.approx(0.3) and rates[4] == pytest.approx(0.1)


def test_a_scheduler_state_dict_resumes_the_schedule(tmp_path):
    def make():
        optimizer = SGD([Value(0.0)], lr=1.0)
        return optimizer, lr_scheduler.ExponentialLR(optimizer, gamma=0.5)

    _, scheduler = make()
    for _ in range(3):
        scheduler.step()
    save(scheduler.state_dict(), tmp_path / "scheduler.safetensors")
    resumed_optimizer, resumed = make()
    resumed.load_state_dict(load(tmp_path / "scheduler.safetensors"))
    assert resumed.last_epoch == 3 and resumed.get_last_lr() == [0.125]
    resumed.step()
    assert resumed_optimizer.param_groups[0]["lr"] == 0.0625
    with pytest.raises(ValueError, match="last_epoch must be"):
        resumed.load_state_dict({"last_epoch": np.asarray(-2), "base_lrs": np.ones(1)})
    with pytest.raises(ValueError, match="base_lrs must be 1 finite rates"):
        resumed.load_state_dict({"last_epoch": np.asarray(1), "base_lrs": np.ones(2)})
    assert resumed.last_epoch == 4  # unchanged by the refusals


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size must be a whole number"),
        (lambda o: lr_scheduler.StepLR(o, step_size=2, gamma=math.nan), "gamma must be"),
        (lambda o: lr_scheduler.ExponentialLR(o, gamma=-0.5), "gamma must be"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2.5), "T_max must be"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2, eta_min=-1), "eta_min"),
        (lambda o: lr_scheduler.LambdaLR(o, [abs, abs]), "one per parameter group"),
    ],
)
def test_bad_schedule_arguments_are_explained(make, match):
    with pytest.raises(ValueError, match=match):
        make(SGD([Value(0.0)], lr=0.1))


def test_resuming_at_an_epoch_needs_initial_rates():
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(SGD([Value(0.0)], lr=0.1), step_size=2, last_epoch=3)


# ----- clip_grad_norm_ ----------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    grads = [rng.normal(size=(3, 4)), rng.normal(size=5), None]
    ours = [Tensor(np.zeros(g.shape if g is not None else 2), requires_grad=True) for g in grads]
    theirs = [torch.zeros(p.shape, dtype=torch.float64, requires_grad=True) for p in ours]
    for p, q, g in zip(ours, theirs, grads):
        p.grad = None if g is None else g.copy()
        q.grad = None if g is None else torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert total == pytest.approx(float(expected), rel=1e-12)
    for p, q in zip(ours[:2], theirs[:2]):
        np.testing.assert_allclose(p.grad, q.grad.numpy(), rtol=1e-12)
    assert ours[2].grad is None


def test_clip_grad_norm_on_values_and_a_single_tensor():
    a, b = Value(0.0), Value(0.0)
    a.grad, b.grad = 3.0, 4.0
    assert nn.utils.clip_grad_norm_([a, b], max_norm=1.0) == pytest.approx(5.0)
    assert math.hypot(a.grad, b.grad) == pytest.approx(1.0, rel=1e-5)
    t = Tensor(np.zeros(2, np.float32), requires_grad=True)
    t.grad = np.array([3.0, 4.0], np.float32)
    assert nn.utils.clip_grad_norm_(t, 10.0) == pytest.approx(5.0)
    np.testing.assert_array_equal(t.grad, [3.0, 4.0])  # under the limit: untouched
    assert t.grad.dtype == np.float32
    assert nn.utils.clip_grad_norm_([Tensor(np.zeros(2), requires_grad=True)], 1.0) == 0.0


def test_clip_grad_norm_of_non_finite_gradients():
    t = Tensor(np.zeros(2), requires_grad=True)
    t.grad = np.array([np.nan, 1.0])
    with pytest.raises(RuntimeError, match="error_if_nonfinite=False"):
        nn.utils.clip_grad_norm_([t], 1.0, error_if_nonfinite=True)
    assert math.isnan(nn.utils.clip_grad_norm_([t], 1.0))
    assert np.isnan(t.grad).all()  # as PyTorch: a NaN norm spreads
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_([t], 1.0, norm_type=0)
