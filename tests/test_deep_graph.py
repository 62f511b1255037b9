"""Deep graphs: backward is iterative, and a graph dies with its last reference."""

import gc
import sys

import pytest

from tinygrad_nn import Value

DEPTH = 100_000


def test_backward_through_a_100k_op_chain_with_the_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000  # the test means nothing with a raised limit
    x = Value(1.0)
    y = x
    for _ in range(DEPTH):
        y = y * 1.00001
    y.backward()
    assert x.grad == pytest.approx(1.00001**DEPTH, rel=1e-9)


def test_a_deep_chain_is_freed_without_recursion():
    y = Value(0.0)
    for _ in range(DEPTH):
        y = y + 1.0
    y.zero_grad()
    del y  # deallocating the chain must not overflow the C stack
    gc.collect()


def test_a_diamond_ladder_is_visited_once_per_node():
    # Each rung uses the previous node twice: 2**depth paths, but only 2 * depth nodes.
    x = Value(1.0)
    y = x
    for _ in range(200):
        y = (y + y) * 0.5
    y.backward()
    assert x.grad == pytest.approx(1.0)
