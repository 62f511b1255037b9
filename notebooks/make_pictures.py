"""Regenerate the README's example pictures: ``python notebooks/make_pictures.py [out_dir]``.

Writes into ``notebooks/pictures/`` by default (seeded, so the same Graphviz version gives
byte-identical files):

- ``neuron.svg``: one tanh neuron on the scalar engine, after backward;
- ``tensor_mlp.svg``: the loss of a small MLP on the tensor engine, drawn after a plain
  ``backward()``, its ops in a box per layer;
- ``gradient_flow.svg``: a sigmoid MLP coloured by gradient magnitude (vanishing gradients);
- ``mlp_model.svg``: the layer diagram of ``nn.MLP(3, [4, 4, 1])``;
- ``neuron.html``: the neuron's page to explore, with its backward stepper.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from tinygrad_nn import Tensor, Value, nn, save_html, save_svg


def _neuron() -> tuple[Value, dict[str, Value]]:
    """o = tanh(x1*w1 + x2*w2 + b), the neuron micrograd's lecture differentiates by hand."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2, b = Value(-3.0, label="w1"), Value(1.0, label="w2"), Value(6.881373587, label="b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    o.label = "o"
    o.backward()
    return o, {"w1": w1, "w2": w2, "b": b}


def neuron(out_dir: Path) -> Path:
    o, params = _neuron()
    return save_svg(o, out_dir / "neuron.svg", params=params)


def neuron_page(out_dir: Path) -> Path:
    o, params = _neuron()
    return save_html(o, out_dir / "neuron.html", params=params, title="A tanh neuron")


def tensor_mlp(out_dir: Path) -> Path:
    """Mean squared error of a 2-3-1 MLP on a batch of four, drawn after backward()."""
    rng = np.random.default_rng(0)
    model = nn.MLP(2, [3, 1], activation="tanh", seed=0)
    x = Tensor(rng.normal(size=(4, 2)), dtype=np.float32, name="x")
    y = Tensor(rng.normal(size=(4, 1)), dtype=np.float32, name="y")
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    return save_svg(loss, out_dir / "tensor_mlp.svg")


def gradient_flow(out_dir: Path) -> Path:
    """A 4-layer sigmoid MLP: its gradients shrink layer by layer on the way back."""
    rng = np.random.default_rng(0)
    model = nn.MLP(4, [8, 8, 8, 1], activation="sigmoid", seed=0)
    x = Tensor(rng.normal(size=(32, 4)), dtype=np.float32, name="x")
    loss = (model(x) ** 2).mean()
    return save_svg(loss, out_dir / "gradient_flow.svg", grad_flow=True, collapse=True)


def mlp_model(out_dir: Path) -> Path:
    """The layers of the API example model: 16 + 20 + 5 = 41 parameters."""
    return save_svg(nn.MLP(3, [4, 4, 1], activation="relu", seed=0), out_dir / "mlp_model.svg")


def main(argv: list[str]) -> None:
    out_dir = Path(argv[0]) if argv else Path(__file__).resolve().parent / "pictures"
    out_dir.mkdir(parents=True, exist_ok=True)
    for make in (neuron, neuron_page, tensor_mlp, gradient_flow, mlp_model):
        print(make(out_dir))


if __name__ == "__main__":
    main(sys.argv[1:])
