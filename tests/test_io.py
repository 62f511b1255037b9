"""Checkpoints: exact round trips, atomic writes, clear refusals, never pickle."""

import os
import pickle

import numpy as np
import pytest

from tinygrad_nn import Tensor, load, nn, save
from tinygrad_nn.io import CheckpointError


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return {
        "layers.0.weight": rng.normal(size=(4, 3)).astype(np.float32),
        "layers.0.bias": np.zeros(4, dtype=np.float32),
        "scale": np.asarray(2.5),  # 0-d, float64
        "counts": np.arange(6, dtype=np.int64).reshape(2, 3),
    }


def test_round_trip_is_exact(tmp_path, arrays):
    path = tmp_path / "model.safetensors"
    save(arrays, path)
    loaded = load(path)
    assert loaded.keys() == arrays.keys()
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype
        assert loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)


def test_a_checkpoint_gets_the_usual_file_mode(tmp_path, arrays):
    umask = os.umask(0)
    os.umask(umask)
    save(arrays, tmp_path / "model.safetensors")
    assert (tmp_path / "model.safetensors").stat().st_mode & 0o777 == 0o666 & ~umask


def test_numbers_are_saved_as_float64(tmp_path):
    save({"lr": 0.1}, tmp_path / "f.safetensors")
    assert load(tmp_path / "f.safetensors")["lr"].dtype == np.float64


def test_a_failed_write_leaves_the_old_file_intact(tmp_path, arrays, monkeypatch):
    path = tmp_path / "model.safetensors"
    save(arrays, path)
    before = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        save({"other": np.ones(3)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["model.safetensors"]  # no temporary file left behind


def test_truncated_file_is_refused_naming_it(tmp_path, arrays):
    path = tmp_path / "model.safetensors"
    save(arrays, path)
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"model\.safetensors"):
        load(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00" * 7,
        b"not a checkpoint at all, just text",
        pickle.dumps({"weight": [1.0, 2.0]}),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}",
        b"\xff" * 64,
    ],
    ids=["empty", "short", "text", "pickle", "bad-header", "huge-header-length"],
)
def test_corrupt_or_foreign_files_are_refused(tmp_path, content):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"bad\.safetensors"):
        load(path)


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.safetensors")


@pytest.mark.parametrize(
    ("state", "match"),
    [
        ({"w": [1.0, 2.0]}, "must be a NumPy array"),
        ({"w": np.array([object()])}, "object array"),
        ({1: np.ones(2)}, "keys must be strings"),
    ],
)
def test_save_rejects_what_it_cannot_store(tmp_path, state, match):
    with pytest.raises(TypeError, match=match):
        save(state, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_no_pickle_anywhere():
    import pathlib

    package = pathlib.Path(__file__).resolve().parents[1] / "tinygrad_nn"
    for source in package.rglob("*.py"):
        text = source.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, source


@pytest.mark.parametrize(("source_engine", "target_engine"),
                         [("tensor", "tensor"), ("scalar", "scalar"), ("tensor", "scalar")])
def test_a_model_round_trips_through_a_checkpoint(tmp_path, source_engine, target_engine):
    dtype = np.float64
    source = nn.MLP(3, [4, 2], engine=source_engine, seed=1, dtype=dtype)
    save(source.state_dict(), tmp_path / "model.safetensors")
    target = nn.MLP(3, [4, 2], engine=target_engine, seed=2, dtype=dtype)
    target.load_state_dict(load(tmp_path / "model.safetensors"))
    for name, array in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], array)
    x = [0.5, -1.0, 2.0]
    outputs = []
    for model in (source, target):
        out = model(x) if model.engine == "scalar" else model(Tensor([x], dtype=dtype))
        outputs.append([v.data for v in out] if model.engine == "scalar" else out.data[0].tolist())
    assert outputs[0] == outputs[1]


def test_a_float32_model_keeps_its_dtype_through_a_checkpoint(tmp_path):
    model = nn.MLP(3, [4, 2], seed=1)
    save(model.state_dict(), tmp_path / "m.safetensors")
    assert {a.dtype for a in load(tmp_path / "m.safetensors").values()} == {np.dtype(np.float32)}


def test_a_corrupt_checkpoint_leaves_the_model_as_it_was(tmp_path):
    model = nn.MLP(3, [4, 2], seed=1)
    before = model.state_dict()
    path = tmp_path / "model.safetensors"
    save(nn.MLP(3, [4, 2], seed=2).state_dict(), path)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(CheckpointError):
        model.load_state_dict(load(path))
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
