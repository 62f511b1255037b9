"""Convolution and pooling: values, gradients and second derivatives equal PyTorch's in
float64 (stride, padding, dilation, groups, ties), the window primitives are adjoint, bad
arguments are named, and the nn layers behave like torch.nn's.

The generated property tests (tests/test_ops.py) cover these ops too; here each case is
checked against PyTorch itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_nn as tg
from tinygrad_nn import Tensor, draw_graph, grad, nn
from tinygrad_nn.testing.strategies import Draw

RNG = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def same_as_torch(torch, ours, theirs, *arrays, second_order=False):
    """Same output and same input gradients (for a random upstream gradient ``u``); with
    ``second_order``, also the same gradient of <gradients, random weights> with respect to
    the inputs and to ``u`` (double backward, as a gradient penalty takes it)."""
    mine = [Tensor(a, requires_grad=True) for a in arrays]
    ref = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, expected = ours(*mine), theirs(*ref)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = RNG.normal(size=out.shape)
    u = Tensor(upstream, requires_grad=True)
    ref_u = torch.tensor(upstream, requires_grad=True)
    grads = grad(out, mine, grad_output=u, create_graph=second_order)
    ref_grads = torch.autograd.grad(expected, ref, ref_u, create_graph=second_order)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g.data, r.detach().numpy(), rtol=1e-10, atol=1e-12)
    if second_order:
        weights = [RNG.normal(size=a.shape) for a in arrays]
        total = sum((g * w).sum() for g, w in zip(grads, weights))
        ref_total = sum((r * torch.tensor(w)).sum() for r, w in zip(ref_grads, weights))
        second = grad(total, [*mine, u], allow_unused=True)
        ref_second = torch.autograd.grad(ref_total, [*ref, ref_u], allow_unused=True)
        for g, r in zip(second, ref_second):
            expected_second = np.zeros(g.shape) if r is None else r.numpy()
            np.testing.assert_allclose(g.data, expected_second, rtol=1e-10, atol=1e-12)


# ----- conv2d against PyTorch ----------------------------------------------------------------

CONV_CASES = [
    {},
    {"stride": 2},
    {"stride": (2, 1)},
    {"padding": 1},
    {"padding": (2, 0)},
    {"padding": "same"},
    {"padding": "same", "dilation": 2},
    {"padding": "valid"},
    {"dilation": (2, 1)},
    {"groups": 2},
    {"groups": 4, "stride": 2, "padding": 1},
    {"stride": (1, 2), "padding": (1, 2), "dilation": (2, 1), "groups": 2},
]


@pytest.mark.parametrize("kwargs", CONV_CASES, ids=str)
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
def test_conv2d_matches_torch(torch, kwargs, bias):
    groups = kwargs.get("groups", 1)
    x, w, b = normal(2, 4, 7, 6), normal(8, 4 // groups, 3, 2), normal(8)
    F = torch.nn.functional
    if bias:
        same_as_torch(torch, lambda x, w, b: x.conv2d(w, b, **kwargs),
                      lambda x, w, b: F.conv2d(x, w, b, **kwargs), x, w, b)
    else:
        same_as_torch(torch, lambda x, w: tg.conv2d(x, w, **kwargs),
                      lambda x, w: F.conv2d(x, w, **kwargs), x, w)


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1, "dilation": 2},
                                    {"groups": 2, "padding": "same"}], ids=str)
def test_conv2d_second_derivatives_match_torch(torch, kwargs):
    # x and w meet in a product, so the mixed second derivatives are not zero.
    groups = kwargs.get("groups", 1)
    x, w, b = normal(2, 2, 5, 5), normal(4, 2 // groups, 3, 3), normal(4)
    F = torch.nn.functional
    same_as_torch(torch, lambda x, w, b: x.conv2d(w, b, **kwargs).tanh(),
                  lambda x, w, b: F.conv2d(x, w, b, **kwargs).tanh(), x, w, b,
                  second_order=True)


def test_a_one_by_one_convolution_is_a_matrix_product():
    x, w = normal(2, 3, 4, 5), normal(6, 3, 1, 1)
    expected = np.einsum("nchw,oc->nohw", x, w[:, :, 0, 0])
    np.testing.assert_allclose(Tensor(x).conv2d(Tensor(w)).data, expected, rtol=1e-12)


def test_conv2d_keeps_float32():
    x = Tensor(normal(2, 3, 6, 6).astype(np.float32), requires_grad=True)
    w = Tensor(normal(4, 3, 3, 3).astype(np.float32), requires_grad=True)
    b = Tensor(normal(4).astype(np.float32), requires_grad=True)
    out = x.conv2d(w, b, padding=1)
    out.sum().backward()
    assert out.dtype == np.float32
    assert {t.grad.dtype for t in (x, w, b)} == {np.dtype(np.float32)}


def test_conv2d_is_one_node_labelled_conv2d():
    x, w = Tensor(normal(1, 1, 4, 4)), Tensor(normal(2, 1, 3, 3), requires_grad=True)
    out = x.conv2d(w)
    assert out._op == "conv2d" and out._prev == (x, w)
    assert "label=conv2d " in draw_graph(out).source


# ----- Pooling against PyTorch ----------------------------------------------------------------

POOL_CASES = [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 1},
    {"kernel_size": (2, 3), "stride": (1, 2)},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "padding": (1, 1)},
]


@pytest.mark.parametrize("kwargs", [*POOL_CASES, {"kernel_size": 2, "dilation": 2},
                                    {"kernel_size": 3, "padding": 1, "dilation": (1, 2)}],
                         ids=str)
def test_max_pool2d_matches_torch(torch, kwargs):
    x = normal(2, 3, 7, 8)
    same_as_torch(torch, lambda x: x.max_pool2d(**kwargs),
                  lambda x: torch.nn.functional.max_pool2d(x, **kwargs), x,
                  second_order=True)


@pytest.mark.parametrize("kwargs", POOL_CASES, ids=str)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool2d_matches_torch(torch, kwargs, count_include_pad):
    x = normal(2, 3, 7, 8)
    same_as_torch(
        torch, lambda x: x.avg_pool2d(**kwargs, count_include_pad=count_include_pad),
        lambda x: torch.nn.functional.avg_pool2d(x, **kwargs,
                                                 count_include_pad=count_include_pad),
        x, second_order=True)


def test_max_pool2d_sends_a_tied_gradient_to_the_first_maximum_as_torch(torch):
    # Zeros after a relu tie everywhere: each window's whole gradient goes to its first
    # element (row-major), never split and never duplicated.
    x = np.zeros((1, 2, 4, 4))
    x[0, 1, 1, 1] = -1.0
    x[0, 1, 2:, 2:] = 5.0
    for kwargs in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1},
                   {"kernel_size": 2, "stride": 1, "padding": 1}):
        same_as_torch(torch, lambda x, kw=kwargs: x.max_pool2d(**kw),
                      lambda x, kw=kwargs: torch.nn.functional.max_pool2d(x, **kw), x)


def test_max_pool2d_passes_nan_through():
    x = Tensor(np.array([[[[1.0, np.nan], [0.0, 2.0]]]]), requires_grad=True)
    out = x.max_pool2d(2)
    out.backward(np.ones((1, 1, 1, 1)))
    assert np.isnan(out.item())
    np.testing.assert_array_equal(x.grad, [[[[0, 1], [0, 0]]]])  # to the NaN


def test_pooling_keeps_float32():
    x = Tensor(normal(1, 2, 4, 4).astype(np.float32), requires_grad=True)
    (x.max_pool2d(2).sum() + x.avg_pool2d(2, padding=1).sum()).backward()
    assert x.max_pool2d(2).dtype == x.avg_pool2d(3).dtype == x.grad.dtype == np.float32


# ----- The window primitives -----------------------------------------------------------------


@st.composite
def window_cases(draw):
    from tinygrad_nn.ops import get

    inputs, params = get("windows2d").cases(Draw(draw))
    x = inputs[0]
    view = tg.windows2d(x, **params)
    y = draw(st.integers(0, 2**32 - 1).map(lambda s: np.random.default_rng(s).normal(
        size=view.shape)))
    return x, y, params


@given(window_cases())
def test_fold_windows2d_is_the_adjoint_of_windows2d(case):
    # <windows(x), y> == <x, fold(y)> for every x and y: the definition of the adjoint,
    # which is what makes each one the other's gradient.
    x, y, params = case
    fold_params = {k: v for k, v in params.items() if k != "kernel_size"}
    left = np.sum(tg.windows2d(x, **params).data * y)
    right = np.sum(x * tg.fold_windows2d(y, shape=x.shape, **fold_params).data)
    assert left == pytest.approx(right, rel=1e-9, abs=1e-9)


def test_windows2d_is_a_view_of_the_padded_image():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    win = tg.windows2d(x, kernel_size=(2, 2), stride=(2, 1), padding=((1, 0), (0, 0)),
                       dilation=(1, 2), fill=-1.0).data
    assert win.shape == (1, 1, 2, 2, 2, 2)
    np.testing.assert_array_equal(win[0, 0, 0, 0], [[-1, -1], [0, 2]])
    np.testing.assert_array_equal(win[0, 0, 1, 1], [[5, 7], [9, 11]])


def test_window_max_mask_marks_one_first_maximum_per_window():
    windows = np.array([[[[1.0, 3.0], [3.0, 0.0]], [[2.0, 2.0], [2.0, 2.0]]]])
    mask = tg.window_max_mask(windows)
    assert not mask.requires_grad
    np.testing.assert_array_equal(mask.data, [[[[0, 1], [0, 0]], [[1, 0], [0, 0]]]])


# ----- Errors name the op and the argument -----------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: Tensor(normal(2, 3, 5, 5)).conv2d(Tensor(normal(4, 2, 3, 3))), ValueError,
         r"conv2d: the input has 3 channels, but the weight of shape \(4, 2, 3, 3\)"),
        (lambda: Tensor(normal(3, 5, 5)).conv2d(Tensor(normal(4, 3, 3, 3))), ValueError,
         r"conv2d: the input must be \(batch, channels, height, width\)"),
        (lambda: Tensor(normal(1, 3, 5, 5)).conv2d(Tensor(normal(4, 3, 3))), ValueError,
         "conv2d: the weight must be"),
        (lambda: Tensor(normal(1, 3, 5, 5)).conv2d(Tensor(normal(4, 3, 3, 3)),
                                                   Tensor(normal(3))),
         ValueError, r"conv2d: the bias must have shape \(4,\)"),
        (lambda: Tensor(normal(1, 3, 2, 5)).conv2d(Tensor(normal(4, 3, 3, 3))), ValueError,
         "conv2d: the kernel .* is larger than the padded input"),
        (lambda: Tensor(normal(1, 3, 5, 5)).conv2d(Tensor(normal(4, 3, 3, 3)), stride=2,
                                                   padding="same"),
         ValueError, "conv2d: padding='same' needs stride 1"),
        (lambda: Tensor(normal(1, 3, 5, 5)).conv2d(Tensor(normal(4, 3, 3, 3)), stride=0),
         ValueError, "conv2d: stride must be at least 1"),
        (lambda: Tensor(normal(1, 4, 5, 5)).conv2d(Tensor(normal(3, 2, 3, 3)), groups=2),
         ValueError, "conv2d: groups=2 does not divide the 3 output channels"),
        (lambda: Tensor(normal(1, 3, 5, 5)).conv2d(Tensor(normal(4, 3, 3, 3)), None, 2),
         TypeError, "conv2d"),
        (lambda: tg.conv2d(normal(1, 3, 5, 5), normal(4, 3, 3, 3), normal(4), 2), TypeError,
         r"conv2d: takes \(x, weight\) or \(x, weight, bias\), got 4 inputs"),
        (lambda: Tensor(np.ones((1, 1, 4, 4), dtype=np.int64)).conv2d(
            Tensor(np.ones((1, 1, 3, 3)))), TypeError, "conv2d: expects a floating-point"),
        (lambda: Tensor(normal(1, 1, 4, 4)).max_pool2d(), TypeError,
         "max_pool2d: kernel_size is required"),
        (lambda: Tensor(normal(1, 1, 4, 4)).max_pool2d(2, padding=2), ValueError,
         "max_pool2d: padding 2 is more than half the kernel size"),
        (lambda: Tensor(normal(1, 1, 4, 4)).avg_pool2d((2, 2, 2)), TypeError,
         r"avg_pool2d: kernel_size must be an int or a pair of ints, got \(2, 2, 2\)"),
        (lambda: Tensor(normal(1, 1, 4, 4)).avg_pool2d(2, padding="same"), ValueError,
         "avg_pool2d: padding must be an int or a pair"),
        (lambda: Tensor(normal(4, 4)).max_pool2d(2), ValueError,
         r"max_pool2d: the input must be \(batch, channels, height, width\), got shape \(4, 4\)"),
    ],
)
def test_bad_arguments_name_the_op_and_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----- Layers --------------------------------------------------------------------------------


def test_conv2d_layer_has_torch_shapes_init_and_names():
    layer = nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, seed=0)
    assert layer.weight.shape == (6, 2, 3, 2) and layer.bias.shape == (6,)
    assert layer.weight.dtype == np.float32
    bound = 1 / np.sqrt(2 * 3 * 2)  # 1/sqrt(fan_in), fan_in = in_channels/groups * kh * kw
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.num_parameters() == 6 * 2 * 3 * 2 + 6
    assert repr(layer) == "Conv2d(4, 6, kernel_size=(3, 2), stride=(2, 2), padding=(1, 1), " \
        "groups=2)"
    assert layer(np.zeros((5, 4, 8, 8))).shape == (5, 6, 4, 5)


def test_conv2d_layer_without_bias():
    layer = nn.Conv2d(1, 2, 3, bias=False, padding="same")
    assert layer.bias is None and list(layer.state_dict()) == ["weight"]
    assert repr(layer).endswith("padding='same', bias=False)")
    assert layer(np.ones((1, 1, 5, 5))).shape == (1, 2, 5, 5)


def test_conv2d_layer_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match="groups=2 must divide in_channels=3"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="Conv2d: expected 3 input channels"):
        nn.Conv2d(3, 4, 3)(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"MaxPool2d: expected images of shape"):
        nn.MaxPool2d(2)(np.zeros((4, 4)))


def test_pool_layers():
    x = normal(2, 3, 6, 6)
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x).data, Tensor(x).max_pool2d(2).data)
    np.testing.assert_array_equal(nn.AvgPool2d(3, stride=1, padding=1)(x).data,
                                  Tensor(x).avg_pool2d(3, 1, 1).data)
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1)"
    assert repr(nn.AvgPool2d(3, 1, count_include_pad=False)) == \
        "AvgPool2d(kernel_size=3, stride=1, padding=0, count_include_pad=False)"


def test_layers_match_torch_modules_with_the_same_weights(torch):
    ours = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, seed=1), nn.Activation("relu"),
                         nn.MaxPool2d(2), nn.Conv2d(4, 4, 3, groups=2, dilation=2, seed=2),
                         nn.AvgPool2d(2, padding=1, count_include_pad=False))
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(4, 4, 3, groups=2, dilation=2),
        torch.nn.AvgPool2d(2, padding=1, count_include_pad=False)).double()
    with torch.no_grad():
        for mine, ref in zip(ours.parameters(), theirs.parameters()):
            mine.data = mine.data.astype(np.float64)
            ref.copy_(torch.tensor(mine.data))
    x = normal(3, 2, 12, 12)
    out, expected = ours(Tensor(x)), theirs(torch.tensor(x))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    for mine, ref in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_allclose(mine.grad, ref.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_small_conv_net_learns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 1, 8, 8)).astype(np.float32)
    y = (X[:, 0, :4].sum(axis=(1, 2)) > X[:, 0, 4:].sum(axis=(1, 2))).astype(np.int64)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, seed=0), nn.Activation("relu"),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 2, seed=0))
    optimizer = tg.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(30):
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


# ----- The benchmark compares like with like ----------------------------------------------------


def test_the_conv_benchmark_contenders_take_the_same_steps(torch):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    import conv_net

    assert conv_net.largest_loss_gap(conv_net.contenders(), n=3) < 1e-5
