#!/usr/bin/env python
"""The seed's preprocessing, written the way the seed did it, as the baseline of bench_stages.py.

One process, one file at a time: ``librosa.load(path, sr=22050)``, the original plus N
audiomentations copies, pad to 5 s, ``melspectrogram`` + ``power_to_db`` per clip, and every
array kept in Python lists until the end (then stacked into one array for the model).
bench_stages.py runs this as a child process so its wall time and peak memory are measured
exactly like our stage scripts.

Deliberately NOT built on singaffect: it is the thing we compare against. Fidelity notes:

* transforms: audiomentations 0.43 with its default ranges, as the seed used them (they equal our
  params.yaml ranges); TimeStretch/PitchShift use ``method="librosa_phase_vocoder"``, the
  only method of the seed's era, and TimeStretch keeps its default
  ``leave_length_unchanged=True`` (ours sets False);
* ``librosa.load`` resamples with librosa 0.11's default (soxr_hq); librosa 0.8.1 (the
  version the ravdess_song seed was tested on) defaulted to resampy's kaiser_best, which is
  slower, so this baseline's load time flatters the seed;
* the seed padded to its longest clip; here every clip is padded/cut to 5 s like ours.

Usage: python benchmarks/seed_baseline.py FILE_LIST OUT_JSON [--copies 7]
(FILE_LIST: one audio path per line.)
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import audiomentations as am
import librosa
import numpy as np

SAMPLE_RATE = 22050
SECONDS = 5.0
N_FFT, HOP_LENGTH, N_MELS = 2048, 512, 128


def seed_augmenter() -> am.Compose:
    """The seed's chain: the six transforms, p=0.5 each, audiomentations' default ranges."""
    return am.Compose([
        am.AddGaussianNoise(min_amplitude=0.001, max_amplitude=0.015, p=0.5),
        am.TimeStretch(min_rate=0.8, max_rate=1.25, method="librosa_phase_vocoder", p=0.5),
        am.PitchShift(min_semitones=-4.0, max_semitones=4.0, method="librosa_phase_vocoder", p=0.5),
        am.Shift(min_shift=-0.5, max_shift=0.5, p=0.5),
        am.Gain(min_gain_db=-12.0, max_gain_db=12.0, p=0.5),
        am.PolarityInversion(p=0.5),
    ])


def run(paths: list[str], copies: int) -> dict:
    """Preprocess ``paths`` the seed's way; returns phase timings and the bytes held in memory."""
    random.seed(0)
    np.random.seed(0)
    augment = seed_augmenter()
    length = int(SECONDS * SAMPLE_RATE)
    timers = {"load": 0.0, "augment": 0.0, "pad": 0.0, "mel": 0.0, "stack": 0.0}
    raw, augmented, padded, mels = [], [], [], []
    for path in paths:
        t0 = time.perf_counter()
        y, sr = librosa.load(path, sr=SAMPLE_RATE)
        raw.append(y)
        t1 = time.perf_counter()
        versions = [y] + [augment(samples=y, sample_rate=sr) for _ in range(copies)]
        augmented.extend(versions)
        t2 = time.perf_counter()
        fixed = [librosa.util.fix_length(v, size=length) for v in versions]
        padded.extend(fixed)
        t3 = time.perf_counter()
        for clip in fixed:
            spectrogram = librosa.feature.melspectrogram(y=clip, sr=sr, n_fft=N_FFT, hop_length=HOP_LENGTH,
                                                         n_mels=N_MELS)
            mels.append(librosa.power_to_db(spectrogram, ref=np.max))
        t4 = time.perf_counter()
        timers["load"] += t1 - t0
        timers["augment"] += t2 - t1
        timers["pad"] += t3 - t2
        timers["mel"] += t4 - t3
    t0 = time.perf_counter()
    features = np.array(mels)
    timers["stack"] = time.perf_counter() - t0
    held = {name: sum(a.nbytes for a in arrays)
            for name, arrays in (("raw", raw), ("augmented", augmented), ("padded", padded), ("mel", mels))}
    held["stacked"] = features.nbytes
    return {"files": len(paths), "rows": len(mels), "copies": copies, "shape": list(features.shape),
            "timers_s": timers, "held_bytes": held}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file_list", type=Path)
    parser.add_argument("out_json", type=Path)
    parser.add_argument("--copies", type=int, default=7)
    args = parser.parse_args()
    paths = [line.strip() for line in args.file_list.read_text().splitlines() if line.strip()]
    report = run(paths, args.copies)
    args.out_json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
