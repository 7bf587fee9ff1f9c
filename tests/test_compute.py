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


def test_pin_cpu_kernels_only_where_the_cpu_has_avx2_and_fma() -> None:
    environ: dict[str, str] = {}
    assert compute.pin_cpu_kernels(environ, flags={"sse2", "avx"}) == {} and environ == {}
    assert compute.pin_cpu_kernels(environ, flags={"avx2", "fma", "avx512f"}) == compute.X86_V3_KERNELS
    assert environ == compute.X86_V3_KERNELS


def test_pin_cpu_kernels_leaves_a_variable_the_user_set() -> None:
    environ = {"OPENBLAS_CORETYPE": "SkylakeX"}
    pinned = compute.pin_cpu_kernels(environ, flags={"avx2", "fma"})
    assert "OPENBLAS_CORETYPE" not in pinned and environ["OPENBLAS_CORETYPE"] == "SkylakeX"
    assert environ["NPY_DISABLE_CPU_FEATURES"] == compute.X86_V3_KERNELS["NPY_DISABLE_CPU_FEATURES"]


KERNELS_SCRIPT = """
import stages  # what `python -m stages.NAME` imports first
import json, numpy, threadpoolctl
from numpy._core._multiarray_umath import __cpu_features__
print(json.dumps({"openblas": sorted({i.get("architecture") for i in threadpoolctl.threadpool_info()
                                      if i["internal_api"] == "openblas"}),
                  "numpy_avx512": __cpu_features__["X86_V4"]}))
"""


@pytest.mark.skipif(not {"avx2", "fma"} <= compute._cpu_flags(), reason="pinning applies to x86-64 CPUs with AVX2")
def test_a_stage_process_runs_numpy_and_openblas_on_their_avx2_kernels() -> None:
    """Unpinned, an AVX-512 CPU reports OpenBLAS 'SkylakeX' and NumPy's X86_V4 loops, an AVX2 EPYC 'Zen'."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    environ = {k: v for k, v in os.environ.items() if k not in compute.X86_V3_KERNELS}
    out = subprocess.run([sys.executable, "-c", KERNELS_SCRIPT], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1], env=environ).stdout
    assert json.loads(out) == {"openblas": ["Haswell"], "numpy_avx512": False}, out
