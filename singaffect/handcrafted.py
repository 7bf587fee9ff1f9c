"""Handcrafted enthusiasm features: loudness, pitch fall-down and vibrato of one clip.

These are the cues a singing teacher hears in an enthusiastic take (louder, wider and
livelier vibrato, phrase endings that do not sag), as a small interpretable feature set
for a ridge-regression baseline:

* ``a_weighted_db_mean`` / ``_std``: A-weighted frame power in dB re full scale
  (a full-scale 1 kHz sine reads -3 dB), over the frames within
  ``handcrafted.top_db`` of the loudest one, so leading and trailing silence does not
  dominate;
* ``voiced_fraction``: share of all frames that pYIN calls voiced;
* ``f0_mean_semitones`` / ``f0_std_semitones``: pitch of the voiced frames (MIDI numbers);
* ``end_slope``: mean pitch slope (semitones/s) over the last ``handcrafted.tail_seconds``
  of each voiced segment: a least-squares line fitted together with a sinusoid at the
  clip's vibrato rate, so the phase at which the vibrato ends does not pass for a slope;
  ``fall_down`` is the same mean with rising endings counted as 0 and falls as positive
  rates, i.e. how fast phrases drop at their end;
* ``vibrato_extent``: peak-to-peak pitch deviation (semitones) around the smoothed contour,
  measured as the 5th-95th percentile range per segment (a sinusoidal vibrato of
  +-A semitones reads ~2A), averaged over segments weighted by length;
* ``vibrato_rate``: frequency (Hz) of the strongest pitch modulation between
  ``handcrafted.vibrato_min_hz`` and ``vibrato_max_hz``, from the summed spectra of the
  segments' deviations.

The smoothed contour is a zero-phase 2nd-order Butterworth low-pass of each voiced
segment's pitch at half of ``vibrato_min_hz``; it follows notes and drift but not vibrato.
pYIN averages pitch over its frame, so the extent reads low by about sinc(rate x frame):
~10 % for a 5.5 Hz vibrato with ``frame_length`` 1024 at 22.05 kHz (46 ms), ~40 % with 2048.
Pitch features of a clip without a usable voiced segment are NaN (imputed from the
training clips by the model stages).
"""
from __future__ import annotations

from dataclasses import dataclass

import librosa
import numpy as np
from scipy import signal

from singaffect import filter_cache
from singaffect.errors import SingaffectError

HANDCRAFTED_NAMES = (
    "a_weighted_db_mean", "a_weighted_db_std", "voiced_fraction", "f0_mean_semitones", "f0_std_semitones",
    "fall_down", "end_slope", "vibrato_extent", "vibrato_rate",
)
MIN_SEGMENT_FRAMES = 10  # filtfilt of a 2nd-order filter needs more than 9 samples


class HandcraftedParamsError(SingaffectError, ValueError):
    """``handcrafted.*`` params that pYIN or the vibrato band cannot use at this sample rate; names the keys."""


@dataclass(frozen=True)
class Settings:
    """The ``handcrafted`` params: pYIN's search range, frame, hop and grid; loudness and vibrato settings."""

    fmin: float
    fmax: float
    frame_length: int
    hop_length: int
    resolution: float
    top_db: float
    min_segment_seconds: float
    tail_seconds: float
    vibrato_min_hz: float
    vibrato_max_hz: float


def check_settings(sample_rate: int, settings: Settings) -> None:
    """Refuse pitch settings that cannot work at ``sample_rate`` before any clip is analysed."""
    fmin, fmax, frame = settings.fmin, settings.fmax, settings.frame_length
    frame_rate = sample_rate / settings.hop_length
    if fmax > sample_rate / 2:
        raise HandcraftedParamsError(f"params key handcrafted.fmax: {fmax} Hz is above the Nyquist frequency "
                                     f"{sample_rate / 2} Hz of data.sample_rate={sample_rate}")
    if fmin >= fmax:
        raise HandcraftedParamsError(f"params key handcrafted.fmin ({fmin}) must be below handcrafted.fmax ({fmax})")
    if sample_rate / fmin >= frame - 1:
        raise HandcraftedParamsError(
            f"params keys handcrafted.fmin / handcrafted.frame_length: one period of {fmin} Hz "
            f"({sample_rate / fmin:.0f} samples at {sample_rate} Hz) does not fit a frame of {frame}; "
            f"raise frame_length to {int(np.ceil(sample_rate / fmin)) * 2 + 1} or fmin")
    if settings.vibrato_max_hz >= frame_rate / 2:
        raise HandcraftedParamsError(
            f"params key handcrafted.vibrato_max_hz: {settings.vibrato_max_hz} Hz needs a pitch frame rate above "
            f"{2 * settings.vibrato_max_hz} Hz; lower handcrafted.hop_length (now {frame_rate:.1f} frames/s)")


def a_weighted_db(samples: np.ndarray, sample_rate: int, n_fft: int, hop_length: int) -> np.ndarray:
    """A-weighted power of each frame in dB re full scale (mean square of the weighted frame)."""
    window = librosa.filters.get_window("hann", n_fft, fftbins=True)
    power = np.abs(librosa.stft(samples, n_fft=n_fft, hop_length=hop_length, window=window)) ** 2
    with np.errstate(divide="ignore"):  # 0 Hz weighs -inf dB, i.e. nothing
        weights = librosa.db_to_power(librosa.A_weighting(librosa.fft_frequencies(sr=sample_rate, n_fft=n_fft)))
    # Parseval for a one-sided spectrum: mean square = 2 * sum |X|^2 / (n_fft * sum w^2)
    mean_square = 2.0 * (weights[:, None] * power).sum(axis=0) / (n_fft * np.sum(window ** 2))
    return librosa.power_to_db(mean_square, ref=1.0, amin=1e-10, top_db=None)


def loudness_stats(frame_db: np.ndarray, top_db: float) -> tuple[float, float]:
    """Mean and std of the frames within ``top_db`` of the loudest frame."""
    active = frame_db[frame_db >= frame_db.max() - top_db]
    return float(active.mean()), float(active.std())


def pitch_track(samples: np.ndarray, sample_rate: int, fmin: float, fmax: float, frame_length: int,
                hop_length: int, resolution: float) -> tuple[np.ndarray, float]:
    """pYIN pitch in semitones (MIDI numbers, NaN where unvoiced) and the frame rate in Hz."""
    with filter_cache.reused(filter_cache.PITCH_TRANSITION):
        f0, voiced, _ = librosa.pyin(samples, fmin=fmin, fmax=fmax, sr=sample_rate, frame_length=frame_length,
                                     hop_length=hop_length, resolution=resolution)
    ok = voiced & np.isfinite(f0)
    semitones = np.full(f0.shape, np.nan)
    semitones[ok] = librosa.hz_to_midi(f0[ok])
    return semitones, sample_rate / hop_length


def voiced_segments(semitones: np.ndarray, min_frames: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each run of voiced (finite) frames at least ``min_frames`` long."""
    voiced = np.concatenate([[False], np.isfinite(semitones), [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(voiced))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]) if b - a >= min_frames]


def end_slopes(semitones: np.ndarray, segments: list[tuple[int, int]], frame_rate: float,
               tail_seconds: float, vibrato_hz: float = float("nan")) -> np.ndarray:
    """Pitch slope (semitones/s) of the last ``tail_seconds`` of each segment.

    The line is fitted jointly with a sinusoid at ``vibrato_hz`` (when finite and the
    tail is long enough to tell them apart), so vibrato does not bias the slope.
    """
    tail = max(3, int(round(tail_seconds * frame_rate)))
    slopes = []
    for start, stop in segments:
        part = semitones[max(start, stop - tail):stop]
        t = np.arange(part.size) / frame_rate
        columns = [np.ones_like(t), t]
        if np.isfinite(vibrato_hz) and part.size >= 5:
            columns += [np.sin(2 * np.pi * vibrato_hz * t), np.cos(2 * np.pi * vibrato_hz * t)]
        coefficients, *_ = np.linalg.lstsq(np.stack(columns, axis=1), part, rcond=None)
        slopes.append(coefficients[1])
    return np.asarray(slopes, dtype=np.float64)


def vibrato(semitones: np.ndarray, segments: list[tuple[int, int]], frame_rate: float,
            min_hz: float, max_hz: float) -> tuple[float, float]:
    """``(extent in semitones peak-to-peak, rate in Hz)`` of the segments' pitch modulation."""
    usable = [(a, b) for a, b in segments if b - a >= max(MIN_SEGMENT_FRAMES, frame_rate / min_hz)]
    if not usable:
        return float("nan"), float("nan")
    sos = signal.butter(2, min_hz / 2, btype="lowpass", fs=frame_rate, output="sos")
    n_fft = max(1024, 1 << int(np.ceil(np.log2(max(b - a for a, b in usable)))))
    spectrum = np.zeros(n_fft // 2 + 1)
    extents, weights = [], []
    for start, stop in usable:
        part = semitones[start:stop]
        deviation = part - signal.sosfiltfilt(sos, part)
        low, high = np.percentile(deviation, [5, 95])
        extents.append(high - low)
        weights.append(stop - start)
        spectrum += np.abs(np.fft.rfft(deviation * np.hanning(deviation.size), n_fft)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1 / frame_rate)
    band = np.flatnonzero((freqs >= min_hz) & (freqs <= max_hz))
    if band.size == 0:  # a band narrower than one bin: the nearest bin
        band = np.array([np.argmin(np.abs(freqs - min_hz))])
    peak = band[np.argmax(spectrum[band])]
    rate = freqs[peak]
    if 0 < peak < spectrum.size - 1:  # parabolic interpolation of the log spectrum around the peak
        left, mid, right = np.log(spectrum[peak - 1:peak + 2] + 1e-20)
        denominator = left - 2 * mid + right
        if mid >= max(left, right) and denominator < 0:  # a true local maximum: the shift stays within half a bin
            rate += 0.5 * (left - right) / denominator * (freqs[1] - freqs[0])
    # a peak on the band's edge whose neighbour outside is higher stays on the edge: the rate is in the band
    return float(np.average(extents, weights=weights)), float(np.clip(rate, min_hz, max_hz))


def handcrafted(samples: np.ndarray, sample_rate: int, settings: Settings) -> np.ndarray:
    """The ``HANDCRAFTED_NAMES`` values of one clip (float32; NaN where a clip has no pitch)."""
    s = settings
    check_settings(sample_rate, s)
    y = np.asarray(samples, dtype=np.float32)
    if y.size < s.frame_length:
        y = np.pad(y, (0, s.frame_length - y.size))
    loud_mean, loud_std = loudness_stats(a_weighted_db(y, sample_rate, s.frame_length, s.hop_length), s.top_db)
    semitones, frame_rate = pitch_track(y, sample_rate, s.fmin, s.fmax, s.frame_length, s.hop_length, s.resolution)
    voiced = np.isfinite(semitones)
    min_frames = max(MIN_SEGMENT_FRAMES, int(round(s.min_segment_seconds * frame_rate)))
    segments = voiced_segments(semitones, min_frames)
    nan = float("nan")
    extent, rate = vibrato(semitones, segments, frame_rate, s.vibrato_min_hz, s.vibrato_max_hz)
    if segments:
        slopes = end_slopes(semitones, segments, frame_rate, s.tail_seconds, rate)
        end_slope, fall_down = float(slopes.mean()), float(np.maximum(0.0, -slopes).mean())
    else:
        end_slope = fall_down = nan
    values = [
        loud_mean, loud_std, float(voiced.mean()),
        float(np.nanmean(semitones)) if voiced.any() else nan,
        float(np.nanstd(semitones)) if voiced.any() else nan,
        fall_down, end_slope, extent, rate,
    ]
    return np.asarray(values, dtype=np.float32)
