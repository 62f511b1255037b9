"""Regenerate the README's example pictures: ``python notebooks/make_pictures.py [out_dir]``.

Writes into ``notebooks/pictures/`` by default (seeded, so the same Graphviz version gives
byte-identical files):

- ``neuron.svg``: one tanh neuron on the scalar engine, after backward;
- ``tensor_mlp.svg``: the loss of a small MLP on the tensor engine, with gradients;
- ``mlp_model.svg``: the layer diagram of ``nn.MLP(3, [4, 4, 1])``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tinygrad_nn.value import Value

from tinygrad_nn import nn
from tinygrad_nn.tensor import Tensor
from tinygrad_nn.viz import save_svg


def neuron(out_dir: Path) -> Path:
    """o = tanh(x1*w1 + x2*w2 + b), the neuron micrograd's lecture differentiates by hand."""
    x1, x2 = Value(2.0), Value(0.0)
    w1, w2, b = Value(-3.0), Value(1.0), Value(6.881373587)
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.backward()
    return save_svg(o, out_dir / "neuron.svg", params={"w1": w1, "w2": w2, "b": b})


def tensor_mlp(out_dir: Path) -> Path:
    """Mean squared error of a 2-3-1 MLP on a batch of four; retain_graph keeps it drawable."""
    rng = np.random.default_rng(0)
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    x = Tensor(rng.normal(size=(4, 2)), dtype=np.float32)
    y = Tensor(rng.normal(size=(4, 1)), dtype=np.float32)
    loss = ((model(x) - y) ** 2).mean()
    loss.backward(retain_graph=True)
    return save_svg(loss, out_dir / "tensor_mlp.svg", params=model, rankdir="TB")


def mlp_model(out_dir: Path) -> Path:
    """The layers of the API example model: 16 + 20 + 5 = 41 parameters."""
    return save_svg(nn.MLP(3, [4, 4, 1], activation="relu", seed=0), out_dir / "mlp_model.svg")


def main(argv: list[str]) -> None:
    out_dir = Path(argv[0]) if argv else Path(__file__).resolve().parent / "pictures"
    out_dir.mkdir(parents=True, exist_ok=True)
    for make in (neuron, tensor_mlp, mlp_model):
        print(make(out_dir))


if __name__ == "__main__":
    main(sys.argv[1:])
