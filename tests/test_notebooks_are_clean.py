"""Notebooks are committed clean: nbformat 4, no outputs, no execution counts, a title first.

Executing them is a separate step (``pytest --nbmake notebooks/``); this only reads the
JSON, so it needs nothing beyond the standard library (``nbformat``, when installed, adds
a full schema validation).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
CELL_TYPES = {"markdown", "code", "raw"}


def _text(source: Any) -> str:
    return "".join(source) if isinstance(source, list) else source


def problems(nb: dict[str, Any]) -> list[str]:
    """Everything that keeps ``nb`` (a parsed .ipynb) from being a clean, committable notebook."""
    found = []
    if nb.get("nbformat") != 4:
        found.append(f"nbformat is {nb.get('nbformat')!r}, not 4")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        found.append(f"kernelspec name is {kernel!r}, not 'python3'")
    cells = nb.get("cells")
    if not isinstance(cells, list) or not cells:
        return [*found, "no cells"]
    for i, cell in enumerate(cells):
        kind = cell.get("cell_type")
        if kind not in CELL_TYPES:
            found.append(f"cell {i}: unknown cell_type {kind!r}")
        if not isinstance(cell.get("source"), (str, list)):
            found.append(f"cell {i}: source is missing")
        if kind == "code":
            if cell.get("outputs") != []:
                found.append(f"cell {i}: has outputs")
            if cell.get("execution_count") is not None:
                found.append(f"cell {i}: execution_count is {cell.get('execution_count')!r}")
    first = cells[0]
    title = _text(first.get("source", "")).lstrip()
    if first.get("cell_type") != "markdown" or not title.startswith("# "):
        found.append("the first cell is not a markdown title ('# ...')")
    return found


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "no notebooks/*.ipynb found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_clean(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert problems(nb) == [], f"{path.name}: strip outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_matches_the_nbformat_schema(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbformat.validate(nbformat.read(path, as_version=nbformat.NO_CONVERT))


CLEAN = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                "language": "python"}},
    "cells": [
        {"cell_type": "markdown", "id": "a", "metadata": {}, "source": "# Title\n\nText."},
        {"cell_type": "code", "id": "b", "metadata": {}, "source": "1 + 1",
         "outputs": [], "execution_count": None},
    ],
}


def _dirty(change: Any) -> dict[str, Any]:
    nb = copy.deepcopy(CLEAN)
    change(nb)
    return nb


@pytest.mark.parametrize("nb, expected", [
    (_dirty(lambda nb: nb["cells"][1].update(
        outputs=[{"output_type": "stream", "name": "stdout", "text": "2\n"}])), "has outputs"),
    (_dirty(lambda nb: nb["cells"][1].update(execution_count=3)), "execution_count is 3"),
    (_dirty(lambda nb: nb["cells"][0].update(source="Some text, no title")), "markdown title"),
    (_dirty(lambda nb: nb["cells"].reverse()), "markdown title"),
    (_dirty(lambda nb: nb.update(nbformat=3)), "not 4"),
    (_dirty(lambda nb: nb["metadata"].clear()), "kernelspec"),
    (_dirty(lambda nb: nb.update(cells=[])), "no cells"),
], ids=["outputs", "execution-count", "no-title", "code-first", "nbformat-3", "no-kernel",
        "empty"])
def test_the_check_catches_dirty_notebooks(nb: dict[str, Any], expected: str) -> None:
    assert problems(CLEAN) == []
    assert any(expected in problem for problem in problems(nb))
