"""singaffect: score the expression of sung recordings (enthusiasm and emotion).

The package holds the concepts; the DVC stage scripts in ``stages/`` only read
params, call these modules and write outputs.

Importing it first (every stage does) gives numba, and so librosa's kernels, a cache
folder of our own (a ``NUMBA_CACHE_DIR`` you set wins), so caches that concurrent
compiles once broke inside site-packages are never read again, and makes numba's
compiles exclusive between processes (``singaffect.compute.guard_numba``). It also
keeps TensorFlow's start-up INFO lines out of stage output (``TF_CPP_MIN_LOG_LEVEL``,
unless you set it). On x86-64 CPUs with AVX2 it pins OpenBLAS and NumPy to their AVX2
kernels (``compute.pin_cpu_kernels``), so an AVX-512 machine writes the same log-mel and
feature bytes as an AVX2 one; this must happen before NumPy is first imported.
"""
import os as _os

from singaffect import compute as _compute

__version__ = "0.1.0"

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # before any TensorFlow import: INFO lines off
_compute.pin_cpu_kernels()  # before any NumPy import
_os.environ.setdefault("NUMBA_CACHE_DIR", str(_compute.default_numba_cache_dir()))
_compute.guard_numba()
