"""The README's code runs as written: every ```python block, in order, in one namespace."""

import re
from pathlib import Path

import pytest

from tinygrad_nn import activations, ops

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_code():
    assert len(BLOCKS) >= 5


def test_every_python_block_runs_in_order(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # blocks may write files (checkpoints, pictures)
    registered_before = set(ops.names())
    namespace: dict = {}
    try:
        for number, block in enumerate(BLOCKS, start=1):
            try:
                exec(compile(block, f"README.md python block {number}", "exec"), namespace)
            except Exception as error:  # pragma: no cover - the message is the point
                pytest.fail(f"README python block {number} failed: {error!r}\n{block}")
    finally:
        for name in set(ops.names()) - registered_before:
            if name in activations.names():
                activations.unregister(name)
            else:
                ops.unregister(name)


def test_the_op_list_names_every_registered_op():
    """The README's list of ops (between its ops markers) is exactly ``ops.names()``."""
    listed = re.search(r"<!-- ops:start -->(.*)<!-- ops:end -->", README.read_text(), re.S)
    assert listed, "README.md has no <!-- ops:start/end --> block"
    names = set(re.findall(r"\b[a-z_0-9]+\b", " ".join(re.findall(r"`([^`]+)`", listed[1]))))
    assert names == set(ops.names())


def test_quoted_spiral_figures_hold(tmp_path, monkeypatch, capsys):
    """The nn block prints the spiral accuracy the README claims (about 0.99)."""
    monkeypatch.chdir(tmp_path)
    block = next(b for b in BLOCKS if "spiral(" in b)
    exec(compile(block, "README.md nn block", "exec"), {})
    printed = float(capsys.readouterr().out.split()[0])
    assert printed >= 0.97
