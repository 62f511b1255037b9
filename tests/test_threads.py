"""set_num_threads: the BLAS thread count, through threadpoolctl."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_nn as tg


def test_the_thread_count_is_set_and_read_back():
    pytest.importorskip("threadpoolctl")
    before = tg.get_num_threads()
    try:
        tg.set_num_threads(1)
        assert tg.get_num_threads() == 1
        a = np.ones((64, 64))
        np.testing.assert_array_equal(a @ a, np.full((64, 64), 64.0))  # BLAS still works
    finally:
        tg.set_num_threads(before)
    assert tg.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_refused(bad):
    with pytest.raises(ValueError, match="positive integer"):
        tg.set_num_threads(bad)
