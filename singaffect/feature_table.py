"""Per-clip feature tables: one HDF5 file of clips x named features (the functionals and handcrafted stages).

The one owner of that on-disk format: ``write_table_file`` computes a table with a per-clip
extractor over the raw stage's clips (``ordered_map`` over chunks, byte-stable HDF5, moved
into place only when complete) and ``read_table`` reads it back, checked against the
manifest's clips. Non-finite values (a silent clip has no pitch) are stored as NaN for the
model stages to impute from training clips.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

import h5py
import numpy as np

from singaffect import storage
from singaffect.compute import Workers, ordered_map
from singaffect.errors import SingaffectError


class FeatureTableError(SingaffectError, ValueError):
    """A feature table does not match the manifest it is used with; names the file."""


Extractor = Callable[[np.ndarray, int], np.ndarray]
"""``(samples, sample_rate) -> feature vector``: a module-level function with its settings bound
(``functools.partial(functionals.functionals, settings=...)``), so worker processes can unpickle it."""


def table_chunk(extractor: Extractor, audio_path: str, start: int, stop: int) -> np.ndarray:
    """Feature rows of raw clips ``start..stop-1``; workers read their own clips."""
    with storage.ClipAudioReader(audio_path) as reader:
        return np.stack([extractor(clip, reader.sample_rate) for clip in reader.clips(start, stop)])


def write_table(handle: h5py.File, names: Sequence[str], clip_ids: Sequence[str],
                blocks: Iterable[tuple[int, int, np.ndarray]], attrs: dict[str, int | float | str]) -> int:
    """Write ``features`` (clips x names, float32), ``names`` and ``clip_ids``; returns non-finite values seen.

    ``blocks`` yields ``(start, stop, rows)`` in order. Non-finite values (a silent clip
    has no pitch) are stored as NaN for the model stages to impute from training clips.
    """
    for key, value in attrs.items():
        handle.attrs[key] = value
    handle.create_dataset("names", data=np.array([n.encode() for n in names], dtype="S"), track_times=False)
    handle.create_dataset("clip_ids", data=np.array([c.encode() for c in clip_ids], dtype="S"), track_times=False)
    out = storage.create_rows(handle, "features", len(clip_ids), (len(names),), "float32", rows_per_chunk=256)
    bad = 0
    for start, stop, rows in blocks:
        bad += int((~np.isfinite(np.asarray(rows, dtype=np.float32))).sum())
        out[start:stop] = stored_rows(rows)
    return bad


def stored_rows(rows: np.ndarray) -> np.ndarray:
    """Feature rows as the table stores them (float32, non-finite values as NaN); ``predict`` scores
    a take's features in this form too."""
    rows = np.asarray(rows, dtype=np.float32)
    return np.where(np.isfinite(rows), rows, np.float32(np.nan)).astype(np.float32)


def compute_table(handle: h5py.File, extractor: Extractor, names: Sequence[str], audio_path: str | Path,
                  clip_ids: Sequence[str], workers: "int | Workers", chunk_size: int,
                  progress: Callable[[int], object] = lambda n: None,
                  check_rate: Callable[[int], None] = lambda rate: None) -> int:
    """Run ``extractor`` over every raw clip (``ordered_map`` over chunks) into a table in ``handle``.

    ``check_rate`` sees the clips' sample rate before any clip is analysed (and raises on
    settings that cannot work at it). Returns the number of non-finite values stored as NaN.
    """
    with storage.ClipAudioReader(audio_path) as reader:
        if len(reader) != len(clip_ids):
            raise FeatureTableError(f"{audio_path}: holds {len(reader)} clips, the manifest {len(clip_ids)}")
        sample_rate = reader.sample_rate
    check_rate(sample_rate)
    chunks = storage.chunk_ranges(len(clip_ids), chunk_size)
    work = ((extractor, str(Path(audio_path).absolute()), a, b) for a, b in chunks)  # any worker cwd

    def blocks() -> Iterable[tuple[int, int, np.ndarray]]:
        for (a, b), rows in zip(chunks, ordered_map(table_chunk, work, workers)):
            if rows.shape != (b - a, len(names)):
                raise FeatureTableError(f"feature extractor gave rows of shape {rows.shape[1:]}, "
                                        f"expected {len(names)} values ({names[0]}...)")
            progress(b - a)
            yield a, b, rows

    return write_table(handle, names, clip_ids, blocks(), {"sample_rate": sample_rate})


def write_table_file(out: str | Path, extractor: Extractor, names: Sequence[str], audio_path: str | Path,
                     clip_ids: Sequence[str], workers: "int | Workers", chunk_size: int, desc: str,
                     check_rate: Callable[[int], None] = lambda rate: None) -> int:
    """``compute_table`` into a byte-stable HDF5 file at ``out``, moved into place only when complete.

    Returns the number of non-finite values stored as NaN.
    """
    from tqdm import tqdm

    with storage.atomic_outputs(out) as tmp, storage.create_h5(tmp[0]) as handle, \
            tqdm(total=len(clip_ids), desc=desc, unit="clip") as bar:
        return compute_table(handle, extractor, names, audio_path, clip_ids, workers, chunk_size,
                             bar.update, check_rate)


def read_table(path: str | Path, clip_ids: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """``(features, names)`` of a table, checked to hold exactly ``clip_ids`` in that order."""
    path = Path(path)
    with h5py.File(path, "r") as handle:
        stored = [c.decode() for c in handle["clip_ids"][:]]
        if stored != list(clip_ids):
            raise FeatureTableError(f"{path}: holds {len(stored)} clips that do not match the {len(clip_ids)} "
                                    f"clips of the manifest; rerun the stage that writes it")
        return handle["features"][:], [n.decode() for n in handle["names"][:]]

