"""The command line: ``tinygrad-nn demo`` and ``tinygrad-nn train`` (or ``python -m tinygrad_nn``).

Each run trains an MLP classifier and writes, into the output folder, for a dataset NAME:
``NAME_loss.png`` (loss and accuracy per epoch) and ``NAME_model.svg`` (the layers) and
``NAME.safetensors`` (the trained weights); for the 2-D datasets also
``NAME_boundary.png`` (the decision boundary) and ``NAME_forward_graph.svg`` (one forward
pass on the scalar engine, number by number). ``digits`` holds out 20% of the images and
reports the accuracy on them.

A bad argument ends in one line saying what to do and exit code 2; a failure while
running (a missing extra, a full disk) in one line and exit code 1. Never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, datasets, optim
from .data import DataLoader, TensorDataset
from .io import save
from .nn import MLP
from .ops import activations
from .training import History, accuracy, classifier_loss, fit, predict
from .viz import forward_pictures

DEFAULT_OUT = "out"
# A loss curve, a boundary, two pictures and the weights: a user should find them all.
OUTPUT_SUFFIXES = ("_loss.png", "_boundary.png", "_model.svg", "_forward_graph.svg",
                   "_forward_graph.html", ".safetensors")
DIGITS_SUFFIXES = ("_loss.png", "_model.svg", ".safetensors")  # 64 inputs: no 2-D pictures
DATASET_CHOICES = sorted([*datasets.DATASETS, "digits"])
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "exponential", "cosine")
MIN_SAMPLES = 10
TEST_FRACTION = 0.2  # of digits, held out


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs; the defaults train the spiral demo."""

    dataset: str = "spiral"
    samples: int = 300
    hidden: tuple[int, ...] = (100,)
    activation: str = "relu"
    optimizer: str = "adam"
    lr: float = 0.02
    momentum: float = 0.9
    epochs: int = 1000
    batch_size: int | None = None  # None: the whole training set (full-batch)
    l2: float = 1e-4
    weight_decay: float = 0.0
    dropout: float = 0.0
    scheduler: str = "none"
    engine: str = "tensor"
    seed: int = 0
    out: Path = field(default_factory=lambda: Path(DEFAULT_OUT))


# What differs for digits: a bigger input, minibatches, fewer epochs, Adam's usual rate.
DIGITS_DEFAULTS = {"hidden": (128,), "epochs": 20, "batch_size": 32, "l2": 0.0, "lr": 1e-3}


@dataclass
class RunResult:
    config: RunConfig
    history: History
    files: list[Path]
    train_accuracy: float
    test_accuracy: float | None = None  # digits only: on the held-out images


@dataclass
class Data:
    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


def load_data(config: RunConfig) -> Data:
    """The run's data; digits are split into training and held-out test images."""
    if config.dataset == "digits":
        X_train, X_test, y_train, y_test = datasets.split(*datasets.digits(), test=TEST_FRACTION,
                                                          seed=config.seed)
        return Data(X_train, y_train, X_test, y_test)
    return Data(*datasets.make(config.dataset, config.samples, seed=config.seed))


def _output_size(config: RunConfig, classes: int) -> int:
    # The scalar engine's binary classifier is the micrograd classic: one score, hinge loss.
    return 1 if config.engine == "scalar" and classes == 2 else classes


def build_model(config: RunConfig, nin: int, classes: int, engine: str | None = None) -> MLP:
    """The run's MLP on ``engine`` (the config's by default), float64 on twins."""
    engine = engine or config.engine
    sizes = [*config.hidden, _output_size(config, classes)]
    dtype = np.float64 if engine != config.engine else np.float32
    return MLP(nin, sizes, activation=config.activation, dropout=config.dropout,
               engine=engine, seed=config.seed, dtype=dtype)  # type: ignore[arg-type]


def make_optimizer(config: RunConfig, model: MLP) -> optim.Optimizer:
    params, decay = model.parameters(), config.weight_decay
    if config.optimizer == "sgd":
        return optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=decay)
    if config.optimizer == "adamw":
        return optim.AdamW(params, lr=config.lr, weight_decay=decay)
    return optim.Adam(params, lr=config.lr, weight_decay=decay)


def make_scheduler(config: RunConfig, optimizer: optim.Optimizer) -> Any:
    """``step``: divide by 10 every third of the run; ``exponential``: 100 times smaller by
    the end; ``cosine``: half a cosine down to 0 over the run."""
    schedulers = optim.lr_scheduler
    if config.scheduler == "step":
        return schedulers.StepLR(optimizer, step_size=max(1, config.epochs // 3), gamma=0.1)
    if config.scheduler == "exponential":
        return schedulers.ExponentialLR(optimizer, gamma=0.01 ** (1.0 / config.epochs))
    if config.scheduler == "cosine":
        return schedulers.CosineAnnealingLR(optimizer, T_max=config.epochs)
    return None


def run(config: RunConfig, progress: bool = True) -> RunResult:
    """Train one classifier as ``config`` says and write its pictures and weights."""
    from . import plots  # noqa: F401 - the `plot` extra, checked before a long training

    data = load_data(config)
    classes = int(data.y.max()) + 1
    model = build_model(config, data.X.shape[1], classes)
    batch_size = config.batch_size or len(data.X)
    train = DataLoader(TensorDataset(data.X, data.y), batch_size=batch_size,
                       shuffle=batch_size < len(data.X), seed=config.seed)
    test = None if data.X_test is None else DataLoader(
        TensorDataset(data.X_test, data.y_test), batch_size=512)
    optimizer = make_optimizer(config, model)
    history = fit(model, classifier_loss(model, config.l2), optimizer, train, config.epochs,
                  val_loader=test, scheduler=make_scheduler(config, optimizer),
                  progress=progress, desc=f"{config.dataset} ({config.engine} engine)")
    train_accuracy = accuracy(model, data.X, data.y)
    test_accuracy = None if data.X_test is None else accuracy(model, data.X_test, data.y_test)

    config.out.mkdir(parents=True, exist_ok=True)
    name = config.out / config.dataset
    files = draw_pictures(config, model, history, data, train_accuracy)
    save(model.state_dict(), f"{name}.safetensors",
         metadata={"dataset": config.dataset, "engine": config.engine})
    files.append(Path(f"{name}.safetensors"))
    return RunResult(config, history, files, train_accuracy, test_accuracy)


def draw_pictures(config: RunConfig, model: MLP, history: History, data: Data,
                  train_accuracy: float) -> list[Path]:
    """Every picture of a run: learning curves and layers; for 2-D data also the decision
    boundary and one forward pass on the scalar engine."""
    from . import plots

    name = config.out / config.dataset
    files = [
        history.plot(f"{name}_loss.png", title=f"{config.dataset} ({config.engine} engine)"),
        model.draw().save_svg(f"{name}_model.svg"),
    ]
    if data.X.shape[1] != 2:
        return files
    # Twins share the trained weights (state dicts match across engines): the tensor twin
    # labels a 200 x 200 grid quickly, the scalar twin shows one pass number by number.
    classes = int(data.y.max()) + 1
    state = model.state_dict()
    tensor_twin = build_model(config, 2, classes, engine="tensor")
    tensor_twin.load_state_dict(state)
    scalar_twin = build_model(config, 2, classes, engine="scalar")
    scalar_twin.load_state_dict(state)
    scalar_twin.eval()
    files[1:1] = [plots.decision_boundary(
        lambda P: predict(tensor_twin, P), data.X, data.y, f"{name}_boundary.png",
        title=f"{config.dataset}: {train_accuracy:.1%} correct")]
    files.extend(_forward_graph(scalar_twin, data.X[0], f"{name}_forward_graph.svg"))
    return files


def _forward_graph(model: MLP, x: np.ndarray, path: str) -> list[Path]:
    """One sample through the scalar twin: ``path`` (SVG) and its explorer page (HTML)."""
    return forward_pictures(model, x.tolist(), path, path.removesuffix(".svg") + ".html")


def report(result: RunResult) -> str:
    c, h = result.config, result.history
    test = "" if result.test_accuracy is None else \
        f", test accuracy {result.test_accuracy:.1%} (held out)"
    return (f"{c.dataset} ({c.engine} engine, {c.activation}, hidden {list(c.hidden)}): "
            f"loss {h.train_loss[-1]:.4f}, training accuracy {result.train_accuracy:.1%}"
            f"{test}, {h.seconds:.2f} s for {h.epochs} epochs")


# ----- Commands ------------------------------------------------------------------------


DEMO_RUNS = (
    RunConfig(),  # the spiral: tensor engine, 100 ReLU units, Adam, full-batch
    # Small enough that one forward pass draws as a readable picture, and robust: 100% on
    # every seed tried (2-4-4-1 misses on some).
    RunConfig(dataset="moons", samples=100, hidden=(6, 6), optimizer="sgd", lr=0.1,
              epochs=200, engine="scalar"),
)


def demo(out: Path, progress: bool = True) -> list[RunResult]:
    """The spiral on the tensor engine and two-moons on the scalar engine."""
    start = time.perf_counter()
    results = [run(replace(config, out=out), progress) for config in DEMO_RUNS]
    for result in results:
        print(report(result))
    files = [f for result in results for f in result.files]
    print(f"wrote {len(files)} files to {out}/: " + ", ".join(f.name for f in files))
    print(f"demo finished in {time.perf_counter() - start:.1f} s")
    return results


# ----- Arguments -----------------------------------------------------------------------


def _number(kind: Callable[[str], Any], low: float, high: float = math.inf, *,
            low_open: bool = False, high_open: bool = False) -> Callable[[str], Any]:
    """An argparse ``type``: ``kind`` (int or float), finite, between ``low`` and ``high``
    (each bound included unless marked open)."""
    name = "a whole number" if kind is int else "a number"
    if high == math.inf:
        bounds = f"{'>' if low_open else '>='} {low:g}"
    else:
        bounds = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {name}, got {text!r}") from None
        above = value > low if low_open else value >= low
        below = value < high if high_open else value <= high
        if not (math.isfinite(value) and above and below):
            raise argparse.ArgumentTypeError(f"must be {name} {bounds}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


POSITIVE_INT = _number(int, 1)
NON_NEGATIVE = _number(float, 0.0)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="tinygrad-nn",
        description="Train small neural networks with tinygrad_nn and write their pictures "
                    "and weights.",
        epilog="Run 'tinygrad-nn COMMAND --help' for a command's options.")
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo", help="train on the spiral (tensor engine) and two moons (scalar engine)",
        description="Train a 100-unit ReLU network on the three-arm spiral (tensor engine) "
                    "and a 2-6-6-1 network on two moons (scalar engine); write their "
                    "pictures and weights.")
    demo_parser.add_argument("--out", type=Path, default=Path(DEFAULT_OUT), metavar="FOLDER",
                             help="output folder, created if needed (default: out)")
    demo_parser.set_defaults(command_parser=demo_parser)  # reports errors under its name

    train = commands.add_parser(
        "train", help="train an MLP classifier on a 2-D dataset or the 8x8 digits",
        description="Train an MLP classifier and write its learning curves, layer diagram "
                    "and weights (and, for the 2-D datasets, its decision boundary and one "
                    "forward pass).")
    defaults = RunConfig()
    add = train.add_argument
    add("--dataset", choices=DATASET_CHOICES, default=defaults.dataset,
        help="spiral, moons, circles or xor (2-D, made with NumPy), or digits (1797 8x8 "
             "images from scikit-learn, the 'data' extra; 20%% held out for testing) "
             "(default: spiral)")
    add("--samples", type=_number(int, MIN_SAMPLES), default=None, metavar="N",
        help=f"points to generate, at least {MIN_SAMPLES}; not for digits (default: 300)")
    add("--hidden", type=POSITIVE_INT, nargs="+", default=None, metavar="SIZE",
        help="hidden layer sizes (default: 100; 128 for digits)")
    add("--activation", choices=activations.names(), default=defaults.activation,
        metavar="NAME", help="the hidden layers' activation, any registered one: "
                             f"{', '.join(activations.names())} (default: relu)")
    add("--dropout", type=_number(float, 0.0, 1.0, high_open=True), default=defaults.dropout,
        metavar="P", help="dropout probability after each hidden layer (default: 0)")
    add("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer,
        help="sgd (momentum 0.9), adam or adamw (default: adam)")
    add("--lr", type=_number(float, 0.0, low_open=True), default=None,
        help="learning rate (default: 0.02 for adam and adamw, 0.001 for them on digits; "
             "0.1 for sgd)")
    add("--weight-decay", type=NON_NEGATIVE, default=defaults.weight_decay, metavar="W",
        help="the optimizer's weight decay (decoupled for adamw) (default: 0)")
    add("--l2", type=NON_NEGATIVE, default=None, metavar="L",
        help="L2 penalty added to the loss: L * sum of squared parameters "
             "(default: 1e-4; 0 for digits)")
    add("--scheduler", choices=SCHEDULERS, default=defaults.scheduler,
        help="learning-rate schedule, stepped per epoch: step (divide by 10 every third of "
             "the epochs), exponential (100x smaller by the end), cosine (down to 0) "
             "(default: none)")
    add("--epochs", type=POSITIVE_INT, default=None,
        help="passes over the training data (default: 1000; 20 for digits)")
    add("--batch-size", type=POSITIVE_INT, default=None, metavar="B",
        help="samples per step (default: all of them, full-batch; 32 for digits)")
    add("--engine", choices=("tensor", "scalar"), default=defaults.engine,
        help="tensor (NumPy arrays, batches) or scalar (one Value per number, slow) "
             "(default: tensor)")
    add("--seed", type=_number(int, 0), default=defaults.seed,
        help="seed for the data, the initial weights and the shuffling (default: 0)")
    add("--out", type=Path, default=Path(DEFAULT_OUT), metavar="FOLDER",
        help="output folder, created if needed (default: out)")
    train.set_defaults(command_parser=train)
    return top


def _defaults(dataset: str, optimizer: str) -> dict[str, Any]:
    """The settings whose defaults depend on the dataset or the optimizer."""
    base = RunConfig()
    settings = {"hidden": base.hidden, "epochs": base.epochs, "batch_size": base.batch_size,
                "l2": base.l2, "lr": base.lr}
    if dataset == "digits":
        settings.update(DIGITS_DEFAULTS)
    if optimizer == "sgd":
        settings["lr"] = 0.1
    return settings


def config_from_args(args: argparse.Namespace, fail: Callable[[str], Any]) -> RunConfig:
    """The run that ``train``'s arguments ask for; ``fail`` reports a bad combination."""
    if args.dataset == "digits" and args.samples is not None:
        fail("argument --samples: digits has a fixed 1797 images; leave --samples out")
    given = {"hidden": None if args.hidden is None else tuple(args.hidden),
             "epochs": args.epochs, "batch_size": args.batch_size, "l2": args.l2,
             "lr": args.lr}
    settings = _defaults(args.dataset, args.optimizer)
    settings.update({name: value for name, value in given.items() if value is not None})
    return RunConfig(dataset=args.dataset, samples=args.samples or RunConfig.samples,
                     activation=args.activation, optimizer=args.optimizer,
                     weight_decay=args.weight_decay, dropout=args.dropout,
                     scheduler=args.scheduler, engine=args.engine, seed=args.seed,
                     out=args.out, **settings)


def _check_writable(folder: Path, option: str, fail: Callable[[str], Any]) -> None:
    """Create ``folder`` if needed, or ``fail`` saying why it cannot be written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        fail(f"argument {option}: cannot create {folder} ({error.strerror or error}); "
             "choose a folder you can write to")
    if not os.access(folder, os.W_OK | os.X_OK):
        fail(f"argument {option}: cannot write to {folder}; choose a folder you can write to")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    fail = args.command_parser.error  # prints usage and one line, exits with code 2
    if args.command == "train":
        config = config_from_args(args, fail)
    _check_writable(args.out, "--out", fail)
    try:
        if args.command == "demo":
            demo(args.out)
            return 0
        result = run(config)
    except (ImportError, OSError) as error:
        # Not the arguments: a missing extra (the message names the install line), a full
        # disk, a file that vanished.
        print(f"tinygrad-nn: error: {error}", file=sys.stderr)
        return 1
    print(report(result))
    print(f"wrote {len(result.files)} files to {config.out}/: "
          + ", ".join(f.name for f in result.files))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
