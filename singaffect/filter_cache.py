"""Reuse, across clips, the filter banks and matrices librosa rebuilds on every call.

librosa builds each octave's constant-Q filter bank afresh for every clip
(``librosa.core.constantq.__vqt_filter_fft``: about half of the seed's tonnetz), and pYIN
its pitch-transition matrix (``librosa.sequence.transition_local``: about a tenth of the
handcrafted features). Their inputs are few: the sample rate and params, plus, for the CQT,
the clip's tuning, which ``estimate_tuning`` quantises to 0.01 bin; a worker meets the same
few hundred banks again and again. librosa's own remedy, ``LIBROSA_CACHE_DIR``, memoises these
functions on disk, but pickling costs most of what it saves; ``reused`` keeps them in memory
(a few kB a bank) for the life of the worker process.

The values are librosa's own: each call hands out a copy of what the original returned for
the same arguments (``vqt`` rescales its bank in place), and the tests compare the features
with and without the cache to the bit.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
import scipy.sparse

CACHE_SIZE = 4096  # results kept per function: CQT banks (~7 kB) one per octave and tuning; pYIN one per settings


@dataclass(frozen=True)
class Target:
    """A function librosa looks up by module attribute at call time, so it can be swapped for a cached one."""

    module: str
    name: str


CQT_FILTERS = Target("librosa.core.constantq", "__vqt_filter_fft")
PITCH_TRANSITION = Target("librosa.sequence", "transition_local")


def _freeze(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("ndarray", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, *map(_freeze, value))
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple) and value and value[0] == "ndarray":
        return np.frombuffer(value[3], dtype=value[1]).reshape(value[2]).copy()
    if isinstance(value, tuple) and value and value[0] in ("list", "tuple"):
        items = [_thaw(v) for v in value[1:]]
        return items if value[0] == "list" else tuple(items)
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray) or scipy.sparse.issparse(value):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    return value


@functools.lru_cache(maxsize=None)
def _cached(target: Target) -> tuple[Callable, Callable]:
    """(the original function, its caching stand-in), made once per process and target."""
    original = getattr(importlib.import_module(target.module), target.name)

    @functools.lru_cache(maxsize=CACHE_SIZE)
    def frozen_call(args: tuple, kwargs: tuple) -> Any:
        return original(*_thaw(args), **{k: _thaw(v) for k, v in kwargs})

    @functools.wraps(original)
    def stand_in(*args, **kwargs):
        return _copy(frozen_call(_freeze(args), tuple(sorted((k, _freeze(v)) for k, v in kwargs.items()))))

    stand_in.cache_info = frozen_call.cache_info
    return original, stand_in


def cache_info(target: Target):
    """``functools`` hit/miss counts of ``target``'s cache in this process."""
    return _cached(target)[1].cache_info()


@contextlib.contextmanager
def reused(*targets: Target) -> Iterator[None]:
    """Within the block, ``targets`` hand out copies of results they computed before for the same arguments.

    A target this librosa lacks is left alone (slower, never different). Concurrent threads can at
    worst restore an original early: again slower, never different.
    """
    swapped = []
    try:
        for target in targets:
            try:
                module = importlib.import_module(target.module)
            except ModuleNotFoundError:
                continue
            if not callable(getattr(module, target.name, None)):
                continue
            original, stand_in = _cached(target)
            setattr(module, target.name, stand_in)
            swapped.append((module, target.name, original))
        yield
    finally:
        for module, name, original in swapped:
            setattr(module, name, original)
