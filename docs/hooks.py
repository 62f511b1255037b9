"""MkDocs hooks: pages made from the repository rather than written by hand.

- every numbered notebook in ``notebooks/`` becomes a tutorial page (executed by
  mkdocs-jupyter) and a nav entry under Tutorials, so a new notebook needs no edit here;
- ``reference/op-table.md`` lists every registered op, read from the registry;
- ``benchmarks.md`` shows every table in ``benchmarks/results/`` (what ``make bench`` wrote);
- ``assets/architecture.svg`` is drawn with the library's own Graphviz wrapper.

And two checks on the hand-written API pages (``docs/reference/``):

- a ``::: NAME`` block for an object that does not exist (yet) is left out, so a page can
  name what another change is adding;
- after the build, every public name (each public module's ``__all__``) must appear in
  the API reference: a missing one is a warning, which fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import types
import zlib
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

import tinygrad_nn  # noqa: F401 (a package that does not import fails the build here)

ROOT = Path(__file__).resolve().parents[1]
log = get_plugin_logger("tinygrad_nn")
# Public modules that the package's __all__ does not reach (their own members are public).
MORE_PUBLIC_MODULES = ["tinygrad_nn.data", "tinygrad_nn.datasets", "tinygrad_nn.training",
                       "tinygrad_nn.plots", "tinygrad_nn.io", "tinygrad_nn.viz",
                       "tinygrad_nn.testing.strategies"]


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def notebook_title(path: Path) -> str:
    """The notebook's first markdown heading, without the ``#``."""
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            for line in "".join(cell["source"]).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    tutorials = [{notebook_title(nb): f"notebooks/{nb.name}"} for nb in notebooks()]
    for entry in config.nav or []:
        if isinstance(entry, dict) and "Tutorials" in entry:
            entry["Tutorials"] = tutorials
    return config


@event_priority(100)  # before mkdocs-jupyter turns .ipynb files into pages
def on_files(files: Files, config: MkDocsConfig) -> Files:
    # Real files from outside docs/ (src_dir is the repository), at notebooks/NAME/ on the
    # site; mkdocs-jupyter needs files on disk, which File.generated ones are not to it.
    for nb in notebooks():
        files.append(File(f"notebooks/{nb.name}", src_dir=str(ROOT), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    files.append(File.generated(config, "reference/op-table.md", content=op_table()))
    files.append(File.generated(config, "benchmarks.md", content=benchmarks_page()))
    files.append(File.generated(config, "assets/architecture.svg", content=architecture_svg()))
    return files


# ----- the API pages ---------------------------------------------------------------------------

# A `::: name` line and the indented option lines under it.
AUTODOC = re.compile(r"^::: (?P<name>[\w.]+)\n(?:[ \t]+\S.*\n)*", re.M)


def resolve(path: str) -> Any:
    """The object at a dotted path (``tinygrad_nn.nn.Linear``), or None if there is none."""
    parts = path.split(".")
    for split in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def on_page_markdown(markdown: str, page: Page, **_: Any) -> str:
    def keep_if_there(match: re.Match[str]) -> str:
        if resolve(match["name"]) is not None:
            return match[0]
        log.info("%s: %s does not exist (yet); left out", page.file.src_uri, match["name"])
        return ""

    return AUTODOC.sub(keep_if_there, markdown + "\n")


def public_names() -> dict[str, Any]:
    """``module.name`` -> object, for every name in a public module's ``__all__``."""
    found: dict[str, Any] = {}
    todo = ["tinygrad_nn", *(m for m in MORE_PUBLIC_MODULES if resolve(m) is not None)]
    seen: set[str] = set()
    while todo:
        module = importlib.import_module(todo.pop())
        if module.__name__ in seen:
            continue
        seen.add(module.__name__)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            found[f"{module.__name__}.{name}"] = obj
            if isinstance(obj, types.ModuleType):
                todo.append(obj.__name__)
    return found


def inventory(site_dir: str) -> list[str]:
    """The object names in mkdocstrings' ``objects.inv`` (a Sphinx inventory, version 2)."""
    data = (Path(site_dir) / "objects.inv").read_bytes()
    body = zlib.decompress(data.split(b"\n", 4)[4]).decode()
    return [line.split(" ", 1)[0] for line in body.splitlines() if " py:" in line]


def on_post_build(config: MkDocsConfig) -> None:
    documented = {id(obj) for name in inventory(config.site_dir)
                  if (obj := resolve(name)) is not None}
    for name, obj in sorted(public_names().items()):
        if id(obj) not in documented:
            log.warning("%s is public but not in the API reference: add it to a page in "
                        "docs/reference/", name)


# ----- every registered op ---------------------------------------------------------------


def _cell(text: str) -> str:
    """Text for a table cell: no pipes, no line breaks, and brackets that link nothing."""
    for char in "|[]":
        text = text.replace(char, "\\" + char)
    return text.replace("\n", " ")


def op_table() -> str:
    from tinygrad_nn import ops

    rows = []
    for name in ops.names():
        op: Any = ops.get(name)
        arguments = [f"*{i}" if op.variadic else i for i in op.inputs]
        arguments += [f"{k}={v!r}" for k, v in op.defaults.items()]
        engines = "Value, Tensor" if op.elementwise else "Tensor"
        if op.grads is not None:
            gradient = "yes"
        elif op.composite:
            gradient = "through its parts"
        else:
            gradient = "none"
        rows.append(f"| `{name}({_cell(', '.join(arguments))})` | {engines} | {gradient} | "
                    f"{_cell(op.doc)} |")
    return "\n".join([
        "# Every registered op",
        "",
        "Read from the registry (`tinygrad_nn.ops.names()` and `ops.get(name)`) when this",
        f"site was built: {len(rows)} ops. Each is a method of the engines listed (the first",
        "input is `self`; parameters after the inputs are keyword arguments with defaults) and",
        "a function of the package (`tinygrad_nn.exp(x)`). An op registered by your own code",
        "joins them the same way. *Gradient* says whether gradients flow through the op:",
        "through its own rules (*yes*), through the registered ops it is made of",
        "(*through its parts*), or not at all (*none*: comparisons, `argmax`, ...).",
        "",
        "| op | engines | gradient | what it computes |",
        "|---|---|---|---|",
        *rows,
        "",
    ])


# ----- the benchmark tables ------------------------------------------------------------------

# Shown first, in this order; any other results file follows, by name.
BENCHMARK_ORDER = ["scalar_engine", "tensor_engine"]


def benchmarks_page() -> str:
    results = {p.stem: p for p in (ROOT / "benchmarks" / "results").glob("*.md")}
    order = [n for n in BENCHMARK_ORDER if n in results]
    order += sorted(set(results) - set(order))
    parts = [
        "# Benchmarks",
        "",
        "The files in `benchmarks/results/`, which `make bench` writes (each benchmark in its",
        "own process; rounds interleaved, medians reported) and git tracks, so a re-run shows",
        "up as a diff. `make readme-figures` copies them into the README. Each section starts",
        "with its script's own description.",
    ]
    for name in order:
        script = ROOT / "benchmarks" / f"{name}.py"
        about = ""
        if script.exists():
            doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
            about = doc.split("\n\n")[0].replace("``", "`")
        parts += ["", f"## {name}", "", f"From `benchmarks/{name}.py`. {about}", "",
                  results[name].read_text(encoding="utf-8").strip()]
    return "\n".join(parts) + "\n"


# ----- the architecture diagram ------------------------------------------------------------

# The boxes, by layer from the bottom up: (label, modules of tinygrad_nn it stands for).
LAYERS = {
    "graph core: knows no math": [("graph\nnodes, topological order,\nno_grad, detect_anomaly",
                                   ["graph"])],
    "rules: know no engine": [("ops\nthe registry: a forward and\none gradient rule per input",
                               ["ops"])],
    "engines: apply the rules": [("scalar\nValue on Python floats", ["scalar"]),
                                 ("tensor\nTensor on NumPy arrays", ["tensor"])],
    "pictures and files": [("viz\ndraw_graph", ["viz"]), ("io\nsave, load", ["io"])],
    "library": [("nn\nlayers, losses", ["nn"]), ("optim\noptimizers, schedules", ["optim"]),
                ("data, datasets", ["data", "datasets"]),
                ("testing\ngradcheck, check_op", ["testing"])],
    "programs": [("training, plots", ["training", "plots"]), ("cli\ntinygrad-nn", ["cli"])],
}


def imported_modules(path: Path, package: list[str]) -> set[str]:
    """The top-level modules of tinygrad_nn that the file imports (function level included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            base = base + (node.module.split(".") if node.module else [])
            # `from . import nn` names modules; `from .nn import Linear` names a module's member
            targets = [[*base, alias.name] for alias in node.names] if len(base) == 1 else [base]
        else:
            continue
        found |= {t[1] for t in targets if len(t) > 1 and t[0] == "tinygrad_nn"}
    return found


def dependencies(boxes: dict[str, str]) -> set[tuple[str, str]]:
    """Which box imports which, without the edges that a longer path already implies."""
    edges = set()
    for path in (ROOT / "tinygrad_nn").rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        package = parts[:-1] if parts[-1] != "__init__" else parts
        source = boxes.get(parts[1]) if len(parts) > 1 else None
        for module in imported_modules(path, package) if source else ():
            target = boxes.get(module)
            if target and target != source:
                edges.add((source, target))

    def reachable(start: str, skip: tuple[str, str]) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            node = todo.pop()
            for a, b in edges:
                if a == node and (a, b) != skip and b not in seen:
                    seen.add(b)
                    todo.append(b)
        return seen

    return {(a, b) for a, b in edges if b not in reachable(a, skip=(a, b))}


def architecture_svg() -> bytes:
    from tinygrad_nn.viz import Graph

    font = "Helvetica,Arial,sans-serif"  # installed fonts only: nothing is fetched
    graph = Graph(
        "architecture", format="svg",
        graph_attr={"rankdir": "TB", "fontname": font, "fontsize": "11", "nodesep": "0.25",
                    "ranksep": "0.5", "bgcolor": "white", "pad": "0.15", "newrank": "true"},
        node_attr={"shape": "box", "style": "rounded,filled", "fillcolor": "#eef1fb",
                   "color": "#3f51b5", "fontname": font, "fontsize": "11"},
        edge_attr={"color": "#555555", "arrowsize": "0.7"},
    )
    boxes: dict[str, str] = {}
    for i, (layer, members) in enumerate(reversed(LAYERS.items())):  # top of the page first
        with graph.subgraph(name=f"cluster_{i}") as cluster:
            cluster.attr(label=layer, labeljust="l", color="#bbbbbb", style="dashed",
                         fontcolor="#555555", rank="same")
            for j, (label, modules) in enumerate(members):
                cluster.node(f"box{i}_{j}", label)
                boxes.update(dict.fromkeys(modules, f"box{i}_{j}"))
        if i:  # an invisible edge keeps each layer above the next, imports or not
            graph.edge(f"box{i - 1}_0", f"box{i}_0", style="invis")
    for source, target in sorted(dependencies(boxes)):
        graph.edge(source, target)
    return graph.pipe(format="svg")
