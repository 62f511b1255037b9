"""The command line: ``python -m tinygrad_nn demo``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import activations
from .value import Value


def neuron_demo() -> None:
    """One neuron, tanh(w1 x1 + w2 x2 + b), and the gradients backprop finds for it."""
    x1, x2 = Value(2.0), Value(0.0)
    w1, w2 = Value(-3.0), Value(1.0)
    b = Value(6.8813735870195432)
    out = Value.dot([w1, w2], [x1, x2], b).tanh()
    out.backward()
    print("A neuron: out = tanh(w1*x1 + w2*x2 + b)")
    print(f"  out = {out.data:.4f}")
    for name, v in [("x1", x1), ("w1", w1), ("x2", x2), ("w2", w2), ("b", b)]:
        print(f"  d out / d {name:<2} = {v.grad:+.4f}   ({name} = {v.data:g})")


def activation_table(points: Sequence[float] = (-10.0, -1.0, 0.0, 1.0, 10.0)) -> None:
    """Value and slope of every registered activation: where gradients die, and where not."""
    print("\nActivations: f(x) / f'(x)")
    print("  " + f"{'':<11}" + "".join(f"{f'x = {x:g}':>16}" for x in points))
    for name in activations.names():
        cells = []
        for x in points:
            v = Value(x)
            out = getattr(v, name)()
            out.backward()
            cells.append(f"{out.data:7.3f} /{v.grad:6.3f}")
        print(f"  {name:<11}" + "".join(f"{c:>16}" for c in cells))
    print("  sigmoid and tanh saturate (slope ~0 at |x| = 10); relu's slope is 0 for x < 0.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tinygrad-nn", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="backprop through a neuron; every activation's slope")
    parser.parse_args(argv)
    neuron_demo()
    activation_table()
    return 0
