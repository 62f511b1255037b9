"""nn: modules and layers on both engines, state dicts, initialisation."""

import numpy as np
import pytest

from tinygrad_nn import Tensor, Value, activations, nn, optim

ENGINES = ["tensor", "scalar"]


def scalar_grads(model):
    return {name: np.array(_grid(p, "grad")) for name, p in model.named_parameter_arrays()}


def tensor_grads(model):
    return {name: p.grad for name, p in model.named_parameter_arrays()}


def _grid(p, attr):
    if isinstance(p, Value):
        return getattr(p, attr)
    return [_grid(item, attr) for item in p]


# ----- The classic examples ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("nin", "nouts", "count"), [(3, [4, 2], 26), (3, [4, 4, 1], 41)])
def test_parameter_counts_of_the_classic_examples(engine, nin, nouts, count):
    model = nn.MLP(nin, nouts, activation="relu", engine=engine)
    assert model.num_parameters() == count
    assert len(model.parameters()) == (count if engine == "scalar" else 2 * len(nouts))


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu", "gelu"])
def test_both_engines_agree_given_the_same_weights(activation):
    tensor_model = nn.MLP(3, [5, 4, 2], activation=activation, seed=0, dtype=np.float64)
    scalar_model = nn.MLP(3, [5, 4, 2], activation=activation, engine="scalar")
    scalar_model.load_state_dict(tensor_model.state_dict())

    X = np.random.default_rng(1).normal(size=(6, 3))
    out = tensor_model(Tensor(X))
    (out * out).sum().backward()

    for row, expected in zip(X.tolist(), out.data):
        scores = scalar_model(row)
        assert [s.data for s in scores] == pytest.approx(expected.tolist(), abs=1e-9)
        Value.sum([s * s for s in scores]).backward()  # grads accumulate over samples

    expected_grads = tensor_grads(tensor_model)
    for name, grad in scalar_grads(scalar_model).items():
        np.testing.assert_allclose(grad, expected_grads[name], atol=1e-9, rtol=0)


def test_scalar_mlp_with_one_output_returns_a_value():
    model = nn.MLP(2, [3, 1], engine="scalar", seed=0)
    assert isinstance(model([1.0, 2.0]), Value)
    assert len(nn.MLP(2, [3, 2], engine="scalar", seed=0)([1.0, 2.0])) == 2


def test_tensor_mlp_returns_a_batch_in_its_own_dtype():
    model = nn.MLP(2, [3, 1], seed=0)
    for batch in (np.ones((7, 2)), Tensor(np.ones((7, 2))), [[1.0, 2.0]] * 7):
        out = model(batch)
        assert out.shape == (7, 1) and out.dtype == np.float32
    x = Tensor(np.ones((7, 2)), requires_grad=True)  # float64 and differentiated: promoted
    assert model(x).dtype == np.float64


# ----- A layer is linear unless told otherwise -------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_dense_and_neuron_are_linear_by_default(engine):
    dense, neuron = nn.Dense(2, 3, engine=engine), nn.Neuron(2, engine=engine)
    assert dense.activation == neuron.activation == "identity"
    x = [-3.0, 2.0]
    scores = dense(x) if engine == "scalar" else dense(Tensor([x]))[0]
    expected = dense.state_dict()["weight"] @ x + dense.state_dict()["bias"]
    got = [v.data for v in scores] if engine == "scalar" else scores.data
    # Negative scores survive. (float32 sums against a float64 reference: a score near 0,
    # cancelling terms, is only as close as float32 rounding of the terms.)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_dense_without_bias():
    layer = nn.Dense(3, 2, "tanh", bias=False, seed=0, dtype=np.float64)
    assert layer.bias is None and layer.num_parameters() == 6
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    x = np.array([[1.0, -1.0, 0.5]])
    np.testing.assert_allclose(layer(x).data, np.tanh(x @ layer.weight.data.T))
    scalar = nn.Dense(3, 2, "tanh", bias=False, engine="scalar")
    scalar.load_state_dict(layer.state_dict())
    assert [v.data for v in scalar(x[0].tolist())] == pytest.approx(layer(x).data[0].tolist())
    assert "bias=False" in repr(layer)


def test_mlp_dropout_sits_after_each_hidden_activation():
    model = nn.MLP(4, [8, 8, 2], dropout=0.5, seed=0)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    x = np.ones((3, 4))
    assert not np.array_equal(model(x).data, model(x).data)  # a new mask per call
    model.eval()
    np.testing.assert_array_equal(model(x).data, model(x).data)
    scalar = nn.MLP(4, [3, 1], dropout=0.2, engine="scalar", seed=0)
    assert isinstance(scalar([1.0, 2.0, 3.0, 4.0]), Value)


# ----- Module ------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_shared_layer_is_listed_once(engine):
    d = nn.Dense(2, 2, engine=engine)
    model = nn.Sequential(d, d)
    assert model.num_parameters() == 6
    assert len(model.parameters()) == (6 if engine == "scalar" else 2)
    assert list(model.state_dict()) == ["layers.0.weight", "layers.0.bias"]
    assert [name for name, _ in model.named_modules()] == ["", "layers.0"]


def test_a_shared_layer_moves_once_per_step():
    d = nn.Dense(2, 2, seed=0, dtype=np.float64)
    model = nn.Sequential(d, d)
    before = d.weight.data.copy()
    for p in model.parameters():
        p.grad = np.ones_like(p.data)
    optim.SGD(model.parameters(), lr=0.1).step()
    np.testing.assert_allclose(d.weight.data, before - 0.1)


def test_tied_weights_are_one_parameter():
    class Tied(nn.Module):
        def __init__(self):
            self.encode = nn.Linear(3, 2, bias=False)
            self.decode = nn.Linear(2, 3, bias=False)
            self.decode.weight = self.encode.weight  # used transposed, one array

    model = Tied()
    assert [n for n, _ in model.named_parameters()] == ["encode.weight"]
    assert model.num_parameters() == 6


def test_named_modules_walks_every_module_once_parents_first():
    inner = nn.Sequential(nn.Linear(2, 2), nn.Activation("relu"))
    model = nn.Sequential(inner, nn.Linear(2, 1), inner)
    assert [name for name, _ in model.named_modules()] == [
        "", "layers.0", "layers.0.layers.0", "layers.0.layers.1", "layers.1"]
    assert model.modules()[0] is model


def test_buffers_are_saved_loaded_and_not_learned():
    class Counter(nn.Module):
        def __init__(self):
            self.scale = Tensor(np.ones(2), requires_grad=True)
            self.register_buffer("seen", np.zeros(2))

    model = Counter()
    assert model.parameters() == [model.scale] and model.num_parameters() == 2
    assert list(model.state_dict()) == ["scale", "seen"]
    model.load_state_dict({"scale": np.ones(2), "seen": np.array([3.0, 4.0])})
    np.testing.assert_array_equal(model.seen.data, [3.0, 4.0])
    with pytest.raises(ValueError, match="missing keys \\['seen'\\]"):
        model.load_state_dict({"scale": np.ones(2)})
    with pytest.raises(ValueError, match="not a public attribute name"):
        model.register_buffer("_hidden", np.zeros(1))


def test_load_state_dict_invalidates_a_graph_that_saved_the_old_weights():
    model = nn.MLP(2, [3, 1], seed=0)
    loss = model(np.ones((4, 2))).sum()
    model.load_state_dict(nn.MLP(2, [3, 1], seed=1).state_dict())
    with pytest.raises(RuntimeError, match="changed in place"):
        loss.backward()



def test_named_parameters_use_dotted_names():
    assert [n for n, _ in nn.MLP(3, [4, 1]).named_parameters()] == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    scalar_names = [n for n, _ in nn.MLP(2, [2, 1], engine="scalar").named_parameters()]
    assert scalar_names[:3] == ["layers.0.weight.0.0", "layers.0.weight.0.1", "layers.0.weight.1.0"]
    assert scalar_names[-1] == "layers.1.bias.0"


def test_state_dict_keys_and_shapes_are_the_same_on_both_engines():
    shapes = [{k: v.shape for k, v in nn.MLP(3, [4, 2], engine=e).state_dict().items()}
              for e in ENGINES]
    assert shapes[0] == shapes[1] == {
        "layers.0.weight": (4, 3), "layers.0.bias": (4,),
        "layers.1.weight": (2, 4), "layers.1.bias": (2,),
    }


def test_state_dict_is_a_copy():
    model = nn.MLP(2, [2])
    state = model.state_dict()
    state["layers.0.weight"][...] = 100.0
    assert not np.any(model.state_dict()["layers.0.weight"] == 100.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_load_state_dict_round_trips(engine):
    source = nn.MLP(3, [4, 2], engine=engine, seed=1)
    target = nn.MLP(3, [4, 2], engine=engine, seed=2)
    target.load_state_dict(source.state_dict())
    for name, array in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], array)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: s.pop("layers.1.bias"), r"missing keys \['layers.1.bias'\]"),
        (lambda s: s.update(extra=np.zeros(1)), r"unexpected keys \['extra'\]"),
        (lambda s: s.update({"layers.0.weight": np.zeros((3, 4))}),
         r"'layers.0.weight' has shape \(3, 4\) in the state dict, \(4, 3\) in the model"),
        (lambda s: s.update({"layers.0.bias": np.array(["a"] * 4)}), "non-real dtype"),
    ],
)
def test_a_bad_state_dict_is_refused_and_changes_nothing(engine, change, match):
    model = nn.MLP(3, [4, 2], engine=engine, seed=1)
    before = model.state_dict()
    bad = nn.MLP(3, [4, 2], engine=engine, seed=2).state_dict()
    change(bad)
    with pytest.raises(ValueError, match=match):
        model.load_state_dict(bad)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])


def test_non_strict_loading_takes_what_matches():
    model = nn.MLP(3, [4, 2], seed=1)
    partial = {"layers.0.bias": np.ones(4)}
    model.load_state_dict(partial, strict=False)
    np.testing.assert_array_equal(model.state_dict()["layers.0.bias"], np.ones(4))


@pytest.mark.parametrize("engine", ENGINES)
def test_zero_grad(engine):
    model = nn.MLP(2, [3, 1], engine=engine, seed=0)
    if engine == "tensor":
        model(Tensor(np.ones((2, 2)))).sum().backward()
        assert all(p.grad is not None for p in model.parameters())
        model.zero_grad()
        assert all(p.grad is None for p in model.parameters())
    else:
        model([1.0, 2.0]).backward()
        model.zero_grad()
        assert all(p.grad == 0.0 for p in model.parameters())


def test_repr_shows_the_layer_stack():
    text = repr(nn.MLP(3, [4, 1], activation="tanh"))
    assert text == (
        "MLP(\n"
        "  (layers.0): Dense(3, 4, activation='tanh', engine='tensor')\n"
        "  (layers.1): Dense(4, 1, activation='identity', engine='tensor')\n"
        ")"
    )


def test_modules_in_dicts_and_nested_modules_are_found():
    class Heads(nn.Module):
        def __init__(self):
            self.trunk = nn.Sequential(nn.Dense(2, 3, seed=0), nn.PReLU(3))
            self.heads = {"a": nn.Dense(3, 1, seed=1), "b": nn.Neuron(3, "sigmoid", seed=2)}

    names = [n for n, _ in Heads().named_parameter_arrays()]
    assert names == ["trunk.layers.0.weight", "trunk.layers.0.bias", "trunk.layers.1.slope",
                     "heads.a.weight", "heads.a.bias", "heads.b.weight", "heads.b.bias"]


# ----- Layers ------------------------------------------------------------------------------


def test_activation_by_name_by_registered_op_or_none():
    assert nn.Dense(2, 2, activation=activations.get("tanh")).activation == "tanh"
    assert nn.Dense(2, 2, activation=None).activation == "identity"
    with pytest.raises(ValueError, match="unknown activation 'no_such_activation'"):
        nn.Dense(2, 2, activation="no_such_activation")
    with pytest.raises(TypeError, match="registered name"):
        nn.Dense(2, 2, activation=np.tanh)


def test_a_registered_activation_is_a_layer_option():
    activations.register("square_plus", forward=lambda x, ops: x * x + x,
                         deriv=lambda x, out, ops: 2.0 * x + 1.0)
    try:
        for engine in ENGINES:
            layer = nn.Dense(2, 1, activation="square_plus", engine=engine, seed=0)
            z = layer.pre_activation([1.0, 2.0] if engine == "scalar" else Tensor([[1.0, 2.0]]))
            out = layer([1.0, 2.0] if engine == "scalar" else Tensor([[1.0, 2.0]]))
            z0 = z[0].data if engine == "scalar" else float(z.data[0, 0])
            got = out[0].data if engine == "scalar" else float(out.data[0, 0])
            assert got == pytest.approx(z0 * z0 + z0, rel=1e-6)
    finally:
        activations.unregister("square_plus")


def test_dense_is_x_times_w_transpose_plus_b():
    layer = nn.Dense(3, 2, activation=None, seed=0, dtype=np.float64)
    x = np.arange(6.0).reshape(2, 3)
    expected = x @ layer.weight.data.T + layer.bias.data
    np.testing.assert_allclose(layer(Tensor(x)).data, expected)


def test_neuron_is_a_dot_product_plus_bias_through_a_nonlinearity():
    for engine in ENGINES:
        neuron = nn.Neuron(2, activation="tanh", engine=engine, seed=0, dtype=np.float64)
        w = neuron.state_dict()["weight"]
        expected = np.tanh(w @ [1.0, -2.0])
        out = neuron([1.0, -2.0]) if engine == "scalar" else neuron(Tensor([[1.0, -2.0]]))
        got = out.data if engine == "scalar" else out.data[0]
        assert got == pytest.approx(expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_maxout_takes_the_max_of_its_pieces(engine):
    layer = nn.Maxout(2, 3, pieces=4, engine=engine, seed=0, dtype=np.float64)
    state = layer.state_dict()
    x = [0.5, -1.5]
    pieces = (state["weight"] @ x + state["bias"]).reshape(3, 4)
    out = layer(x) if engine == "scalar" else layer(Tensor([x]))
    got = [v.data for v in out] if engine == "scalar" else out.data[0]
    np.testing.assert_allclose(got, pieces.max(axis=1))
    assert layer.num_parameters() == 4 * 3 * (2 + 1)


def test_maxout_gradient_flows_only_to_the_winning_piece():
    layer = nn.Maxout(2, 1, pieces=3, seed=0, dtype=np.float64)
    x = Tensor([[0.5, -1.5]])
    layer(x).sum().backward()
    winner = int(np.argmax(layer.weight.data @ x.data[0] + layer.bias.data))
    expected = np.zeros((3, 2))
    expected[winner] = x.data[0]
    np.testing.assert_allclose(layer.weight.grad, expected)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("num_parameters", [1, 3])
def test_prelu_learns_its_negative_slope(engine, num_parameters):
    layer = nn.PReLU(num_parameters, init=0.25, engine=engine, dtype=np.float64)
    assert layer.num_parameters() == num_parameters
    x = [-2.0, 3.0, -1.0]
    if engine == "scalar":
        x_values = [Value(v) for v in x]
        out = layer(x_values)
        assert [v.data for v in out] == [-0.5, 3.0, -0.25]
        Value.sum(out).backward()
        slope_grad = [v.grad for v in layer.slope]
        input_grad = [v.grad for v in x_values]
    else:
        xt = Tensor(np.array([x]), requires_grad=True)
        out = layer(xt)
        np.testing.assert_allclose(out.data, [[-0.5, 3.0, -0.25]])
        out.sum().backward()
        slope_grad = list(layer.slope.grad)
        input_grad = list(xt.grad[0])
    # d out / d slope is x where x < 0; d out / d x is 1 or the slope.
    assert slope_grad == ([-3.0] if num_parameters == 1 else [-2.0, 0.0, -1.0])
    assert input_grad == [0.25, 1.0, 0.25]


def test_layers_explain_bad_inputs():
    with pytest.raises(ValueError, match=r"expected inputs of shape \(batch, 3\) or \(\.\.\., 3\), "
                                         r"got \(2, 4\)"):
        nn.Dense(3, 2)(Tensor(np.ones((2, 4))))
    with pytest.raises(ValueError, match=r"Neuron: expected a batch of shape \(batch, 3\)"):
        nn.Neuron(3)(Tensor(np.ones((2, 4))))
    with pytest.raises(ValueError, match="expected 3 inputs, got 2"):
        nn.Dense(3, 2, engine="scalar")([1.0, 2.0])
    with pytest.raises(TypeError, match="scalar engine"):
        nn.Dense(3, 2, engine="scalar")(Tensor(np.ones((1, 3))))
    with pytest.raises(ValueError, match="engine must be"):
        nn.MLP(2, [2], engine="gpu")
    with pytest.raises(ValueError, match="3 slopes for 4 units"):
        nn.PReLU(3)(Tensor(np.ones((2, 4))))


# ----- Initialisation ----------------------------------------------------------------------


def test_initialisation_suits_the_activation():
    he = nn.Dense(400, 300, activation="relu", seed=0).weight.data
    glorot = nn.Dense(400, 300, activation="tanh", seed=0).weight.data
    assert he.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert glorot.std() == pytest.approx(np.sqrt(2 / 700), rel=0.02)  # U(+-sqrt(6/700))
    assert np.abs(glorot).max() <= np.sqrt(6 / 700)


@pytest.mark.parametrize("engine", ENGINES)
def test_seeds_make_runs_reproducible(engine):
    def weights(seed):
        return nn.MLP(3, [4, 2], engine=engine, seed=seed).state_dict()["layers.1.weight"]

    np.testing.assert_array_equal(weights(7), weights(7))
    assert not np.array_equal(weights(7), weights(8))
    rng = np.random.default_rng(3)
    first = nn.MLP(3, [4], seed=rng).state_dict()["layers.0.weight"]
    second = nn.MLP(3, [4], seed=rng).state_dict()["layers.0.weight"]
    assert not np.array_equal(first, second)  # a Generator is shared, not reset


@pytest.mark.parametrize("engine", ENGINES)
def test_activation_params_set_the_activation(engine):
    layer = nn.Dense(1, 1, activation="leaky_relu", activation_params={"alpha": 0.2},
                     engine=engine, dtype=np.float64)
    layer.load_state_dict({"weight": np.array([[1.0]]), "bias": np.array([0.0])})
    out = layer([-2.0]) if engine == "scalar" else layer(Tensor([[-2.0]]))
    assert (out[0].data if engine == "scalar" else float(out.data[0, 0])) == pytest.approx(-0.4)
    assert "activation='leaky_relu', alpha=0.2" in repr(layer)


def test_activation_params_are_checked_and_defaults_left_out():
    with pytest.raises(TypeError, match=r"leaky_relu.*beta"):
        nn.Dense(2, 2, activation="leaky_relu", activation_params={"beta": 1.0})
    with pytest.raises(TypeError, match="tanh"):
        nn.MLP(2, [2, 1], activation="tanh", activation_params={"alpha": 1.0})
    assert nn.Dense(2, 2, "elu", activation_params={"alpha": 1.0}).activation_params == {}
    mlp = nn.MLP(2, [3, 1], activation="elu", activation_params={"alpha": 0.5})
    assert [layer.activation_params for layer in mlp.layers] == [{"alpha": 0.5}, {}]


def test_model_draw_shows_activation_params():
    model = nn.MLP(2, [3, 1], activation="leaky_relu", activation_params={"alpha": 0.2})
    source = model.draw().source
    assert "leaky_relu(alpha=0.2)" in source and "identity (linear)" in source
