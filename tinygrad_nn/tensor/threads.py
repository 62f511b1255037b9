"""How many threads NumPy's BLAS (OpenBLAS, MKL) uses for matrix products."""

from __future__ import annotations

from .._extras import requires

__all__ = ["get_num_threads", "set_num_threads"]


def set_num_threads(n: int) -> None:
    """Let NumPy's BLAS use at most ``n`` threads in this process (``torch.set_num_threads``).

    Small matrix products gain nothing from threads, and on a busy machine they lose a
    lot: BLAS threads wait for cores that other processes hold. On a 2-core machine with
    other work running, the small steps of ``benchmarks/tensor_engine.py`` ran several
    times slower with OpenBLAS's default threads than with one. Use ``set_num_threads(1)``
    when the matrices are small (a few hundred rows) or the cores are shared (tests in
    parallel, a notebook beside a build); keep the default for large products on an idle
    machine. Needs threadpoolctl: ``pip install "tinygrad-nn[threads]"``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer, got {n!r}")
    with requires("threads"):
        from threadpoolctl import threadpool_limits
    threadpool_limits(limits=n, user_api="blas")


def get_num_threads() -> int:
    """The most threads a BLAS library loaded by NumPy may use (1 if none is found)."""
    with requires("threads"):
        from threadpoolctl import threadpool_info
    counts = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    return max(counts, default=1)
