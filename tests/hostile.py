"""Hostile corpora: what a corpus nobody here wrote may hold, written on demand.

Each ``Case`` adds one odd file (or manifest line) to a small healthy corpus.
``REJECTED`` cases must be refused by the raw stage with a reason that names the
file; ``ACCEPTED`` cases are odd but usable audio the pipeline must survive.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf

import synth

# the healthy part: 2 actors x (neutral + calm normal/strong) x 2 statements = 12 clips of 0.5 s
BASE_ACTORS = (1, 2)
BASE_EMOTIONS = ("01", "03")
RATE = 8000
NAME = "03-02-02-01-01-01-05"  # a valid RAVDESS song name (calm, normal, actor 5) for odd audio
ODD = f"Actor_05/{NAME}"


def base_ravdess(root: Path) -> int:
    """The healthy RAVDESS-named clips every case starts from; returns how many."""
    return len(synth.write_ravdess_corpus(root, actors=BASE_ACTORS, emotions=BASE_EMOTIONS,
                                          seconds=0.5, sample_rate=RATE))


def base_evaluation(root: Path) -> int:
    """A healthy lab corpus with ``Evaluation.txt`` (4 singers x 2 songs x 2 styles x 2 takes x 2 parts)."""
    manifest = synth.write_evaluation_corpus(root, seconds=0.5, sample_rate=RATE)
    return len(manifest.read_text().splitlines())


def base_csv(root: Path) -> int:
    """The lab corpus again, listed by ``manifest.csv`` (``path,speaker,song,target``)."""
    base_evaluation(root)
    lines = ["path,speaker,song,target"]
    for line in (root / "Evaluation.txt").read_text().splitlines():
        name, score = line.split()
        lines.append(f"{name},{name.split('_')[1]},{name.split('_')[2]},{score}")
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return len(lines) - 1


CORPORA: dict[str, tuple[Callable[[Path], int], str]] = {
    "ravdess": (base_ravdess, ""),
    "evaluation_txt": (base_evaluation, "Evaluation.txt"),
    "csv": (base_csv, "manifest.csv"),
}


def tone(seconds: float = 0.5, rate: int = RATE, channels: int = 1) -> np.ndarray:
    mono = synth.sung_tone(seconds, rate, seed=5)
    return mono if channels == 1 else np.repeat(mono[:, None], channels, axis=1)


def _target(root: Path, suffix: str = ".wav", name: str = ODD) -> Path:
    path = root / f"{name}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_clip(root: Path, relative: str, samples: np.ndarray, rate: int = RATE, subtype: str = "PCM_16") -> str:
    """``samples`` as ``root/relative``; returns ``relative``."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, samples, rate, subtype=subtype)
    return relative


def _audio(samples: np.ndarray, rate: int = RATE, subtype: str = "PCM_16", suffix: str = ".wav"):
    """A writer of one odd RAVDESS-named file holding ``samples``."""
    return lambda root: write_clip(root, f"{ODD}{suffix}", samples, rate, subtype)


def _bytes(make: Callable[[bytes], bytes], suffix: str = ".wav"):
    """A writer that damages the bytes of a good file of type ``suffix``."""
    def write(root: Path) -> str:
        path = _target(root, suffix)
        sf.write(path, tone(), RATE, subtype="PCM_16")
        path.write_bytes(make(path.read_bytes()))
        return f"{ODD}{suffix}"
    return write


def _garbage(data: bytes) -> bytes:
    """Random bytes over the middle third (FLAC: several frames, WAV: samples only)."""
    third = len(data) // 3
    noise = np.random.default_rng(0).integers(0, 256, third, dtype=np.uint8).tobytes()
    return data[:third] + noise + data[2 * third:]


def _named(name: str):
    """A good clip under an odd file name (relative to the root)."""
    return lambda root: write_clip(root, name, tone())


def _duplicate(root: Path) -> str:
    """A second file whose name (hence clip id) an actor folder already holds."""
    name = f"03-02-01-01-01-01-{BASE_ACTORS[0]:02d}.wav"
    return _named(f"Actor_05/{name}")(root)


def _symlink_loop(root: Path) -> str:
    path = _target(root)
    os.symlink(path.name, path)  # points at itself
    return f"{ODD}.wav"


def _symlink_outside(root: Path) -> str:
    outside = root.parent / "outside.wav"
    sf.write(outside, tone(), RATE)
    os.symlink(outside, _target(root))
    return f"{ODD}.wav"


def _dir_symlink_loop(root: Path) -> str:
    """A folder link back to the root (``Actor_01/loop -> ..``): listing must not recurse forever."""
    os.symlink("..", root / f"Actor_{BASE_ACTORS[0]:02d}" / "loop")
    return f"Actor_{BASE_ACTORS[0]:02d}/loop"


def _manifest_line(line: str, file: str = "Evaluation.txt", audio: bool = False):
    """Append ``line`` to the manifest (and with ``audio`` write the file it names); returns that path."""
    def write(root: Path) -> str:
        named = line.split("," if file.endswith(".csv") else None)[0]
        if audio:
            write_clip(root, named, tone())
        with (root / file).open("a") as handle:
            handle.write(line + "\n")
        return named
    return write


def _bad_line(root: Path) -> str:
    lines = (root / "Evaluation.txt").read_text().splitlines()
    (root / "Evaluation.txt").write_text("\n".join([*lines, "a.wav b c"]) + "\n")
    return f"Evaluation.txt:{len(lines) + 1}"


@dataclass(frozen=True)
class Case:
    """One hostile addition to a healthy corpus.

    ``write(root)`` adds it and returns the path (relative to the root) that a
    rejection names; ``reason`` is a fragment of the expected rejection reason,
    ``None`` for odd but usable audio.
    """

    name: str
    write: Callable[[Path], str]
    reason: str | None
    corpus: str = "ravdess"

    def __str__(self) -> str:
        return self.name


def _nan() -> np.ndarray:
    samples = tone()
    samples[100] = np.nan
    return samples


def _inf() -> np.ndarray:
    samples = tone().astype(np.float64)
    samples[100] = -np.inf
    return samples


REJECTED = [
    Case("truncated_wav", _bytes(lambda b: b[:len(b) // 2]), "truncated WAV"),
    Case("truncated_flac", _bytes(lambda b: b[:len(b) // 2], ".flac"), "cannot decode audio"),
    Case("corrupt_flac", _bytes(_garbage, ".flac"), "cannot decode audio"),
    Case("corrupt_wav_header", _bytes(lambda b: b"JUNK" + b[4:]), "cannot decode audio"),
    Case("header_cut_wav", _bytes(lambda b: b[:30]), "cannot decode audio"),
    Case("zero_length", _bytes(lambda b: b""), "cannot decode audio"),
    Case("text_named_wav", _bytes(lambda b: b"this is not audio\n" * 20), "cannot decode audio"),
    Case("no_samples", _audio(np.zeros(0, np.float32)), "no audio samples"),
    Case("nan_float_wav", _audio(_nan(), subtype="FLOAT"), "NaN or infinite"),
    Case("inf_double_wav", _audio(_inf(), subtype="DOUBLE"), "NaN or infinite"),
    Case("absurd_rate", _audio(tone(), rate=1), "sample rate 1 Hz"),
    Case("duplicate_clip_id", _duplicate, "duplicate clip id"),
    Case("unparseable_name", _named("Actor_05/my song (final).wav"), "not a RAVDESS name"),
    Case("unknown_emotion", _named("Actor_05/03-02-07-01-01-01-05.wav"), "unknown emotion code 07"),
    Case("speech_channel", _named("Actor_05/03-01-02-01-01-01-05.wav"), "vocal channel 01"),
    Case("neutral_strong", _named("Actor_05/03-02-01-02-01-01-05.wav"), "neutral has no strong"),
    Case("unknown_actor", _named("Actor_25/03-02-02-01-01-01-25.wav"), "unknown actor 25"),
    Case("symlink_loop", _symlink_loop, "cannot resolve"),
    Case("symlink_outside_root", _symlink_outside, "escapes the corpus root"),
    Case("manifest_missing_file", _manifest_line("missing.wav 1.0"), "does not exist", "evaluation_txt"),
    Case("manifest_outside_root", _manifest_line("../../etc/passwd 1.0"), "escapes the corpus root",
         "evaluation_txt"),
    Case("manifest_absolute_path", _manifest_line("/etc/passwd,x,y,1.0", "manifest.csv"),
         "escapes the corpus root", "csv"),
    Case("manifest_score_above_max", _manifest_line("l_f09_elly_h1_e1_nm30.wav 7.5", audio=True), "outside 0..2",
         "evaluation_txt"),
    Case("manifest_score_not_number", _manifest_line("l_f09_elly_h1_e1_nm30.wav loud", audio=True), "not a number",
         "evaluation_txt"),
    Case("manifest_bad_line", _bad_line, "expected 'filename score'", "evaluation_txt"),
    Case("csv_target_not_number", _manifest_line("l_m09_fav_h1_n1_nm30.wav,m09,fav,high", "manifest.csv", audio=True),
         "not a number", "csv"),
]

_square = np.sign(tone()).astype(np.float32)  # full scale: every sample at +-1
_overdriven = (4.0 * tone()).astype(np.float32)  # float WAV may exceed +-1

ACCEPTED = [
    Case("pcm_u8", _audio(tone(), subtype="PCM_U8"), None),
    Case("pcm_24", _audio(tone(), subtype="PCM_24"), None),
    Case("float32_wav", _audio(tone(), subtype="FLOAT"), None),
    Case("float64_wav", _audio(tone(), subtype="DOUBLE"), None),
    Case("flac", _audio(tone(), subtype="PCM_16", suffix=".flac"), None),
    Case("rate_8k", _audio(tone(rate=8000), rate=8000), None),
    Case("rate_96k", _audio(tone(rate=96000), rate=96000), None),
    Case("stereo", _audio(tone(channels=2)), None),
    Case("six_channels", _audio(tone(channels=6)), None),
    Case("silent", _audio(np.zeros(RATE // 2, np.float32)), None),
    Case("clipped_pcm", _audio(_square), None),
    Case("overdriven_float", _audio(_overdriven, subtype="FLOAT"), None),
    Case("shorter_than_fft_frame", _audio(tone()[:100]), None),
    Case("single_sample", _audio(tone()[:1], rate=96000), None),
    # PCM has no checksum: damaged samples decode as noise, undetectable (documented, accepted)
    Case("corrupt_wav_samples", _bytes(_garbage), None),
    Case("dir_symlink_loop", _dir_symlink_loop, None),
]


def write_case(root: Path, case: Case) -> tuple[str, int]:
    """A healthy corpus of ``case.corpus`` plus the case under ``root``: (path it names, healthy clips)."""
    root.mkdir(parents=True, exist_ok=True)
    n_good = CORPORA[case.corpus][0](root)
    return case.write(root), n_good


def ten_minutes(root: Path, rate: int = 8000) -> str:
    """A 10-minute clip of quiet noise (8 kHz, 16 bit: 9.6 MB) written in blocks."""
    path = _target(root)
    rng = np.random.default_rng(10)
    with sf.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as handle:
        for _ in range(10):
            handle.write((0.01 * rng.standard_normal(60 * rate)).astype(np.float32))
    return f"{ODD}.wav"
