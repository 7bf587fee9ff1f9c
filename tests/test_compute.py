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
