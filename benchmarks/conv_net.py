"""Conv net: one training step of a small CNN on MNIST-sized images, against PyTorch CPU.

The net: 1x28x28 images, batch 32 -> 3x3 conv, 16 channels, ReLU -> 3x3 conv, 16 channels,
ReLU -> 2x2 max-pool -> flatten -> linear head to 10 classes; softmax cross-entropy and
an SGD update, float32. Both contenders start from the same weights and take the same
steps (the loss gap column shows it); they are timed in interleaved rounds in one process,
so a slow patch of the machine hits both alike. Also timed: the forward pass alone (under
no_grad), and each layer's op forward and backward.

PyTorch CPU is needed (``pip install torch==2.13.0``; not in any extra). Run
``python benchmarks/conv_net.py``: it prints the markdown block the README quotes. Both
libraries use all cores by default; ``--threads 1`` gives each one core (NumPy's BLAS is
limited through threadpoolctl), a steadier comparison on a busy machine.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import fmt_seconds, interleaved, machine, markdown_table

from tinygrad_nn import Tensor, nn, no_grad, optim

BATCH, CHANNELS, SIDE, CLASSES = 32, 16, 28, 10
LEARNING_RATE = 0.05
ROUNDS = 21
REPEATS = 5  # steps per timed call, so one call lasts long enough to time well


def problem(seed: int = 0) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Initial weights (PyTorch's layer order and shapes), images and labels."""
    model = tinygrad_model(seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.normal(size=(BATCH, 1, SIDE, SIDE)).astype(np.float32)
    y = rng.integers(0, CLASSES, BATCH)
    return [p.data.copy() for p in model.parameters()], X, y


# ----- tinygrad_nn -----------------------------------------------------------------------


def tinygrad_model(seed: int | None = None) -> nn.Module:
    pooled = (SIDE - 4) // 2
    return nn.Sequential(
        nn.Conv2d(1, CHANNELS, 3, seed=seed), nn.Activation("relu"),
        nn.Conv2d(CHANNELS, CHANNELS, 3, seed=seed), nn.Activation("relu"),
        nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(CHANNELS * pooled * pooled, CLASSES, seed=seed),
    )


class TinygradStep:
    def __init__(self, weights: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> None:
        self.model = tinygrad_model()
        for p, w in zip(self.model.parameters(), weights):
            p.data = w.copy()
        self.optimizer = optim.SGD(self.model.parameters(), lr=LEARNING_RATE)
        self.X, self.y = Tensor(X), y

    def __call__(self) -> float:
        loss = nn.functional.cross_entropy(self.model(self.X), self.y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss.item()

    def forward(self) -> None:
        with no_grad():
            self.model(self.X)


# ----- PyTorch ---------------------------------------------------------------------------


class TorchStep:
    def __init__(self, weights: list[np.ndarray], X: np.ndarray, y: np.ndarray) -> None:
        import torch

        self.torch = torch
        pooled = (SIDE - 4) // 2
        self.model = torch.nn.Sequential(
            torch.nn.Conv2d(1, CHANNELS, 3), torch.nn.ReLU(),
            torch.nn.Conv2d(CHANNELS, CHANNELS, 3), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2), torch.nn.Flatten(),
            torch.nn.Linear(CHANNELS * pooled * pooled, CLASSES),
        )
        with torch.no_grad():
            for p, w in zip(self.model.parameters(), weights):
                p.copy_(torch.from_numpy(w))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LEARNING_RATE)
        self.X, self.y = torch.from_numpy(X), torch.from_numpy(y)

    def __call__(self) -> float:
        loss = self.torch.nn.functional.cross_entropy(self.model(self.X), self.y)
        loss.backward()
        self.optimizer.step()
        self.optimizer.zero_grad()
        return loss.item()

    def forward(self) -> None:
        with self.torch.no_grad():
            self.model(self.X)


def torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)"


def limited_threads(threads: int | None) -> contextlib.AbstractContextManager[Any]:
    """Give both libraries ``threads`` threads (None: leave their defaults)."""
    if threads is None:
        return contextlib.nullcontext()
    import torch

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("--threads needs threadpoolctl to limit NumPy's BLAS "
                         "(pip install threadpoolctl)") from None
    torch.set_num_threads(threads)
    return threadpool_limits(threads)


# ----- the runs --------------------------------------------------------------------------


def contenders() -> dict[str, Any]:
    weights, X, y = problem()
    return {"tinygrad_nn": TinygradStep(weights, X, y), "PyTorch": TorchStep(weights, X, y)}


def largest_loss_gap(steps: dict[str, Callable[[], float]], n: int = 5) -> float:
    """Run ``n`` steps of each contender from the same weights; the largest loss difference."""
    losses = {name: [step() for _ in range(n)] for name, step in steps.items()}
    reference = losses["tinygrad_nn"]
    return max(abs(a - b) for series in losses.values() for a, b in zip(series, reference))


def repeated(run: Callable[[], Any], times: int = REPEATS) -> Callable[[], None]:
    def calls() -> None:
        for _ in range(times):
            run()

    return calls


def layer_contenders() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Each layer's op, forward and backward (from a random upstream gradient), on the
    shapes it sees in the net."""
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(2)

    def case(ours: Callable[..., Tensor], theirs: Callable[..., Any], *shapes: tuple[int, ...]
             ) -> tuple[Callable[[], Any], Callable[[], Any]]:
        arrays = [rng.normal(size=shape).astype(np.float32) for shape in shapes]
        ours_in = [Tensor(a, requires_grad=True) for a in arrays]
        theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
        upstream = rng.normal(size=ours(*ours_in).shape).astype(np.float32)
        torch_upstream = torch.from_numpy(upstream)
        return (lambda: ours(*ours_in).backward(upstream),
                lambda: theirs(*theirs_in).backward(torch_upstream))

    inner = SIDE - 2
    return {
        "conv2d 1 -> 16": case(lambda x, w, b: x.conv2d(w, b), F.conv2d,
                               (BATCH, 1, SIDE, SIDE), (CHANNELS, 1, 3, 3), (CHANNELS,)),
        "conv2d 16 -> 16": case(lambda x, w, b: x.conv2d(w, b), F.conv2d,
                                (BATCH, CHANNELS, inner, inner), (CHANNELS, CHANNELS, 3, 3),
                                (CHANNELS,)),
        "max_pool2d 2": case(lambda x: x.max_pool2d(2), lambda x: F.max_pool2d(x, 2),
                             (BATCH, CHANNELS, inner - 2, inner - 2)),
    }


def ratio_row(label: str, medians: dict[str, float], times: int) -> list[str]:
    ours, theirs = medians["tinygrad_nn"] / times, medians["PyTorch"] / times
    return [label, fmt_seconds(ours), fmt_seconds(theirs), f"{ours / theirs:.2f}x"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for each library (default: each one's own default)")
    args = parser.parse_args()
    if torch_version() is None:
        print("PyTorch is not installed (pip install torch==2.13.0): nothing to compare with.")
        return
    with limited_threads(args.threads):
        run(args.rounds, args.threads)


def run(rounds: int, threads: int | None) -> None:
    blas = f"NumPy's BLAS {threads} thread(s)" if threads else "NumPy's BLAS default threads"
    print(f"Measured on {machine()}; {torch_version()}; {blas}.")
    gap = largest_loss_gap(contenders())
    steps = contenders()
    rows = [
        ratio_row("training step (forward, loss, backward, SGD)",
                  interleaved({n: repeated(s) for n, s in steps.items()}, rounds), REPEATS),
        ratio_row("forward only (no_grad)",
                  interleaved({n: repeated(s.forward) for n, s in steps.items()}, rounds),
                  REPEATS),
    ]
    for name, (ours, theirs) in layer_contenders().items():
        medians = interleaved({"tinygrad_nn": repeated(ours), "PyTorch": repeated(theirs)},
                              rounds)
        rows.append(ratio_row(f"{name}: forward + backward", medians, REPEATS))
    print(f"\nConv net, batch {BATCH} of 1x{SIDE}x{SIDE}, float32 (median of {rounds} "
          f"interleaved rounds; ratio = tinygrad_nn time / PyTorch time; loss gap over 5 steps "
          f"{gap:.1e})")
    print(markdown_table(["", "tinygrad_nn", "PyTorch", "ratio"], rows))


if __name__ == "__main__":
    main()
