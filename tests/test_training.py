"""Training works on real problems: the classic claims checked, and ``training.fit``."""

import math

import numpy as np
import pytest

from tinygrad_nn import Tensor, data, nn, optim, training
from tinygrad_nn.datasets import digits, moons, spiral, split
from tinygrad_nn.nn import functional as F


def train_spiral(model, steps, lr):
    X, y = spiral(300, classes=3, seed=0)
    x = Tensor(X)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y) + 1e-4 * F.l2(model.parameters())
        loss.backward()
        optimizer.step()
    return float(np.mean(model(x).data.argmax(axis=1) == y))


def test_spiral_needs_a_hidden_layer():
    linear = train_spiral(nn.MLP(2, [3], seed=0), steps=300, lr=0.05)
    two_layer = train_spiral(nn.MLP(2, [100, 3], activation="relu", seed=0), steps=1000, lr=0.02)
    assert 0.4 <= linear <= 0.6  # a linear softmax classifier cannot follow the arms
    assert two_layer >= 0.97


def test_moons_are_separated_on_the_scalar_engine():
    X, y = moons(100, noise=0.1, seed=0)
    signs = 2.0 * y - 1.0
    model = nn.MLP(2, [16, 16, 1], activation="relu", engine="scalar", seed=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(60):
        optimizer.zero_grad()
        scores = [model(row) for row in X.tolist()]
        loss = F.hinge(scores, signs.tolist()) + 1e-4 * F.l2(model.parameters())
        loss.backward()
        optimizer.step()
    predictions = np.array([model(row).data > 0 for row in X.tolist()])
    assert np.mean(predictions == (y == 1)) >= 0.97


def test_a_dense_default_no_longer_squashes_class_scores():
    # The repro: Dense(100, 3) used to put a ReLU on the logits (loss 0.377 after
    # 1000 steps on the spiral, against 0.015 without).
    model = nn.Sequential(nn.Dense(2, 100, "relu", seed=0), nn.Dense(100, 3, seed=1))
    assert train_spiral(model, steps=1000, lr=0.02) >= 0.97


# ----- fit ---------------------------------------------------------------------------------


def loaders(n=200, batch_size=32, seed=0):
    X, y = spiral(n, seed=seed)
    X_train, X_val, y_train, y_val = split(X.astype(np.float32), y, test=0.25, seed=seed)
    train = data.DataLoader(data.TensorDataset(X_train, y_train), batch_size=batch_size,
                            shuffle=True, seed=seed)
    val = data.DataLoader(data.TensorDataset(X_val, y_val), batch_size=64)
    return train, val


def test_fit_records_a_history_per_epoch():
    train, val = loaders()
    model = nn.MLP(2, [32, 3], seed=0)
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    history = training.fit(model, F.cross_entropy, optimizer, train, epochs=12,
                           val_loader=val, scheduler=scheduler, progress=False)
    assert history.epochs == 12 and not history.stopped_early
    for series in (history.train_loss, history.train_accuracy, history.val_loss,
                   history.val_accuracy, history.lr):
        assert len(series) == 12
    assert history.lr[:6] == [0.02] * 5 + [0.01]
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_loss[-1] < history.val_loss[0]
    assert history.best_epoch == int(np.argmin(history.val_loss))
    assert history.seconds > 0 and model.training  # left in training mode
    loss, accuracy = training.evaluate(model, F.cross_entropy, val)
    assert (loss, accuracy) == (history.val_loss[-1], history.val_accuracy[-1])


def test_early_stopping_restores_the_best_epoch():
    train, val = loaders()
    model = nn.MLP(2, [64, 64, 3], seed=0)
    optimizer = optim.SGD(model.parameters(), lr=2.0)  # far too large: validation worsens
    history = training.fit(model, F.cross_entropy, optimizer, train, epochs=50,
                           val_loader=val, patience=3, progress=False)
    assert history.stopped_early and history.epochs == history.best_epoch + 4
    loss, _ = training.evaluate(model, F.cross_entropy, val)
    assert loss == pytest.approx(history.val_loss[history.best_epoch], rel=1e-6)


def test_early_stopping_on_accuracy_and_its_refusals():
    train, val = loaders()
    model = nn.MLP(2, [16, 3], seed=0)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    history = training.fit(model, F.cross_entropy, optimizer, train, epochs=3, val_loader=val,
                           patience=10, monitor="val_accuracy", progress=False)
    assert history.best_epoch == int(np.argmax(history.val_accuracy))
    with pytest.raises(ValueError, match="needs a val_loader"):
        training.fit(model, F.cross_entropy, optimizer, train, patience=2, progress=False)
    with pytest.raises(ValueError, match="monitor must be one of"):
        training.fit(model, F.cross_entropy, optimizer, train, monitor="loss", progress=False)


def test_fit_evaluates_in_evaluation_mode():
    train, val = loaders()
    model = nn.MLP(2, [64, 3], dropout=0.9, seed=0)  # training-mode outputs are noisy
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    history = training.fit(model, F.cross_entropy, optimizer, train, epochs=2, val_loader=val,
                           progress=False)
    model.eval()
    X_val, y_val = val.dataset.arrays
    expected = F.cross_entropy(model(X_val), y_val).item()
    assert history.val_loss[-1] == pytest.approx(expected, rel=1e-5)
    np.testing.assert_array_equal(training.predict(model.train(), X_val),
                                  training.predict(model.eval(), X_val))


def test_fit_on_the_scalar_engine():
    X, y = moons(40, seed=0)
    model = nn.MLP(2, [8, 1], engine="scalar", seed=0)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=10, shuffle=True, seed=0)
    history = training.fit(model, training.classifier_loss(model, l2=1e-4),
                           optim.SGD(model.parameters(), lr=0.1, momentum=0.9), loader,
                           epochs=15, progress=False)
    assert history.train_accuracy[-1] >= 0.85
    assert training.accuracy(model, X, y) >= 0.85


def test_fit_on_a_regression_has_no_accuracy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = nn.Linear(3, 1, dtype=np.float64)
    loader = data.DataLoader(data.TensorDataset(X, y), batch_size=16)
    history = training.fit(model, F.mse, optim.SGD(model.parameters(), lr=0.1), loader,
                           epochs=30, progress=False)
    assert history.train_loss[-1] < 1e-3
    assert all(math.isnan(a) for a in history.train_accuracy)


def test_fit_shows_a_progress_bar(capsys):
    pytest.importorskip("tqdm")
    train, _ = loaders()
    model = nn.MLP(2, [8, 3], seed=0)
    training.fit(model, F.cross_entropy, optim.Adam(model.parameters()), train, epochs=2,
                 desc="spiral")
    assert "spiral" in capsys.readouterr().err


def test_history_plots(tmp_path):
    pytest.importorskip("matplotlib")
    train, val = loaders()
    model = nn.MLP(2, [8, 3], seed=0)
    history = training.fit(model, F.cross_entropy, optim.Adam(model.parameters()), train,
                           epochs=3, val_loader=val, progress=False)
    path = history.plot(tmp_path / "curves.png")
    assert path.stat().st_size > 10_000
    figure = history.plot()
    assert [axes.get_ylabel() for axes in figure.axes] == ["loss", "accuracy"]


def test_a_64_128_10_mlp_learns_digits_with_minibatches():
    pytest.importorskip("sklearn")
    X_train, X_test, y_train, y_test = split(*digits(), test=0.2, seed=0)
    train = data.DataLoader(data.TensorDataset(X_train, y_train), batch_size=32, shuffle=True,
                            seed=0)
    test = data.DataLoader(data.TensorDataset(X_test, y_test), batch_size=512)
    model = nn.Sequential(nn.Linear(64, 128, seed=0), nn.Activation("relu"),
                          nn.Linear(128, 10, seed=1))
    history = training.fit(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-3),
                           train, epochs=15, val_loader=test, progress=False)
    assert history.val_accuracy[-1] >= 0.96


def test_evaluation_restores_every_module_mode():
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.Linear(3, 3))
    model.layers[1].eval()  # frozen statistics inside a model that trains
    training.predict(model, np.ones((4, 2)))
    training.evaluate(model, F.cross_entropy, [(np.ones((4, 2)), np.zeros(4, np.int64))])
    assert model.training and model.layers[0].training and not model.layers[1].training
