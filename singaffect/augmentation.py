"""Audio augmentation with audiomentations, seeded per (seed, clip, copy).

A clip's copies depend only on the params and its own id, never on which other
clips exist or which worker ran them, so reruns are bit-identical.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import audiomentations as am
import numpy as np

from singaffect.compute import derive_seed


@dataclass(frozen=True)
class Settings:
    """The ``augment`` params: how many copies, their base seed and storage dtype, and the seed's six
    transforms (each a mapping of its probability ``p`` and its range) with the time-stretch engine."""

    copies: int
    seed: int
    gaussian_noise: dict[str, Any]
    time_stretch: dict[str, Any]
    pitch_shift: dict[str, Any]
    shift: dict[str, Any]
    gain: dict[str, Any]
    polarity_inversion: dict[str, Any]
    stretch_method: str
    dtype: str


def build_augmenter(settings: Settings) -> am.Compose:
    """The transform chain of ``settings`` (the seed's six transforms, in its order)."""
    method = settings.stretch_method
    noise, stretch, pitch = settings.gaussian_noise, settings.time_stretch, settings.pitch_shift
    shift, gain = settings.shift, settings.gain
    return am.Compose([
        am.AddGaussianNoise(min_amplitude=noise["min_amplitude"], max_amplitude=noise["max_amplitude"], p=noise["p"]),
        am.TimeStretch(min_rate=stretch["min_rate"], max_rate=stretch["max_rate"],
                       leave_length_unchanged=False, method=method, p=stretch["p"]),
        am.PitchShift(min_semitones=pitch["min_semitones"], max_semitones=pitch["max_semitones"],
                      method=method, p=pitch["p"]),
        am.Shift(min_shift=shift["min_shift"], max_shift=shift["max_shift"], shift_unit="fraction", p=shift["p"]),
        am.Gain(min_gain_db=gain["min_gain_db"], max_gain_db=gain["max_gain_db"], p=gain["p"]),
        am.PolarityInversion(p=settings.polarity_inversion["p"]),
    ])


def augment_clip(augmenter: am.Compose, samples: np.ndarray, sample_rate: int, seed: int) -> np.ndarray:
    """One augmented copy of ``samples``, the transforms of ``augmenter`` applied in order.

    audiomentations draws from the global ``random`` and NumPy RNGs, and applying a
    transform can draw from them too (librosa's first call in a process imports modules
    that take random bits), so both are reseeded before every transform: each one's
    draws depend only on ``(seed, its position)``, never on what the process did before.
    """
    out = np.asarray(samples, dtype=np.float32)
    for position, transform in enumerate(augmenter.transforms):
        transform_seed = derive_seed(seed, position)
        random.seed(transform_seed)
        np.random.seed(transform_seed)
        out = transform(samples=out, sample_rate=sample_rate)
    return np.ascontiguousarray(out, dtype=np.float32)


def clip_copies(augmenter: am.Compose, samples: np.ndarray, sample_rate: int, base_seed: int,
                clip_id: str, copies: int) -> list[np.ndarray]:
    """The original (copy 0) followed by ``copies`` augmented versions."""
    out = [np.asarray(samples, dtype=np.float32)]
    for copy in range(1, copies + 1):
        out.append(augment_clip(augmenter, samples, sample_rate, derive_seed(base_seed, clip_id, copy)))
    return out
