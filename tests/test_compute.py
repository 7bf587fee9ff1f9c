"""ordered_map: results in input order whatever the worker count."""
from __future__ import annotations

import os

import pytest

from singaffect import compute


def square(value: int, work: int) -> tuple[int, int]:
    """Uneven work per item, so parallel items finish out of order."""
    sum(range(work))
    return value, value * value


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ordered_map_keeps_input_order(n_jobs: int) -> None:
    work = ((i, (10 - i) * 50000) for i in range(10))  # a generator, as the stages pass
    assert list(compute.ordered_map(square, work, n_jobs)) == [(i, i * i) for i in range(10)]


def test_effective_jobs() -> None:
    assert compute.effective_jobs(3) == 3
    assert compute.effective_jobs(-1) == compute.effective_jobs(0) == (os.cpu_count() or 1)


FAULTS_SCRIPT = """
import resource, sys
from singaffect import compute
kept = compute.keep_freed_memory() if sys.argv[1] == "keep" else None
import numpy as np
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):  # big arrays freed out of order, as a training step's activations are
    a = np.ones(3_000_000); b = np.ones(5_000_000); del a; c = np.ones(1_000_000); del b, c
print(kept, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(__import__("platform").libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_freed_memory_stops_big_allocations_page_faulting_again() -> None:
    import subprocess
    import sys

    def faults(mode: str) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", FAULTS_SCRIPT, mode], capture_output=True, text=True, check=True)
        kept, count = out.stdout.split()
        return kept, int(count)

    (plain_kept, plain), (kept, keep) = faults("plain"), faults("keep")
    assert plain_kept == "None" and kept == "True"
    assert keep * 10 < plain, (keep, plain)  # ~800 against ~58,000 minor faults here
