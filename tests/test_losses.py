"""Losses: NumPy references, both engines, stability up to 1e4, reductions, errors."""

import numpy as np
import pytest

from tinygrad_nn import Tensor, Value, nn
from tinygrad_nn.nn import functional as F
from tinygrad_nn.testing import gradcheck

rng = np.random.default_rng(0)
LOGITS = rng.normal(size=(5, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2])
SIGNS = np.array([1.0, -1.0, -1.0, 1.0, 1.0])
TARGETS01 = np.array([1.0, 0.0, 0.3, 1.0, 0.0])


def reference_cross_entropy(z, y):
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_p[np.arange(len(y)), y]


def reference_bce(x, t):
    p = 1 / (1 + np.exp(-x))
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def reference_multiclass_hinge(s, y, margin=1.0):
    correct = s[np.arange(len(y)), y][:, None]
    m = np.maximum(0, s - correct + margin)
    m[np.arange(len(y)), y] = 0
    return m.sum(axis=1)


# (name, loss on the tensor engine, on one scalar sample i, NumPy reference per sample)
CASES = [
    ("cross_entropy",
     lambda r: F.cross_entropy(Tensor(LOGITS), LABELS, reduction=r),
     lambda i: F.cross_entropy([Value(v) for v in LOGITS[i]], int(LABELS[i])),
     reference_cross_entropy(LOGITS, LABELS)),
    ("binary_cross_entropy_with_logits",
     lambda r: F.binary_cross_entropy_with_logits(Tensor(LOGITS[:, 0]), TARGETS01, reduction=r),
     lambda i: F.binary_cross_entropy_with_logits(Value(LOGITS[i, 0]), TARGETS01[i]),
     reference_bce(LOGITS[:, 0], TARGETS01)),
    ("hinge",
     lambda r: F.hinge(Tensor(LOGITS[:, 0]), SIGNS, reduction=r),
     lambda i: F.hinge(Value(LOGITS[i, 0]), SIGNS[i]),
     np.maximum(0, 1 - SIGNS * LOGITS[:, 0])),
    ("multiclass_hinge",
     lambda r: F.multiclass_hinge(Tensor(LOGITS), LABELS, reduction=r),
     lambda i: F.multiclass_hinge([Value(v) for v in LOGITS[i]], int(LABELS[i])),
     reference_multiclass_hinge(LOGITS, LABELS)),
    ("mse",
     lambda r: F.mse(Tensor(LOGITS[:, 0]), TARGETS01, reduction=r),
     lambda i: F.mse(Value(LOGITS[i, 0]), TARGETS01[i]),
     (LOGITS[:, 0] - TARGETS01) ** 2),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize(("name", "tensor_loss", "scalar_loss", "reference"), CASES, ids=IDS)
def test_matches_numpy_on_both_engines(name, tensor_loss, scalar_loss, reference):
    np.testing.assert_allclose(tensor_loss("none").data, reference, rtol=1e-6, atol=1e-12)
    assert float(tensor_loss("mean").data) == pytest.approx(reference.mean(), rel=1e-6)
    assert float(tensor_loss("sum").data) == pytest.approx(reference.sum(), rel=1e-6)
    scalar = [scalar_loss(i).data for i in range(len(reference))]
    np.testing.assert_allclose(scalar, reference, rtol=1e-12, atol=1e-12)


def test_scalar_engine_reduces_a_list_of_samples():
    scores = [[Value(v) for v in row] for row in LOGITS]
    mean = F.cross_entropy(scores, LABELS.tolist())
    total = F.cross_entropy(scores, LABELS.tolist(), reduction="sum")
    per_sample = F.cross_entropy(scores, LABELS.tolist(), reduction="none")
    reference = reference_cross_entropy(LOGITS, LABELS)
    assert mean.data == pytest.approx(reference.mean())
    assert total.data == pytest.approx(reference.sum())
    assert [v.data for v in per_sample] == pytest.approx(reference.tolist())


def test_single_score_losses_take_a_list_of_values_as_a_batch():
    scores = [Value(v) for v in LOGITS[:, 0]]
    assert F.hinge(scores, SIGNS.tolist()).data == pytest.approx(
        np.maximum(0, 1 - SIGNS * LOGITS[:, 0]).mean())
    assert F.mse(scores, TARGETS01.tolist(), reduction="sum").data == pytest.approx(
        ((LOGITS[:, 0] - TARGETS01) ** 2).sum())


@pytest.mark.parametrize(
    "loss",
    [
        lambda z: F.cross_entropy(z, np.array([0, 1])),
        lambda z: F.multiclass_hinge(z, np.array([0, 1])),
        lambda z: F.binary_cross_entropy_with_logits(z, np.ones((2, 3))),
        lambda z: F.hinge(z, -np.ones((2, 3))),
        lambda z: F.mse(z, np.zeros((2, 3))),
    ],
)
def test_gradients_match_finite_differences(loss):
    z = rng.normal(size=(2, 3)) * 2
    assert gradcheck(lambda t: loss(t), z)


@pytest.mark.parametrize("scale", [1e4, -1e4])
@pytest.mark.parametrize(("name", "tensor_loss", "scalar_loss", "reference"), CASES[:4],
                         ids=IDS[:4])
def test_stable_for_scores_up_to_1e4(name, tensor_loss, scalar_loss, reference, scale):
    big = Tensor(np.array([[scale, -scale, 0.0], [0.0, scale, scale]]), requires_grad=True)
    if name in ("cross_entropy", "multiclass_hinge"):
        loss = getattr(F, name)(big, np.array([1, 0]))
    elif name == "hinge":
        loss = F.hinge(big, np.ones((2, 3)))
    else:
        loss = F.binary_cross_entropy_with_logits(big, np.ones((2, 3)))
    loss.backward()
    assert np.isfinite(loss.data) and np.all(np.isfinite(big.grad))
    value = Value(scale)
    for scalar in (F.cross_entropy([value, Value(0.0)], 1),
                   F.binary_cross_entropy_with_logits(value, 1.0)):
        scalar.backward()
        assert np.isfinite(scalar.data) and np.isfinite(value.grad)


def test_cross_entropy_of_confident_right_answer_is_near_zero():
    assert float(F.cross_entropy(Tensor([[1e4, 0.0]]), [0]).data) == 0.0
    assert float(F.cross_entropy(Tensor([[1e4, 0.0]]), [1]).data) == pytest.approx(1e4)


def test_l2_on_both_engines():
    model = nn.MLP(2, [3, 1], seed=0, dtype=np.float64)
    expected = sum(float((a**2).sum()) for a in model.state_dict().values())
    assert float(F.l2(model.parameters()).data) == pytest.approx(expected)
    scalar = nn.MLP(2, [3, 1], engine="scalar")
    scalar.load_state_dict(model.state_dict())
    assert F.l2(scalar.parameters()).data == pytest.approx(expected)
    with pytest.raises(TypeError, match="mix"):
        F.l2([*model.parameters(), *scalar.parameters()])


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: F.cross_entropy(Tensor(LOGITS), [0, 1]), ValueError, r"expected 5 labels"),
        (lambda: F.cross_entropy(Tensor(LOGITS), LABELS + 4), ValueError, r"in \[0, 4\)"),
        (lambda: F.cross_entropy(Tensor(LOGITS), LABELS * 1.0), TypeError, "integer"),
        (lambda: F.cross_entropy(Tensor(LOGITS[0]), [0]), ValueError, r"\(batch, classes\)"),
        (lambda: F.hinge(Tensor(LOGITS[:, 0]), TARGETS01), ValueError, r"\+1 or -1"),
        (lambda: F.mse(Tensor(LOGITS), np.zeros(3)), ValueError, r"shape \(5, 4\)"),
        (lambda: F.mse(Tensor(LOGITS), np.zeros(20), reduction="avg"), ValueError, "reduction"),
        (lambda: F.cross_entropy([Value(1.0)] * 3, 3), ValueError, r"in \[0, 3\)"),
    ],
)
def test_bad_inputs_are_explained(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize(
    "loss",
    [
        lambda z: F.mse(z, np.zeros(4)),
        lambda z: F.hinge(z, np.ones(4)),
        lambda z: F.binary_cross_entropy_with_logits(z, np.ones(4)),
        lambda z: F.cross_entropy(z.reshape(2, 2), np.array([0, 1])),
    ],
)
def test_float32_predictions_give_a_float32_loss(loss):
    assert loss(Tensor(np.ones(4, dtype=np.float32))).dtype == np.float32


def test_losses_alias():
    assert nn.losses is nn.functional
