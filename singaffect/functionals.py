"""Per-clip feature vectors ("functionals") and the HDF5 tables that hold them.

``functionals`` reproduces the features of the RAVDESS-song baseline (seed 2): the mean
and the standard deviation over time of 40 MFCC, 12 chroma (``chroma_stft``), 128 mel
bands, 7 spectral-contrast bands and 6 tonnetz dimensions, 2 x 193 = 386 values per
clip. Like the seed, chroma and contrast read the magnitude STFT, the mel bands are
power (``functionals.mel_scale: db`` gives log power instead, kinder to linear models)
and tonnetz reads the harmonic part of the clip. Unlike the seed, which read every file
at its native 48 kHz, the clips are those of the ``raw`` stage at ``data.sample_rate``.

Tables are computed on original recordings only (the ``raw`` stage, not the augmented
rows): one row per clip in manifest order, byte-stable HDF5.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import Callable, Iterable, Sequence

import h5py
import librosa
import numpy as np

from singaffect import storage
from singaffect.compute import ordered_map
from singaffect.errors import SingaffectError

# (name, dimensions) of each feature family, in the order of the seed's feature vector.
FAMILIES = ("mfcc", "chroma", "mel", "contrast", "tonnetz")
N_CHROMA, N_CONTRAST, N_TONNETZ = 12, 7, 6  # librosa defaults: 12 pitch classes, 6 bands + 1, 6 tonal axes
CONTRAST_FMIN = 200.0  # librosa's spectral_contrast default; its top band starts at 200 Hz x 2**5
MIN_SAMPLE_RATE = 2 * CONTRAST_FMIN * 2 ** (N_CONTRAST - 2)  # that band must start below Nyquist: 12.8 kHz


class FeatureTableError(SingaffectError, ValueError):
    """A feature table does not match the manifest it is used with; names the file."""


def family_sizes(params: dict) -> dict[str, int]:
    """Dimensions per family for ``functionals`` params."""
    return {"mfcc": params["n_mfcc"], "chroma": N_CHROMA, "mel": params["n_mels"],
            "contrast": N_CONTRAST, "tonnetz": N_TONNETZ}


def functional_names(params: dict) -> list[str]:
    """``mfcc_mean_00``, ... then ``mfcc_std_00``, ...: means of all families first, as in the seed."""
    sizes = family_sizes(params)
    return [f"{family}_{stat}_{i:02d}" for stat in ("mean", "std") for family in FAMILIES
            for i in range(sizes[family])]


def functionals(samples: np.ndarray, sample_rate: int, params: dict) -> np.ndarray:
    """The seed's 386-value vector (with default params) of one clip, float32."""
    y = np.asarray(samples, dtype=np.float32)
    n_fft, hop = params["n_fft"], params["hop_length"]
    if y.size < n_fft:  # librosa pads short input anyway; pad explicitly so tonnetz/contrast agree
        y = np.pad(y, (0, n_fft - y.size))
    magnitude = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
    mel = librosa.feature.melspectrogram(S=magnitude ** 2, sr=sample_rate, n_mels=params["n_mels"])
    log_mel = librosa.power_to_db(mel)
    families = {
        # same as librosa.feature.mfcc(y=...) with these n_fft / hop / n_mels, without a second STFT
        "mfcc": librosa.feature.mfcc(S=log_mel, n_mfcc=params["n_mfcc"]),
        "chroma": librosa.feature.chroma_stft(S=magnitude, sr=sample_rate, n_chroma=N_CHROMA),
        "mel": mel if params["mel_scale"] == "power" else log_mel,
        "contrast": librosa.feature.spectral_contrast(S=magnitude, sr=sample_rate, n_fft=n_fft, hop_length=hop),
        "tonnetz": _tonnetz(y, sample_rate, hop),
    }
    means = [families[f].mean(axis=1) for f in FAMILIES]
    stds = [families[f].std(axis=1) for f in FAMILIES]
    return np.concatenate(means + stds).astype(np.float32)


def _tonnetz(y: np.ndarray, sample_rate: int, hop_length: int) -> np.ndarray:
    """Tonnetz of the harmonic part, as the seed; quiet about the CQT's short low octaves.

    For clips under ~1.5 s the CQT's downsampled low octaves are shorter than its FFT and
    librosa warns on every clip; it zero-pads them, which is what we want.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_fft=.*is too large", category=UserWarning)
        return librosa.feature.tonnetz(y=librosa.effects.harmonic(y), sr=sample_rate, hop_length=hop_length)


def check_sample_rate(sample_rate: int) -> None:
    """Refuse a rate the seed's spectral-contrast bands do not fit in, before any clip is analysed."""
    if sample_rate <= MIN_SAMPLE_RATE:
        raise FeatureTableError(
            f"params key data.sample_rate: the functionals' 6 spectral-contrast octaves above {CONTRAST_FMIN:.0f} Hz "
            f"need a rate above {MIN_SAMPLE_RATE:.0f} Hz, got {sample_rate}")


Extractor = Callable[[np.ndarray, int, dict], np.ndarray]


def table_chunk(extractor: Extractor, audio_path: str, start: int, stop: int, params: dict) -> np.ndarray:
    """Feature rows of raw clips ``start..stop-1``; workers read their own clips."""
    with storage.ClipAudioReader(audio_path) as reader:
        return np.stack([extractor(clip, reader.sample_rate, params) for clip in reader.clips(start, stop)])


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
        rows = np.asarray(rows, dtype=np.float32)
        finite = np.isfinite(rows)
        bad += int((~finite).sum())
        out[start:stop] = np.where(finite, rows, np.nan)
    return bad


def compute_table(handle: h5py.File, extractor: Extractor, names: Sequence[str], audio_path: str | Path,
                  clip_ids: Sequence[str], params: dict, n_jobs: int, chunk_size: int,
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
    work = ((extractor, str(audio_path), a, b, params) for a, b in chunks)

    def blocks() -> Iterable[tuple[int, int, np.ndarray]]:
        for (a, b), rows in zip(chunks, ordered_map(table_chunk, work, n_jobs)):
            if rows.shape != (b - a, len(names)):
                raise FeatureTableError(f"feature extractor gave rows of shape {rows.shape[1:]}, "
                                        f"expected {len(names)} values ({names[0]}...)")
            progress(b - a)
            yield a, b, rows

    return write_table(handle, names, clip_ids, blocks(), {"sample_rate": sample_rate})


def write_table_file(out: str | Path, extractor: Extractor, names: Sequence[str], audio_path: str | Path,
                     clip_ids: Sequence[str], params: dict, compute: dict, desc: str,
                     check_rate: Callable[[int], None] = lambda rate: None) -> int:
    """``compute_table`` into a byte-stable HDF5 file at ``out``, moved into place only when complete.

    What the feature stages share; ``compute`` is the ``compute`` params section.
    Returns the number of non-finite values stored as NaN.
    """
    from tqdm import tqdm

    with storage.atomic_outputs(out) as tmp, storage.create_h5(tmp[0]) as handle, \
            tqdm(total=len(clip_ids), desc=desc, unit="clip") as bar:
        return compute_table(handle, extractor, names, audio_path, clip_ids, params, compute["n_jobs"],
                             compute["chunk_size"], bar.update, check_rate)


def read_table(path: str | Path, clip_ids: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """``(features, names)`` of a table, checked to hold exactly ``clip_ids`` in that order."""
    path = Path(path)
    with h5py.File(path, "r") as handle:
        stored = [c.decode() for c in handle["clip_ids"][:]]
        if stored != list(clip_ids):
            raise FeatureTableError(f"{path}: holds {len(stored)} clips that do not match the {len(clip_ids)} "
                                    f"clips of the manifest; rerun the stage that writes it")
        return handle["features"][:], [n.decode() for n in handle["names"][:]]

