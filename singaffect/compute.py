"""Run per-clip work over chunks with joblib, results in input order.

Output bytes never depend on the worker count because every item carries its own
seed and results are consumed in order. The joblib backend is whatever the caller's
``joblib.parallel_config`` says (loky by default; ``dask`` on a cluster), so the
stages move to more machines without code changes.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Iterable, Iterator

from joblib import Parallel, delayed


def effective_jobs(n_jobs: int) -> int:
    """``n_jobs`` with ``-1`` meaning every core."""
    if n_jobs in (-1, 0):
        return os.cpu_count() or 1
    return n_jobs


def ordered_map(func: Callable[..., Any], work: Iterable[tuple], n_jobs: int) -> Iterator[Any]:
    """Yield ``func(*item)`` for each item of ``work``, in order, ``n_jobs`` at a time."""
    jobs = effective_jobs(n_jobs)
    if jobs == 1:
        for item in work:
            yield func(*item)
        return
    parallel = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs")
    yield from parallel(delayed(func)(*item) for item in work)
