"""draw_graph on the awkward shapes: build and render seconds, with default arguments.

Each shape is one a user really draws, and one that used to make Graphviz's ``dot`` run for
minutes: long chains, a leaf shared by every step of a loop, one value feeding thousands of
ops, a micrograd-style MLP over a batch of samples (~13k nodes), and tensor training steps
drawn after ``backward()``. *Build* is ``draw_graph(root)``; *render* is ``.pipe("svg")``
(Graphviz's layout, run by ``dot``). Every render must stay under ``LIMIT`` seconds: the
script exits non-zero if one does not.

Run ``python benchmarks/draw_graph.py``: it prints the markdown block for the README.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import machine, markdown_table

from tinygrad_nn import Tensor, Value, nn
from tinygrad_nn.graph import toposort
from tinygrad_nn.nn import functional as F
from tinygrad_nn.viz import draw_graph

LIMIT = 10.0  # seconds a default render may take
ROUNDS = 3
SAMPLES = 20  # the batch the scalar MLPs run over


# ----- Shapes ----------------------------------------------------------------------------


def deep_chain() -> Value:
    """10,000 ops in a line, alternating add and mul."""
    v = Value(1.0, label="x")
    for i in range(10_000):
        v = v * 1.0001 if i % 2 else v + 1.0
    return v


def shared_leaf() -> Value:
    """5,000 steps of ``y = y + x * 0.001`` alternating with tanh: x feeds 2,500 ops."""
    x, y = Value(0.5, label="x"), Value(0.1, label="y0")
    for i in range(5_000):
        y = y + x * 0.001 if i % 2 == 0 else y.tanh()
    y.backward()
    return y


def wide_fanout() -> Value:
    """One leaf multiplied by 2,000 constants and the products summed in one node."""
    x = Value(0.3, label="x")
    total = Value.sum([x * (0.001 * i) for i in range(2_000)])
    total.backward()
    return total


class Neuron(nn.Module):
    """micrograd's neuron: ``sum(w * x) + b`` as a chain of mul and add nodes."""

    def __init__(self, nin: int, rng: np.random.Generator, relu: bool) -> None:
        self.w = [Value(float(v)) for v in rng.uniform(-1, 1, nin)]
        self.b = Value(0.0)
        self.relu = relu

    def forward(self, x: list[Value]) -> Value:
        act = sum((wi * xi for wi, xi in zip(self.w, x)), self.b)
        return act.relu() if self.relu else act


class Layer(nn.Module):
    def __init__(self, nin: int, nout: int, rng: np.random.Generator, relu: bool) -> None:
        self.neurons = [Neuron(nin, rng, relu) for _ in range(nout)]

    def forward(self, x: list[Value]) -> list[Value]:
        return [n(x) for n in self.neurons]


class MicrogradMLP(nn.Module):
    def __init__(self, sizes: tuple[int, ...], seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        last = len(sizes) - 2
        self.layers = [Layer(a, b, rng, relu=i < last)
                       for i, (a, b) in enumerate(itertools.pairwise(sizes))]

    def forward(self, x: list[Value]) -> Value:
        for layer in self.layers:
            x = layer(x)
        return x[0]


def _moons(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 2))
    return X, np.where(X[:, 0] * X[:, 1] > 0, 1.0, -1.0)


def micrograd_mlp() -> Value:
    """micrograd's demo step: a 2-16-16-1 MLP over 20 samples, SVM loss plus L2 (~13k nodes)."""
    model = MicrogradMLP((2, 16, 16, 1))
    X, y = _moons(SAMPLES)
    scores = [model([Value(float(v)) for v in row]) for row in X]
    losses = [(1 + -yi * s).relu() for yi, s in zip(y.tolist(), scores)]
    loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
    loss.backward()
    return loss


def scalar_mlp() -> Value:
    """The same step through ``nn.MLP(engine="scalar")`` (fused dot nodes), F.hinge, F.l2."""
    model = nn.MLP(2, [16, 16, 1], engine="scalar", seed=0)
    X, y = _moons(SAMPLES)
    scores = [model(row.tolist()) for row in X]
    loss = F.hinge(scores, y) + 1e-4 * F.l2(model.parameters())
    loss.backward()
    return loss


def tensor_step() -> Tensor:
    """One training step of the demo's spiral model, drawn after a plain backward()."""
    model = nn.MLP(2, [100, 3], seed=0)
    rng = np.random.default_rng(0)
    X = Tensor(rng.normal(size=(300, 2)), name="inputs")
    labels = rng.integers(0, 3, 300)
    loss = F.cross_entropy(model(X), labels) + 1e-4 * F.l2(model.parameters())
    loss.backward()
    return loss


def tensor_deep() -> Tensor:
    """A 24-layer tanh MLP's step, drawn after a plain backward()."""
    model = nn.MLP(8, [16] * 23 + [1], activation="tanh", seed=0)
    X = Tensor(np.random.default_rng(0).normal(size=(64, 8)), name="inputs")
    loss = (model(X) ** 2).mean()
    loss.backward()
    return loss


SHAPES: dict[str, Callable[[], Any]] = {
    "deep chain, 10k ops": deep_chain,
    "shared leaf, 5k steps": shared_leaf,
    "one leaf into 2k ops": wide_fanout,
    "micrograd MLP, 20 samples": micrograd_mlp,
    "nn.MLP scalar, 20 samples": scalar_mlp,
    "tensor step after backward": tensor_step,
    "tensor 24 layers": tensor_deep,
}


def measure(root: Any, rounds: int) -> tuple[float, float]:
    """Best build and render seconds of ``rounds``: the machine's noise only adds."""
    builds, renders = [], []
    for _ in range(rounds):
        start = time.perf_counter()
        graph = draw_graph(root)
        builds.append(time.perf_counter() - start)
        start = time.perf_counter()
        graph.pipe(format="svg")
        renders.append(time.perf_counter() - start)
    return min(builds), min(renders)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    rows, slow = [], []
    for name, make in SHAPES.items():
        root = make()
        build, render = measure(root, args.rounds)
        rows.append([name, f"{len(toposort(root)):,}", f"{build:.3f}", f"{render:.2f}"])
        if render > LIMIT:
            slow.append(name)
    print(machine())
    print(f"\ndraw_graph(root) with default arguments, then .pipe('svg') with Graphviz dot "
          f"(best of {args.rounds}):\n")
    print(markdown_table(["shape", "nodes", "build (s)", "render (s)"], rows))
    if slow:
        print(f"\nslower than {LIMIT:g} s: {', '.join(slow)}", file=sys.stderr)
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
