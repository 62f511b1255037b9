"""PyTorch's layers (tensor engine): values, gradients and running statistics equal
PyTorch's in float64; train/eval modes; the parameter-free layers on both engines.

The parity tests skip when PyTorch is not installed (pip install torch==2.13.0).
"""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_nn import Tensor, Value, nn

RNG = np.random.default_rng(0)


def normal(*shape: int) -> np.ndarray:
    return RNG.normal(size=shape)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def assert_same_forward_and_backward(ours, theirs, torch, x: np.ndarray, params) -> None:
    """Same output, same input gradient and same parameter gradients for a random upstream
    gradient. ``params`` pairs our parameter Tensors with PyTorch's."""
    x_ours = Tensor(x, requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    out, ref = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = normal(*out.shape)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x_ours.grad, x_theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    for mine, reference in params:
        np.testing.assert_allclose(mine.grad, reference.grad.numpy(), rtol=1e-10, atol=1e-12)


def copy_weights(ours, theirs, torch) -> None:
    """PyTorch's parameters and buffers, same names, into our module."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


# ----- Linear -------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 3)])
def test_linear_matches_pytorch(torch, bias, shape):
    theirs = torch.nn.Linear(3, 4, bias=bias, dtype=torch.float64)
    ours = nn.Linear(3, 4, bias=bias, dtype=np.float64)
    copy_weights(ours, theirs, torch)
    params = [(ours.weight, theirs.weight)] + ([(ours.bias, theirs.bias)] if bias else [])
    assert_same_forward_and_backward(ours, theirs, torch, normal(*shape), params)


def test_linear_is_initialised_as_pytorch_does():
    layer = nn.Linear(400, 300, seed=0, dtype=np.float64)
    bound = 1 / np.sqrt(400)
    for p in (layer.weight.data, layer.bias.data):
        assert np.abs(p).max() <= bound and p.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)
    assert layer.weight.shape == (300, 400) and nn.Linear(2, 3, bias=False).bias is None
    assert nn.Linear(3, 4, bias=False).num_parameters() == 12


def test_linear_works_on_the_scalar_engine_too():
    tensor_layer = nn.Linear(3, 2, seed=0, dtype=np.float64)
    scalar_layer = nn.Linear(3, 2, engine="scalar")
    scalar_layer.load_state_dict(tensor_layer.state_dict())
    x = [0.5, -1.0, 2.0]
    expected = tensor_layer(Tensor([x], dtype=np.float64)).data[0]
    assert [v.data for v in scalar_layer(x)] == pytest.approx(expected.tolist())


def test_linear_repr():
    assert repr(nn.Linear(64, 10)) == "Linear(64, 10, bias=True)"
    assert repr(nn.Linear(2, 1, bias=False, engine="scalar")) == \
        "Linear(2, 1, bias=False, engine='scalar')"


# ----- LayerNorm ----------------------------------------------------------------------------


@pytest.mark.parametrize(("shape", "normalized"), [((6, 5), 5), ((2, 3, 4), (3, 4))])
def test_layer_norm_matches_pytorch(torch, shape, normalized):
    theirs = torch.nn.LayerNorm(normalized, dtype=torch.float64)
    with torch.no_grad():  # not the trivial ones and zeros
        theirs.weight.copy_(torch.tensor(normal(*theirs.weight.shape)))
        theirs.bias.copy_(torch.tensor(normal(*theirs.bias.shape)))
    ours = nn.LayerNorm(normalized, dtype=np.float64)
    copy_weights(ours, theirs, torch)
    params = [(ours.weight, theirs.weight), (ours.bias, theirs.bias)]
    assert_same_forward_and_backward(ours, theirs, torch, normal(*shape) * 3 + 1, params)


def test_layer_norm_without_affine_parameters(torch):
    ours = nn.LayerNorm(4, elementwise_affine=False, dtype=np.float64)
    theirs = torch.nn.LayerNorm(4, elementwise_affine=False, dtype=torch.float64)
    assert ours.num_parameters() == 0
    assert_same_forward_and_backward(ours, theirs, torch, normal(3, 4), [])


def test_layer_norm_explains_a_bad_shape():
    with pytest.raises(ValueError, match=r"LayerNorm: expected inputs of shape \(\.\.\., 5\)"):
        nn.LayerNorm(5)(np.ones((2, 4)))


# ----- BatchNorm1d --------------------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batch_norm_matches_pytorch_in_training_and_evaluation(torch, momentum, shape):
    theirs = torch.nn.BatchNorm1d(3, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(normal(3)))
        theirs.bias.copy_(torch.tensor(normal(3)))
    ours = nn.BatchNorm1d(3, momentum=momentum, dtype=np.float64)
    copy_weights(ours, theirs, torch)
    params = [(ours.weight, theirs.weight), (ours.bias, theirs.bias)]
    for _ in range(3):  # three training batches move the running statistics
        for p in (ours.weight, ours.bias):
            p.grad = None
        theirs.zero_grad()
        assert_same_forward_and_backward(ours, theirs, torch, normal(*shape) * 2 + 0.5, params)
    for name, buffer in theirs.named_buffers():
        np.testing.assert_allclose(getattr(ours, name).data, buffer.numpy(), rtol=1e-12)
    assert int(ours.num_batches_tracked.data) == 3

    ours.eval()
    theirs.eval()
    for p in (ours.weight, ours.bias):
        p.grad = None
    theirs.zero_grad()
    assert_same_forward_and_backward(ours, theirs, torch, normal(*shape), params)


def test_batch_norm_state_dict_has_pytorch_keys_and_buffers(torch):
    ours, theirs = nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    assert ours.num_parameters() == 8  # buffers are saved, not learned
    assert [name for name, _ in ours.named_buffers()] == [
        "running_mean", "running_var", "num_batches_tracked"]


def test_batch_norm_without_running_statistics_always_uses_the_batch(torch):
    ours = nn.BatchNorm1d(2, track_running_stats=False, dtype=np.float64).eval()
    theirs = torch.nn.BatchNorm1d(2, track_running_stats=False, dtype=torch.float64).eval()
    assert "running_mean" not in ours.state_dict()
    params = [(ours.weight, theirs.weight), (ours.bias, theirs.bias)]
    assert_same_forward_and_backward(ours, theirs, torch, normal(5, 2), params)


def test_batch_norm_refuses_one_value_per_feature_in_training():
    with pytest.raises(ValueError, match="more than one value per feature"):
        nn.BatchNorm1d(3)(np.ones((1, 3)))
    nn.BatchNorm1d(3).eval()(np.ones((1, 3)))  # evaluation uses the running statistics


def test_a_batch_norm_update_invalidates_a_graph_that_saved_the_statistics():
    layer = nn.BatchNorm1d(2, dtype=np.float64).eval()
    x = Tensor(normal(4, 2), requires_grad=True)
    out = layer(x).sum()
    layer.train()(normal(4, 2))  # moves the running statistics in place
    with pytest.raises(RuntimeError, match="changed in place"):
        out.backward()


# ----- Embedding ----------------------------------------------------------------------------


def test_embedding_matches_pytorch_and_adds_gradients_of_repeated_rows(torch):
    theirs = torch.nn.Embedding(5, 3, dtype=torch.float64)
    ours = nn.Embedding(5, 3, dtype=np.float64)
    copy_weights(ours, theirs, torch)
    index = np.array([[0, 2, 2], [4, 0, 2]])
    out, ref = ours(index), theirs(torch.tensor(index))
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    assert out.shape == (2, 3, 3)
    upstream = normal(2, 3, 3)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_array_equal(ours.weight.grad[[1, 3]], 0.0)  # never picked


def test_embedding_checks_its_indices():
    layer = nn.Embedding(4, 2)
    assert layer(Tensor(np.array([3, 0]))).shape == (2, 2)
    with pytest.raises(IndexError, match=r"indices must lie in \[0, 4\), got 0...4"):
        layer([0, 4])
    with pytest.raises(TypeError, match="indices must be integers"):
        layer(np.array([0.0, 1.0]))


def test_embedding_starts_standard_normal():
    table = nn.Embedding(1000, 50, seed=0).weight.data
    assert table.mean() == pytest.approx(0.0, abs=0.01) and table.std() == pytest.approx(1, 0.01)


# ----- Flatten, Identity, Activation --------------------------------------------------------


def test_flatten_matches_pytorch(torch):
    x = normal(2, 3, 4, 5)
    for args in [(), (0,), (1, 2), (2, -1), (0, -2)]:
        expected = torch.nn.Flatten(*args)(torch.tensor(x)).shape
        assert nn.Flatten(*args)(Tensor(x)).shape == tuple(expected)
    t = Tensor(x, requires_grad=True)
    nn.Flatten()(t).sum().backward()
    np.testing.assert_array_equal(t.grad, np.ones_like(x))


def test_identity_passes_anything_through():
    x = Tensor([1.0, 2.0])
    assert nn.Identity(54, unused=True)(x) is x and nn.Identity().num_parameters() == 0


@pytest.mark.parametrize(
    ("name", "params", "torch_layer"),
    [("relu", {}, "ReLU()"), ("tanh", {}, "Tanh()"), ("sigmoid", {}, "Sigmoid()"),
     ("leaky_relu", {"alpha": 0.2}, "LeakyReLU(0.2)"), ("elu", {"alpha": 0.5}, "ELU(0.5)"),
     ("softplus", {}, "Softplus()"), ("silu", {}, "SiLU()")],
)
def test_activation_layers_match_pytorch(torch, name, params, torch_layer):
    theirs = eval(f"torch.nn.{torch_layer}")
    x = np.concatenate([normal(10) * 3, [0.5, -0.5]])
    assert_same_forward_and_backward(nn.Activation(name, **params), theirs, torch, x, [])


def test_activation_layer_on_both_engines_and_its_repr():
    layer = nn.Activation("leaky_relu", alpha=0.1)
    assert repr(layer) == "Activation('leaky_relu', alpha=0.1)"
    assert [v.data for v in layer([Value(-2.0), Value(3.0)])] == pytest.approx([-0.2, 3.0])
    assert layer(Value(-1.0)).data == pytest.approx(-0.1)
    with pytest.raises(ValueError, match="unknown activation"):
        nn.Activation("no_such_activation")
    with pytest.raises(TypeError, match="beta"):
        nn.Activation("relu", beta=1.0)


# ----- Dropout and modes --------------------------------------------------------------------


def test_dropout_is_inverted_and_only_active_in_training():
    layer = nn.Dropout(0.25, seed=0)
    x = Tensor(np.ones((400, 500), np.float32), requires_grad=True)
    out = layer(x)
    kept = out.data != 0
    assert kept.mean() == pytest.approx(0.75, abs=0.01)
    np.testing.assert_allclose(out.data[kept], 1 / 0.75, rtol=1e-6)  # survivors scaled up
    assert out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_allclose(x.grad, out.data)  # the same mask, the same scale
    layer.eval()
    assert layer(x) is x


def test_dropout_masks_follow_the_seed_and_change_between_calls():
    def masks(seed):
        layer = nn.Dropout(0.5, seed=seed)
        return [layer(np.ones(100)).data != 0 for _ in range(2)]

    first, second = masks(3)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(masks(3)[0], first)


def test_dropout_edge_probabilities_and_the_scalar_engine():
    x = np.ones(10)
    np.testing.assert_array_equal(nn.Dropout(0.0)(x), x)
    np.testing.assert_array_equal(nn.Dropout(1.0)(Tensor(x)).data, 0.0)
    out = nn.Dropout(0.5, seed=0)([Value(1.0)] * 50)
    assert {v.data for v in out} == {0.0, 2.0}
    with pytest.raises(ValueError, match=r"p is a probability in \[0, 1\]"):
        nn.Dropout(1.5)


def test_train_and_eval_reach_every_module():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.Dropout(0.5), nn.BatchNorm1d(3)))
    assert model.training and all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())
    assert len(model.modules()) == 5


def test_a_pytorch_style_model_matches_pytorch_end_to_end(torch):
    theirs = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(12, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
        torch.nn.Linear(8, 8), torch.nn.LayerNorm(8), torch.nn.Tanh(), torch.nn.Linear(8, 3),
    ).double()
    ours = nn.Sequential(
        nn.Flatten(), nn.Linear(12, 8, dtype=np.float64), nn.BatchNorm1d(8, dtype=np.float64),
        nn.Activation("relu"), nn.Linear(8, 8, dtype=np.float64),
        nn.LayerNorm(8, dtype=np.float64), nn.Activation("tanh"),
        nn.Linear(8, 3, dtype=np.float64),
    )
    rename = {f"{i}.": f"layers.{i}." for i in range(8)}
    state = {}
    for key, value in theirs.state_dict().items():
        index, _, rest = key.partition(".")
        state[rename[index + "."] + rest] = value.numpy()
    ours.load_state_dict(state)
    x = normal(6, 3, 4)
    params = list(zip(ours.parameters(), theirs.parameters()))
    assert_same_forward_and_backward(ours, theirs, torch, x, params)
