"""The command line: the demo's outputs and accuracy, train's options and its errors."""

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_nn
from tinygrad_nn import load, nn
from tinygrad_nn.cli import DIGITS_SUFFIXES, OUTPUT_SUFFIXES, demo, main, parser


def test_demo_writes_every_file_and_reaches_its_accuracy(tmp_path, capsys):
    results = demo(tmp_path, progress=False)
    spiral, moons = results
    assert spiral.config.engine == "tensor" and spiral.train_accuracy >= 0.97
    assert moons.config.engine == "scalar" and moons.train_accuracy >= 0.97
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


def test_train_on_digits_with_minibatches_and_the_new_options(tmp_path, capsys):
    pytest.importorskip("sklearn")
    code = main(["train", "--dataset", "digits", "--epochs", "3", "--batch-size", "64",
                 "--dropout", "0.1", "--weight-decay", "1e-4", "--optimizer", "adamw",
                 "--scheduler", "cosine", "--out", str(tmp_path)])
    assert code == 0
    assert {p.name for p in tmp_path.iterdir()} == {f"digits{s}" for s in DIGITS_SUFFIXES}
    printed = capsys.readouterr().out
    assert "test accuracy" in printed and "3 epochs" in printed
    state = load(tmp_path / "digits.safetensors")  # 64-128-10 with a Dropout in between
    assert state["layers.0.weight"].shape == (128, 64)
    assert state["layers.2.weight"].shape == (10, 128)


def test_options_default_per_dataset_and_optimizer():
    def config(*argv):
        from tinygrad_nn.cli import config_from_args

        return config_from_args(parser().parse_args(["train", *argv]), pytest.fail)

    assert config().batch_size is None and config().epochs == 1000 and config().lr == 0.02
    digits = config("--dataset", "digits")
    assert (digits.batch_size, digits.epochs, digits.lr, digits.hidden) == (32, 20, 1e-3, (128,))
    assert config("--optimizer", "sgd").lr == 0.1
    assert config("--dataset", "digits", "--lr", "0.5", "--batch-size", "8").lr == 0.5


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--dataset", "mnist"], "invalid choice: 'mnist'"),
        (["train", "--lr", "-1"], "--lr: must be a number > 0, got -1"),
        (["train", "--lr", "nan"], "--lr: must be a number > 0, got nan"),
        (["train", "--epochs", "ten"], "expected a whole number, got 'ten'"),
        (["train", "--samples", "1"], "--samples: must be a whole number >= 10, got 1"),
        (["train", "--dataset", "digits", "--samples", "50"], "leave --samples out"),
        (["train", "--activation", "no_such_activation"], "invalid choice: 'no_such_activation'"),
        (["train", "--engine", "gpu"], "invalid choice: 'gpu'"),
        (["train", "--dropout", "1"], "--dropout: must be a number in [0, 1), got 1"),
        (["train", "--seed", "-1"], "--seed: must be a whole number >= 0, got -1"),
        (["train", "--weight-decay", "-0.1"], "--weight-decay: must be a number >= 0"),
        (["train", "--out", "/proc/no/such/folder"], "--out: cannot create /proc/no/such/folder"),
        (["demo", "--out", "/proc/no/such/folder"], "choose a folder you can write to"),
        ([], "required: COMMAND"),
    ],
)
def test_bad_arguments_end_in_one_line_and_exit_code_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error: " in last_line and message in last_line


def test_an_unwritable_existing_folder_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("os.access", lambda path, mode: False)
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "cannot write to" in capsys.readouterr().err


def test_a_missing_extra_is_one_line_and_exit_code_1(tmp_path, capsys, monkeypatch):
    # As if matplotlib were absent: importing tinygrad_nn.plots fails.
    monkeypatch.setitem(sys.modules, "tinygrad_nn.plots", None)
    monkeypatch.delattr(tinygrad_nn, "plots", raising=False)
    assert main(["train", "--epochs", "1", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tinygrad-nn: error:")


def test_version_comes_from_the_package(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"tinygrad-nn {tinygrad_nn.__version__}"


def test_help_is_plain_text_and_every_option_is_explained():
    top = parser()
    text = top.format_help()
    assert "``" not in text and ":mod:" not in text
    for command in ("demo", "train"):
        sub = top._subparsers._group_actions[0].choices[command]  # argparse keeps them here
        assert "``" not in sub.format_help()
        for action in sub._actions:
            assert action.help, f"{command} {action.option_strings} has no help text"


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "tinygrad_nn", "train", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--dataset" in result.stdout and "--batch-size" in result.stdout
