"""Tensor engine: one training step of a one-hidden-layer ReLU MLP, 10 classes, float32.

A step is: forward, softmax cross-entropy, backward, SGD update. Contenders, all starting
from the same weights and taking the same steps:
- tinygrad_nn's ``Tensor`` engine;
- the same step written by hand in NumPy: the floor a NumPy engine can approach;
- PyTorch CPU, when installed (``pip install torch==2.13.0``; not in any extra).

Sizes (batch B, inputs D, hidden H) run from tiny, where per-op overhead dominates, to
large, where the matrix products do. Also: per-op overhead of ``(a * b).sum().backward()``.

Run ``python benchmarks/tensor_engine.py``: it prints the markdown block the README quotes.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import fmt_seconds, interleaved, machine, markdown_table

from tinygrad_nn import Tensor

SIZES = {  # name: (batch, inputs, hidden)
    "tiny": (16, 32, 32),
    "small": (64, 128, 128),
    "medium": (256, 512, 512),
    "large": (1024, 1024, 1024),
}
CLASSES = 10
LEARNING_RATE = 0.1
ROUNDS = 21
MIN_CALL_SECONDS = 0.02  # small steps are repeated inside one timed call to get this long

Weights = list[np.ndarray]  # W1 (D, H), b1 (H,), W2 (H, C), b2 (C,)


def problem(batch: int, inputs: int, hidden: int, seed: int = 0
            ) -> tuple[Weights, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    weights = [
        rng.normal(0, inputs**-0.5, (inputs, hidden)),
        np.zeros(hidden),
        rng.normal(0, hidden**-0.5, (hidden, CLASSES)),
        np.zeros(CLASSES),
    ]
    X = rng.normal(size=(batch, inputs))
    y = rng.integers(0, CLASSES, batch)
    return [w.astype(np.float32) for w in weights], X.astype(np.float32), y


# ----- tinygrad_nn -----------------------------------------------------------------------


class TinygradStep:
    def __init__(self, weights: Weights, X: np.ndarray, y: np.ndarray) -> None:
        self.params = [Tensor(w, requires_grad=True) for w in weights]
        self.X, self.y, self.rows = Tensor(X), y, np.arange(len(y))

    def __call__(self) -> float:
        W1, b1, W2, b2 = self.params
        logits = (self.X @ W1 + b1).relu() @ W2 + b2
        loss = -logits.log_softmax(axis=1)[self.rows, self.y].mean()
        loss.backward()
        for p in self.params:
            p.data -= LEARNING_RATE * p.grad
            p.grad = None
        return loss.item()


# ----- by hand: the floor ----------------------------------------------------------------


class NumpyStep:
    def __init__(self, weights: Weights, X: np.ndarray, y: np.ndarray) -> None:
        self.params = [w.copy() for w in weights]
        self.X, self.y, self.rows = X, y, np.arange(len(y))

    def __call__(self) -> float:
        W1, b1, W2, b2 = self.params
        X, y, rows = self.X, self.y, self.rows
        z = X @ W1
        z += b1
        h = np.maximum(z, 0.0)
        logits = h @ W2
        logits += b2
        shifted = logits - logits.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = -(shifted[rows, y] - np.log(total[:, 0])).mean()
        d = e / total  # d loss / d logits = (softmax - onehot) / B
        d[rows, y] -= 1.0
        d /= len(y)
        dh = d @ W2.T
        dh *= z > 0
        grads = [X.T @ dh, dh.sum(axis=0), h.T @ d, d.sum(axis=0)]
        for p, g in zip(self.params, grads):
            p -= LEARNING_RATE * g
        return float(loss)


# ----- PyTorch ---------------------------------------------------------------------------


def torch_step(weights: Weights, X: np.ndarray, y: np.ndarray) -> Callable[[], float]:
    import torch
    import torch.nn.functional as F

    params = [torch.tensor(w, requires_grad=True) for w in weights]
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> float:
        W1, b1, W2, b2 = params
        logits = F.relu(tX @ W1 + b1) @ W2 + b2
        loss = F.cross_entropy(logits, ty)
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.add_(p.grad, alpha=-LEARNING_RATE)
                p.grad = None
        return loss.item()

    return step


def torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"


# ----- the runs --------------------------------------------------------------------------


def contenders(size: str) -> dict[str, Callable[[], float]]:
    weights, X, y = problem(*SIZES[size])
    steps: dict[str, Callable[[], float]] = {
        "tinygrad_nn": TinygradStep(weights, X, y),
        "NumPy by hand": NumpyStep(weights, X, y),
    }
    if torch_version():
        steps["PyTorch"] = torch_step(weights, X, y)
    return steps


def repeated(step: Callable[[], Any], times: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(times):
            step()

    return run


def calls_per_timing(step: Callable[[], Any]) -> int:
    start = time.perf_counter()
    step()
    elapsed = time.perf_counter() - start
    return max(1, int(MIN_CALL_SECONDS / max(elapsed, 1e-7)))


def largest_loss_gap(steps: dict[str, Callable[[], float]], n: int = 5) -> float:
    """Run ``n`` steps of each contender from the same weights; the largest loss difference."""
    losses = {name: [step() for _ in range(n)] for name, step in steps.items()}
    reference = losses["tinygrad_nn"]
    return max(abs(a - b) for series in losses.values() for a, b in zip(series, reference))


def time_training_steps(rounds: int) -> list[list[str]]:
    rows = []
    for size, (batch, inputs, hidden) in SIZES.items():
        gap = largest_loss_gap(contenders(size))
        steps = contenders(size)
        reps = {name: calls_per_timing(step) for name, step in steps.items()}
        medians = interleaved({n: repeated(s, reps[n]) for n, s in steps.items()}, rounds)
        per_step = {name: medians[name] / reps[name] for name in steps}
        ours = per_step["tinygrad_nn"]
        row = [f"{size} ({batch}, {inputs}, {hidden})", fmt_seconds(ours),
               fmt_seconds(per_step["NumPy by hand"]),
               f"{ours / per_step['NumPy by hand']:.2f}x"]
        if "PyTorch" in per_step:
            row += [fmt_seconds(per_step["PyTorch"]), f"{ours / per_step['PyTorch']:.2f}x"]
        rows.append([*row, f"{gap:.1e}"])
    return rows


def overhead_contenders(shape: tuple[int, ...]) -> dict[str, Callable[[], None]]:
    a = Tensor(np.ones(shape, np.float32), requires_grad=True)
    b = Tensor(np.ones(shape, np.float32), requires_grad=True)

    def ours() -> None:
        (a * b).sum().backward()
        a.grad = b.grad = None

    runs = {"tinygrad_nn": ours}
    if torch_version():
        import torch

        ta = torch.ones(shape, requires_grad=True)
        tb = torch.ones(shape, requires_grad=True)

        def theirs() -> None:
            (ta * tb).sum().backward()
            ta.grad = tb.grad = None

        runs["PyTorch"] = theirs
    return runs


def time_overhead(rounds: int) -> list[list[str]]:
    rows = []
    for shape in ((1,), (10, 10)):
        runs = overhead_contenders(shape)
        reps = 2000
        medians = interleaved({n: repeated(r, reps) for n, r in runs.items()}, rounds)
        ours = medians["tinygrad_nn"] / reps
        row = [str(shape), fmt_seconds(ours)]
        if "PyTorch" in medians:
            theirs = medians["PyTorch"] / reps
            row += [fmt_seconds(theirs), f"{ours / theirs:.2f}x"]
        rows.append(row)
    return rows


def time_training_step_tiny() -> None:
    """asv-style entry point: one tinygrad_nn training step at the tiny size."""
    weights, X, y = problem(*SIZES["tiny"])
    TinygradStep(weights, X, y)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()

    print(f"Measured on {machine()}; "
          f"{torch_version() or 'PyTorch not installed (pip install torch==2.13.0), skipped'}.")
    header = ["size (B, D, H)", "tinygrad_nn", "NumPy by hand", "vs NumPy"]
    if torch_version():
        header += ["PyTorch", "vs PyTorch"]
    header.append("loss gap (5 steps)")
    print(f"\nOne training step (median of {args.rounds} interleaved rounds; "
          "ratios are tinygrad_nn time / other time)")
    print(markdown_table(header, time_training_steps(args.rounds)))

    header = ["shape", "tinygrad_nn"] + (["PyTorch", "ratio"] if torch_version() else [])
    print("\nPer-op overhead: (a * b).sum().backward()")
    print(markdown_table(header, time_overhead(args.rounds)))


if __name__ == "__main__":
    main()
