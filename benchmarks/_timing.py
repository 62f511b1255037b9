"""Timing that survives a noisy machine: interleaved rounds, medians, ratios."""

from __future__ import annotations

import gc
import platform
import statistics
import time
from collections.abc import Callable, Mapping

import numpy as np


def interleaved(
    contenders: Mapping[str, Callable[[], object]], rounds: int, warmup: int = 1
) -> dict[str, float]:
    """Median seconds per call of each contender, timed in alternation round by round.

    Alternating means a slow patch of the machine hits every contender alike, so the
    ratios between them stay meaningful even when absolute times drift. The heap is
    collected (untimed) before every call, so each contender pays for the garbage
    collection its own allocations cause and never for another's leftovers.
    """
    for _ in range(warmup):
        for run in contenders.values():
            run()
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            gc.collect()
            start = time.perf_counter()
            run()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(times) for name, times in samples.items()}


def machine() -> str:
    """One line naming the interpreter, NumPy and the CPU, for the record."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return f"Python {platform.python_version()}, NumPy {np.__version__}, {cpu}"


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def fmt_seconds(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
