"""Run every benchmark, save the tables, and refresh the README's copies of them.

``python benchmarks/run.py`` (what ``make bench`` runs) runs each benchmark in a fresh
process, writes the combined markdown to ``benchmarks/results/<date>.md`` and replaces the
README's block between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->`` for each one, so
the figures the README quotes always come from this command.
"""

from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
BENCHMARKS = {  # README marker name: script
    "scalar-bench": "scalar_engine.py",
    "tensor-bench": "tensor_engine.py",
}


def run(script: str, extra: list[str]) -> str:
    result = subprocess.run([sys.executable, str(HERE / script), *extra], check=True,
                            capture_output=True, text=True, cwd=HERE)
    return result.stdout.strip()


def refresh(text: str, marker: str, block: str) -> str:
    pattern = re.compile(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- {marker}:start/end --> block")
    return pattern.sub(lambda m: m.group(1) + block + "\n" + m.group(2), text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds per benchmark (their defaults)")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    args = parser.parse_args()
    extra = ["--rounds", str(args.rounds)] if args.rounds else []

    blocks = {}
    for marker, script in BENCHMARKS.items():
        print(f"running {script} ...", flush=True)
        blocks[marker] = run(script, extra)
        print(blocks[marker] + "\n", flush=True)

    results = HERE / "results"
    results.mkdir(exist_ok=True)
    out = results / f"{datetime.date.today().isoformat()}.md"
    out.write_text("\n\n".join(f"## {BENCHMARKS[m]}\n\n{b}" for m, b in blocks.items()) + "\n")
    print(f"wrote {out}")
    if not args.no_readme:
        text = README.read_text()
        for marker, block in blocks.items():
            text = refresh(text, marker, block)
        README.write_text(text)
        print(f"refreshed {README.name}")


if __name__ == "__main__":
    main()
