"""record_step: a replay gives exactly the eager step's loss and gradients, or refuses."""

from __future__ import annotations

import copy
import inspect
import threading

import numpy as np
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

import tinygrad_nn as tg
from tinygrad_nn import Tensor, nn, ops, optim
from tinygrad_nn.functions import function
from tinygrad_nn.nn import functional as F
from tinygrad_nn.tensor.tensor import bump_version
from tinygrad_nn.testing.strategies import op_cases

RNG = np.random.default_rng(0)


def batches(n: int, shape: tuple[int, ...], classes: int = 10, dtype: type = np.float32):
    rng = np.random.default_rng(1)
    return [(rng.normal(size=shape).astype(dtype), rng.integers(0, classes, shape[0]))
            for _ in range(n)]


def assert_same_training(model: nn.Module, loss_fn, data, lr: float = 0.1,
                         optimizer: type = optim.SGD) -> tg.RecordedStep:
    """Train two copies for len(data) steps, one eager and one recorded: every loss,
    gradient and parameter must be bit for bit the same."""
    twin = copy.deepcopy(model)
    eager_opt = optimizer(model.parameters(), lr=lr)
    step = tg.record_step(lambda *batch: loss_fn(twin, *batch))
    replay_opt = optimizer(twin.parameters(), lr=lr)
    for k, batch in enumerate(data):
        eager_opt.zero_grad()
        eager_loss = loss_fn(model, *(Tensor(b) if b.dtype.kind == "f" else b for b in batch))
        eager_loss.backward()
        replay_opt.zero_grad()
        replayed_loss = step(*batch)
        assert replayed_loss.item() == eager_loss.item(), f"step {k}: the losses differ"
        assert not replayed_loss.requires_grad
        for (name, p), q in zip(model.named_parameters(), twin.parameters()):
            np.testing.assert_array_equal(q.grad, p.grad, err_msg=f"step {k}: {name}.grad")
        eager_opt.step()
        replay_opt.step()
    for (name, p), q in zip(model.named_parameters(), twin.parameters()):
        np.testing.assert_array_equal(q.data, p.data, err_msg=name)
    assert step.traced == step.recordings, "the rules' NumPy calls were not traced"
    return step


def cross_entropy(model, x, y):
    return F.cross_entropy(model(x), y)


def test_an_mlp_trains_the_same_recorded_and_eager():
    step = assert_same_training(nn.MLP(8, [16, 16, 10], activation="tanh", seed=0),
                                cross_entropy, batches(6, (12, 8)))
    assert step.recordings == 1  # recorded once, replayed five times


def test_a_step_with_large_temporaries_frees_them_as_it_goes_and_trains_the_same():
    step = assert_same_training(nn.MLP(64, [256, 10], seed=0), cross_entropy,
                                batches(3, (128, 64)))
    source = inspect.getsource(next(iter(step._programs.values()))._traced)
    assert "    del t" in source  # the (128, 256) activations: freed after their last use


def test_convolution_normalisation_and_adam_train_the_same():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.Activation("relu"),
                          nn.MaxPool2d(2), nn.Flatten(), nn.LayerNorm(64),
                          nn.Linear(64, 10, seed=1))
    assert_same_training(model, cross_entropy, batches(4, (5, 1, 8, 8)),
                         optimizer=optim.Adam, lr=1e-2)


def test_a_parameter_used_twice_and_float64_and_a_mean_squared_error():
    layer = nn.Linear(4, 4, seed=0, dtype=np.float64)

    def loss_fn(model, x, target):
        hidden = model(model(x).sigmoid())  # the same weight at two places in the graph
        return F.mse(hidden, target)

    rng = np.random.default_rng(2)
    data = [(rng.normal(size=(3, 4)), rng.normal(size=(3, 4))) for _ in range(3)]
    assert_same_training(layer, loss_fn, data)


def test_a_registered_user_op_replays_with_its_own_rules():
    name = "recorded_test_square_plus"
    ops.register(name, forward=lambda x, ops: x * x + x,
                 grads=(lambda g, x, out, ops: g * (2 * x + 1),))
    try:
        def loss_fn(model, x, y):
            return F.cross_entropy(getattr(model(x), name)(), y)

        assert_same_training(nn.Linear(6, 10, seed=0), loss_fn, batches(3, (4, 6)))
    finally:
        ops.unregister(name)


def test_an_embedding_takes_its_indices_as_an_input_and_checks_them_at_every_replay():
    class Bag(nn.Module):  # mean of the embedded tokens, then a linear classifier
        def __init__(self) -> None:
            self.embed, self.head = nn.Embedding(20, 6, seed=0), nn.Linear(6, 10, seed=1)

        def forward(self, tokens):
            return self.head(self.embed(tokens).mean(axis=1))

    rng = np.random.default_rng(3)
    data = [(rng.integers(0, 20, (5, 7)), rng.integers(0, 10, 5)) for _ in range(4)]
    step = assert_same_training(Bag(), cross_entropy, data)
    assert step.recordings == 1
    with pytest.raises(IndexError, match=r"embedding .*indices must lie in \[0, 20\)"):
        step(np.full((5, 7), 20), data[0][1])


def test_a_new_batch_shape_records_again_and_old_shapes_replay():
    model = nn.MLP(8, [10], seed=0)
    step = tg.record_step(lambda x, y: cross_entropy(model, x, y))
    for batch in batches(2, (12, 8)) + batches(2, (5, 8)) + batches(2, (12, 8)):
        step(*batch)
    assert step.recordings == 2


def test_switching_train_and_eval_records_again():
    model = nn.Sequential(nn.Linear(8, 10, seed=0), nn.Dropout(0.5, seed=0))
    model.eval()  # dropout passes its input through: recordable
    step = tg.record_step(lambda x, y: cross_entropy(model, x, y))
    x, y = batches(1, (4, 8))[0]
    step(x, y)
    step(x, y)
    assert step.recordings == 1
    model.train()  # now dropout draws masks: the step must be recorded again, and refuses
    with pytest.raises(RuntimeError, match="dropout mask"):
        step(x, y)


def test_turning_off_requires_grad_records_again():
    model = nn.MLP(8, [6, 10], seed=0)
    step = tg.record_step(lambda x, y: cross_entropy(model, x, y))
    x, y = batches(1, (4, 8))[0]
    step(x, y)
    frozen = model.layers[0].weight
    frozen.requires_grad = False
    frozen.grad = None
    step(x, y)
    assert step.recordings == 2 and frozen.grad is None


def test_a_parameter_given_an_array_of_another_shape_records_again():
    weight = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    step = tg.record_step(lambda x: (x @ weight).sum())
    step(np.ones((4, 3), np.float32))
    weight.data = np.ones((3, 5), np.float32)
    weight.grad = None
    step(np.ones((4, 3), np.float32))
    assert step.recordings == 2 and weight.grad.shape == (3, 5)
    np.testing.assert_array_equal(weight.grad, np.full((3, 5), 4.0))


@pytest.mark.parametrize("reason, loss_fn, match", [
    ("reads a value", lambda m, x, y: cross_entropy(m, x, y) * float(m(x).sum().item() > 0),
     "reads a tensor's value"),
    ("branches on a value", lambda m, x, y: cross_entropy(m, x, y) if m(x).sum() > 0
     else cross_entropy(m, x, y) * 2, "branches on a tensor's value"),
    ("makes data inside", lambda m, x, y: F.cross_entropy(m(x) + Tensor(np.ones(10)), y),
     "not one of its inputs"),
    ("an index array", lambda m, x, y: -m(x).log_softmax(axis=1)[np.arange(4), y].mean(),
     "array parameter"),
    ("changes a tensor", lambda m, x, y: m.layers[0].weight.add_(1.0) or
     cross_entropy(m, x, y), "in place"),
])
def test_what_a_replay_would_lose_is_refused(reason, loss_fn, match):
    model = nn.MLP(8, [10], seed=0)
    step = tg.record_step(lambda x, y: loss_fn(model, x, y))
    with pytest.raises(RuntimeError, match=match):
        step(*batches(1, (4, 8))[0])


def test_a_result_computed_before_the_step_is_refused():
    weight = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    doubled = weight * 2  # a graph node made outside: a replay would not recompute it
    step = tg.record_step(lambda x: (x @ doubled).sum())
    with pytest.raises(RuntimeError, match="result computed before the step"):
        step(np.ones((4, 3), np.float32))


def test_batchnorm_in_training_mode_is_refused_and_recorded_in_eval_mode():
    model = nn.Sequential(nn.Linear(8, 10, seed=0), nn.BatchNorm1d(10))
    step = tg.record_step(lambda x, y: cross_entropy(model, x, y))
    batch = batches(1, (4, 8))[0]
    with pytest.raises(RuntimeError, match=r"reads a tensor's values|in place"):
        step(*batch)  # the running statistics: a replay would not update them
    model.eval()
    step(*batch)
    assert step.recordings == 1


def test_an_optimizer_step_inside_the_loss_function_is_refused():
    model = nn.MLP(8, [10], seed=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1)

    def whole_step(x, y):
        loss = cross_entropy(model, x, y)
        loss.backward()
        optimizer.step()
        return loss

    with pytest.raises(RuntimeError, match="in place"):
        tg.record_step(whole_step)(*batches(1, (4, 8))[0])


def test_labels_out_of_range_raise_at_every_replay():
    model = nn.MLP(8, [10], seed=0)
    step = tg.record_step(lambda x, y: cross_entropy(model, x, y))
    x, y = batches(1, (4, 8))[0]
    step(x, y)
    for bad in (np.array([0, 1, 10, 2]), np.array([0, -1, 3, 2])):
        with pytest.raises(ValueError, match=r"cross_entropy .*labels must lie in \[0, 10\)"):
            step(x, bad)


def test_a_parameter_changed_while_the_rules_replay_raises():
    name = "recorded_test_meddler"
    weight = Tensor(np.ones((3, 3), np.float32), requires_grad=True)
    meddling = {"on": False}

    def forward(x, ops):
        if meddling["on"]:  # what another thread's optimizer step would do, mid-replay
            bump_version(weight)
        return np.asarray(x) * 1.0  # (np.asarray: a replay of traced calls cannot follow)

    ops.register(name, forward=forward, grads=(lambda g, x, out, ops: g,))
    try:
        step = tg.record_step(lambda x: getattr(x @ weight, name)().sum())
        x = np.ones((2, 3), np.float32)
        step(x)
        assert step.traced == 0  # the rules themselves replay
        meddling["on"] = True
        weight.grad = None
        with pytest.raises(RuntimeError, match="changed in place while it ran"):
            step(x)
        assert weight.grad is None  # nothing half-stored
    finally:
        ops.unregister(name)


def test_a_parameter_changed_while_a_traced_replay_runs_raises():
    weight = Tensor(np.ones((3, 3), np.float32), requires_grad=True)
    step = tg.record_step(lambda x: (x @ weight).tanh().sum())
    x = np.ones((2, 3), np.float32)
    step(x)
    assert step.traced == 1
    traced = next(iter(step._programs.values()))._traced
    # Another thread's optimizer step, made while the replay computes tanh.
    name = next(k for k, v in traced.__globals__.items() if getattr(v, "__name__", "") == "tanh")
    tanh = traced.__globals__[name]

    def meddling_tanh(*args, **kwargs):
        bump_version(weight)
        return tanh(*args, **kwargs)

    traced.__globals__[name] = meddling_tanh
    weight.grad = None
    with pytest.raises(RuntimeError, match="changed in place while it ran"):
        step(x)
    assert weight.grad is None


def test_a_rule_that_decides_on_the_data_replays_the_other_way_exactly():
    # The traced replay keeps the rule's decision as a guard; data that decides the other
    # way runs the rule itself, so every step is the eager one.
    name = "recorded_test_branching"

    def grad_rule(g, x, out, ops):
        return g * (2.0 if bool(ops.all(x > 0)) else -3.0)

    ops.register(name, forward=lambda x, ops: x * 2.0, grads=(grad_rule,))
    try:
        def loss_fn(model, x, sign, y):  # every input to the op > 0 exactly when sign > 0
            return F.cross_entropy(getattr(model(x).exp() * sign, name)(), y)

        rng = np.random.default_rng(4)
        data = [(rng.normal(size=(4, 6)).astype(np.float32), np.array([sign], np.float32),
                 rng.integers(0, 10, 4)) for sign in (1, 1, -1, 1, -1)]
        step = assert_same_training(nn.Linear(6, 10, seed=0), loss_fn, data)
        assert step.recordings == 1
        # Data that keeps deciding otherwise: the traced code stops being tried.
        program = next(iter(step._programs.values()))
        for x, _, y in data[:1] * 12:
            step(x, np.array([-1.0], np.float32), y)
        assert program._traced is None and step.recordings == 1
    finally:
        ops.unregister(name)


def test_a_rule_that_draws_random_numbers_replays_the_rule_itself():
    # A trace would keep the noise it saw as a constant; recording notices that tracing
    # and the rule disagree, and replays the rule.
    name = "recorded_test_noisy"
    rng = np.random.default_rng(5)
    ops.register(name, forward=lambda x, ops: x + rng.normal(size=x.shape).astype(x.dtype),
                 grads=(lambda g, x, out, ops: g,))
    try:
        weight = Tensor(np.ones((3, 3), np.float32), requires_grad=True)
        step = tg.record_step(lambda x: getattr(x @ weight, name)().sum())
        losses = {step(np.ones((2, 3), np.float32)).item() for _ in range(4)}
        assert step.traced == 0 and len(losses) == 4
    finally:
        ops.unregister(name)


@pytest.mark.parametrize("select", [
    lambda x, ops: x[x > 0],  # a mask
    lambda x, ops: ops.reshape(x * (x > 0), (-1,))[:ops.sum(x > 0)],  # bounds from values
], ids=["mask", "slice"])
def test_a_rule_that_selects_by_the_values_replays_the_rule_itself(select):
    # The selection has as many elements as the data has positive ones: a trace could not
    # keep the count it read (here, to take a mean), so the rule itself replays.
    name = "recorded_test_mean_of_positives"

    def forward(x, ops):
        positive = select(x, ops)
        return ops.sum(positive) / max(positive.shape[0], 1)

    def grad_rule(g, x, out, ops):
        mask = x > 0
        return ops.where(mask, g, 0.0) / ops.maximum(ops.sum(mask), 1)

    ops.register(name, forward=forward, grads=(grad_rule,), elementwise=False, method=False)
    try:
        weight = Tensor(np.eye(3), requires_grad=True)
        mean_of_positives = tg.functions.function(name)
        step = tg.record_step(lambda x: mean_of_positives(x @ weight))
        for x in ([[1.0, 2.0, -1.0]], [[1.0, 2.0, 3.0]], [[-1.0, 4.0, -2.0]]):
            x = np.array(x)
            eager = mean_of_positives(Tensor(x) @ weight)
            expected = tg.grad(eager, [weight])[0].data
            weight.grad = None
            assert step(x).item() == eager.item()
            np.testing.assert_array_equal(weight.grad, expected)
        assert step.traced == 0
    finally:
        ops.unregister(name)


def test_replays_in_several_threads_lose_no_gradient():
    model = nn.MLP(8, [16, 10], seed=0)
    step = tg.record_step(lambda x, y: cross_entropy(model, x, y))
    batch = batches(1, (6, 8))[0]
    step(*batch)
    one = [p.grad.copy() for p in model.parameters()]
    for p in model.parameters():
        p.grad = None
    threads = [threading.Thread(target=lambda: [step(*batch) for _ in range(20)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p, g in zip(model.parameters(), one):
        np.testing.assert_allclose(p.grad, 80 * g, rtol=1e-4)


def test_replays_keep_memory_flat():
    import gc
    import tracemalloc

    model = nn.MLP(8, [16, 10], seed=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    step = tg.record_step(lambda x, y: cross_entropy(model, x, y))
    batch = batches(1, (6, 8))[0]

    def train(n):
        for _ in range(n):
            optimizer.zero_grad()
            step(*batch)
            optimizer.step()

    train(5)
    gc.collect()
    tracemalloc.start()
    try:
        train(10)
        gc.collect()
        after_ten, _ = tracemalloc.get_traced_memory()
        train(200)
        gc.collect()
        after_more, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after_more - after_ten < 20_000  # nothing kept per step


def test_the_loss_must_be_a_single_element_computed_by_the_step():
    model = nn.Linear(3, 2, seed=0)
    with pytest.raises(RuntimeError, match="single-element"):
        tg.record_step(lambda x: model(x))(np.ones((4, 3), np.float32))


def test_inputs_take_no_gradient():
    model = nn.Linear(3, 1, seed=0)
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match="input 0 requires grad"):
        tg.record_step(lambda x: model(x).sum())(x)


def test_a_step_inside_another_recording_is_refused():
    model = nn.Linear(3, 1, seed=0)
    inner = tg.record_step(lambda x: model(x).sum())
    outer = tg.record_step(lambda x: inner(x) * model(x).sum())
    with pytest.raises(RuntimeError, match="inside the recording of another"):
        outer(np.ones((2, 3), np.float32))


def test_under_no_grad_or_anomaly_mode_the_step_runs_eagerly():
    model = nn.Linear(3, 1, seed=0)
    step = tg.record_step(lambda x: model(x).sum())
    x = np.ones((2, 3), np.float32)
    with tg.detect_anomaly():
        step(x)
    assert step.recordings == 0 and model.weight.grad is not None
    with tg.no_grad(), pytest.raises(RuntimeError, match="does not require grad"):
        step(x)


# ----- Every registered op, generated from the registry ------------------------------------


def _replay_matches_eager(name: str, case) -> None:
    """Record sum(op(*inputs) * weights) with its float inputs as parameters; replay it as
    recorded, then after the parameters moved (new data of the same shapes, as after an
    optimizer step): every loss and gradient must be the eager one, bit for bit."""
    op_function = function(name)
    floats = [k for k, x in enumerate(case.inputs)
              if isinstance(x, np.ndarray) and x.dtype.kind == "f"]
    if not floats:
        reject()
    params = {k: Tensor(case.inputs[k].copy(), requires_grad=True) for k in floats}
    data = [x for k, x in enumerate(case.inputs) if k not in params]

    def loss_fn(weights, *rest):
        rest_iter = iter(rest)
        args = [params[k] if k in params else next(rest_iter) for k in range(len(case.inputs))]
        out = op_function(*args, **case.params)
        parts = out if isinstance(out, (tuple, list)) else [out]
        return sum((part * w).sum() for part, w in zip(parts, weights.split(1, axis=0)))

    with tg.no_grad():
        probe = op_function(*[params.get(k, x) for k, x in enumerate(case.inputs)],
                            **case.params)
    parts = probe if isinstance(probe, (tuple, list)) else [probe]
    if not parts or parts[0].dtype.kind != "f" or any(p.shape != parts[0].shape for p in parts):
        reject()  # a boolean or integer result, or parts of several shapes: no loss to take
    weights = np.random.default_rng(0).normal(size=(len(parts), *parts[0].shape))
    step = tg.record_step(loss_fn)
    rng = np.random.default_rng(1)
    for round_ in range(3):
        if round_ == 2:  # new values, as an optimizer step would give
            for p in params.values():
                p.data = p.data + rng.normal(scale=1e-3, size=p.shape)
        eager = loss_fn(Tensor(weights), *data)
        if not eager.requires_grad:
            reject()
        expected = tg.grad(eager, list(params.values()), allow_unused=True)
        for p in params.values():
            p.grad = None
        try:
            loss = step(weights, *data)
        except RuntimeError as refusal:
            if "record_step" not in str(refusal):
                raise
            reject()  # what a replay would get wrong (an index array as a parameter)
        assert np.array_equal(loss.data, eager.data, equal_nan=True), f"round {round_}: loss"
        for k, (p, e) in enumerate(zip(params.values(), expected)):
            got = np.zeros(p.shape) if p.grad is None else p.grad
            assert np.array_equal(got, e.data, equal_nan=True), f"round {round_}: input {k}"


@pytest.mark.parametrize("name", [n for n in ops.names() if ops.get(n).differentiable])
def test_every_op_replays_exactly_as_eager(name):
    @settings(max_examples=8, deadline=None, database=None)
    @given(st.data())
    def run(data) -> None:
        _replay_matches_eager(name, data.draw(op_cases(name)))

    run()
