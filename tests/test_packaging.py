"""Packaging: one version, extras that name themselves, the benchmark tables' plumbing.

The built wheel itself is checked by ``scripts/smoke_wheel.py`` (``make smoke``), in fresh
virtual environments; these are the quick checks on the source tree.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest

import tinygrad_nn
from tinygrad_nn._extras import MissingExtraError, install_line, requires

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = PYPROJECT["project"]["optional-dependencies"]


def test_the_version_is_written_once_and_installed():
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert "version" not in PYPROJECT["project"]
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", tinygrad_nn.__version__)
    # The editable install's metadata; `make` reinstalls when _version.py changes.
    assert importlib.metadata.version("tinygrad-nn") == tinygrad_nn.__version__


def test_the_changelog_has_a_section_for_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    version = tinygrad_nn.__version__
    heading = "## Unreleased" if ".dev" in version else f"## {version}"
    assert re.search(rf"^{re.escape(heading)}\b", changelog, re.M), heading


def test_license_and_typing_marker_ship():
    assert PYPROJECT["project"]["license"] == "MIT"
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert (ROOT / "tinygrad_nn" / "py.typed").exists()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["tinygrad_nn"]


def test_a_missing_module_names_its_extra():
    with pytest.raises(MissingExtraError) as caught, requires("plot"):
        import tinygrad_nn_no_such_module  # noqa: F401
    error = caught.value
    assert isinstance(error, ModuleNotFoundError)  # so `except ImportError` still works
    assert error.name == "tinygrad_nn_no_such_module" and error.extra == "plot"
    assert 'pip install "tinygrad-nn[plot]"' in str(error)
    assert install_line("data") == 'pip install "tinygrad-nn[data]"'


def test_an_inner_extra_is_not_renamed_and_other_errors_pass():
    outer, inner = requires("plot"), requires("testing")
    with pytest.raises(MissingExtraError, match=r"tinygrad-nn\[testing\]"), outer, inner:
        import tinygrad_nn_no_such_module  # noqa: F401
    with pytest.raises(ImportError, match="cannot import name") as caught, requires("plot"):
        from tinygrad_nn import no_such_name  # noqa: F401
    assert not isinstance(caught.value, MissingExtraError)


def required_extras() -> dict[str, str]:
    """Every ``requires("EXTRA")`` in the package -> where it is."""
    found = {}
    for path in (ROOT / "tinygrad_nn").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "requires"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found[node.args[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_every_extra_the_code_requires_is_declared():
    required = required_extras()
    assert {"testing", "plot"} <= set(required)
    for extra, where in required.items():
        assert extra in EXTRAS, f"{where} requires the {extra!r} extra, which pyproject lacks"


def test_the_wheel_smoke_test_covers_every_feature_extra():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import smoke_wheel
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert set(EXTRAS) - smoke_wheel.DEVELOPMENT <= set(smoke_wheel.FEATURES)


# ----- benchmarks/run.py: results files and the README's copies ----------------------------


@pytest.fixture
def bench_run():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return run


def test_tables_are_separated_from_their_captions(bench_run):
    block = "Caption\n| a |\n|---|\n| 1 |\nAfter\n\nMore\n| b |\n|---|"
    assert bench_run.tidy(block) == (
        "Caption\n\n| a |\n|---|\n| 1 |\n\nAfter\n\nMore\n\n| b |\n|---|\n")


def test_readme_figures_copy_saved_tables_between_markers(bench_run, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "scalar_engine.md").write_text("scalar table\n")
    (results / "tensor_engine.md").write_text("tensor table\n")
    (results / "real_data.md").write_text("digits table\n")
    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- scalar-bench:start -->\nold\n<!-- scalar-bench:end -->\n"
        "<!-- tensor-bench:start -->\n<!-- tensor-bench:end -->\n"
        "<!-- real_data:start -->\nold\n<!-- real_data:end -->\n"
        "<!-- something-else:start -->\nkept\n<!-- something-else:end -->\n")
    replaced = bench_run.refresh_readme(readme, results)
    assert sorted(replaced) == ["real_data", "scalar-bench", "tensor-bench"]
    text = readme.read_text()
    assert "<!-- scalar-bench:start -->\nscalar table\n<!-- scalar-bench:end -->" in text
    assert "<!-- tensor-bench:start -->\ntensor table\n<!-- tensor-bench:end -->" in text
    assert "<!-- real_data:start -->\ndigits table\n<!-- real_data:end -->" in text
    assert "kept" in text and "old" not in text


def test_readme_figures_refuse_a_readme_without_its_blocks(bench_run, tmp_path):
    (tmp_path / "scalar_engine.md").write_text("table\n")
    (tmp_path / "tensor_engine.md").write_text("table\n")
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    with pytest.raises(SystemExit, match="scalar-bench"):
        bench_run.refresh_readme(readme, tmp_path)
    assert readme.read_text() == "no markers here\n"


def test_the_real_readme_has_a_block_for_each_saved_table(bench_run):
    readme = (ROOT / "README.md").read_text()
    for marker, name in bench_run.README_MARKERS.items():
        assert f"<!-- {marker}:start -->" in readme and f"<!-- {marker}:end -->" in readme
        assert (ROOT / "benchmarks" / "results" / f"{name}.md").exists()
