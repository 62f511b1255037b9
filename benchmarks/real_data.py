"""Real data: an MLP 64-128-10 (ReLU) on scikit-learn's 8x8 digits, Adam, batches of 32.

Three contenders train the same model with the same hyperparameters on the same split
(80% training, 20% held out for testing), measured in one run:
- tinygrad_nn through its public API: ``nn.Linear``, ``optim.Adam``, ``data.DataLoader``,
  ``training.fit``;
- PyTorch CPU (``pip install torch==2.13.0``; skipped when absent), starting from the same
  weights and seeing the same batches in the same order: the usual hand-written loop, with
  the batches indexed from whole tensors (``torch.utils.data.DataLoader`` would collate
  every sample separately, which is slower), on one thread (``TORCH_THREADS``): at this
  size PyTorch's default of a thread per core only adds synchronisation, and on a busy
  machine it is many times slower;
- scikit-learn's ``MLPClassifier`` (its own initialisation and shuffling), run for the
  same number of epochs (no early stopping, no L2: ``alpha=0``).

Wall time covers training only (data already in memory); accuracy is on the held-out
20%. Run ``python benchmarks/real_data.py``: it prints the markdown block the README
quotes. Needs the ``data`` extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from _timing import fmt_seconds, machine, markdown_table

from tinygrad_nn import data, nn, optim, training
from tinygrad_nn.datasets import digits, split
from tinygrad_nn.nn import functional as F

HIDDEN = 128
EPOCHS = 30
BATCH_SIZE = 32
LEARNING_RATE = 1e-3
SEED = 0
TORCH_THREADS = 1
ROUNDS = 3  # training runs per contender; the median time is reported

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
Result = tuple[float, float]  # (test accuracy, seconds)


def problem() -> Split:
    """The digits split 80/20, float32 features in [0, 1]."""
    return split(*digits(), test=0.2, seed=SEED)


def tinygrad_model() -> nn.Sequential:
    return nn.Sequential(nn.Linear(64, HIDDEN, seed=SEED), nn.Activation("relu"),
                         nn.Linear(HIDDEN, 10, seed=SEED + 1))


# ----- contenders --------------------------------------------------------------------------


def train_tinygrad(d: Split) -> Result:
    X_train, X_test, y_train, y_test = d
    model = tinygrad_model()
    loader = data.DataLoader(data.TensorDataset(X_train, y_train), batch_size=BATCH_SIZE,
                             shuffle=True, seed=SEED)
    optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATE)
    start = time.perf_counter()
    training.fit(model, F.cross_entropy, optimizer, loader, epochs=EPOCHS, progress=False)
    seconds = time.perf_counter() - start
    return training.accuracy(model, X_test, y_test), seconds


def train_torch(d: Split) -> Result:
    import torch

    torch.set_num_threads(TORCH_THREADS)
    X_train, X_test, y_train, y_test = d
    ours = tinygrad_model()  # the same initial weights
    model = torch.nn.Sequential(torch.nn.Linear(64, HIDDEN), torch.nn.ReLU(),
                                torch.nn.Linear(HIDDEN, 10))
    with torch.no_grad():
        for theirs, mine in zip(model.parameters(), ours.parameters()):
            theirs.copy_(torch.from_numpy(mine.data))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    X, y = torch.from_numpy(X_train), torch.from_numpy(y_train)
    rng = np.random.default_rng(SEED)  # the DataLoader's shuffling: the same batches
    start = time.perf_counter()
    for _ in range(EPOCHS):
        order = torch.from_numpy(rng.permutation(len(X)))
        for begin in range(0, len(X), BATCH_SIZE):
            batch = order[begin:begin + BATCH_SIZE]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[batch]), y[batch])
            loss.backward()
            optimizer.step()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        predicted = model(torch.from_numpy(X_test)).argmax(dim=1).numpy()
    return float(np.mean(predicted == y_test)), seconds


def train_sklearn(d: Split) -> Result:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = d
    model = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", solver="adam",
                          alpha=0.0, batch_size=BATCH_SIZE, learning_rate_init=LEARNING_RATE,
                          max_iter=EPOCHS, shuffle=True, random_state=SEED, tol=0.0,
                          n_iter_no_change=EPOCHS + 1)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter is the point
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return float(model.score(X_test, y_test)), seconds


def torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return (f"PyTorch {torch.__version__} ({TORCH_THREADS} thread; "
            f"{torch.get_num_threads()} by default here)")


def contenders() -> dict[str, Callable[[Split], Result]]:
    runs: dict[str, Callable[[Split], Result]] = {"tinygrad_nn": train_tinygrad}
    if torch_version():
        runs["PyTorch"] = train_torch
    runs["scikit-learn MLPClassifier"] = train_sklearn
    return runs


# ----- the run -----------------------------------------------------------------------------


def measure(rounds: int) -> dict[str, Result]:
    """Test accuracy and median training time of each contender, rounds interleaved."""
    d = problem()
    runs = contenders()
    accuracies: dict[str, float] = {}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, train in runs.items():
            accuracy, seconds = train(d)
            accuracies.setdefault(name, accuracy)
            times[name].append(seconds)
    return {name: (accuracies[name], float(np.median(times[name]))) for name in runs}


def table(results: dict[str, Result]) -> list[list[Any]]:
    ours = results["tinygrad_nn"][1]
    return [[name, f"{accuracy:.1%}", fmt_seconds(seconds), fmt_seconds(seconds / EPOCHS),
             f"{seconds / ours:.2f}x"]
            for name, (accuracy, seconds) in results.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    import sklearn

    torch = torch_version() or "PyTorch not installed (pip install torch==2.13.0), skipped"
    results = measure(args.rounds)
    print(f"Measured on {machine()}; scikit-learn {sklearn.__version__}; {torch}.")
    print(f"\nMLP 64-{HIDDEN}-10 (ReLU) on the 8x8 digits (1437 training, 360 test images): "
          f"Adam (lr {LEARNING_RATE:g}), batches of {BATCH_SIZE}, {EPOCHS} epochs; "
          f"training time is the median of {args.rounds} runs")
    header = ["implementation", "test accuracy", "training time", "per epoch",
              "time vs tinygrad_nn"]
    print(markdown_table(header, table(results)))


if __name__ == "__main__":
    main()
