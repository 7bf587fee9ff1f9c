"""HDF5 storage and atomic outputs.

* Outputs are written under a temporary name and moved into place only when the
  whole stage succeeded, so a crash never leaves a file a later stage could take
  for finished work. A killed run leaves only its hidden ``.<name>.tmp-<pid>``
  files; the next run of the stage deletes those whose process is gone.
* HDF5 files are byte-stable: no timestamps (``track_times=False``), fixed chunk
  shapes, rows in clip order.
* Arrays are streamed: writers append chunk by chunk, readers hand out slices.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
from pathlib import Path
from typing import Iterator, Sequence

import h5py
import numpy as np

from singaffect.errors import SingaffectError

SAMPLES_CHUNK = 1 << 16  # samples per HDF5 chunk of variable-length audio


class OutputError(SingaffectError, OSError):
    """An output cannot be written (unwritable folder, full disk); names the path."""


def _tmp_name(path: Path, pid: int | None = None) -> Path:
    """A hidden sibling that keeps the suffix (Keras insists on ``.keras``)."""
    return path.with_name(f".{path.stem}.tmp-{os.getpid() if pid is None else pid}{path.suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_stale(path: Path) -> None:
    """Delete temporaries of ``path`` left by killed runs (their process no longer exists)."""
    pattern = f".{glob.escape(path.stem)}.tmp-*{glob.escape(path.suffix)}"
    for candidate in path.parent.glob(pattern):
        pid = candidate.name[len(f".{path.stem}.tmp-"):len(candidate.name) - len(path.suffix)]
        if pid.isdigit() and candidate == _tmp_name(path, int(pid)) and not _alive(int(pid)):
            _remove(candidate)


@contextlib.contextmanager
def atomic_outputs(*paths: str | Path) -> Iterator[list[Path]]:
    """Yield temporary paths for ``paths``; on success move them all into place.

    On any error (or interruption) the temporaries are removed and the previous
    outputs, if any, are left as they were.
    """
    finals = [Path(p) for p in paths]
    temps = [_tmp_name(p) for p in finals]
    for final, temp in zip(finals, temps):
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise OutputError(f"cannot create output folder '{final.parent}' for {final}: "
                              f"a file of that name is in the way") from None
        except OSError as error:
            raise OutputError(f"cannot create output folder '{final.parent}' for {final}: "
                              f"{error.strerror or error}") from None
        try:
            _remove(temp)
            _remove_stale(final)
        except OSError as error:
            raise OutputError(f"cannot clean up old temporaries in '{final.parent}': {error.strerror or error}") from None
    try:
        yield temps
        for temp in temps:
            if not temp.exists():
                raise OutputError(f"stage did not write {temp}")
        for final, temp in zip(finals, temps):
            _remove(final)
            os.replace(temp, final)
    except OSError as error:
        for temp in temps:
            _remove(temp)
        if isinstance(error, OutputError):
            raise
        names = {str(p): str(final) for final, temp in zip(finals, temps) for p in (final, temp)}
        if error.filename is not None and str(error.filename) not in names:
            raise  # not about an output (an input, say): the error speaks for itself
        target = names.get(str(error.filename)) or ", ".join(map(str, finals))  # h5py names no file
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    except BaseException:
        for temp in temps:
            _remove(temp)
        raise


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def create_h5(path: Path) -> h5py.File:
    """Open a new HDF5 file for byte-stable writing."""
    return h5py.File(path, "w", libver=("earliest", "v110"), track_order=False)


class ClipAudioWriter:
    """Append variable-length clips to one flat ``samples`` array plus ``offsets``."""

    def __init__(self, handle: h5py.File, sample_rate: int, dtype: str = "float32"):
        handle.attrs["sample_rate"] = int(sample_rate)
        self._samples = handle.create_dataset(
            "samples", shape=(0,), maxshape=(None,), dtype=dtype,
            chunks=(SAMPLES_CHUNK,), track_times=False)
        self._offsets = [0]
        self._handle = handle

    def append(self, clips: Sequence[np.ndarray]) -> None:
        if not clips:
            return
        block = np.concatenate([np.asarray(c, dtype=self._samples.dtype) for c in clips])
        start = self._samples.shape[0]
        self._samples.resize((start + block.size,))
        self._samples[start:] = block
        for clip in clips:
            self._offsets.append(self._offsets[-1] + len(clip))

    def close(self) -> None:
        self._handle.create_dataset("offsets", data=np.asarray(self._offsets, dtype=np.int64), track_times=False)


class ClipAudioReader:
    """Random access to clips written by ``ClipAudioWriter``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._handle = h5py.File(self.path, "r")
        self.sample_rate = int(self._handle.attrs["sample_rate"])
        self.offsets = self._handle["offsets"][:]
        self._samples = self._handle["samples"]
        self.dtype = self._samples.dtype

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def clip(self, index: int) -> np.ndarray:
        return self._samples[self.offsets[index]:self.offsets[index + 1]]

    def clips(self, start: int, stop: int) -> list[np.ndarray]:
        """Clips ``start..stop-1`` with one contiguous read."""
        block = self._samples[self.offsets[start]:self.offsets[stop]]
        base = self.offsets[start]
        return [block[self.offsets[i] - base:self.offsets[i + 1] - base] for i in range(start, stop)]

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> "ClipAudioReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def create_rows(handle: h5py.File, name: str, n_rows: int, row_shape: tuple[int, ...],
                dtype: str, rows_per_chunk: int = 1) -> h5py.Dataset:
    """A fixed-shape ``(n_rows, *row_shape)`` dataset chunked by rows."""
    return handle.create_dataset(
        name, shape=(n_rows, *row_shape), dtype=dtype,
        chunks=(max(1, min(rows_per_chunk, n_rows)), *row_shape), track_times=False)


def chunk_ranges(n_items: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` covering ``range(n_items)`` in order."""
    return [(start, min(start + chunk_size, n_items)) for start in range(0, n_items, chunk_size)]
