"""Training works on real problems: the claims of the classic material, checked."""

import numpy as np

from tinygrad_nn import Tensor, nn, optim
from tinygrad_nn.datasets import moons, spiral
from tinygrad_nn.nn import functional as F


def train_spiral(model, steps, lr):
    X, y = spiral(100, classes=3, seed=0)
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
