"""Edge semantics of the shape, reduction, linear-algebra and creation ops, by hand.

The generated tests (test_ops.py) check every op's values and derivatives on random
cases, and test_torch_parity.py compares them with PyTorch; this file pins down what
random cases do not reach: infinities and fully masked rows, zero variance, zero factors,
PyTorch's conventions where NumPy differs, error messages and the creation functions'
dtypes. NumPy warnings are errors in this suite, so every case here is also warning-free.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tinygrad_nn as tg
from tinygrad_nn import Tensor, Value, draw_graph, grad
from tinygrad_nn.testing import gradgradcheck, tensor_gradcheck

inf, nan = math.inf, math.nan


def leaf(data, dtype=np.float64):
    return Tensor(np.asarray(data, dtype=dtype), requires_grad=True)


def gradient(x, y, upstream=None):
    """d(sum(upstream * y))/dx as an array."""
    (g,) = grad(y, x, grad_output=np.ones(y.shape) if upstream is None else upstream)
    return g.data


# ----- Softmax family: infinities and masked rows (PyTorch's results) ---------------------

ROWS = np.array([
    [-inf, -inf, -inf],  # every entry masked
    [-inf, 1.0, 2.0],  # one masked entry
    [inf, 1.0, -inf],
    [nan, 1.0, 2.0],
    [1e4, -1e4, 0.0],  # large magnitudes
])


def test_logsumexp_of_masked_and_infinite_rows():
    x = leaf(ROWS)
    out = x.logsumexp(axis=1)
    np.testing.assert_allclose(out.data, [-inf, math.log(math.e + math.e ** 2), inf, nan, 1e4])
    g = gradient(x, out)
    # Where PyTorch's gradient is inf - inf (NaN), ours is too; elsewhere it is finite,
    # and a masked entry gets none.
    assert np.isnan(g[0]).all() and np.isnan(g[2, 0]) and np.isnan(g[3]).all()
    np.testing.assert_allclose(g[1], [0.0, 1 / (1 + math.e), math.e / (1 + math.e)])
    np.testing.assert_array_equal(g[2, 1:], [0.0, 0.0])
    np.testing.assert_array_equal(g[4], [1.0, 0.0, 0.0])


def test_softmax_of_masked_and_infinite_rows():
    x = leaf(ROWS)
    out = x.softmax(axis=1)
    assert np.isnan(out.data[[0, 2, 3]]).all()  # as PyTorch: 0 / 0 and inf / inf
    np.testing.assert_allclose(out.data[1], [0.0, 1 / (1 + math.e), math.e / (1 + math.e)])
    np.testing.assert_array_equal(out.data[4], [1.0, 0.0, 0.0])
    g = gradient(x, out, upstream=np.arange(15.0).reshape(5, 3))
    assert np.isfinite(g[[1, 4]]).all() and g[1, 0] == 0.0


def test_log_softmax_of_masked_and_infinite_rows():
    x = leaf(ROWS)
    out = x.log_softmax(axis=1)
    assert np.isnan(out.data[[0, 2, 3]]).all()
    assert out.data[1, 0] == -inf and np.isfinite(out.data[1, 1:]).all()
    np.testing.assert_array_equal(out.data[4], [0.0, -2e4, -1e4])
    g = gradient(x, out)
    np.testing.assert_allclose(g[1], [1.0, 1 - 3 / (1 + math.e), 1 - 3 * math.e / (1 + math.e)])


def test_masked_attention_weights_and_their_gradient():
    scores = leaf(np.random.default_rng(0).normal(size=(4, 4)))
    future = np.triu(np.ones((4, 4), dtype=bool), k=1)
    weights = scores.masked_fill(future, -inf).softmax(axis=-1)
    np.testing.assert_allclose(weights.data.sum(axis=-1), np.ones(4))
    assert (weights.data[future] == 0).all()
    g = gradient(scores, (weights * weights).sum())
    assert np.isfinite(g).all() and (g[future] == 0).all()


def test_softmax_family_over_an_empty_axis():
    x = leaf(np.zeros((2, 0)))
    np.testing.assert_array_equal(x.logsumexp(axis=1).data, [-inf, -inf])
    assert x.softmax(axis=1).shape == (2, 0) and x.log_softmax(axis=1).shape == (2, 0)


# Many rows of few entries (a batch of logits) take a vectorised path for max and min
# along the last axis; it must give NumPy's own reduction (NaN and infinities included)
# and the same gradients.
@pytest.mark.parametrize("shape", [(40, 10), (3, 40, 5), (64, 32), (64, 33), (16, 10)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_max_and_min_along_short_rows_are_numpys(shape, keepdims):
    rng = np.random.default_rng(1)
    x = rng.normal(size=shape).astype(np.float32)
    x.reshape(-1)[[0, 7, 50]] = [np.nan, -inf, inf]
    x[..., 1, :] = -0.0
    t = leaf(x, np.float32)
    for method, reduce in (("max", np.maximum.reduce), ("min", np.minimum.reduce)):
        for axis in (-1, x.ndim - 1):
            got = getattr(t, method)(axis=axis, keepdims=keepdims).data
            expected = reduce(x, axis=-1, keepdims=keepdims)
            assert got.shape == expected.shape and got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
    smooth = rng.permutation(np.arange(np.prod(shape), dtype=np.float64)).reshape(shape)
    assert tensor_gradcheck(lambda a: a.max(axis=-1).sum() - a.min(axis=-1, keepdims=True).sum(),
                            [Tensor(smooth, requires_grad=True)])


def test_a_bias_gradient_is_an_array_of_its_own():
    # Summed over the batch axis only: no reshape of a kept axis, so no view to copy.
    x = Tensor(np.ones((5, 3)), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    c = Tensor(np.zeros(()), requires_grad=True)
    ((x + b) * 2.0 + c).sum().backward()
    np.testing.assert_array_equal(b.grad, [10.0, 10.0, 10.0])
    assert b.grad.base is None and b.grad.flags.writeable
    assert c.grad.shape == () and float(c.grad) == 15.0


# ----- Variance and standard deviation ----------------------------------------------------


@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_and_std_take_a_correction(correction):
    data = np.random.default_rng(1).normal(size=(3, 5))
    x = leaf(data)
    np.testing.assert_allclose(x.var(axis=1, correction=correction).data,
                               data.var(axis=1, ddof=correction))
    np.testing.assert_allclose(x.std(correction=correction).data, data.std(ddof=correction))


def test_the_default_correction_is_bessels():
    data = np.array([1.0, 2.0, 4.0])
    assert leaf(data).var().item() == pytest.approx(data.var(ddof=1))
    assert leaf(data).std(keepdims=True).shape == (1,)


def test_zero_variance_has_a_finite_gradient():
    x = leaf(np.full((2, 3), 1.5))
    np.testing.assert_array_equal(gradient(x, x.var(axis=1)), np.zeros((2, 3)))
    # NOTE: PyTorch gives NaN here (0 / 0); 0 is std's smallest subgradient at its kink.
    np.testing.assert_array_equal(gradient(x, x.std(axis=1)), np.zeros((2, 3)))
    (g,) = grad(x.std(), x, create_graph=True)
    assert np.isfinite(grad(g.sum(), x)[0].data).all()


@pytest.mark.parametrize(
    ("data", "correction", "expected"),
    [
        ([3.0], 1, nan),  # 0 / 0
        ([3.0, 1.0], 2, inf),  # 2 / 0
        ([3.0, 3.0], 2, nan),
        ([3.0, 1.0], 5, inf),  # a negative count of degrees of freedom counts as 0
        ([], 1, nan),
    ],
)
def test_no_degrees_of_freedom_give_inf_or_nan_as_pytorch(data, correction, expected):
    x = leaf(data)
    np.testing.assert_array_equal(x.var(correction=correction).data, expected)
    np.testing.assert_array_equal(x.std(correction=correction).data, expected)
    assert np.isnan(gradient(x, x.var(correction=correction))).all()


def test_the_mean_of_nothing_is_nan():
    x = leaf(np.zeros((2, 0)))
    np.testing.assert_array_equal(x.mean(axis=1).data, [nan, nan])
    assert gradient(x, x.mean(axis=1)).shape == (2, 0)


def test_reductions_of_integers_follow_numpy_promotion():
    counts = Tensor(np.array([1, 2, 6]))
    assert counts.var().dtype == np.float64 and counts.var().item() == pytest.approx(7.0)
    assert np.isnan(Tensor(np.array([4])).var().item())
    assert counts.prod().dtype == np.int64 and counts.cumsum().dtype == np.int64


# ----- Products with zero factors ---------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([2.0, 0.0, 3.0], [0.0, 6.0, 0.0]),  # one zero: the product of the others
        ([2.0, 0.0, 0.0], [0.0, 0.0, 0.0]),  # two zeros: every slope is 0
        ([2.0, 4.0, 3.0], [12.0, 6.0, 8.0]),
    ],
)
def test_prod_gradient_with_zero_factors(data, expected):
    x = leaf(data)
    np.testing.assert_array_equal(gradient(x, x.prod()), expected)


def test_prod_gradient_with_zeros_along_several_axes():
    data = np.array([[[2.0, 0.0], [3.0, 1.0]], [[0.0, 5.0], [2.0, 0.0]]])
    x = leaf(data)
    g = gradient(x, x.prod(axis=(0, 2)))
    for index in np.ndindex(data.shape):
        others = np.delete(data[:, index[1], :].reshape(-1), index[0] * 2 + index[2])
        assert g[index] == np.prod(others)


def test_cumprod_gradient_with_zero_factors():
    x = leaf([2.0, 0.0, 3.0, 0.0, 5.0])
    np.testing.assert_array_equal(gradient(x, x.cumprod()), [1.0, 8.0, 0.0, 0.0, 0.0])


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_second_derivatives_of_products_are_exact_at_zeros(axis):
    data = np.array([[2.0, 0.0, 3.0, 0.5], [0.0, 1.5, 0.0, -2.0]])
    tensor_gradcheck(lambda t: t.cumprod(axis=axis), data)
    gradgradcheck(lambda t: t.cumprod(axis=axis), data)
    gradgradcheck(lambda t: t.prod(axis=axis), data)


# ----- Positions and truth values: no gradient --------------------------------------------


def test_argmax_argmin_any_all_take_no_gradient():
    x = leaf([[1.0, 3.0, 3.0], [0.0, -1.0, nan]])
    for out in (x.argmax(axis=1), x.argmin(), x.any(axis=0), x.all(keepdims=True),
                tg.one_hot(Tensor(np.array([0, 2])))):
        assert not out.requires_grad
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 2])  # first tie; NaN is largest
    assert x.argmax(axis=1, keepdims=True).shape == (2, 1) and x.argmax().dtype == np.int64
    np.testing.assert_array_equal(x.any(axis=1).data, [True, True])
    np.testing.assert_array_equal(x.all(axis=1).data, [True, False])


def test_one_hot_is_int64_with_inferred_or_given_classes():
    labels = Tensor(np.array([[0, 2], [1, 0]]))
    out = labels.one_hot()
    assert out.shape == (2, 2, 3) and out.dtype == np.int64
    np.testing.assert_array_equal(out.data[0, 1], [0, 0, 1])
    assert tg.one_hot(labels, num_classes=5).shape == (2, 2, 5)


def test_gather_sends_gradient_to_the_input_only_and_adds_repeats():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    index = np.array([[2, 2], [0, 1]])
    out = x.gather(1, index)
    np.testing.assert_array_equal(out.data, [[3.0, 3.0], [4.0, 5.0]])
    np.testing.assert_array_equal(gradient(x, out), [[0.0, 0.0, 2.0], [1.0, 1.0, 0.0]])
    np.testing.assert_array_equal(tg.gather(x, 0, [[1, 0, 1]]).data, [[4.0, 2.0, 6.0]])


def test_masked_fill_sends_no_gradient_to_filled_places():
    x = leaf([1.0, 2.0, 3.0])
    mask = Tensor(np.array([True, False, True]))
    out = x.masked_fill(mask, -inf)
    np.testing.assert_array_equal(out.data, [-inf, 2.0, -inf])
    np.testing.assert_array_equal(gradient(x, out.exp()), [0.0, math.exp(2.0), 0.0])


# ----- Shapes: PyTorch's conventions where NumPy differs ----------------------------------


def test_transpose_swaps_two_axes_as_pytorch_and_permutes_as_numpy():
    x = Tensor(np.zeros((2, 3, 4)))
    assert x.transpose(0, 2).shape == (4, 3, 2)  # PyTorch: swap
    assert x.transpose(1, 2, 0).shape == (3, 4, 2)  # NumPy: permutation
    assert x.transpose().shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    matrix = Tensor(np.arange(6.0).reshape(2, 3))
    assert matrix.transpose(0, 1).shape == (3, 2)  # NumPy would keep (2, 3)
    assert matrix.transpose((0, 1)).shape == (2, 3)  # a tuple is a permutation


def test_squeeze_keeps_an_axis_whose_length_is_not_one():
    x = Tensor(np.zeros((1, 3, 1)))
    assert x.squeeze().shape == (3,) and x.squeeze(1).shape == (1, 3, 1)
    assert x.squeeze((0, 1)).shape == (3, 1)
    assert Tensor(2.0).squeeze(0).shape == () and Tensor(2.0).flatten().shape == (1,)


def test_expand_keeps_axes_given_as_minus_one():
    x = leaf([[1.0], [2.0]])
    out = x.expand(3, -1, 4)
    assert out.shape == (3, 2, 4) and out._op == "broadcast_to"
    np.testing.assert_array_equal(gradient(x, out), [[12.0], [12.0]])


def test_repeat_tiles_as_pytorch_and_tile_pads_as_numpy():
    data = np.arange(6.0).reshape(2, 3)
    x = leaf(data)
    np.testing.assert_array_equal(x.repeat(2, 1, 2).data, np.tile(data, (2, 1, 2)))
    np.testing.assert_array_equal(x.tile(2).data, np.tile(data, 2))
    np.testing.assert_array_equal(gradient(x, x.repeat(3, 2)), np.full((2, 3), 6.0))


@pytest.mark.parametrize(
    ("call", "sizes"),
    [
        (lambda x: x.split(2), [2, 2, 1]),
        (lambda x: x.split([1, 4]), [1, 4]),
        (lambda x: x.chunk(3), [2, 2, 1]),
        (lambda x: x.chunk(4), [2, 2, 1]),  # ceil(5 / 4) = 2: only 3 chunks, as PyTorch
    ],
)
def test_split_and_chunk_give_pytorchs_pieces(call, sizes):
    x = leaf(np.arange(5.0))
    pieces = call(x)
    assert isinstance(pieces, tuple) and [p.shape[0] for p in pieces] == sizes
    total = sum((p * (k + 1)).sum() for k, p in enumerate(pieces))
    np.testing.assert_array_equal(gradient(x, total), np.repeat(np.arange(1.0, len(sizes) + 1),
                                                                sizes))


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("reflect", [[2, 1, 0, 1, 2, 1, 0], [5, 4, 3, 4, 5, 4, 3]]),
        ("replicate", [[0, 0, 0, 1, 2, 2, 2], [3, 3, 3, 4, 5, 5, 5]]),
        ("circular", [[1, 2, 0, 1, 2, 0, 1], [4, 5, 3, 4, 5, 3, 4]]),
    ],
)
def test_pad_modes(mode, expected):
    x = leaf(np.arange(6.0).reshape(2, 3))
    out = x.pad((2, 2), mode=mode)
    np.testing.assert_array_equal(out.data, expected)
    # Each padded position copies an element of x; its gradient goes back there.
    counts = [np.count_nonzero(out.data == v) for v in range(6)]
    np.testing.assert_array_equal(gradient(x, out).reshape(-1), counts)


def test_constant_pad_fills_and_crops():
    x = leaf(np.arange(6.0).reshape(2, 3))
    out = x.pad((1, -1, 0, 1), value=-inf)  # last axis: 1 before, crop 1 after; then 1 row
    np.testing.assert_array_equal(out.data, [[-inf, 0, 1], [-inf, 3, 4], [-inf, -inf, -inf]])
    np.testing.assert_allclose(gradient(x, out.exp().sum()),
                               [[1.0, math.e, 0.0], [math.e ** 3, math.e ** 4, 0.0]])


def test_tril_and_triu_zero_what_they_drop_even_if_infinite():
    x = Tensor(np.array([[1.0, inf], [nan, 4.0]]))
    np.testing.assert_array_equal(x.tril().data, [[1.0, 0.0], [nan, 4.0]])
    np.testing.assert_array_equal(x.triu(1).data, [[0.0, inf], [0.0, 0.0]])


def test_diagonal_with_offsets_and_axes():
    data = np.arange(24.0).reshape(2, 3, 4)
    x = leaf(data)
    for offset, axis1, axis2 in [(0, 0, 1), (1, 1, 2), (-1, 2, 0), (5, 1, 2)]:
        np.testing.assert_array_equal(x.diagonal(offset, axis1, axis2).data,
                                      np.diagonal(data, offset, axis1, axis2))
    g = gradient(x, x.diagonal(1, 1, 2))
    assert g.sum() == 6 and g[0, 0, 1] == g[1, 2, 3] == 1


def test_aliases_run_the_op_they_alias():
    x = Tensor(np.zeros((2, 3)), requires_grad=True)
    for alias, op in [(x.view(3, 2), "reshape"), (x.swapaxes(0, 1), "transpose"),
                      (x.expand_dims(0), "unsqueeze"), (x.movedim(0, 1), "moveaxis"),
                      (x.tile(2), "repeat"), (x.amax(), "max"), (x.amin(0), "min"),
                      (x.expand(2, 2, 3), "broadcast_to")]:
        assert alias._op == op
        assert re.search(rf'label="?{op}"?[ \]]', draw_graph(alias).source)
    assert "Alias of ``Tensor.reshape``" in Tensor.view.__doc__
    with pytest.raises(ValueError, match="alias"):
        tg.ops.register("view", forward=lambda x, ops: x)


# ----- Linear algebra ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subscripts", "shapes"),
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ii->i", [(3, 3)]),
        ("ii", [(3, 3)]),  # implicit: the trace
        ("ij", [(2, 3)]),  # implicit: no change
        ("ji", [(2, 3)]),  # implicit: alphabetical, so a transpose
        ("i,j", [(2,), (3,)]),
        ("...ij,...jk->...ik", [(5, 2, 3), (3, 4)]),
        ("b...a", [(2, 4, 3)]),
        ("ij,ij,ij->", [(2, 3)] * 3),
        ("iij->j", [(2, 2, 3)]),
    ],
)
def test_einsum_matches_numpy_with_gradients(subscripts, shapes):
    arrays = [np.random.default_rng(k).normal(size=s) for k, s in enumerate(shapes)]
    out = tg.einsum(subscripts, *(Tensor(a) for a in arrays))
    np.testing.assert_allclose(out.data, np.einsum(subscripts, *arrays))
    tensor_gradcheck(lambda *ts: tg.einsum(subscripts, *ts), *arrays)


def test_einsum_trace_gradient_is_the_identity():
    x = leaf(np.arange(9.0).reshape(3, 3))
    np.testing.assert_array_equal(gradient(x, tg.einsum("ii", x)), np.eye(3))
    assert tg.einsum("i,i", [Tensor([1.0, 2.0]), Tensor([3.0, 4.0])]).item() == 11.0


def test_tensordot_outer_and_dot():
    a, b = np.arange(24.0).reshape(2, 3, 4), np.arange(12.0).reshape(4, 3)
    for axes in (1, ([1, 2], [1, 0]), ((2,), (0,))):
        np.testing.assert_array_equal(tg.tensordot(Tensor(a), Tensor(b), axes).data,
                                      np.tensordot(a, b, axes))
    u, v = leaf([1.0, 2.0]), leaf([3.0, 4.0, 5.0])
    np.testing.assert_array_equal(u.outer(v).data, np.outer(u.data, v.data))
    np.testing.assert_array_equal(gradient(u, u.outer(v)), [12.0, 12.0])
    assert u.dot(Tensor([2.0, 0.5])).item() == 3.0


# ----- Errors name the op and the bad argument --------------------------------------------

X = Tensor(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: X.sum(axis=3), np.exceptions.AxisError, "sum: axis 3 is out of bounds"),
        (lambda: X.var(axis=(0, 0)), ValueError, r"var: axis \(0, 0\) names an axis twice"),
        (lambda: X.flatten(5), np.exceptions.AxisError, "flatten: start_axis: axis 5"),
        (lambda: X.flatten(1, 0), ValueError, "flatten: start_axis 1 comes after end_axis 0"),
        (lambda: X.unflatten(1, (2, 2)), ValueError, r"unflatten: sizes \(2, 2\) do not"),
        (lambda: X.unsqueeze(4), np.exceptions.AxisError, "unsqueeze: axis 4"),
        (lambda: X.permute(0, 0), ValueError, r"permute: axes \(0, 0\) are not a permutation"),
        (lambda: X.moveaxis(0, 2), np.exceptions.AxisError, "moveaxis: destination: axis 2"),
        (lambda: X.transpose(0, 2), np.exceptions.AxisError, "transpose: axis1: axis 2"),
        (lambda: X.swapaxes(-3, 0), np.exceptions.AxisError, "swapaxes: axis0: axis -3"),
        (lambda: X.expand(3), ValueError, r"expand: shape \(3,\) has fewer axes"),
        (lambda: X.expand(-1, 2, 3), ValueError, "expand: .* -1 on a new leading axis"),
        (lambda: X.repeat(2), ValueError, r"repeat: repeats \(2,\) needs an entry"),
        (lambda: X.flip(2), np.exceptions.AxisError, "flip: axis 2"),
        (lambda: X.roll(1, 2), np.exceptions.AxisError, "roll: axis 2"),
        (lambda: X.gather(1, np.zeros((2, 1))), TypeError, "gather: index must hold integers"),
        (lambda: X.gather(1, np.array([[3]])), IndexError, r"gather: index holds values "
                                                           r"outside \[0, 3\)"),
        (lambda: X.gather(0, np.zeros((1,), int)), ValueError, "gather: index has 1 dim"),
        (lambda: X.masked_fill(np.ones(3), 1.0), TypeError, "masked_fill: mask must be boolean"),
        (lambda: X.masked_fill(np.ones((3, 3), bool), 1.0), ValueError,
         r"masked_fill: mask of shape \(3, 3\) does not broadcast"),
        (lambda: X.one_hot(), TypeError, "one_hot: x must hold integer class indices"),
        (lambda: tg.one_hot(np.array([0, 3]), num_classes=2), ValueError,
         r"one_hot: class indices must lie in \[0, 2\)"),
        (lambda: Tensor([1.0, 2.0]).tril(), ValueError, r"tril: needs a matrix"),
        (lambda: X.diagonal(0, 1, -1), ValueError, "diagonal: axis1 and axis2 are the same"),
        (lambda: X.split([1, 1], axis=1), ValueError, r"split: split_size \(1, 1\) does not "
                                                      "add up to 3"),
        (lambda: X.chunk(0), ValueError, "chunk: chunks must be at least 1"),
        (lambda: X.pad((1,)), ValueError, r"pad: pad \(1,\) must hold \(before, after\) pairs"),
        (lambda: X.pad((1, 1), mode="wrap"), ValueError, "pad: mode must be one of"),
        (lambda: X.pad((3, 0), mode="reflect"), ValueError,
         "pad: .*reflect padding of an axis of length 3 must be at most 2"),
        (lambda: tg.einsum("ij,jk", X), ValueError, "einsum: subscripts 'ij,jk' name 2"),
        (lambda: tg.einsum("i", X), ValueError, "einsum: operand 0 has 2 dimension"),
        (lambda: tg.einsum("i1", X), ValueError, "einsum: subscripts 'i1' may hold letters"),
        (lambda: tg.einsum("ij,jk->ik", X, X), ValueError, "einsum: "),
        (lambda: tg.tensordot(X, X, 3), ValueError, r"tensordot: axes=3 must lie in \[0, 2\]"),
        (lambda: X.dot(X), ValueError, r"dot: a must be 1-d, got shape \(2, 3\)"),
        (lambda: tg.outer(Tensor([1.0]), X), ValueError, "outer: b must be 1-d"),
        (lambda: X.cumsum(axis=2), np.exceptions.AxisError, "cumsum: axis 2"),
        (lambda: X.logsumexp(axis=5), np.exceptions.AxisError, "logsumexp: axis 5"),
    ],
)
def test_errors_name_the_op_and_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ----- Creation functions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("made", "dtype", "values"),
    [
        (lambda: tg.arange(4), np.int64, [0, 1, 2, 3]),
        (lambda: tg.arange(1, 7, 2), np.int64, [1, 3, 5]),
        (lambda: tg.arange(5, 0, -2), np.int64, [5, 3, 1]),
        (lambda: tg.arange(0.5, 2), np.float32, [0.5, 1.5]),
        (lambda: tg.arange(3, dtype=np.float64), np.float64, [0, 1, 2]),
        (lambda: tg.linspace(0, 1, 5), np.float32, [0, 0.25, 0.5, 0.75, 1]),
        (lambda: tg.linspace(-1, 1, 5, dtype=np.int64), np.int64, [-1, 0, 0, 0, 1]),
        (lambda: tg.eye(2, 3), np.float32, [[1, 0, 0], [0, 1, 0]]),
        (lambda: tg.full(2, 7), np.int64, [7, 7]),
        (lambda: tg.full((2,), True), np.bool_, [True, True]),
        (lambda: tg.full((1, 2), -inf), np.float32, [[-inf, -inf]]),
        (lambda: tg.zeros_like(np.ones(2, np.int32)), np.int32, [0, 0]),
        (lambda: tg.ones_like(Tensor([1.0, 2.0]), dtype=np.float64), np.float64, [1, 1]),
        (lambda: tg.full_like([[1, 2]], 0.5), np.float32, [[0.5, 0.5]]),
    ],
)
def test_creation_dtypes_follow_pytorch(made, dtype, values):
    t = made()
    assert isinstance(t, Tensor) and t.dtype == dtype and t.is_leaf and not t.requires_grad
    np.testing.assert_array_equal(t.data, values)


def test_creation_with_requires_grad_makes_a_leaf():
    for t in (tg.arange(3.0, requires_grad=True), tg.linspace(0, 1, 3, requires_grad=True),
              tg.eye(2, requires_grad=True), tg.full((2,), 1.0, requires_grad=True),
              tg.zeros_like(X, requires_grad=True), tg.rand(2, requires_grad=True),
              tg.randint(3, (2,), dtype=np.float64, requires_grad=True)):
        assert t.requires_grad and t.is_leaf
    x = tg.full_like(X, 2.0, requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 4.0))


def test_random_creation_is_reproducible_and_in_range():
    np.testing.assert_array_equal(tg.rand(3, 2, rng=7).data, tg.rand((3, 2), rng=7).data)
    sample = tg.rand(1000, rng=0).data
    assert sample.dtype == np.float32 and sample.min() >= 0 and sample.max() < 1
    ints = tg.randint(2, 5, (1000,), rng=0)
    assert ints.dtype == np.int64 and set(ints.data.tolist()) == {2, 3, 4}
    assert tg.randint(3, (2, 2), rng=0).shape == (2, 2) and tg.randint(3).shape == ()


def test_zeros_like_of_a_value_is_the_registered_op():
    assert tg.zeros_like(Value(3.0)).data == 0.0 and tg.ones_like(Value(3.0)).data == 1.0


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: tg.arange(0, 1, 0), ValueError, "arange: step must not be 0"),
        (lambda: tg.arange(5, 0), ValueError, "arange: step 1 points away from end 0"),
        (lambda: tg.arange("a"), TypeError, "arange: end must be a real number"),
        (lambda: tg.linspace(0, 1, -1), ValueError, "linspace: steps must be an integer"),
        (lambda: tg.eye(-1), ValueError, "eye: shape must hold sizes >= 0"),
        (lambda: tg.full((2,), 1, requires_grad=True), TypeError,
         "full: requires_grad=True needs a floating dtype, got int64"),
        (lambda: tg.rand(2, dtype=np.int64), TypeError, "rand: dtype must be floating"),
        (lambda: tg.randint(5, 2), ValueError, r"randint: high \(2\) must be larger"),
        (lambda: tg.zeros_like("abc"), TypeError, "zeros_like expects Tensors, arrays"),
        (lambda: tg.zeros_like(Value(1.0), requires_grad=True), TypeError,
         "zeros_like: dtype= and requires_grad= apply to Tensors"),
    ],
)
def test_creation_errors_name_the_function_and_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
