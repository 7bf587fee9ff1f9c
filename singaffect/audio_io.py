"""Decode audio files into mono float32 at the pipeline's sample rate.

Every failure is an ``AudioError`` that names the file and the reason, so a corpus
nobody here wrote fails loudly instead of feeding garbage downstream.
"""
from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from singaffect.errors import SingaffectError


class AudioError(SingaffectError, ValueError):
    """A file that cannot become a usable clip; ``str()`` names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


def load_mono(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read ``path``, down-mix to mono and resample to ``sample_rate`` (soxr, deterministic)."""
    path = Path(path)
    if not path.is_file():  # libsndfile only says "System error"
        raise AudioError(path, "no such file" if not path.exists() else "not a regular file")
    try:
        data, native_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        raise AudioError(path, f"cannot decode audio ({error})") from None
    except OSError as error:
        raise AudioError(path, f"cannot read file ({error.strerror or error})") from None
    if data.shape[0] == 0:
        raise AudioError(path, "file holds no audio samples")
    if not np.all(np.isfinite(data)):
        raise AudioError(path, "decoded audio contains NaN or infinite samples")
    mono = data.mean(axis=1, dtype=np.float64).astype(np.float32)
    if native_rate != sample_rate:
        mono = librosa.resample(mono, orig_sr=native_rate, target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(mono, dtype=np.float32)


def rms(samples: np.ndarray) -> float:
    """Root mean square level, used to flag silent clips."""
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
