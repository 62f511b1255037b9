"""The Tensor engine's contract: construction, dtypes, errors, grad modes, leaf semantics,
graph release and memory, and depth (a 100,000-op chain)."""

from __future__ import annotations

import gc
import threading
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_nn import Tensor, Value, concatenate, enable_grad, grad, no_grad, stack, where
from tinygrad_nn.testing import gradcheck
from tinygrad_nn.testing.strategies import (
    broadcastable_pairs,
    broadcastable_shapes,
    float_dtypes,
    tensors,
)

# ----- Construction ------------------------------------------------------------------------


def test_python_data_defaults_to_float32():
    assert Tensor([1, 2, 3]).dtype == np.float32
    assert Tensor([[1.5, 2.5]]).dtype == np.float32
    assert Tensor(3.0).shape == ()


def test_arrays_keep_their_dtype():
    assert Tensor(np.zeros(2)).dtype == np.float64
    assert Tensor(np.zeros(2, np.float16)).dtype == np.float16
    assert Tensor(np.arange(3)).dtype == np.int64
    assert Tensor(np.array([True, False])).dtype == np.bool_
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64


def test_construction_copies_and_from_numpy_shares():
    a = np.ones(3, np.float32)
    copied, shared = Tensor(a), Tensor.from_numpy(a)
    a[0] = 5.0
    assert copied.data[0] == 1.0 and shared.data[0] == 5.0
    assert Tensor(copied).data is not copied.data


def test_creation_helpers():
    assert Tensor.zeros(2, 3).shape == (2, 3) and Tensor.zeros((2, 3)).dtype == np.float32
    assert (Tensor.ones(4, dtype=np.float64).data == 1).all()
    r = Tensor.randn(5, 2, requires_grad=True, rng=0)
    assert r.shape == (5, 2) and r.requires_grad and r.dtype == np.float32
    np.testing.assert_array_equal(r.data, Tensor.randn(5, 2, rng=0).data)  # seeded
    u = Tensor.uniform(1000, low=-2.0, high=3.0, rng=1)
    assert u.data.min() >= -2.0 and u.data.max() < 3.0


@pytest.mark.parametrize("bad", ["text", None, {"a": 1}, [1, "x"]])
def test_non_numeric_data_is_rejected(bad):
    with pytest.raises((TypeError, ValueError)):
        Tensor(bad)


def test_only_floating_tensors_can_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        Tensor(np.array([True])).requires_grad = True
    assert Tensor([1, 2], requires_grad=True).requires_grad  # lists become float32


def test_array_protocol_and_conversions():
    t = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert isinstance(t.data, np.ndarray) and t.grad is None
    np.testing.assert_array_equal(np.asarray(t), t.data)
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert t.numpy() is t.data
    assert (t.shape, t.ndim, t.size, len(t)) == ((2, 2), 2, 4, 2)
    assert [row.shape for row in t] == [(2,), (2,)]
    assert t.sum().item() == 10.0 and isinstance(t.sum().item(), float)
    assert float(t[1, 1]) == 4.0
    assert "requires_grad=True" in repr(t) and "float32" in repr(t)
    with pytest.raises(ValueError, match="single-element"):
        t.item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(t)


def test_ndarray_on_the_left_gives_a_tensor():
    t = Tensor([1.0, 2.0], requires_grad=True)
    for out in (np.ones(2) + t, np.ones(2) * t, np.ones(2) - t, np.ones(2) / t,
                np.eye(2) @ t, np.float64(2.0) * t, [1.0, 1.0] + t):  # noqa: RUF005 - list + Tensor
        assert isinstance(out, Tensor) and out.requires_grad


# ----- Dtype promotion (NumPy's rules; Python and NumPy scalars are weak) -------------------


def test_dtype_promotion_follows_numpy():
    f32 = Tensor([1.0, 2.0], requires_grad=True)
    f64 = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    out = f32 * f64
    assert out.dtype == np.float64
    out.sum().backward()
    assert f32.grad.dtype == np.float32 and f64.grad.dtype == np.float64  # each its own
    assert (f32 + Tensor(np.array([1, 2]))).dtype == np.result_type(np.float32, np.int64)


@given(st.data(), broadcastable_shapes(2), float_dtypes(), float_dtypes())
def test_mixed_dtypes_promote_and_gradients_keep_each_dtype(data, shapes, dtype_a, dtype_b):
    a = data.draw(tensors(shapes[0], dtype_a, requires_grad=True))
    b = data.draw(tensors(shapes[1], dtype_b, requires_grad=True))
    out = a * b - a
    assert out.dtype == np.result_type(dtype_a, dtype_b)
    assert out.shape == np.broadcast_shapes(a.shape, b.shape)
    out.sum().backward()
    assert (a.grad.dtype, a.grad.shape) == (dtype_a, a.shape)
    assert (b.grad.dtype, b.grad.shape) == (dtype_b, b.shape)


@given(broadcastable_pairs())
def test_broadcast_gradients_sum_back_to_each_shape(pair):
    gradcheck(lambda a, b: a * b + b, *pair)


def test_scalars_do_not_upcast_or_become_nodes():
    x = Tensor([1.0, 2.0], requires_grad=True)
    for out in (x * 2.5, 2.5 * x, x / 3, 1 - x, x**2, 2.0**x, x * np.float64(2.0)):
        assert out.dtype == np.float32
        assert out._prev == (x,)


# ----- Errors say which op, which shapes, what was expected -------------------------------


def test_broadcast_errors_name_the_op_and_shapes():
    a, b = Tensor(np.ones(3)), Tensor(np.ones(4))
    for op, name in [(lambda: a + b, "add"), (lambda: a * b, "mul"), (lambda: a - b, "sub"),
                     (lambda: a / b, "div"), (lambda: a**b, "pow"),
                     (lambda: a.maximum(b), "maximum"), (lambda: a < b, "lt")]:
        with pytest.raises(ValueError, match=rf"{name}: cannot broadcast shapes \(3,\) and \(4,\)"):
            op()


def test_matmul_errors_name_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(3, 4\) and \(5, 2\) are not aligned"):
        Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match="0-d"):
        Tensor(2.0) @ Tensor(np.ones(2))


def test_other_errors_are_specific():
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match="reshape: cannot reshape"):
        t.reshape(4)
    with pytest.raises(ValueError, match="sum: axis 2 is out of bounds"):
        t.sum(axis=2)
    with pytest.raises(IndexError, match=r"getitem: .*\(input shapes \(2, 3\)\)"):
        t[5]
    with pytest.raises(ValueError, match=r"concatenate: .*\(input shapes \(2, 3\) and \(2,\)\)"):
        concatenate([t, Tensor(np.ones(2))])
    with pytest.raises(ValueError, match="where: cannot broadcast"):
        where(np.ones(4, bool), t, 0.0)
    with pytest.raises(TypeError, match="add expects Tensors, arrays or real numbers, got str"):
        t + "a"
    with pytest.raises(TypeError, match=r"matmul expects .* got NoneType"):
        None @ t
    with pytest.raises(TypeError, match="scalar engine"):
        Value(1.0) * t
    with pytest.raises(TypeError, match="stack expects Tensors, arrays or real numbers"):
        stack([t, "a"])
    assert (t == None) is False  # noqa: E711 - comparisons defer to Python for foreign types
    with pytest.raises(ValueError, match=r"broadcast_to: cannot broadcast shape \(2, 3\)"):
        t.broadcast_to(3, 3)


def test_backward_needs_a_scalar_or_a_grad():
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    y = t * 2
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\).*single-element.*grad="):
        y.backward()
    with pytest.raises(ValueError, match=r"grad has shape \(3,\) but the output has shape"):
        y.backward(np.ones(3))
    y.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(t.grad, np.full((2, 3), 2.0))
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor([1.0]).sum().backward()


# ----- Grad modes -------------------------------------------------------------------------


def test_no_grad_records_nothing_and_enable_grad_turns_it_back_on():
    x = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = x * 2
        with enable_grad():
            z = x * 2
    assert not y.requires_grad and y._prev == () and y.is_leaf
    assert z.requires_grad and z._prev == (x,)

    @no_grad()
    def inference() -> Tensor:
        return (x * x).sum()

    assert not inference().requires_grad


def test_no_grad_is_per_thread():
    x = Tensor([1.0], requires_grad=True)
    inside, release = threading.Event(), threading.Event()
    seen = {}

    def worker() -> None:
        with no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = (x * 2).requires_grad

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    seen["main"] = (x * 2).requires_grad  # while the worker sits inside no_grad
    release.set()
    thread.join()
    assert seen == {"main": True, "worker": False}


# ----- Leaves, non-leaves, accumulation --------------------------------------------------


def test_only_leaves_keep_grad_unless_retained():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    kept = h + 1
    kept.retain_grad()
    (kept * kept).sum().backward()
    assert x.is_leaf and not h.is_leaf
    assert h.grad is None
    np.testing.assert_array_equal(kept.grad, 2 * kept.data)
    np.testing.assert_array_equal(x.grad, 3 * 2 * kept.data)


def test_gradients_accumulate_until_reset():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_gradients_of_different_leaves_never_share_memory():
    a, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()  # add passes one array through to both inputs
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 10  # in place, as an optimizer might
    np.testing.assert_array_equal(b.grad, [1.0, 1.0])
    seed = np.array([1.0, 1.0], np.float32)
    c = Tensor([0.0, 0.0], requires_grad=True)
    (c + 0).backward(seed)
    assert not np.shares_memory(c.grad, seed)
    d = Tensor(np.ones((2, 2)), requires_grad=True)
    d.sum().backward()  # the gradient of sum is a broadcast view
    assert d.grad.flags.writeable and d.grad.base is None


def test_detach_and_requires_grad_on_non_leaves():
    x = Tensor([1.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and np.shares_memory(d._data, y._data)  # no copy made
    d.data[0] = 7.0  # goes to a copy: y's graph still needs the value it computed
    assert d.item() == 7.0 and y.item() == 2.0
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="does not require grad"):
        d.retain_grad()
    assert Tensor([1.0]).requires_grad_().requires_grad


def test_constant_inputs_get_no_gradient_work():
    x = Tensor(np.ones((3, 2)))  # data, not a parameter
    w = Tensor(np.ones((2, 4)), requires_grad=True)
    (x @ w).sum().backward()
    assert x.grad is None and w.grad.shape == (2, 4)


# ----- Graph release and memory ----------------------------------------------------------


def test_backward_releases_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x.exp()
    probe = weakref.ref(h)
    y = (h * 2).sum()
    del h
    y.backward()
    assert probe() is None  # intermediates freed while y is alive
    # What is left is the structure, for drawings: ops, shapes, links.
    (mul,) = y._prev
    (exp,) = mul._prev
    assert (mul._op, exp._op, exp.shape, exp._prev) == ("mul", "exp", (2,), (x,))
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_a_shared_released_subgraph_is_reported():
    x = Tensor([1.0, 2.0], requires_grad=True)
    shared = x.exp()
    (shared * 2).sum().backward()
    with pytest.raises(RuntimeError, match="released"):
        (shared * 3).sum().backward()
    assert x.grad is not None  # the failed call changed nothing
    np.testing.assert_array_equal(x.grad, 2 * np.exp(np.float32([1.0, 2.0])))


def test_retain_graph_allows_a_second_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_graphs_are_freed_by_reference_counting_alone():
    gc.collect()
    gc.disable()
    try:
        x = Tensor(np.ones(4), requires_grad=True)
        h = (x * 2).tanh()
        probe = weakref.ref(h)
        loss = (h.softmax() * h).sum()
        del h
        loss.backward(retain_graph=True)  # keep the graph: it must still be acyclic
        del loss
        assert probe() is None
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_training_loop_memory_does_not_grow():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 8)).astype(np.float32), rng.integers(0, 3, 64)
    W = Tensor(rng.normal(size=(8, 3)) * 0.1, dtype=np.float32, requires_grad=True)

    def step() -> Tensor:
        loss = -(Tensor(X) @ W).log_softmax(axis=1)[np.arange(64), y].mean()
        loss.backward()
        W.data -= 0.1 * W.grad
        W.grad = None
        return loss  # the caller keeps the last loss alive, as a training loop does

    tracemalloc.start()
    kept = [step() for _ in range(5)]
    baseline = tracemalloc.get_traced_memory()[0]
    kept += [step() for _ in range(200)]
    grown = tracemalloc.get_traced_memory()[0] - baseline
    tracemalloc.stop()
    # 200 released losses keep only their own scalar data: far below one step's graph.
    assert grown < 200 * 2_000, grown


# ----- Depth -------------------------------------------------------------------------------


def test_backward_through_a_100k_op_chain():
    x = Tensor([0.5], dtype=np.float64, requires_grad=True)
    y = x
    for i in range(100_000):
        y = y * 1.00001 if i % 2 else y + 0.001
    y.backward()
    np.testing.assert_allclose(x.grad, [1.00001**50_000])


def test_create_graph_through_a_deep_chain():
    x = Tensor([0.3], dtype=np.float64, requires_grad=True)
    y = x
    for _ in range(2_000):
        y = (y * 0.999).tanh() + 0.001
    (g,) = grad(y.sum(), x, create_graph=True)
    (h,) = grad(g.sum(), x)
    assert np.isfinite(h.data).all()
