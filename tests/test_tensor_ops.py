"""Tensor op conventions where the derivative is a choice: ties, kinks, repeated indices.

Every op's values and gradients are property-tested from the registry in test_ops.py;
these pin down the subgradients and edge behaviour PyTorch users expect.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tinygrad_nn as tg
from tinygrad_nn import Tensor

# ----- Subgradient conventions (PyTorch's) ---------------------------------------------


def leaf(values: Any) -> Tensor:
    return Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def test_max_ties_share_the_gradient_evenly():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]])
    y = leaf([1.0, -1.0, -1.0])
    y.min().backward()
    np.testing.assert_array_equal(y.grad, [0, 0.5, 0.5])


def test_maximum_and_minimum_ties_give_half_to_each():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    tg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.5, 0, 1])
    np.testing.assert_array_equal(b.grad, [0.5, 1, 0])
    c, d = leaf([1.0, 2.0]), leaf([1.0, 0.0])
    c.minimum(d).sum().backward()
    np.testing.assert_array_equal(c.grad, [0.5, 0])


def test_relu_and_abs_have_zero_gradient_at_zero():
    x = leaf([0.0, -0.0, 1.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 0, 1])
    y = leaf([0.0, -2.0, 2.0])
    y.abs().sum().backward()
    np.testing.assert_array_equal(y.grad, [0, -1, 1])


def test_clip_passes_the_gradient_at_its_bounds():
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    x.clip(-1.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])


def test_repeated_indices_accumulate():
    x = leaf([10.0, 20.0, 30.0])
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3, 0, 1])
    m = leaf(np.zeros((2, 3)))
    m[np.array([1, 1]), np.array([2, 2])].sum().backward()
    np.testing.assert_array_equal(m.grad, [[0, 0, 0], [0, 0, 2]])


def test_where_sends_nothing_to_the_unchosen_branch():
    a, b = leaf([1.0, 2.0]), leaf([3.0])
    tg.where(np.array([True, False]), a, b).sum().backward()
    np.testing.assert_array_equal(a.grad, [1, 0])
    np.testing.assert_array_equal(b.grad, [1])  # broadcast: summed back to shape (1,)


def test_pow_gradient_is_right_at_zero_base():
    x = leaf([0.0, 1.0])
    (x**2).sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 2])
    y = leaf([0.0, 2.0])
    (y**3).sum().backward()
    np.testing.assert_array_equal(y.grad, [0, 12])


def test_comparisons_carry_no_gradient():
    x = leaf([1.0, -1.0])
    mask = x > 0
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert not (x == x).requires_grad
    np.testing.assert_array_equal((x <= 0).data, [False, True])
