"""data: TensorDataset and DataLoader; datasets: sizes, digits, split."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tinygrad_nn import Tensor, data, datasets


def loader(n=10, **kwargs):
    X = np.arange(2 * n, dtype=np.float32).reshape(n, 2)
    y = np.arange(n)
    return data.DataLoader(data.TensorDataset(X, y), **kwargs)


# ----- TensorDataset -------------------------------------------------------------------------


def test_tensor_dataset_indexes_its_arrays_together():
    X, y = np.ones((4, 3)), np.arange(4)
    dataset = data.TensorDataset(Tensor(X), y)
    assert len(dataset) == 4
    x0, y0 = dataset[2]
    np.testing.assert_array_equal(x0, X[2])
    assert y0 == 2
    assert repr(dataset) == "TensorDataset((4, 3) float64, (4,) int64)"


@pytest.mark.parametrize("arrays", [(np.ones((3, 2)), np.ones(4)), (np.ones(3), np.float64(1.0)),
                                    ()])
def test_tensor_dataset_refuses_arrays_of_different_lengths(arrays):
    with pytest.raises(ValueError, match=r"same length|at least one"):
        data.TensorDataset(*arrays)


# ----- DataLoader ----------------------------------------------------------------------------


def test_batches_in_order_with_a_smaller_last_one():
    batches = list(loader(10, batch_size=4))
    assert len(batches) == len(loader(10, batch_size=4)) == 3
    assert [len(y) for _, y in batches] == [4, 4, 2]
    xb, yb = batches[0]
    assert isinstance(xb, Tensor) and isinstance(yb, Tensor)
    assert xb.shape == (4, 2) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([y.data for _, y in batches]), np.arange(10))
    assert not xb.requires_grad


def test_drop_last_leaves_out_the_short_batch():
    shuffled = loader(10, batch_size=4, drop_last=True, shuffle=True, seed=0)
    assert len(shuffled) == 2
    assert [len(y) for _, y in shuffled] == [4, 4]
    assert len(loader(8, batch_size=4, drop_last=True)) == 2


def test_shuffling_is_seeded_new_every_epoch_and_covers_everything():
    def epochs(seed):
        batches = loader(20, batch_size=6, shuffle=True, seed=seed)
        return [np.concatenate([y.data for _, y in batches]) for _ in range(2)]

    first, second = epochs(0)
    assert sorted(first) == sorted(second) == list(range(20))
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(epochs(0)[0], first)
    assert not np.array_equal(epochs(1)[0], first)


def test_a_batch_is_a_copy():
    X = np.zeros((4, 2))
    batch, _ = next(iter(data.DataLoader(data.TensorDataset(X, np.arange(4)), batch_size=2)))
    batch.data[...] = 5.0
    assert not X.any()


def test_any_dataset_with_len_and_getitem_is_collated():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], dtype=np.float32), i % 2

    xb, yb = next(iter(data.DataLoader(Squares(), batch_size=3)))
    np.testing.assert_array_equal(xb.data, [[0, 0], [1, 1], [2, 4]])
    np.testing.assert_array_equal(yb.data, [0, 1, 0])


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_a_bad_batch_size_is_refused(batch_size):
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        loader(batch_size=batch_size)


# ----- datasets -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(datasets.DATASETS))
@pytest.mark.parametrize("n", [10, 101, 300])
def test_every_generator_returns_n_points_in_all(name, n):
    X, y = datasets.make(name, n, seed=1)
    assert X.shape == (n, 2) and y.shape == (n,) and y.dtype == np.int64


def test_spiral_shares_points_between_classes_evenly():
    _, y = datasets.spiral(301, classes=3)
    assert np.bincount(y).tolist() == [101, 100, 100]
    with pytest.raises(ValueError, match="total number of points"):
        datasets.spiral(2, classes=3)
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        datasets.make("mnist", 10)


def test_digits_are_the_bundled_8x8_images():
    pytest.importorskip("sklearn")
    X, y = datasets.digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert X.min() >= 0.0 and X.max() == 1.0
    assert y.dtype == np.int64 and sorted(set(y.tolist())) == list(range(10))


def test_digits_without_the_extra_names_the_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "tinygrad-nn\[data\]"'):
        datasets.digits()


def test_split_holds_out_a_seeded_fraction():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    X_train, X_test, y_train, y_test = datasets.split(X, y, test=0.25, seed=0)
    assert len(X_test) == len(y_test) == 3 and len(X_train) == 7  # ceil(0.25 * 10)
    np.testing.assert_array_equal(X_train[:, 0] // 2, y_train)  # rows stay with labels
    assert sorted([*y_train, *y_test]) == list(range(10))
    np.testing.assert_array_equal(datasets.split(X, y, test=0.25, seed=0)[3], y_test)
    assert not np.array_equal(datasets.split(X, y, test=0.25, seed=1)[3], y_test)


@pytest.mark.parametrize(("test", "n", "match"), [(0.0, 10, "fraction"), (1.0, 10, "fraction"),
                                                  (0.9, 2, "none for training")])
def test_split_refuses_a_split_that_leaves_nothing(test, n, match):
    with pytest.raises(ValueError, match=match):
        datasets.split(np.ones((n, 1)), np.ones(n), test=test)
