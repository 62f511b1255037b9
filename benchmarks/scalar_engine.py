"""Scalar engine: one SVM training step of a 2-16-16-1 ReLU MLP on 100 two-moons points.

Contenders, all starting from the same weights and taking the same steps:
- tinygrad_nn's ``Value`` engine as a user writes it (``nn.MLP``: a ``dot`` node per neuron);
- tinygrad_nn building micrograd's graph: a node per ``*`` and ``+``;
- micrograd (``pip install -e ".[bench]"``), the engine this one grew from;
- the same step written by hand in pure Python: the floor any scalar engine can approach.

Each contender runs in a process of its own, with the garbage collector on as a user has it
(a graph of 60,000 nodes per step is as much the collector's work as the arithmetic, and one
contender's leftovers must not slow another), in alternating rounds.

Also: backward time on chains of 1e3, 1e4 and 1e5 ops.

Run ``python benchmarks/scalar_engine.py``: it prints the markdown block the README quotes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
from _timing import fmt_seconds, machine, markdown_table

from tinygrad_nn import Value, nn, optim
from tinygrad_nn.datasets import moons
from tinygrad_nn.nn import functional as F

SIZES = (2, 16, 16, 1)
N_POINTS = 100
L2 = 1e-4
LEARNING_RATE = 0.05
ROUNDS = 5  # processes per contender
STEPS = 5  # timed steps in each process
CHAIN_LENGTHS = (1_000, 10_000, 100_000)
FUSED, UNFUSED = "tinygrad_nn (nn.MLP)", "tinygrad_nn, micrograd's graph (* and + nodes)"
MICROGRAD, BY_HAND = "micrograd", "hand-written Python"

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
    reference = losses[FUSED]
    return max(abs(a - b) for series in losses.values() for a, b in zip(series, reference))


def contender(name: str) -> Callable[[], float]:
    """One contender's training step, from the shared initial weights."""
    weights, (X, y) = initial_weights(), problem()
    if name == FUSED:
        return TinygradStep(weights, X, y)
    if name == UNFUSED:
        return TinygradStep(weights, X, y, fused=False)
    if name == BY_HAND:
        return HandwrittenStep(weights, X, y)
    if name == MICROGRAD:
        return micrograd_step(weights, X, y)
    raise ValueError(f"no contender named {name!r}")


def training_step_contenders() -> dict[str, Callable[[], float]]:
    names = [FUSED, UNFUSED, BY_HAND, MICROGRAD]
    contenders: dict[str, Callable[[], float]] = {}
    for name in names:
        try:
            contenders[name] = contender(name)
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


def worker(name: str, steps: int) -> None:
    """In a process of its own: one warm-up step, then ``steps`` timed ones; prints JSON."""
    step = contender(name)
    losses = [step()]
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        losses.append(step())
        times.append(time.perf_counter() - start)
    print(json.dumps({"median": statistics.median(times), "losses": losses}))


def in_own_processes(names: list[str], rounds: int, steps: int) -> dict[str, dict]:
    """Each contender's median step time over ``rounds`` processes (run in alternation)."""
    medians: dict[str, list[float]] = {name: [] for name in names}
    losses: dict[str, list[float]] = {}
    for _ in range(rounds):
        for name in names:
            result = subprocess.run([sys.executable, __file__, "--worker", name,
                                     "--steps", str(steps)],
                                    capture_output=True, text=True, check=True)
            run = json.loads(result.stdout)
            medians[name].append(run["median"])
            losses[name] = run["losses"]
    return {name: {"time": statistics.median(medians[name]), "losses": losses[name]}
            for name in names}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.steps)
        return

    names = list(training_step_contenders())
    results = in_own_processes(names, args.rounds, args.steps)
    reference = results[FUSED]["losses"]
    gap = max(abs(a - b) for r in results.values() for a, b in zip(r["losses"], reference))
    print(f"Measured on {machine()}; largest loss difference between contenders over "
          f"{args.steps + 1} steps: {gap:.1e}.")

    ours = results[FUSED]["time"]
    rows = [[name, fmt_seconds(r["time"]), f"{r['time'] / ours:.2f}x",
             f"{results[MICROGRAD]['time'] / r['time']:.1f}x" if MICROGRAD in results else "-"]
            for name, r in results.items()]
    print(f"\nOne training step (each contender in its own process, garbage collector on; "
          f"median over {args.rounds} processes of the median of {args.steps} steps)")
    print(markdown_table(["engine", "time per step", "time relative to nn.MLP",
                          "faster than micrograd"], rows))

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
