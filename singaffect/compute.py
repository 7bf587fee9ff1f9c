"""Run per-clip work over chunks with joblib, results in input order; keep numba's cache sane.

Output bytes never depend on the worker count because every item carries its own
seed and results are consumed in order. The joblib backend is whatever the caller's
``joblib.parallel_config`` says (loky by default; ``dask`` on a cluster), so the
stages move to more machines without code changes.

librosa's kernels are numba functions with ``cache=True``. numba only keeps threads of
one process from compiling at once, so two workers compiling the same ``guvectorize``
kernel together can save a kernel and a wrapper from different processes that do not
fit: every later call segfaults (numba#10128, librosa#1998). ``guard_numba`` makes
numba's compiler lock exclusive between processes as well (an ``flock`` in the cache
folder), so each load-or-compile-and-save runs alone and later processes load what the
first one saved. ``singaffect/__init__.py`` points numba at our own cache folder and
calls ``guard_numba`` before any stage can import librosa.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import tempfile
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


def default_numba_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/singaffect/numba`` (``~/.cache/...``): outside site-packages, ours alone."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "singaffect" / "numba"


def numba_cache_dir() -> Path:
    """The folder numba caches compiled kernels in for this process."""
    config = sys.modules.get("numba.core.config")
    return Path(getattr(config, "CACHE_DIR", "") or os.environ.get("NUMBA_CACHE_DIR") or default_numba_cache_dir())


class _ProcessFileLock:
    """An exclusive ``flock`` on one file, reopened in a forked child (a shared descriptor excludes nothing)."""

    def __init__(self) -> None:
        self._fd: int | None = None
        self._pid = 0

    def _open(self) -> int:
        for folder in (numba_cache_dir(), Path(tempfile.gettempdir())):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                return os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:
                continue
        raise SingaffectError(f"cannot create the numba compile lock {numba_cache_dir() / LOCK_NAME}; "
                              f"set NUMBA_CACHE_DIR to a writable folder")

    def acquire(self) -> None:
        if fcntl is None:
            return
        if self._fd is None or self._pid != os.getpid():
            self._fd, self._pid = self._open(), os.getpid()
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if fcntl is not None and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


_FILE_LOCK = _ProcessFileLock()


def _lock_across_processes(compiler_lock: type) -> None:
    """Take ``_FILE_LOCK`` whenever a thread first takes numba's (re-entrant) compiler lock."""
    plain_acquire, plain_release = compiler_lock.acquire, compiler_lock.release

    def acquire(self: Any) -> None:
        plain_acquire(self)
        depth = getattr(self, "_singaffect_depth", 0)  # only the owning thread gets here
        if depth == 0:
            try:
                _FILE_LOCK.acquire()
            except BaseException:
                plain_release(self)
                raise
        self._singaffect_depth = depth + 1

    def release(self: Any) -> None:
        depth = getattr(self, "_singaffect_depth", 0)
        if depth:
            self._singaffect_depth = depth - 1
            if depth == 1:
                _FILE_LOCK.release()
        plain_release(self)

    compiler_lock.acquire, compiler_lock.release = acquire, release


def _damaged(cache_path: str, what: str) -> NumbaCacheError:
    """The error naming the whole cache folder to delete (or the entry's own, outside it)."""
    root = numba_cache_dir()
    folder = root if Path(cache_path).is_relative_to(root) else Path(cache_path)
    return NumbaCacheError(f"numba's cache of compiled kernels in {folder} is damaged ({what}); "
                           f"delete that folder and rerun")


def _check_cache_reads(cache: type, gufunc_builder: type) -> None:
    """Turn a damaged cache entry into ``NumbaCacheError`` instead of a traceback or a segfault.

    An unreadable entry raises from ``Cache.load_overload``; a ``guvectorize`` wrapper saved
    for another compile of its kernel (numba#10128) defines no entry point for the kernel
    loaded with it, so ``GUFuncBuilder.build`` returns a null pointer that would segfault
    at the first call.
    """
    plain_load, plain_build = cache.load_overload, gufunc_builder.build

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        try:
            return plain_load(self, sig, target_context)
        except Exception as error:
            raise _damaged(self.cache_path, f"{type(error).__name__}: {str(error)[:80]}") from error

    def build(self: Any, cres: Any) -> tuple:
        dtypenums, ptr, env = plain_build(self, cres)
        if not ptr:
            cache_path = getattr(self.nb_func.cache, "cache_path", None) or str(numba_cache_dir())
            raise _damaged(cache_path, f"{self.py_func.__qualname__}: its gufunc wrapper belongs to another compile")
        return dtypenums, ptr, env

    cache.load_overload, gufunc_builder.build = load_overload, build


def _guard_loaded_numba() -> None:
    """Patch the loaded numba once (see ``guard_numba``)."""
    from numba.core import caching, compiler_lock
    from numba.np.ufunc import ufuncbuilder

    if getattr(compiler_lock, "_singaffect_guarded", False):
        return
    _lock_across_processes(compiler_lock._CompilerLock)
    _check_cache_reads(caching.Cache, ufuncbuilder.GUFuncBuilder)
    compiler_lock._singaffect_guarded = True


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
    """Make numba compile and use its cache one process at a time, and report damage in one line.

    Applies now if numba is loaded, else the moment it is; idempotent.
    """
    if "numba" in sys.modules:
        _guard_loaded_numba()
    elif not any(isinstance(finder, _GuardOnImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _GuardOnImport())


def effective_jobs(n_jobs: int) -> int:
    """``n_jobs`` with ``-1`` meaning every core."""
    if n_jobs in (-1, 0):
        return os.cpu_count() or 1
    return n_jobs


def ordered_map(func: Callable[..., Any], work: Iterable[tuple], n_jobs: int) -> Iterator[Any]:
    """Yield ``func(*item)`` for each item of ``work``, in order, ``n_jobs`` at a time.

    A worker that dies (a signal, not an exception) becomes one ``WorkerDiedError`` line.
    """
    jobs = effective_jobs(n_jobs)
    if jobs == 1:
        for item in work:
            yield func(*item)
        return
    from joblib import Parallel, delayed  # imported here: ``singaffect`` imports this module
    from joblib.externals.loky.process_executor import TerminatedWorkerError

    parallel = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs")
    try:
        yield from parallel(delayed(func)(*item) for item in work)
    except TerminatedWorkerError as error:
        raise WorkerDiedError(
            f"a worker process was killed (segfault or out of memory); if this repeats, delete the numba "
            f"cache {numba_cache_dir()} and rerun, or set compute.n_jobs lower") from error
