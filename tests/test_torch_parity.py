"""Values and gradients equal PyTorch's, including its subgradient conventions at ties and
kinks, and second order. Skipped when PyTorch is not installed (pip install torch==2.13.0).

``test_every_op_matches_torch`` walks the registry: every op, on the cases its record
draws, against its PyTorch counterpart in float64 (value and gradient).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from hypothesis import given, reject, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import tinygrad_nn as tg  # noqa: E402 - after the skip
from tinygrad_nn import Tensor, Value, grad  # noqa: E402
from tinygrad_nn.functions import function  # noqa: E402
from tinygrad_nn.testing.strategies import op_cases  # noqa: E402

RNG = np.random.default_rng(0)


def both(fn_ours: Callable[..., Any], fn_torch: Callable[..., Any], *arrays: np.ndarray,
         atol: float = 1e-12) -> None:
    """Same output and same input gradients (for a random upstream gradient)."""
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = fn_ours(*ours), fn_torch(*theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), atol=atol, rtol=1e-10)
    upstream = RNG.normal(size=out.shape)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=atol, rtol=1e-10)


def normal(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape)


ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "elu": F.elu,
    "gelu": F.gelu,
    "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
    "silu": F.silu,
    "softplus": F.softplus,
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations(name):
    x = np.concatenate([normal(20) * 3, [0.0, -0.0, 30.0, -30.0]])
    both(lambda t: getattr(t, name)(), ACTIVATIONS[name], x)


@pytest.mark.parametrize(
    ("ours", "theirs", "shapes"),
    [
        (lambda a, b: a + b, lambda a, b: a + b, [(3, 1), (4,)]),
        (lambda a, b: a - b, lambda a, b: a - b, [(2, 1, 3), (4, 1)]),
        (lambda a, b: a * b, lambda a, b: a * b, [(3, 4), (1, 4)]),
        (lambda a, b: a / (b * b + 1), lambda a, b: a / (b * b + 1), [(3,), (2, 3)]),
        (lambda a, b: (a * a + 1) ** b, lambda a, b: (a * a + 1) ** b, [(3,), (3,)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4, 2)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4, 2)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(3, 4), (4,)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(4,), (4,)]),
        (lambda a, b: a @ b, lambda a, b: a @ b, [(2, 1, 3, 4), (5, 4, 2)]),
        (lambda a, b: tg.maximum(a, b), torch.maximum, [(3, 4), (4,)]),
        (lambda a, b: tg.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b),
         [(3, 4), (1, 4)]),
        (lambda a, b: tg.concatenate([a, b], axis=1), lambda a, b: torch.cat([a, b], 1),
         [(2, 3), (2, 1)]),
        (lambda a, b: tg.stack([a, b], axis=-1), lambda a, b: torch.stack([a, b], -1),
         [(2, 3), (2, 3)]),
    ],
)
def test_binary_ops_with_broadcasting(ours, theirs, shapes):
    both(ours, theirs, *(normal(*s) for s in shapes))


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda t: t.exp(), torch.exp),
        (lambda t: (t * t + 0.5).log(), lambda t: (t * t + 0.5).log()),
        (lambda t: (t * t + 0.5).sqrt(), lambda t: (t * t + 0.5).sqrt()),
        (lambda t: t.abs(), torch.abs),
        (lambda t: t.clip(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5)),
        (lambda t: t.sum(axis=(0, 2), keepdims=True), lambda t: t.sum((0, 2), keepdim=True)),
        (lambda t: t.mean(axis=1), lambda t: t.mean(1)),
        (lambda t: t.max(axis=-1), lambda t: t.amax(-1)),
        (lambda t: t.min(), torch.amin),
        (lambda t: t.softmax(axis=1), lambda t: t.softmax(1)),
        (lambda t: t.log_softmax(), lambda t: t.log_softmax(-1)),
        (lambda t: t.logsumexp(axis=0), lambda t: t.logsumexp(0)),
        (lambda t: t.reshape(4, -1), lambda t: t.reshape(4, -1)),
        (lambda t: t.transpose(2, 0, 1), lambda t: t.permute(2, 0, 1)),
        (lambda t: t[1:, ::2, [0, 0, 2]], lambda t: t[1:, ::2, [0, 0, 2]]),
        (lambda t: t[t.data > 0], lambda t: t[t > 0]),
    ],
)
def test_unary_ops(ours, theirs):
    both(ours, theirs, normal(3, 4, 3))


def test_subgradient_conventions_at_ties_and_kinks():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 0.5]])
    both(lambda t: t.max(axis=1), lambda t: t.amax(1), x)
    both(lambda t: t.max(), torch.amax, x)
    both(lambda t: t.min(axis=0), lambda t: t.amin(0), x)
    both(lambda a, b: tg.maximum(a, b), torch.maximum, x, np.full((2, 4), 2.0))
    both(lambda a, b: a.minimum(b), torch.minimum, x, np.full((2, 4), 2.0))
    both(lambda t: t.clip(0.0, 2.0), lambda t: t.clamp(0.0, 2.0), x)
    both(lambda t: t.abs(), torch.abs, x)
    both(lambda t: t.relu(), torch.relu, x)


def test_maximum_and_minimum_beside_a_nan_give_both_inputs_the_gradient():
    a = np.array([np.nan, 1.0, 2.0, np.nan])
    b = np.array([1.0, np.nan, 2.0, np.nan])
    for ours, theirs in ((lambda x, y: x.maximum(y), torch.maximum),
                         (lambda x, y: x.minimum(y), torch.minimum)):
        both(ours, theirs, a, b)
        mine = [Value(x) for x in (float(a[0]), float(b[0]))]  # the scalar engine agrees
        ours(*mine).backward()
        assert [v.grad for v in mine] == [1.0, 1.0]


def test_softmax_family_at_large_magnitudes():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [5e3, 5e3 + 1, 1.0]])
    both(lambda t: t.softmax(), lambda t: t.softmax(-1), x)
    both(lambda t: t.log_softmax(), lambda t: t.log_softmax(-1), x)
    both(lambda t: t.logsumexp(), lambda t: t.logsumexp(-1), x)


def test_mlp_cross_entropy_step():
    X, y = normal(8, 5), RNG.integers(0, 3, 8)
    weights = [normal(5, 6), normal(6), normal(6, 3), normal(3)]

    def ours(W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
        logits = (Tensor(X) @ W1 + b1).relu() @ W2 + b2
        return -logits.log_softmax(axis=1)[np.arange(8), y].mean()

    def theirs(W1: Any, b1: Any, W2: Any, b2: Any) -> Any:
        logits = torch.relu(torch.tensor(X) @ W1 + b1) @ W2 + b2
        return F.cross_entropy(logits, torch.tensor(y))

    both(ours, theirs, *weights)


def test_float32_training_step_matches():
    X = normal(16, 4).astype(np.float32)
    W = normal(4, 3).astype(np.float32)
    ours = Tensor(W, requires_grad=True)
    theirs = torch.tensor(W, requires_grad=True)
    (Tensor(X) @ ours).tanh().sum().backward()
    (torch.tensor(X) @ theirs).tanh().sum().backward()
    assert ours.grad.dtype == np.float32
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_hessian_vector_product_matches_double_backward():
    A, x0, v = normal(4, 3), normal(3), normal(3)

    def f(x: Any, lib: Any) -> Any:
        z = x @ A.T if lib is tg else x @ torch.tensor(A).T
        sig = z.sigmoid() if lib is tg else torch.sigmoid(z)
        return (sig * z).sum() + (x * x * x).sum()

    x = Tensor(x0, requires_grad=True)
    (g,) = grad(f(x, tg), x, create_graph=True)
    (hv,) = grad((g * Tensor(v)).sum(), x)

    tx = torch.tensor(x0, requires_grad=True)
    (tg_,) = torch.autograd.grad(f(tx, torch), tx, create_graph=True)
    (thv,) = torch.autograd.grad((tg_ * torch.tensor(v)).sum(), tx)
    np.testing.assert_allclose(hv.data, thv.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_second_derivatives(name):
    x0 = np.concatenate([normal(10) * 2, [0.0]])
    if name in ("relu", "leaky_relu", "elu"):
        x0 = x0[x0 != 0]  # second derivative undefined at the kink
    x = Tensor(x0, requires_grad=True)
    (g,) = grad(getattr(x, name)().sum(), x, create_graph=True)
    h = grad(g.sum(), x)[0].data if g.requires_grad else np.zeros_like(x0)
    tx = torch.tensor(x0, requires_grad=True)
    (tg_,) = torch.autograd.grad(ACTIVATIONS[name](tx).sum(), tx, create_graph=True)
    th = torch.autograd.grad(tg_.sum(), tx)[0].numpy() if tg_.requires_grad else 0 * x0
    np.testing.assert_allclose(h, th, rtol=1e-9, atol=1e-12)


# ----- Every registered op against PyTorch, on the cases its record draws -----------------
# test_every_op_matches_torch walks ops.names(). An op is compared with torch.<name>, or
# torch.nn.functional.<name>, called with the same parameters (axis -> dim, keepdims ->
# keepdim); TORCH_OPS holds those whose PyTorch spelling differs, and NO_TORCH the few
# PyTorch lacks. A new op with neither fails here: declare its PyTorch counterpart.

NO_TORCH = {
    "windows2d": "the sliding-window primitive of conv2d and pooling, compared through them",
    "fold_windows2d": "the adjoint of windows2d, compared through conv2d and pooling",
    "window_max_mask": "a primitive of max_pool2d's gradient, compared through it",
}
# Relative tolerances where PyTorch's float64 results are not exact: a few backward
# kernels round a constant to float32 (hardsigmoid's 1/6, celu's 1/alpha), and softplus
# returns x itself above beta * x = 20 (ours keeps the formula, 3e-9 away).
RTOL = {"hardsigmoid": 1e-7, "celu": 1e-6, "softplus": 1e-8}


def _dims(axis: Any) -> Any:
    """Our axis (None: all) as PyTorch's dim for ops that read () as all."""
    return () if axis is None else axis


def _by_axes(reduce: Callable[..., Any]) -> Callable[..., Any]:
    """A PyTorch reduction that takes one dim at a time, over any axis (None, a tuple)."""
    def run(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        axes = range(x.ndim) if axis is None else [axis] if isinstance(axis, int) else axis
        out = x
        for a in sorted((a % x.ndim for a in axes), reverse=True):
            out = reduce(out, a, keepdim=True)
        if not keepdims:
            out = out.reshape([n for d, n in enumerate(x.shape)
                               if d not in {a % x.ndim for a in axes}])
        return out
    return run


def _scan(scan: Callable[..., Any]) -> Callable[..., Any]:
    return lambda x, axis=None: scan(x.reshape(-1), 0) if axis is None else scan(x, axis)


def _positions(shape: tuple[int, ...], index: Any) -> Any:
    """NumPy's x[index] as positions in the flattened x (a torch index of any x)."""
    return torch.from_numpy(np.array(np.arange(int(np.prod(shape))).reshape(shape)[index]))


def _whole(reduce: Callable[..., Any]) -> Callable[..., Any]:
    """A PyTorch reduction whose dim=None (or ()) is not every axis, made so."""
    def run(x: Any, axis: Any = None, keepdims: bool = False) -> Any:
        if axis is not None:
            return reduce(x, axis, keepdims)
        out = reduce(x)
        return out.reshape((1,) * x.ndim) if keepdims else out
    return run


def _scatter_to(x: Any, shape: tuple[int, ...] = (), index: Any = (),
                accumulate: bool = True) -> Any:
    flat = torch.zeros(int(np.prod(shape)), dtype=x.dtype)
    return flat.index_add(0, _positions(shape, index).reshape(-1), x.reshape(-1)).reshape(shape)


def _pad(x: Any, pad: tuple[int, ...] = (), mode: str = "constant", value: float = 0.0) -> Any:
    if mode == "constant":
        return F.pad(x, pad, value=value)
    # PyTorch pads k axes in reflect, replicate and circular modes only of a (k + 1)- or
    # (k + 2)-d input: the axes before those are reshaped into one batch axis.
    k = len(pad) // 2
    batch = x.shape[:x.ndim - k]
    out = F.pad(x.reshape(-1, *x.shape[x.ndim - k:]), pad, mode=mode)
    return out.reshape(*batch, *out.shape[1:])


def _torch_dtype(dtype: Any) -> Any:
    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[
        np.dtype(dtype)]


TORCH_OPS: dict[str, Callable[..., Any]] = {
    "clip": lambda x, lo=None, hi=None: torch.clip(x, lo, hi),
    # PyTorch has no gradient for these; ours is 0 (they are piecewise constant).
    "floor_divide": lambda a, b: torch.floor_divide(a.detach(), b.detach()),
    "where": lambda condition, a, b: torch.where(condition != 0, a, b),
    "identity": lambda x: x * 1,
    "step": lambda x: (x > 0).to(x.dtype),
    "leaky_relu": lambda x, alpha=0.01: F.leaky_relu(x, alpha),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "max": lambda x, axis=None, keepdims=False: torch.amax(x, _dims(axis), keepdims),
    "min": lambda x, axis=None, keepdims=False: torch.amin(x, _dims(axis), keepdims),
    "prod": _by_axes(torch.prod),
    "cumsum": _scan(torch.cumsum),
    "cumprod": _scan(torch.cumprod),
    "any": _whole(torch.any),
    "all": _whole(torch.all),
    "transpose": lambda x, axes=None: x.permute(axes or tuple(reversed(range(x.ndim)))),
    "permute": lambda x, axes=(): x.permute(axes),
    "flatten": lambda x, start_axis=0, end_axis=-1: x.flatten(start_axis, end_axis),
    "unflatten": lambda x, axis=0, sizes=(): x.unflatten(axis, sizes),
    "squeeze": lambda x, axis=None: x.squeeze() if axis is None else x.squeeze(axis),
    "sum_to": lambda x, shape=(): x.sum_to_size(shape),  # leading axes too
    "repeat": lambda x, repeats=(): x.repeat(repeats),
    "flip": lambda x, axis=None: x.flip(tuple(range(x.ndim)) if axis is None else axis),
    "broadcast_to": lambda x, shape=(): x.broadcast_to(shape),
    "roll": lambda x, shifts=0, axis=None:  # PyTorch cannot roll a 0-d tensor itself
        x.reshape(-1).roll(shifts).reshape(x.shape) if axis is None else x.roll(shifts, axis),
    "getitem": lambda x, index=(): x.reshape(-1)[_positions(x.shape, index)],
    "scatter_to": _scatter_to,
    "gather": lambda x, index, axis=0: x.gather(axis, index),
    "embedding": lambda indices, weight: torch.nn.functional.embedding(indices, weight),
    "masked_fill": lambda x, mask, value=0.0: x.masked_fill(mask, value),
    "diagonal": lambda x, offset=0, axis1=0, axis2=1: x.diagonal(offset, axis1, axis2),
    "concatenate": lambda *xs, axis=0: torch.cat(xs, axis),
    "stack": lambda *xs, axis=0: torch.stack(xs, axis),
    "split": lambda x, split_size=1, axis=0: x.split(
        split_size if isinstance(split_size, int) else list(split_size), axis),
    "chunk": lambda x, chunks=1, axis=0: x.chunk(chunks, axis),
    "pad": _pad,
    "astype": lambda x, dtype=np.float32: x.to(_torch_dtype(dtype)),
    "einsum": lambda *xs, subscripts="": torch.einsum(subscripts, *xs),
    "tensordot": lambda a, b, axes=2: torch.tensordot(
        a, b, axes if isinstance(axes, int) else [list(part) for part in axes]),
}

_RENAMED = {"axis": "dim", "keepdims": "keepdim"}


def torch_counterpart(name: str) -> Callable[..., Any] | None:
    """The PyTorch function to compare op ``name`` with, or None if it has none."""
    if name in TORCH_OPS:
        return TORCH_OPS[name]
    for namespace in (torch, F):
        found = getattr(namespace, name, None)
        if callable(found):
            return lambda *xs, **params: found(
                *xs, **{_RENAMED.get(k, k): v for k, v in params.items()})
    return None


def _to_torch(x: Any, grad: bool) -> Any:
    if isinstance(x, float):  # a weak scalar of ours: a constant 0-d tensor for PyTorch
        return torch.tensor(x, dtype=torch.float64)
    return torch.tensor(x, requires_grad=grad) if isinstance(x, np.ndarray) else x


def _takes_gradient(op: Any, i: int, x: Any) -> bool:
    if not (isinstance(x, np.ndarray) and x.dtype.kind == "f" and op.differentiable):
        return False
    return op.composite or op.variadic or op.grads[i] is not None


def _parts(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _compare_case(case: Any, counterpart: Callable[..., Any]) -> None:
    op = tg.ops.get(case.name)
    params = {**op.defaults, **case.params}
    varying = [_takes_gradient(op, i, x) for i, x in enumerate(case.inputs)]
    ours = [Tensor(x, requires_grad=v) if isinstance(x, np.ndarray) else x
            for x, v in zip(case.inputs, varying)]
    theirs = [_to_torch(x, v) for x, v in zip(case.inputs, varying)]
    out = _parts(function(case.name)(*ours, **case.params))
    given = theirs
    if params.get("axis") == () and "keepdims" in params:
        # NumPy reads axis=() as no axis (the identity), PyTorch dim=() as every axis:
        # the identity for PyTorch is a reduction over a new axis of length 1.
        given = [theirs[0].unsqueeze(0), *theirs[1:]]
        params.update(axis=0, keepdims=False)
    try:
        with warnings.catch_warnings():  # PyTorch's own notes (conv2d's padding="same")
            warnings.simplefilter("ignore", UserWarning)
            ref = _parts(counterpart(*given, **params))
    except (RuntimeError, ValueError, NotImplementedError):
        reject()  # a case PyTorch refuses (max_pool2d's padding limit, say): no parity
    assert len(out) == len(ref), f"{len(out)} results, PyTorch {len(ref)}"
    for mine, other in zip(out, ref):
        expected = other.detach().numpy()
        assert mine.shape == expected.shape and mine.dtype.kind == expected.dtype.kind, \
            f"{mine.dtype}{mine.shape}, PyTorch {expected.dtype}{expected.shape}"
        tolerance = 1e-6 if mine.dtype == np.float32 else RTOL.get(case.name, 1e-10)
        np.testing.assert_allclose(mine.data, expected, rtol=tolerance, atol=tolerance)
    if not any(varying) or not out[0].requires_grad:
        return
    rng = np.random.default_rng(1)
    weights = [rng.normal(size=part.shape) for part in out]
    total = sum((part * w).sum() for part, w in zip(out, weights))
    leaves = [t for t, v in zip(ours, varying) if v]
    mine = grad(total, leaves, allow_unused=True)
    total_ref = sum((part * torch.tensor(w, dtype=part.dtype)).sum()
                    for part, w in zip(ref, weights))
    inputs = [t for t, v in zip(theirs, varying) if v]
    expected = torch.autograd.grad(total_ref, inputs, allow_unused=True) \
        if total_ref.requires_grad else [None] * len(inputs)
    for k, (g, e) in enumerate(zip(mine, expected)):
        e = np.zeros(g.shape) if e is None else e.numpy()
        np.testing.assert_allclose(g.data, e, rtol=RTOL.get(case.name, 1e-9),
                                   atol=1e-10, err_msg=f"the gradient of input {k}")


@pytest.mark.parametrize("name", tg.ops.names())
def test_every_op_matches_torch(name):
    if name in NO_TORCH:
        pytest.skip(f"PyTorch has no {name}: {NO_TORCH[name]}")
    counterpart = torch_counterpart(name)
    assert counterpart is not None, (
        f"op {name!r} has no PyTorch counterpart under its name: add it to TORCH_OPS "
        "(or, if PyTorch has none, to NO_TORCH)")

    @settings(max_examples=25, deadline=None, database=None)
    @given(st.data())
    def run(data: Any) -> None:
        case = data.draw(op_cases(name))
        try:
            _compare_case(case, counterpart)
        except AssertionError as error:
            raise AssertionError(f"{name} against PyTorch at {case!r}:\n{error}") from None

    run()
