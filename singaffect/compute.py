"""Run per-clip work over chunks, results in input order; keep numba's cache sound.

Output bytes never depend on the worker count or on where workers run, because every
item carries its own seed and results are consumed in order. ``Workers`` says where:
``compute.n_jobs`` local processes through joblib (loky), or a Dask cluster through
``distributed`` (``compute.backend: dask``; ``compute.scheduler`` an address, or empty
for a ``LocalCluster`` of ``n_jobs`` processes started for the stage).

librosa's kernels are numba functions with ``cache=True``. numba keeps only the threads
of one process from compiling at once, so two workers compiling the same
``guvectorize`` kernel together can leave a kernel and a wrapper from different
compiles on disk, and every later run segfaults (numba#10128, librosa#1998).
``guard_numba`` adds an ``flock`` in the cache folder: shared while a process reads a
cache entry, exclusive from a cache miss until numba's compiler lock is released (the
compile and its save), and the miss is looked up again once exclusive. So one process
compiles and saves each kernel, the others load what it saved, and nobody reads a
half-written entry; processes that find everything cached never wait for each other.
``singaffect/__init__.py`` points numba at our own cache folder and calls
``guard_numba`` before any stage can import librosa.
"""
from __future__ import annotations

import contextlib
import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator, Sequence

from singaffect.errors import SingaffectError

try:
    import fcntl
except ImportError:  # Windows: no flock; numba's own in-process lock only
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "singaffect-compile.lock"


class NumbaCacheError(SingaffectError, RuntimeError):
    """numba's cache of compiled kernels holds an entry that cannot be used; names the folder to delete."""


class WorkerDiedError(SingaffectError, RuntimeError):
    """A worker process was killed (segfault or out of memory); names the numba cache to delete."""


def derive_seed(*parts: Any) -> int:
    """A 32-bit seed from any printable parts (stable across runs and machines): per-item seeds
    such as ``(augment.seed, clip_id, copy)`` make results independent of worker count and order."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "little")


BACKENDS = ("joblib", "dask")  # the params schema offers these for compute.backend


@dataclass(frozen=True)
class Workers:
    """Where per-clip work runs: ``n_jobs`` processes (-1: every core) via joblib, or on Dask."""

    n_jobs: int = 1
    backend: str = "joblib"
    scheduler: str = ""  # dask: "tcp://host:8786"; empty: a LocalCluster of n_jobs processes

    @classmethod
    def from_section(cls, compute: dict[str, Any]) -> "Workers":
        """The ``compute`` params section's ``n_jobs``, ``backend`` and ``scheduler`` (checked by ``params.load``)."""
        return cls(compute["n_jobs"], compute["backend"], compute["scheduler"])


def default_numba_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/singaffect/numba`` (``~/.cache/...``): outside site-packages, ours alone."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "singaffect" / "numba"


def numba_cache_dir() -> Path:
    """The folder numba caches compiled kernels in for this process."""
    config = sys.modules.get("numba.core.config")
    return Path(getattr(config, "CACHE_DIR", "") or os.environ.get("NUMBA_CACHE_DIR") or default_numba_cache_dir())


class _CacheLock:
    """The ``flock`` on ``LOCK_NAME``; reopened in a forked child (an inherited descriptor excludes nothing)."""

    def __init__(self) -> None:
        self._fd = -1
        self._pid = 0
        self._exclusive = False

    def _descriptor(self) -> int:
        if self._pid != os.getpid():
            self._pid, self._exclusive = os.getpid(), False
            for folder in (numba_cache_dir(), Path(tempfile.gettempdir())):
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    self._fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
                    break
                except OSError:
                    continue
            else:
                raise NumbaCacheError(f"cannot create {numba_cache_dir() / LOCK_NAME}; set NUMBA_CACHE_DIR "
                                      f"to a writable folder")
        return self._fd

    @property
    def exclusive(self) -> bool:
        return self._exclusive and self._pid == os.getpid()

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Hold a shared lock while reading an index and its data file (unless already exclusive)."""
        if fcntl is None or self.exclusive:
            yield
            return
        fd = self._descriptor()
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def hold_exclusive(self) -> None:
        """Lock out every other process until ``release``."""
        if fcntl is not None and not self.exclusive:
            fcntl.flock(self._descriptor(), fcntl.LOCK_EX)
            self._exclusive = True

    def release(self) -> None:
        if self.exclusive:
            self._exclusive = False
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_CACHE_LOCK = _CacheLock()


def _damaged(cache_path: str | None, what: str) -> NumbaCacheError:
    """The error naming the whole cache folder to delete (or the entry's own folder, outside it)."""
    root = numba_cache_dir()
    folder = root if not cache_path or Path(cache_path).is_relative_to(root) else Path(cache_path)
    return NumbaCacheError(f"numba's cache of compiled kernels in {folder} is damaged ({what}); "
                           f"delete that folder and rerun")


def _guard_loaded_numba() -> None:
    """Patch the loaded numba once: see the module docstring and ``guard_numba``."""
    import numba

    try:
        from numba.core import caching, compiler_lock
        from numba.np.ufunc import ufuncbuilder

        lock_class, lock = compiler_lock._CompilerLock, compiler_lock.global_compiler_lock
        if getattr(lock_class, "_singaffect_guarded", False):
            return
        plain_acquire, plain_release = lock_class.acquire, lock_class.release
        index_file = caching.IndexDataCacheFile
        plain_read, plain_write, plain_flush = index_file.load, index_file.save, index_file.flush
        plain_load, plain_build = caching.Cache.load_overload, ufuncbuilder.GUFuncBuilder.build
    except (ImportError, AttributeError) as error:  # a numba laid out differently from 0.68
        warnings.warn(f"singaffect cannot guard the cache of numba {numba.__version__} ({error}); "
                      f"workers compiling at once may break it (set compute.n_jobs: 1 if they segfault)")
        return

    def acquire(self: Any) -> None:
        plain_acquire(self)
        self._singaffect_depth = getattr(self, "_singaffect_depth", 0) + 1  # only the owning thread gets here

    def release(self: Any) -> None:
        self._singaffect_depth = getattr(self, "_singaffect_depth", 1) - 1
        if self._singaffect_depth <= 0:  # the compile (and save) that followed a miss is over
            _CACHE_LOCK.release()
        plain_release(self)

    def read(self: Any, key: Any) -> Any:
        with _CACHE_LOCK.shared():
            return plain_read(self, key)

    def exclusively(write: Callable[..., None]) -> Callable[..., None]:
        def locked(*args: Any) -> None:
            _CACHE_LOCK.hold_exclusive()  # held already after the miss; released with the compiler lock
            try:
                write(*args)
            finally:
                if getattr(lock, "_singaffect_depth", 0) <= 0:
                    _CACHE_LOCK.release()
        return locked

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        try:
            data = plain_load(self, sig, target_context)
            if data is None and not _CACHE_LOCK.exclusive and getattr(lock, "_singaffect_depth", 0) > 0:
                _CACHE_LOCK.hold_exclusive()  # we will compile and save: look again, alone
                data = plain_load(self, sig, target_context)
            return data
        except NumbaCacheError:  # no lock file
            raise
        except Exception as error:  # an unreadable index or data file
            raise _damaged(self.cache_path, f"{type(error).__name__}: {str(error)[:80]}") from error

    def build(self: Any, cres: Any) -> tuple:
        # A gufunc wrapper cached for another compile of its kernel (numba#10128) has no entry
        # point for the kernel loaded with it: a null pointer that segfaults at the first call.
        dtypenums, ptr, env = plain_build(self, cres)
        if not ptr:
            raise _damaged(getattr(self.nb_func.cache, "cache_path", None),
                           f"{self.py_func.__qualname__}: its gufunc wrapper belongs to another compile")
        return dtypenums, ptr, env

    lock_class.acquire, lock_class.release = acquire, release
    index_file.load, index_file.save, index_file.flush = read, exclusively(plain_write), exclusively(plain_flush)
    caching.Cache.load_overload, ufuncbuilder.GUFuncBuilder.build = load_overload, build
    lock_class._singaffect_guarded = True


class _GuardOnImport(importlib.abc.MetaPathFinder):
    """Guards numba right after ``import numba`` runs (librosa imports numba lazily)."""

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
                  ) -> importlib.machinery.ModuleSpec | None:
        if name != "numba":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            exec_module = spec.loader.exec_module

            def exec_and_guard(module: ModuleType) -> None:
                exec_module(module)
                _guard_loaded_numba()

            spec.loader.exec_module = exec_and_guard  # type: ignore[method-assign]
        return spec


def guard_numba() -> None:
    """Make numba's on-disk cache safe between processes and report a damaged one in one line.

    Applies now if numba is loaded, else the moment it is; idempotent. Without ``fcntl``
    (Windows) only the one-line reports apply.
    """
    if "numba" in sys.modules:
        _guard_loaded_numba()
    elif not any(isinstance(finder, _GuardOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _GuardOnImport())


def release_workers() -> None:
    """Shut joblib's worker processes down now and release what they held, after a parallel map failed.

    Workers killed mid-task leave semaphores and folders behind; running the pending
    multiprocessing finalizers hands them to loky's resource tracker while it listens.
    Uses loky and multiprocessing internals, each step skipped if absent.
    """
    import gc
    import multiprocessing.util

    executor_module = sys.modules.get("joblib.externals.loky.reusable_executor")
    with contextlib.suppress(Exception):
        executor = getattr(executor_module, "_executor", None)
        if executor is not None:
            executor.shutdown(wait=True, kill_workers=True)
            executor_module._executor = None
    gc.collect()
    with contextlib.suppress(Exception):
        multiprocessing.util._run_finalizers(0)


def stop_resource_tracker(timeout: float = 10.0) -> None:
    """Stop loky's resource tracker, if it runs, and wait for its clean-up messages.

    For a process about to exit with an error: the tracker would otherwise clean up (and
    warn) after the process printed its one error line. Not for a process that goes on
    using workers (a later tracker would not know the earlier one's resources).
    """
    release_workers()
    tracker_module = sys.modules.get("joblib.externals.loky.backend.resource_tracker")
    with contextlib.suppress(Exception):
        tracker = getattr(tracker_module, "_resource_tracker", None)
        if tracker is not None and getattr(tracker, "_fd", None) is not None:
            tracker._stop(wait_timeout=timeout)


def effective_jobs(n_jobs: int) -> int:
    """``n_jobs`` with ``-1`` meaning every core."""
    if n_jobs in (-1, 0):
        return os.cpu_count() or 1
    return n_jobs


def ordered_map(func: Callable[..., Any], work: Iterable[tuple], n_jobs: "int | Workers") -> Iterator[Any]:
    """Yield ``func(*item)`` for each item of ``work``, in order, on ``n_jobs`` (a count or ``Workers``).

    A worker that dies (a signal, not an exception) becomes one ``WorkerDiedError`` line.
    """
    workers = n_jobs if isinstance(n_jobs, Workers) else Workers(n_jobs)
    if workers.backend == "dask":
        yield from _dask_map(func, work, workers)
        return
    jobs = effective_jobs(workers.n_jobs)
    if jobs == 1:
        for item in work:
            yield func(*item)
        return
    from joblib import Parallel, delayed  # imported here: ``import singaffect`` imports this module
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    parallel = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs")
    try:
        yield from parallel(delayed(func)(*item) for item in work)
    except TerminatedWorkerError as error:
        release_workers()
        raise WorkerDiedError(
            f"a worker process was killed (segfault or out of memory); if this repeats, delete numba's "
            f"cache {numba_cache_dir()} and rerun, or lower compute.n_jobs") from error
    except Exception:
        release_workers()  # e.g. a damaged numba cache raised in a worker: its siblings were killed
        raise


def _dask_map(func: Callable[..., Any], work: Iterable[tuple], workers: Workers) -> Iterator[Any]:
    """``ordered_map`` on a Dask cluster: at most two tasks per worker in flight, results in order.

    Dask retries a task whose worker died (``distributed.scheduler.allowed-failures``); a
    task that keeps killing workers becomes a ``WorkerDiedError``. Remote workers need the
    same checkout and packages as this process.
    """
    import logging

    from distributed import Client, LocalCluster
    from distributed.scheduler import KilledWorker

    with contextlib.ExitStack() as stack:
        if workers.scheduler:
            client = stack.enter_context(Client(workers.scheduler, set_as_default=False))
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=effective_jobs(workers.n_jobs), threads_per_worker=1, processes=True,
                dashboard_address=None, silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster, set_as_default=False))
        in_flight = 2 * max(1, len(client.scheduler_info().get("workers", {})))
        items, pending = iter(work), []
        try:
            for item in items:
                pending.append(client.submit(func, *item, pure=False))
                if len(pending) >= in_flight:
                    yield pending.pop(0).result()
            while pending:
                yield pending.pop(0).result()
        except KilledWorker as error:
            raise WorkerDiedError(f"a Dask worker was killed on every try of one task (segfault or out of "
                                  f"memory); if this repeats, delete numba's cache {numba_cache_dir()} on the "
                                  f"workers and rerun, or lower compute.n_jobs") from error
        finally:
            client.cancel(pending)


M_TOP_PAD = -2  # glibc's mallopt parameter number (malloc.h)


def keep_freed_memory(top_pad_bytes: int = 64 * 2 ** 20) -> bool:
    """Ask glibc's malloc to grow its heap in ``top_pad_bytes`` steps and keep that much when it trims.

    TensorFlow frees and reallocates every step's activations. Fed batch by batch from a
    ``PyDataset``, glibc handed that memory back to the kernel after each step and page-faulted
    it in again: two million faults an epoch, 40 % of the train stage's CPU time in the
    kernel (benchmarks/RESULTS.md). Computed values do not change. Returns False, changing
    nothing, where the C library is not glibc (macOS, musl).
    """
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    return bool(ctypes.CDLL(None).mallopt(M_TOP_PAD, int(top_pad_bytes)))


# Kernel choices that make float results depend on the processor, pinned to one x86-64 level.
# OpenBLAS and NumPy pick SIMD kernels at run time: on an AVX-512 CPU the mel stage's float32
# matrix products (OpenBLAS' SkylakeX kernels) and NumPy's AVX-512 loops round differently
# from an AVX2 CPU's, and a flipped float16 rounding then changes mel.h5 and the feature
# tables. With these, an AVX-512 machine writes the bytes an AVX2 machine writes (measured:
# mel, functionals and handcrafted equal to a lock written on an AVX2 EPYC; docs/evaluation.md).
X86_V3_KERNELS = {
    "OPENBLAS_CORETYPE": "Haswell",                              # AVX2 + FMA GEMM kernels (numpy's and scipy's OpenBLAS)
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # NumPy's AVX-512 dispatch targets
}


def _cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where there is none: not Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def pin_cpu_kernels(environ: "os._Environ[str] | dict[str, str]" = os.environ,
                    flags: set[str] | None = None) -> dict[str, str]:
    """Pin OpenBLAS and NumPy to their AVX2 (x86-64-v3) kernels where the CPU has AVX2 and FMA.

    Must run before NumPy is first imported (both libraries read these at load time), which
    is why ``singaffect/__init__.py`` calls it and ``stages/__init__.py`` imports ``singaffect``
    before any stage module's own imports. A variable you set yourself wins. Elsewhere (ARM,
    an x86 CPU without AVX2) nothing is set and outputs are that CPU's own. Returns what was set.
    """
    flags = _cpu_flags() if flags is None else flags
    if not {"avx2", "fma"} <= flags:
        return {}
    pinned = {name: value for name, value in X86_V3_KERNELS.items() if name not in environ}
    environ.update(pinned)
    return pinned
