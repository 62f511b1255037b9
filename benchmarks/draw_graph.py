"""draw_graph on large graphs: building the picture must stay well under a second.

``time_*`` functions are asv-style (``setup`` builds the graphs once). Rendering with ``dot``
is timed separately: it is Graphviz's cost, not ours, and it grows with ``max_nodes``.

Run ``python benchmarks/draw_graph.py`` to print the medians.
"""

from __future__ import annotations

import itertools

import numpy as np
from _timing import fmt_seconds, interleaved, machine, markdown_table

from tinygrad_nn.scalar import Value
from tinygrad_nn.viz import draw_graph

CHAIN_LENGTH = 10_000  # values in the scalar chain
MLP_SIZES = (2, 16, 16, 1)  # a scalar MLP: a wide graph rather than a deep one
ROUNDS = 7

_graphs: dict[str, Value] = {}


def setup() -> None:
    v = Value(1.0)
    for i in range(CHAIN_LENGTH - 1):
        v = v * 1.0001 if i % 2 else v + 1.0
    _graphs["chain"] = v
    rng = np.random.default_rng(0)
    x: list[Value] = [Value(float(t)) for t in rng.normal(size=MLP_SIZES[0])]
    for nin, nout in itertools.pairwise(MLP_SIZES):
        x = [Value.dot([Value(float(w)) for w in rng.normal(size=nin)], x).relu()
             for _ in range(nout)]
    _graphs["mlp"] = Value.sum(x)


def time_build_chain_10k() -> None:
    draw_graph(_graphs["chain"])


def time_build_chain_10k_everything() -> None:
    draw_graph(_graphs["chain"], max_nodes=None)


def time_build_scalar_mlp() -> None:
    draw_graph(_graphs["mlp"])


def time_render_chain_10k_svg() -> None:
    draw_graph(_graphs["chain"]).pipe(format="svg")


def main() -> None:
    setup()
    contenders = {name.removeprefix("time_"): fn for name, fn in globals().items()
                  if name.startswith("time_")}
    medians = interleaved(contenders, rounds=ROUNDS)
    print(machine())
    print(markdown_table(["draw_graph", "median"],
                         [[name, fmt_seconds(t)] for name, t in medians.items()]))


if __name__ == "__main__":
    main()
