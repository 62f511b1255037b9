"""Scalar engine: one SVM training step of a 2-16-16-1 ReLU MLP on 100 two-moons points.

Contenders, all starting from the same weights and taking the same steps:
- tinygrad_nn's ``Value`` engine;
- micrograd (``pip install -e ".[bench]"``), the engine this one grew from;
- the same step written by hand in pure Python: the floor any scalar engine can approach.

Also: backward time on chains of 1e3, 1e4 and 1e5 ops.

Run ``python benchmarks/scalar_engine.py``: it prints the markdown block the README quotes.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable

import numpy as np
from _timing import fmt_seconds, interleaved, machine, markdown_table

from tinygrad_nn import Value, nn, optim
from tinygrad_nn.datasets import moons
from tinygrad_nn.nn import functional as F

SIZES = (2, 16, 16, 1)
N_POINTS = 100
L2 = 1e-4
LEARNING_RATE = 0.05
ROUNDS = 15
CHAIN_LENGTHS = (1_000, 10_000, 100_000)

# Weights as nested lists: layers -> neurons -> (weights, bias).
Weights = list[list[tuple[list[float], float]]]


def initial_weights(seed: int = 1) -> Weights:
    rng = np.random.default_rng(seed)
    return [
        [(rng.uniform(-1, 1, nin).tolist(), float(rng.uniform(-1, 1))) for _ in range(nout)]
        for nin, nout in itertools.pairwise(SIZES)
    ]


def problem() -> tuple[list[list[float]], list[float]]:
    X, y = moons(N_POINTS, noise=0.1, seed=0)
    return X.tolist(), (2.0 * y - 1.0).tolist()  # SVM labels are +-1


# ----- tinygrad_nn -----------------------------------------------------------------------


def state_dict(weights: Weights) -> dict[str, np.ndarray]:
    """The weights as an ``nn.MLP`` state dict (a row of ``weight`` per neuron)."""
    return {
        key: np.array(value)
        for i, layer in enumerate(weights)
        for key, value in ((f"layers.{i}.weight", [ws for ws, _ in layer]),
                           (f"layers.{i}.bias", [b for _, b in layer]))
    }


class TinygradStep:
    """The step as a user writes it: ``nn.MLP(engine="scalar")``, hinge + L2, ``optim.SGD``.

    Each neuron is one ``Value.dot`` node. With ``fused=False`` the same parameters are
    used through a chain of ``*`` and ``+`` nodes instead: the graph micrograd builds.
    """

    def __init__(
        self, weights: Weights, X: list[list[float]], y: list[float], fused: bool = True
    ) -> None:
        self.model = nn.MLP(SIZES[0], list(SIZES[1:]), activation="relu", engine="scalar")
        self.model.load_state_dict(state_dict(weights))
        self.optimizer = optim.SGD(self.model.parameters(), lr=LEARNING_RATE)
        self.forward = self.model if fused else self._unfused_forward
        self.X, self.y = X, y

    def _unfused_forward(self, x: list[float]) -> Value:
        last = len(self.model.layers) - 1
        for i, layer in enumerate(self.model.layers):
            x = [sum((w * xi for w, xi in zip(row, x)), b)
                 for row, b in zip(layer.weight, layer.bias)]
            if i < last:
                x = [v.relu() for v in x]
        return x[0]

    def __call__(self) -> float:
        scores = [self.forward(x) for x in self.X]
        loss = F.hinge(scores, self.y) + L2 * F.l2(self.model.parameters())
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.data


# ----- micrograd -------------------------------------------------------------------------


def micrograd_step(weights: Weights, X: list[list[float]], y: list[float]) -> Callable[[], float]:
    from micrograd.nn import MLP

    model = MLP(SIZES[0], list(SIZES[1:]))
    for layer, layer_weights in zip(model.layers, weights):
        for neuron, (ws, b) in zip(layer.neurons, layer_weights):
            for p, w in zip(neuron.w, ws):
                p.data = w
            neuron.b.data = b

    def step() -> float:
        scores = [model(x) for x in X]
        losses = [(1 + -yi * s).relu() for yi, s in zip(y, scores)]
        loss = sum(losses) * (1.0 / len(losses)) + L2 * sum(p * p for p in model.parameters())
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= LEARNING_RATE * p.grad
        return loss.data

    return step


# ----- by hand: the floor ----------------------------------------------------------------


class HandwrittenStep:
    def __init__(self, weights: Weights, X: list[list[float]], y: list[float]) -> None:
        self.W = [[list(ws) for ws, _ in layer] for layer in weights]
        self.B = [[b for _, b in layer] for layer in weights]
        self.X, self.y = X, y

    def __call__(self) -> float:
        W, B, n = self.W, self.B, len(self.X)
        last = len(W) - 1
        gW = [[[0.0] * len(row) for row in layer] for layer in W]
        gB = [[0.0] * len(layer) for layer in B]
        data_loss = 0.0
        for x, yi in zip(self.X, self.y):
            acts = [x]  # the input of every layer
            for li, (layer, biases) in enumerate(zip(W, B)):
                z = [sum(w * a for w, a in zip(row, acts[-1])) + b for row, b in zip(layer, biases)]
                acts.append(z if li == last else [v if v > 0 else 0.0 for v in z])
            score = acts[-1][0]
            margin = 1.0 - yi * score
            if margin <= 0:
                continue
            data_loss += margin
            delta = [-yi / n]  # d loss / d pre-activation of the layer being processed
            for li in range(last, -1, -1):
                inputs = acts[li]
                for j, d in enumerate(delta):
                    gB[li][j] += d
                    row = gW[li][j]
                    for k, a in enumerate(inputs):
                        row[k] += d * a
                if li:
                    back = [sum(delta[j] * W[li][j][k] for j in range(len(delta)))
                            for k in range(len(inputs))]
                    delta = [d if a > 0 else 0.0 for d, a in zip(back, inputs)]
        reg = sum(w * w for layer in W for row in layer for w in row)
        reg += sum(b * b for layer in B for b in layer)
        for layer, grow, biases, gbias in zip(W, gW, B, gB):
            for row, grads in zip(layer, grow):
                for k, g in enumerate(grads):
                    row[k] -= LEARNING_RATE * (g + 2 * L2 * row[k])
            for j, g in enumerate(gbias):
                biases[j] -= LEARNING_RATE * (g + 2 * L2 * biases[j])
        return data_loss / n + L2 * reg


# ----- the runs --------------------------------------------------------------------------


def check_same_losses(steps: dict[str, Callable[[], float]], n: int = 5) -> float:
    """Run ``n`` steps of each contender from the same weights; return the largest loss gap."""
    losses = {name: [step() for _ in range(n)] for name, step in steps.items()}
    reference = losses["tinygrad_nn"]
    return max(abs(a - b) for series in losses.values() for a, b in zip(series, reference))


def training_step_contenders() -> dict[str, Callable[[], float]]:
    weights, (X, y) = initial_weights(), problem()
    contenders: dict[str, Callable[[], float]] = {
        "tinygrad_nn": TinygradStep(weights, X, y),
        "tinygrad_nn, unfused (* and + nodes)": TinygradStep(weights, X, y, fused=False),
        "hand-written Python": HandwrittenStep(weights, X, y),
    }
    try:
        contenders["micrograd"] = micrograd_step(weights, X, y)
    except ImportError:
        print("micrograd is not installed (pip install -e '.[bench]'); skipping it")
    return contenders


def chain(n: int) -> Value:
    x = root = Value(0.5)
    for i in range(n):
        x = x * 0.999 if i % 2 else x + 0.001
    del root
    return x


def time_training_step() -> None:
    """asv-style entry point: one tinygrad_nn training step."""
    weights, (X, y) = initial_weights(), problem()
    TinygradStep(weights, X, y)()


def time_backward_100k_chain() -> None:
    chain(100_000).backward()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()

    gap = check_same_losses(training_step_contenders())
    print(f"Measured on {machine()}; largest loss difference between contenders over "
          f"5 steps: {gap:.1e}.")

    medians = interleaved(training_step_contenders(), rounds=args.rounds)
    ours = medians["tinygrad_nn"]
    rows = [
        [name, fmt_seconds(t), f"{t / ours:.2f}x" if name != "tinygrad_nn" else "1x"]
        for name, t in medians.items()
    ]
    print(f"\nOne training step (median of {args.rounds} interleaved rounds)")
    print(markdown_table(["engine", "time per step", "time relative to tinygrad_nn"], rows))
    if "micrograd" in medians:
        print(f"tinygrad_nn is {medians['micrograd'] / ours:.1f}x faster than micrograd; "
              f"hand-written Python is {ours / medians['hand-written Python']:.1f}x faster "
              "than tinygrad_nn")

    chain_rows = []
    for n in CHAIN_LENGTHS:
        root = chain(n)
        start = time.perf_counter()
        root.backward()
        chain_rows.append([f"{n:,}", fmt_seconds(time.perf_counter() - start)])
    print(f"\nBackward through a chain of n ops (recursion limit {sys.getrecursionlimit()})")
    print(markdown_table(["ops in the chain", "backward time"], chain_rows))


if __name__ == "__main__":
    main()
