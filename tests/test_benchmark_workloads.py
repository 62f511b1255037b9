"""The benchmarks compare like with like: every contender computes the same losses.

Only correctness is checked here; speed is measured by `make bench`, never in tests.
"""

import gc
import sys
import tracemalloc
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import scalar_engine


def test_scalar_contenders_agree_on_the_loss_to_1e_9():
    contenders = scalar_engine.training_step_contenders()
    assert {scalar_engine.FUSED, scalar_engine.UNFUSED, scalar_engine.BY_HAND} <= set(contenders)
    assert scalar_engine.check_same_losses(contenders, n=3) < 1e-9


def test_the_training_step_makes_progress():
    step = scalar_engine.TinygradStep(
        scalar_engine.initial_weights(), *scalar_engine.problem()
    )
    losses = [step() for _ in range(20)]
    assert losses[-1] < 0.5 * losses[0]


def test_a_training_loop_does_not_grow():
    step = scalar_engine.TinygradStep(
        scalar_engine.initial_weights(), *scalar_engine.problem()
    )
    step()
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        step()
        after_one, peak = tracemalloc.get_traced_memory()
        for _ in range(10):
            step()
        gc.collect()
        after_eleven, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    graph_size = peak - before  # one step's graph, alive at the peak
    assert graph_size > 1_000_000
    # A graph kept per step would add ten graphs here.
    assert after_eleven - after_one < graph_size / 10


@pytest.mark.parametrize("n", [10, 1000])
def test_chain_helper_builds_n_ops(n):
    root = scalar_engine.chain(n)
    depth = 0
    node = root
    while node._prev:
        node = node._prev[0]
        depth += 1
    assert depth == n
