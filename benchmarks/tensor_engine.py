"""Tensor engine: one training step of a one-hidden-layer ReLU MLP, 10 classes, float32.

A step is: forward, softmax cross-entropy, backward, SGD update. Contenders, all starting
from the same weights and taking the same steps:
- tinygrad_nn as a user writes it: ``nn.MLP``, ``F.cross_entropy``, ``optim.SGD``, eager;
- the same with the loss recorded once and replayed (``tinygrad_nn.record_step``);
- tinygrad_nn's raw ``Tensor`` ops (``x @ W1 + b1`` ..., the update by hand);
- the same step written by hand in NumPy: the floor a NumPy engine can approach;
- PyTorch CPU, as its users write it (``torch.nn``, ``torch.optim``), when installed
  (``pip install torch==2.13.0``; not in any extra).

Sizes (batch B, inputs D, hidden H) run from tiny, where per-op overhead dominates, to
large, where the matrix products do. Also: per-op overhead of ``(a * b).sum().backward()``
against NumPy doing the same arithmetic, and small steps on a busy machine with NumPy's
default BLAS threads against ``set_num_threads(1)``.

Run ``python benchmarks/tensor_engine.py``: it prints the markdown block the README quotes.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import fmt_seconds, interleaved, machine, markdown_table

import tinygrad_nn as tg
from tinygrad_nn import Tensor, nn, optim
from tinygrad_nn.nn import functional as F

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


class UserStep:
    """The step as a user writes it: ``nn.MLP`` + ``F.cross_entropy`` + ``optim.SGD``;
    with ``record=True`` the loss goes through ``record_step`` (recorded, then replayed)."""

    def __init__(self, weights: Weights, X: np.ndarray, y: np.ndarray,
                 record: bool = False) -> None:
        inputs, hidden = weights[0].shape
        self.model = nn.MLP(inputs, [hidden, CLASSES], activation="relu")
        self.model.load_state_dict({  # nn.Linear keeps weights as (out, in), as PyTorch
            "layers.0.weight": weights[0].T, "layers.0.bias": weights[1],
            "layers.1.weight": weights[2].T, "layers.1.bias": weights[3]})
        self.optimizer = optim.SGD(self.model.parameters(), lr=LEARNING_RATE)
        self.X, self.y = Tensor(X), y
        self.loss = tg.record_step(self._loss) if record else None

    def _loss(self, x: Tensor, y: Any) -> Tensor:
        return F.cross_entropy(self.model(x), y)

    def __call__(self) -> float:
        self.optimizer.zero_grad()
        if self.loss is None:
            loss = self._loss(self.X, self.y)
            loss.backward()
        else:
            loss = self.loss(self.X, self.y)
        self.optimizer.step()
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

    inputs, hidden = weights[0].shape
    model = torch.nn.Sequential(torch.nn.Linear(inputs, hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, CLASSES))
    with torch.no_grad():
        for layer, w, b in ((model[0], weights[0], weights[1]), (model[2], weights[2], weights[3])):
            layer.weight.copy_(torch.from_numpy(w.T.copy()))
            layer.bias.copy_(torch.from_numpy(b))
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> float:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(tX), ty)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"


# ----- the runs --------------------------------------------------------------------------


EAGER, RECORDED, RAW, NUMPY, TORCH = ("eager", "recorded", "raw Tensor ops", "NumPy by hand",
                                      "PyTorch")


def contenders(size: str) -> dict[str, Callable[[], float]]:
    weights, X, y = problem(*SIZES[size])
    steps: dict[str, Callable[[], float]] = {
        EAGER: UserStep(weights, X, y),
        RECORDED: UserStep(weights, X, y, record=True),
        RAW: TinygradStep(weights, X, y),
        NUMPY: NumpyStep(weights, X, y),
    }
    if torch_version():
        steps[TORCH] = torch_step(weights, X, y)
    return steps


def repeated(step: Callable[[], Any], times: int) -> Callable[[], None]:
    def run() -> None:
        for _ in range(times):
            step()

    return run


def calls_per_timing(step: Callable[[], Any]) -> int:
    """How many steps make one timed call last MIN_CALL_SECONDS (judged from a step after
    a first one: a recorded step's first call records, and is slower)."""
    step()
    start = time.perf_counter()
    step()
    elapsed = time.perf_counter() - start
    return max(1, int(MIN_CALL_SECONDS / max(elapsed, 1e-7)))


def largest_loss_gap(steps: dict[str, Callable[[], float]], n: int = 5) -> float:
    """Run ``n`` steps of each contender from the same weights; the largest loss difference."""
    losses = {name: [step() for _ in range(n)] for name, step in steps.items()}
    reference = losses[EAGER]
    return max(abs(a - b) for series in losses.values() for a, b in zip(series, reference))


def per_step(steps: dict[str, Callable[[], Any]], rounds: int) -> dict[str, float]:
    """Median seconds per step of each contender, in interleaved rounds."""
    reps = {name: calls_per_timing(step) for name, step in steps.items()}
    medians = interleaved({n: repeated(s, reps[n]) for n, s in steps.items()}, rounds)
    return {name: medians[name] / reps[name] for name in steps}


def time_training_steps(rounds: int) -> list[list[str]]:
    rows = []
    for size, (batch, inputs, hidden) in SIZES.items():
        gap = largest_loss_gap(contenders(size))
        times = per_step(contenders(size), rounds)
        floor = times[NUMPY]
        row = [f"{size} ({batch}, {inputs}, {hidden})", fmt_seconds(times[EAGER]),
               fmt_seconds(times[RECORDED]), fmt_seconds(times[RAW]), fmt_seconds(floor),
               f"{times[EAGER] / floor:.2f}x", f"{times[RECORDED] / floor:.2f}x",
               f"{times[RAW] / floor:.2f}x"]
        if TORCH in times:
            row += [fmt_seconds(times[TORCH]), f"{times[EAGER] / times[TORCH]:.2f}x"]
        rows.append([*row, f"{gap:.1e}"])
    return rows


def overhead_contenders(shape: tuple[int, ...]) -> dict[str, Callable[[], Any]]:
    """``(a * b).sum()`` and its backward: eager, recorded, NumPy doing the same arithmetic
    (the product, the sum, a seed of ones and the two products of the gradient), PyTorch."""
    a = Tensor(np.ones(shape, np.float32), requires_grad=True)
    b = Tensor(np.ones(shape, np.float32), requires_grad=True)

    def eager() -> None:
        (a * b).sum().backward()
        a.grad = b.grad = None

    step = tg.record_step(lambda: (a * b).sum())

    def recorded() -> None:
        step()
        a.grad = b.grad = None

    na, nb = np.ones(shape, np.float32), np.ones(shape, np.float32)

    def numpy_same() -> tuple[Any, ...]:
        out = (na * nb).sum()
        seed = np.ones_like(out)  # d out / d out; broadcast by the products below
        return out, seed * nb, seed * na

    runs: dict[str, Callable[[], Any]] = {EAGER: eager, RECORDED: recorded, NUMPY: numpy_same}
    if torch_version():
        import torch

        ta = torch.ones(shape, requires_grad=True)
        tb = torch.ones(shape, requires_grad=True)

        def theirs() -> None:
            (ta * tb).sum().backward()
            ta.grad = tb.grad = None

        runs[TORCH] = theirs
    return runs


def time_overhead(rounds: int) -> list[list[str]]:
    rows = []
    for shape in ((1,), (10, 10)):
        runs = overhead_contenders(shape)
        reps = 2000
        medians = interleaved({n: repeated(r, reps) for n, r in runs.items()}, rounds)
        times = {name: medians[name] / reps for name in runs}
        floor = times[NUMPY]
        row = [str(shape), fmt_seconds(times[EAGER]), fmt_seconds(times[RECORDED]),
               fmt_seconds(floor), f"{times[EAGER] / floor:.2f}x",
               f"{times[RECORDED] / floor:.2f}x"]
        if TORCH in times:
            row += [fmt_seconds(times[TORCH])]
        rows.append(row)
    return rows


# ----- BLAS threads on a busy machine --------------------------------------------------


def _spin() -> None:
    while True:
        pass


def with_threads(step: Callable[[], Any], threads: int) -> Callable[[], Any]:
    """``step`` with BLAS limited to ``threads`` (set before each timed call; the call
    repeats the step long enough that setting costs nothing)."""
    def run() -> Any:
        tg.set_num_threads(threads)
        return step()

    return run


def time_busy_machine(rounds: int) -> list[list[str]]:
    """Eager small and medium steps with NumPy's default BLAS threads and with one, on an
    idle machine and with a busy-looping process on every core."""
    default = tg.get_num_threads()
    rows = []
    for busy in (False, True):
        spinners = [multiprocessing.Process(target=_spin, daemon=True)
                    for _ in range(os.cpu_count() or 1)] if busy else []
        for p in spinners:
            p.start()
        try:
            for size in ("small", "medium"):
                step = contenders(size)[EAGER]
                reps = calls_per_timing(step)
                timed = {f"{default} threads": with_threads(repeated(step, reps), default),
                         "1 thread": with_threads(repeated(step, reps), 1)}
                medians = interleaved(timed, rounds)
                many, one = (medians[name] / reps for name in timed)
                rows.append(["busy" if busy else "idle", size, fmt_seconds(many),
                             fmt_seconds(one), f"{many / one:.2f}x"])
        finally:
            for p in spinners:
                p.kill()
            tg.set_num_threads(default)
    return rows


def time_training_step_tiny() -> None:
    """asv-style entry point: one tinygrad_nn training step at the tiny size."""
    weights, X, y = problem(*SIZES["tiny"])
    UserStep(weights, X, y)()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()

    print(f"Measured on {machine()}, {os.cpu_count()} cores; "
          f"{torch_version() or 'PyTorch not installed (pip install torch==2.13.0), skipped'}.")
    header = ["size (B, D, H)", "eager", "recorded", "raw ops", "NumPy by hand",
              "eager / NumPy", "recorded / NumPy", "raw / NumPy"]
    if torch_version():
        header += ["PyTorch", "eager / PyTorch"]
    header.append("loss gap (5 steps)")
    print(f"\nOne training step through nn, F.cross_entropy and optim.SGD (median of "
          f"{args.rounds} interleaved rounds; ratios are time / other time)")
    print(markdown_table(header, time_training_steps(args.rounds)))

    header = ["shape", "eager", "recorded", "NumPy, same arithmetic", "eager / NumPy",
              "recorded / NumPy"] + (["PyTorch"] if torch_version() else [])
    print("\nPer-op overhead: (a * b).sum().backward()")
    print(markdown_table(header, time_overhead(args.rounds)))

    print("\nBLAS threads: an eager step with NumPy's default threads and with "
          "tinygrad_nn.set_num_threads(1), on an idle machine and with every core busy")
    print(markdown_table(["machine", "size", "default threads", "1 thread",
                          "default / 1 thread"], time_busy_machine(max(5, args.rounds // 3))))


if __name__ == "__main__":
    main()
