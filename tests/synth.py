"""Synthetic sung audio for tests: small, deterministic, labelled like the real corpora.

A "sung" clip is a vibrato tone whose loudness, pitch and brightness depend on the
emotion and intensity, so a model can learn something and features see a difference.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np
import soundfile as sf

EMOTION_CODES = ("01", "02", "03", "04", "05", "06")


def sung_tone(seconds: float, sample_rate: int, f0: float = 220.0, vibrato_hz: float = 5.5,
              vibrato_cents: float = 50.0, amplitude: float = 0.3, brightness: int = 3,
              seed: int = 0) -> np.ndarray:
    """A harmonic tone with sinusoidal vibrato and a little noise (float32, mono)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    freq = f0 * 2 ** (vibrato_cents / 1200 * np.sin(2 * np.pi * vibrato_hz * t))
    phase = 2 * np.pi * np.cumsum(freq) / sample_rate
    tone = sum(np.sin(k * phase) / k for k in range(1, brightness + 1))
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t + 1e-3) * 20)
    signal = amplitude * envelope * tone / brightness + 0.002 * rng.standard_normal(t.size)
    return signal.astype(np.float32)


def ravdess_name(emotion: str, intensity: str, statement: str, repetition: str, actor: int,
                 suffix: str = ".wav") -> str:
    return f"03-02-{emotion}-{intensity}-{statement}-{repetition}-{actor:02d}{suffix}"


def ravdess_layout(actors: Iterable[int], emotions: Iterable[str] = EMOTION_CODES,
                   statements: Iterable[str] = ("01", "02"), repetitions: Iterable[str] = ("01", "02")) -> list[tuple]:
    """(emotion, intensity, statement, repetition, actor) tuples that RAVDESS song would have.

    Both takes (repetitions 01 and 02) of every line by default, like the real corpus, so
    tests see twin takes that an honest split must keep together.
    """
    layout = []
    for actor in actors:
        for emotion in emotions:
            for intensity in (("01",) if emotion == "01" else ("01", "02")):
                for statement in statements:
                    for repetition in repetitions:
                        layout.append((emotion, intensity, statement, repetition, actor))
    return layout


def write_ravdess_corpus(root: Path, actors: Iterable[int] = (1, 2, 3, 4), seconds: float = 1.0,
                         sample_rate: int = 16000, suffix: str = ".wav", **layout_kwargs) -> list[Path]:
    """A tiny RAVDESS-named corpus under ``root/Actor_XX/``; returns the files written."""
    paths = []
    for emotion, intensity, statement, repetition, actor in ravdess_layout(actors, **layout_kwargs):
        strong = intensity == "02"
        seed = int(f"{emotion}{intensity}{statement}{repetition}{actor:02d}")
        audio = sung_tone(seconds, sample_rate, f0=180.0 + 30 * int(emotion) + 10 * (actor % 3),
                          vibrato_cents=80.0 if strong else 30.0, amplitude=0.5 if strong else 0.15,
                          brightness=2 + int(emotion), seed=seed)
        path = root / f"Actor_{actor:02d}" / ravdess_name(emotion, intensity, statement, repetition, actor, suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, audio, sample_rate, subtype="PCM_16")
        paths.append(path)
    return paths


def write_evaluation_corpus(root: Path, singers: Iterable[str] = ("f01", "m01", "f02", "m02"),
                            songs: Iterable[str] = ("elly", "fav"), seconds: float = 1.0,
                            sample_rate: int = 16000, takes: Iterable[int] = (1, 2),
                            parts: Iterable[int] = (1, 2)) -> Path:
    """A tiny lab corpus plus ``Evaluation.txt``: ``l_<singer>_<song>_<h|n><take>_e<part>_nm30.wav``.

    ``h`` takes (sung with enthusiasm) score high, ``n`` takes low; every singer sings every
    song in both styles, several takes, each cut into parts, like the lab's files.
    """
    root.mkdir(parents=True, exist_ok=True)
    lines = []
    for s, singer in enumerate(singers):
        for g, song in enumerate(songs):
            for style, score in (("h", 1.6 + 0.1 * s), ("n", 0.3 + 0.1 * g)):
                for take in takes:
                    for part in parts:
                        name = f"l_{singer}_{song}_{style}{take}_e{part}_nm30.wav"
                        audio = sung_tone(seconds, sample_rate, f0=200.0 + 20 * s + 5 * part,
                                          amplitude=0.1 + 0.2 * score, vibrato_cents=25.0 * (1 + score),
                                          seed=1000 * s + 100 * g + 10 * take + part)
                        sf.write(root / name, audio, sample_rate, subtype="PCM_16")
                        lines.append(f"{name} {score:.2f}")
    manifest = root / "Evaluation.txt"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest
