"""Per-clip feature vectors ("functionals"), stored by ``feature_table``.

``functionals`` reproduces the features of the RAVDESS-song baseline (seed 2): the mean
and the standard deviation over time of 40 MFCC, 12 chroma (``chroma_stft``), 128 mel
bands, 7 spectral-contrast bands and 6 tonnetz dimensions, 2 x 193 = 386 values per
clip. Like the seed, chroma and contrast read the magnitude STFT, the mel bands are
power (``functionals.mel_scale: db`` gives log power instead, kinder to linear models)
and tonnetz reads the constant-Q chroma of the harmonic part of the clip
(``functionals.tonnetz: harmonic_cqt``). That costs most of the time (a median-filter
HPSS, ``harmonic``, ~0.03 s a clip; then a CQT whose filter banks
``filter_cache`` reuses across clips); ``tonnetz: chroma_stft`` projects
the STFT chroma the vector already holds instead, several times faster but not free: over 5
actor folds the SVM's enthusiasm AUC drops by 0.015 (paired CI clear of 0; emotion not
distinguishable, results/).
Unlike the seed, which read every file at its native 48 kHz, the clips are those of the
``raw`` stage at ``data.sample_rate``.

Computed on original recordings only (the ``raw`` stage, not the augmented rows).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import median_filter

from singaffect import filter_cache
from singaffect.feature_table import FeatureTableError

# (name, dimensions) of each feature family, in the order of the seed's feature vector.
FAMILIES = ("mfcc", "chroma", "mel", "contrast", "tonnetz")
N_CHROMA, N_CONTRAST, N_TONNETZ = 12, 7, 6  # librosa defaults: 12 pitch classes, 6 bands + 1, 6 tonal axes
CONTRAST_FMIN = 200.0  # librosa's spectral_contrast default; its top band starts at 200 Hz x 2**5
MIN_SAMPLE_RATE = 2 * CONTRAST_FMIN * 2 ** (N_CONTRAST - 2)  # that band must start below Nyquist: 12.8 kHz


@dataclass(frozen=True)
class Settings:
    """The ``functionals`` params: MFCCs, STFT size and hop, mel bands, and the mel bands' scale."""

    n_mfcc: int
    n_fft: int
    hop_length: int
    n_mels: int
    mel_scale: str  # power (seed) | db
    tonnetz: str = "harmonic_cqt"  # harmonic_cqt (seed) | chroma_stft


def family_sizes(n_mfcc: int, n_mels: int) -> dict[str, int]:
    """Dimensions per family."""
    return {"mfcc": n_mfcc, "chroma": N_CHROMA, "mel": n_mels, "contrast": N_CONTRAST, "tonnetz": N_TONNETZ}


def functional_names(settings: Settings) -> list[str]:
    """``mfcc_mean_00``, ... then ``mfcc_std_00``, ...: means of all families first, as in the seed."""
    sizes = family_sizes(settings.n_mfcc, settings.n_mels)
    return [f"{family}_{stat}_{i:02d}" for stat in ("mean", "std") for family in FAMILIES
            for i in range(sizes[family])]


def functionals(samples: np.ndarray, sample_rate: int, settings: Settings) -> np.ndarray:
    """The seed's 386-value vector (with default params) of one clip, float32."""
    y = np.asarray(samples, dtype=np.float32)
    n_fft, hop = settings.n_fft, settings.hop_length
    if y.size < n_fft:  # librosa pads short input anyway; pad explicitly so tonnetz/contrast agree
        y = np.pad(y, (0, n_fft - y.size))
    magnitude = np.abs(librosa.stft(y, n_fft=n_fft, hop_length=hop))
    mel = librosa.feature.melspectrogram(S=magnitude ** 2, sr=sample_rate, n_mels=settings.n_mels)
    log_mel = librosa.power_to_db(mel)
    chroma = librosa.feature.chroma_stft(S=magnitude, sr=sample_rate, n_chroma=N_CHROMA)
    families = {
        # same as librosa.feature.mfcc(y=...) with these n_fft / hop / n_mels, without a second STFT
        "mfcc": librosa.feature.mfcc(S=log_mel, n_mfcc=settings.n_mfcc),
        "chroma": chroma,
        "mel": mel if settings.mel_scale == "power" else log_mel,
        "contrast": librosa.feature.spectral_contrast(S=magnitude, sr=sample_rate, n_fft=n_fft, hop_length=hop),
        "tonnetz": (_tonnetz(y, sample_rate, hop) if settings.tonnetz == "harmonic_cqt"
                    else librosa.feature.tonnetz(chroma=chroma)),
    }
    means = [families[f].mean(axis=1) for f in FAMILIES]
    stds = [families[f].std(axis=1) for f in FAMILIES]
    return np.concatenate(means + stds).astype(np.float32)


def _tonnetz(y: np.ndarray, sample_rate: int, hop_length: int) -> np.ndarray:
    """Tonnetz of the harmonic part, as the seed; quiet about the CQT's short low octaves.

    For clips under ~1.5 s the CQT's downsampled low octaves are shorter than its FFT and
    librosa warns on every clip; it zero-pads them, which is what we want.
    """
    with warnings.catch_warnings(), filter_cache.reused(filter_cache.CQT_FILTERS):
        warnings.filterwarnings("ignore", message="n_fft=.*is too large", category=UserWarning)
        return librosa.feature.tonnetz(y=harmonic(y), sr=sample_rate, hop_length=hop_length)


HPSS_KERNEL = 31  # librosa.decompose.hpss's default median-filter length, in frames and in bins


def harmonic(y: np.ndarray) -> np.ndarray:
    """``librosa.effects.harmonic(y)`` with its defaults: the same floats, in a sixth of the time.

    librosa's HPSS median-filters the magnitude STFT with scipy's 2-D ``median_filter`` and a
    1 x 31 (harmonic) and a 31 x 1 (percussive) footprint: a generic rank filter, ~290 ms a
    clip. scipy's 1-D median filter keeps a sorted running window; ``_median_along_rows``
    runs each filter as one such pass (~30 ms). The rest is librosa's own code path.
    """
    magnitude, phase = librosa.magphase(librosa.stft(y))
    harm = _median_along_rows(magnitude, HPSS_KERNEL)
    perc = np.ascontiguousarray(_median_along_rows(magnitude.T, HPSS_KERNEL).T)
    mask = librosa.util.softmask(harm, perc, power=2.0, split_zeros=True)  # margin 1: hpss's split_zeros
    return librosa.istft((magnitude * mask) * phase, dtype=y.dtype, length=y.shape[-1])


def _median_along_rows(x: np.ndarray, size: int) -> np.ndarray:
    """``scipy.ndimage.median_filter(x, size=(1, size), mode="reflect")`` of a 2-D array, as one 1-D filter.

    Each row is padded with its own mirror image (numpy's ``symmetric`` is scipy's
    ``reflect``), the padded rows are laid end to end, and a window centred on any
    original sample then reads only its own row: the medians are the same values.
    """
    half = size // 2
    padded = np.pad(x, [(0, 0), (half, half)], mode="symmetric")
    filtered = median_filter(padded.reshape(-1), size=size, mode="reflect").reshape(padded.shape)
    return np.ascontiguousarray(filtered[:, half:padded.shape[1] - half])


def check_sample_rate(sample_rate: int) -> None:
    """Refuse a rate the seed's spectral-contrast bands do not fit in, before any clip is analysed."""
    if sample_rate <= MIN_SAMPLE_RATE:
        raise FeatureTableError(
            f"params key data.sample_rate: the functionals' 6 spectral-contrast octaves above {CONTRAST_FMIN:.0f} Hz "
            f"need a rate above {MIN_SAMPLE_RATE:.0f} Hz, got {sample_rate}")
