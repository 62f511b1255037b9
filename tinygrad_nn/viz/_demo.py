"""The demo's pictures of one forward pass: an SVG to look at and a page to explore."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .._files import write_atomically
from ._draw import draw_scene
from ._html import explorer_page
from ._render import write_svg
from ._scene import Options, build_scene

EXPLORER_NODES = 1_000  # values the explorer page draws one by one before collapsing


def forward_pictures(model: Any, sample: Any, svg_path: str | os.PathLike[str],
                     html_path: str | os.PathLike[str]) -> list[Path]:
    """Run one sample through a scalar-engine model and draw what it computed.

    The root is the score the model predicts with (the largest, for several classes),
    labelled, and backward runs from it, so the numbers are the ones a reader checks by
    hand. The SVG uses ``draw_graph``'s defaults: a small network is drawn op by op in a
    box per layer, a big one layer by layer. The HTML explorer draws every op of up to
    ``EXPLORER_NODES`` values, so its backward stepper can visit each one.

    Returns
    -------
    list of pathlib.Path
        The SVG and the HTML file, in that order.
    """
    out = model(list(sample))
    scores = out if isinstance(out, list) else [out]
    best = max(range(len(scores)), key=lambda k: scores[k].data)
    root = scores[best]
    root.label = "score" if len(scores) == 1 else f"score of class {best} (the prediction)"
    root.backward()
    svg = write_svg(draw_scene(build_scene(root, Options(params=model)), "LR", False), svg_path)
    explore = Options(params=model, max_nodes=EXPLORER_NODES, collapse=False)
    title = f"One sample through {type(model).__name__}: backward from the {root.label}"
    html = explorer_page(root, title, "LR", **vars(explore))
    return [svg, write_atomically(html_path, html.encode("utf-8"))]
