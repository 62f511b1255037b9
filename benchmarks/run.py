"""Run the benchmarks and save each one's tables; copy saved tables into the README on request.

``python benchmarks/run.py`` (what ``make bench`` runs) runs every benchmark script in this
folder (``*.py`` not starting with ``_``), each in a fresh process, and writes what it
prints, a markdown block, to ``benchmarks/results/<script name>.md``. Those files are
tracked in git: a re-run shows up as a diff. Name scripts to run only those
(``python benchmarks/run.py tensor_engine``). This never touches the README.

``python benchmarks/run.py --readme`` (what ``make readme-figures`` runs) runs nothing: it
copies each saved table into README.md between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``, where NAME is a results file's name (``<!-- real_data:start -->``)
or one of the older marker names in ``README_MARKERS``.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE.parent / "README.md"
# README marker names that predate the results files, and the results file each one shows.
README_MARKERS = {"scalar-bench": "scalar_engine", "tensor-bench": "tensor_engine"}
MARKER = re.compile(r"(<!-- (?P<name>[\w.-]+):start -->\n).*?(<!-- (?P=name):end -->)", re.S)


def benchmarks() -> list[str]:
    """Every benchmark script's name, without ``.py``."""
    return sorted(p.stem for p in HERE.glob("*.py")
                  if not p.name.startswith("_") and p.name != Path(__file__).name)


def run(name: str, rounds: int | None) -> str:
    """Run one benchmark in a fresh interpreter and return what it printed."""
    extra = ["--rounds", str(rounds)] if rounds else []
    result = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *extra],
                            capture_output=True, text=True, cwd=HERE)
    if result.returncode != 0:
        raise RuntimeError(f"{name}.py failed (exit {result.returncode}):\n{result.stderr}")
    return result.stdout.strip()


def tidy(table: str) -> str:
    """A blank line between a table and the text around it, as every Markdown needs."""
    lines: list[str] = []
    for line in table.strip().splitlines():
        if lines and lines[-1] and line and (line[0] == "|") != (lines[-1][0] == "|"):
            lines.append("")
        lines.append(line)
    return "\n".join(lines) + "\n"


def bench(names: list[str], rounds: int | None, results: Path) -> int:
    """Run ``names`` and write ``results/<name>.md`` for each; the number that failed."""
    if importlib.util.find_spec("torch") is None:
        print("warning: PyTorch is not installed, so the tables will have no PyTorch "
              "columns (pip install torch==2.13.0 for the CPU build)", file=sys.stderr)
    results.mkdir(parents=True, exist_ok=True)
    failed = 0
    for name in names:
        print(f"running {name}.py ...", flush=True)
        try:
            table = run(name, rounds)
        except RuntimeError as error:  # the others still run; the old results file stays
            print(error, file=sys.stderr)
            failed += 1
            continue
        out = results / f"{name}.md"
        out.write_text(tidy(table))
        print(f"{table}\n\nwrote {out}\n", flush=True)
    return failed


def refresh_readme(readme: Path, results: Path) -> list[str]:
    """Replace every README block whose marker names a results file; the names replaced."""
    text, replaced = readme.read_text(), []

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        source = results / f"{README_MARKERS.get(name, name)}.md"
        if not source.exists():
            if name in README_MARKERS:
                raise SystemExit(f"{source} is missing: run `make bench` first")
            return match[0]  # a marker for something else than a benchmark
        replaced.append(name)
        return match[1] + source.read_text().strip() + "\n" + match[3]

    new = MARKER.sub(fill, text)
    missing = set(README_MARKERS) - set(replaced)
    if missing:
        raise SystemExit(f"{readme.name} has no <!-- NAME:start/end --> block for "
                         f"{', '.join(sorted(missing))}")
    if new != text:
        readme.write_text(new)
    return replaced


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all of {', '.join(benchmarks())})")
    parser.add_argument("--rounds", type=int, help="rounds per benchmark (default: theirs)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="folder of the results files (default: benchmarks/results)")
    parser.add_argument("--readme", action="store_true",
                        help="run nothing; copy the saved tables into README.md")
    args = parser.parse_args()

    if args.readme:
        replaced = refresh_readme(README, args.results)
        print(f"README.md: refreshed {', '.join(replaced)}")
        return
    unknown = sorted(set(args.names) - set(benchmarks()))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; "
                     f"choose from {', '.join(benchmarks())}")
    sys.exit(1 if bench(args.names or benchmarks(), args.rounds, args.results) else 0)


if __name__ == "__main__":
    main()
