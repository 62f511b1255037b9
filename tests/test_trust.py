"""No silent wrong gradient, no lost update: the repros of the trust issue, as tests.

Each test here failed (gave a wrong number or lost an update) before the engines were
changed, and passes after.
"""

from __future__ import annotations

import copy
import math
import pickle
import threading

import numpy as np
import pytest

from tinygrad_nn import Tensor, Value, detect_anomaly, nn, no_grad, ops, optim

# ----- In-place changes between forward and backward --------------------------------------


def test_an_optimizer_step_before_backward_makes_it_raise():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    opt = optim.SGD([w], lr=1.0)
    y = (w**2).sum()
    w.grad = np.array([10.0, 10.0])
    opt.step()  # changes w in place: the graph saw w = [1, 2]
    w.grad = None
    with pytest.raises(RuntimeError, match=r"backward through 'pow'.*changed in place"):
        y.backward()


def test_load_state_dict_before_backward_makes_it_raise():
    model = nn.MLP(2, [3, 1], activation="relu", seed=0)
    loss = model(np.ones((4, 2))).sum()
    model.load_state_dict({k: v + 1.0 for k, v in model.state_dict().items()})
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()


def test_a_write_through_a_slice_of_data_leaves_the_gradient_exact():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (w**2).sum()
    w.data[0] = 5.0  # goes to a copy: the graph keeps the w it saw
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])
    np.testing.assert_array_equal(w.data, [5.0, 2.0])


def test_a_micrograd_style_update_through_data_leaves_the_gradient_exact():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (w**2).sum()
    w.data -= 0.5 * np.ones(2)
    y.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_writes_through_data_after_backward_touch_the_tensor_itself():
    # Once the graph is released nothing holds the array: no copy is made.
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    array = w._data
    (w * 3.0).sum().backward()
    w.data -= 0.1 * w.grad
    assert w._data is array


def test_an_optimizer_step_in_another_thread_during_backward_is_caught():
    # A gradient rule that pauses mid-backward while another thread steps the optimizer.
    paused, resume = threading.Event(), threading.Event()

    def slow_rule(g, x, out, ops):
        paused.set()
        resume.wait(5)
        return g * 2.0 * x

    ops.register("slow_square", forward=lambda x, ops: x * x, grads=(slow_rule,),
                 elementwise=False)
    try:
        w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
        opt = optim.SGD([w], lr=1.0)
        y = w.slow_square().sum()
        errors = []

        def run_backward():
            try:
                y.backward()
            except RuntimeError as error:
                errors.append(error)

        thread = threading.Thread(target=run_backward)
        thread.start()
        assert paused.wait(5)
        w.grad = np.ones(2)
        opt.step()
        resume.set()
        thread.join(5)
        assert errors and "changed in place" in str(errors[0])
    finally:
        ops.unregister("slow_square")


def test_in_place_ops_bump_the_version():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = x * 1.0  # a result: in-place ops on it need no_grad
    y = (h * h).sum()
    with no_grad():
        h.add_(1.0)
    with pytest.raises(RuntimeError, match=r"backward through 'mul'.*result of 'mul'"):
        y.backward()


def test_in_place_ops_on_a_leaf_that_requires_grad_need_no_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w.mul_(2.0)
    with no_grad():
        w.mul_(2.0).add_(Tensor([1.0, 1.0])).sub_(0.5).div_(2.0)
    np.testing.assert_allclose(w.data, [1.25, 2.25])
    with no_grad():
        w[0] = 7.0
        w.zero_()
    np.testing.assert_array_equal(w.data, [0.0, 0.0])


def test_in_place_ops_keep_shape_and_dtype():
    x = Tensor(np.zeros((2, 3), np.float32))
    x.add_(np.ones(3))  # broadcasts into x
    assert x.dtype == np.float32 and x.shape == (2, 3)
    with pytest.raises(ValueError, match=r"add_: .*\(2, 3\)"):
        x.add_(np.ones((4, 3)))
    x.fill_(2.5)
    x.copy_(np.full((2, 3), 4.0))
    np.testing.assert_array_equal(x.data, np.full((2, 3), 4.0))


# ----- Concurrent backward passes lose nothing -----------------------------------------


def _hammer(backward_once, threads: int = 4, passes: int = 50) -> None:
    start = threading.Barrier(threads)

    def work():
        start.wait()
        for _ in range(passes):
            backward_once()

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


@pytest.mark.parametrize("run", range(10))
def test_concurrent_tensor_backward_into_a_shared_leaf_is_exact(run):
    w = Tensor(np.ones(3), requires_grad=True)
    _hammer(lambda: (w * 2.0).sum().backward())
    np.testing.assert_array_equal(w.grad, np.full(3, 4 * 50 * 2.0))


@pytest.mark.parametrize("run", range(10))
def test_concurrent_value_backward_into_a_shared_leaf_is_exact(run):
    w = Value(1.0)

    def backward_once():
        # A graph with a diamond and a few hundred nodes, so that passes interleave.
        y = w
        for _ in range(100):
            y = (y * 1.0 + w * 0.0).tanh() * 0.0 + y
        (y * 2.0 + w).backward()

    _hammer(backward_once)
    assert w.grad == 4 * 50 * 3.0


# ----- Registration is all or nothing ------------------------------------------------------


def test_an_activation_with_a_parameter_named_self_leaves_no_ghost():
    from tinygrad_nn import activations

    with pytest.raises(TypeError, match="reserved"):
        activations.register("ghost", forward=lambda x, ops, self=1.0: x,
                             deriv=lambda x, out, ops, self=1.0: 1.0)
    assert "ghost" not in activations.names() and "ghost" not in ops.names()
    activations.register("ghost", forward=lambda x, ops: x, deriv=lambda x, out, ops: 1.0)
    activations.unregister("ghost")


def test_an_activation_whose_forward_returns_a_non_number_is_refused():
    from tinygrad_nn import activations

    with pytest.raises(TypeError, match="not a real number"):
        activations.register("as_list", forward=lambda x, ops: [x],
                             deriv=lambda x, out, ops: 1.0)
    assert "as_list" not in ops.names()


# ----- Edge values -------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "error", "match"), [
    (lambda: Value(1000.0).exp(), OverflowError, r"Value\.exp: exp\(1000\.0\) overflows"),
    (lambda: Value(1.0) / 0.0, ZeroDivisionError, r"Value\.div: div\(1\.0, 0\.0\) divides"),
    (lambda: 1.0 / Value(0.0), ZeroDivisionError, r"Value\.div"),
    (lambda: Value(-1.0).log(), ValueError, r"Value\.log: log\(-1\.0\) is undefined"),
])
def test_value_arithmetic_errors_name_the_op(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_maximum_propagates_nan_on_both_engines():
    for a, b in ((math.nan, 1.0), (1.0, math.nan)):
        assert math.isnan(Value(a).maximum(b).data)
        assert math.isnan(Tensor([a]).maximum(Tensor([b])).item())


def test_deepcopy_of_a_deep_value_graph_is_iterative():
    x = Value(1.0)
    y = x
    for _ in range(5_000):
        y = y * 1.0001
    clone = copy.deepcopy(y)
    assert clone.data == y.data and clone is not y
    clone.backward()
    assert x.grad == 0.0  # the copy has leaves of its own


def test_a_deep_tensor_graph_deep_copies_too():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5_000):
        y = y * 1.0001
    clone = copy.deepcopy(y)
    np.testing.assert_array_equal(clone.data, y.data)


def test_pickling_a_value_graph_is_refused_clearly():
    with pytest.raises(TypeError, match="save"):
        pickle.dumps(Value(1.0) * 2)


# ----- Anomaly mode: where did the NaN come from? ----------------------------------------


def test_anomaly_mode_names_the_op_and_the_user_line_on_tensors():
    x = Tensor([0.0, 1.0], requires_grad=True)
    with detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"), \
            pytest.raises(FloatingPointError) as caught:
        x.log().sum()  # log(0) = -inf: the log is the first op to give a non-finite value
    message = str(caught.value)
    assert "'log'" in message and "test_trust.py" in message


def test_anomaly_mode_catches_a_nan_gradient_on_values():
    x = Value(0.0)
    with detect_anomaly():
        y = x.sqrt() + x  # a finite forward; the slope of sqrt at 0 is infinite
        with pytest.raises(FloatingPointError, match=r"'sqrt'.*test_trust\.py"):
            y.backward()


def test_anomaly_mode_catches_a_nan_gradient_on_tensors():
    x = Tensor([0.0], requires_grad=True)
    with detect_anomaly(), np.errstate(divide="ignore"):
        y = x.sqrt().sum()
        with pytest.raises(FloatingPointError, match=r"'sqrt'.*test_trust\.py"):
            y.backward()


def test_anomaly_mode_is_off_by_default_and_nests():
    from tinygrad_nn.graph import anomaly

    assert not anomaly.enabled
    with detect_anomaly():
        with detect_anomaly():
            assert anomaly.enabled
        assert anomaly.enabled
    assert not anomaly.enabled


# ----- One answer across engines -------------------------------------------------------------


def test_backward_twice_accumulates_on_values_and_raises_on_released_tensors():
    # Value graphs hold only floats and are never released: a second backward adds up.
    v = Value(3.0)
    y = v * v
    y.backward()
    y.backward()
    assert v.grad == 12.0
    # Tensor graphs free what backward saved, unless asked to keep it (PyTorch).
    t = Tensor([3.0], requires_grad=True)
    z = (t * t).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


def test_float_and_labels_on_both_engines():
    assert float(Value(2.5)) == 2.5 and float(Tensor([2.5])) == 2.5
    assert Value(1.0, label="x").label == "x"
    assert Tensor([1.0], name="inputs").name == "inputs"


# ----- Hostile files ----------------------------------------------------------------------


def test_load_refuses_a_symlink_to_a_device_without_reading_it(tmp_path):
    from tinygrad_nn import load
    from tinygrad_nn.io import CheckpointError

    link = tmp_path / "model.safetensors"
    link.symlink_to("/dev/zero")
    with pytest.raises(CheckpointError, match="not a regular file"):
        load(link)


def test_load_refuses_a_pipe_without_waiting_for_a_writer(tmp_path):
    from tinygrad_nn import load
    from tinygrad_nn.io import CheckpointError

    fifo = tmp_path / "pipe.safetensors"
    import os

    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load(fifo)


def test_load_refuses_a_header_longer_than_the_file(tmp_path):
    from tinygrad_nn import load
    from tinygrad_nn.io import CheckpointError

    path = tmp_path / "lying.safetensors"
    path.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    with pytest.raises(CheckpointError, match="header claims"):
        load(path)
