"""The command line: the demo's outputs and accuracy, train's options and its errors."""

import subprocess
import sys

import numpy as np
import pytest

from tinygrad_nn import load, nn
from tinygrad_nn.cli import OUTPUT_SUFFIXES, demo, main


def test_demo_writes_every_file_and_reaches_its_accuracy(tmp_path, capsys):
    results = demo(tmp_path, progress=False)
    spiral, moons = results
    assert spiral.config.engine == "tensor" and spiral.history.accuracy >= 0.97
    assert moons.config.engine == "scalar" and moons.history.accuracy >= 0.97
    expected = {f"{name}{suffix}" for name in ("spiral", "moons") for suffix in OUTPUT_SUFFIXES}
    assert {p.name for p in tmp_path.iterdir()} == expected
    assert all((tmp_path / name).stat().st_size > 0 for name in expected)
    printed = capsys.readouterr().out
    assert "training accuracy 99" in printed and "demo finished in" in printed


def test_train_writes_loadable_weights(tmp_path):
    code = main(["train", "--dataset", "xor", "--hidden", "8", "8", "--epochs", "30",
                 "--optimizer", "sgd", "--activation", "tanh", "--out", str(tmp_path)])
    assert code == 0
    assert {p.name for p in tmp_path.iterdir()} == {f"xor{s}" for s in OUTPUT_SUFFIXES}
    model = nn.MLP(2, [8, 8, 2], activation="tanh")
    model.load_state_dict(load(tmp_path / "xor.safetensors"))


def test_train_on_the_scalar_engine(tmp_path):
    assert main(["train", "--dataset", "circles", "--samples", "40", "--hidden", "4",
                 "--epochs", "5", "--engine", "scalar", "--out", str(tmp_path)]) == 0
    state = load(tmp_path / "circles.safetensors")
    assert state["layers.1.weight"].shape == (1, 4)  # one score: the binary SVM
    assert state["layers.0.weight"].dtype == np.float64


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["train", "--lr", "-1"], "must be positive"),
        (["train", "--epochs", "ten"], "expected int, got 'ten'"),
        (["train", "--activation", "relu6"], "invalid choice: 'relu6'"),
        (["train", "--engine", "gpu"], "invalid choice: 'gpu'"),
        ([], "required: command"),
    ],
)
def test_bad_arguments_exit_non_zero_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "tinygrad_nn", "train", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--dataset" in result.stdout and "--engine" in result.stdout
