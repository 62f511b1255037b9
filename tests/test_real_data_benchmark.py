"""The real-data benchmark compares like with like: the same model, weights and batches.

Only correctness is checked here, on a short run; speed is measured by `make bench`.
"""

import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import real_data


@pytest.fixture
def short_run(monkeypatch):
    monkeypatch.setattr(real_data, "EPOCHS", 2)
    return real_data.problem()


def test_tinygrad_and_pytorch_train_the_same_network_on_the_same_batches(short_run):
    pytest.importorskip("torch")
    ours, _ = real_data.train_tinygrad(short_run)
    theirs, _ = real_data.train_torch(short_run)
    assert ours > 0.8
    assert abs(ours - theirs) <= 2 / 360  # float32 rounding may flip an image or two


def test_every_contender_reports_an_accuracy_and_a_time(short_run):
    results = real_data.measure(rounds=1)
    assert {"tinygrad_nn", "scikit-learn MLPClassifier"} <= set(results)
    for accuracy, seconds in results.values():
        assert 0.5 < accuracy <= 1.0 and seconds > 0
    rows = real_data.table(results)
    assert rows[0][0] == "tinygrad_nn" and rows[0][-1] == "1.00x"
