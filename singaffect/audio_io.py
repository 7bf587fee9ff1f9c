"""Decode audio files into mono float32 at the pipeline's sample rate.

Every failure is an ``AudioError`` that names the file and the reason, so a corpus
nobody here wrote fails loudly instead of feeding garbage downstream.
"""
from __future__ import annotations

import struct
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from singaffect.errors import FileRejected

# Native rates a recording may plausibly have; a header claiming 1 Hz would make the
# resampler produce thousands of times more samples than the file holds.
NATIVE_RATES = (1000, 768000)


class AudioError(FileRejected):
    """A file that cannot become a usable clip; ``str()`` names the file and the reason."""


def load_mono(path: str | Path, sample_rate: int) -> np.ndarray:
    """Read ``path``, down-mix to mono and resample to ``sample_rate`` (soxr, deterministic)."""
    path = Path(path)
    if not path.is_file():  # libsndfile only says "System error"
        raise AudioError(path, "no such file" if not path.exists() else "not a regular file")
    try:
        _check_wav_length(path)
        data, native_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError) as error:
        detail = str(error).replace(f"Error opening {str(path)!r}: ", "")  # the path is named already
        raise AudioError(path, f"cannot decode audio ({detail})") from None
    except OSError as error:
        raise AudioError(path, f"cannot read file ({error.strerror or error})") from None
    if data.shape[0] == 0:
        raise AudioError(path, "file holds no audio samples")
    if not np.all(np.isfinite(data)):
        raise AudioError(path, "decoded audio contains NaN or infinite samples")
    # one channel: a view, no float64 copy (a long mono file costs one array, not three)
    mono = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float64).astype(np.float32)
    del data
    if not NATIVE_RATES[0] <= native_rate <= NATIVE_RATES[1]:
        raise AudioError(path, f"sample rate {native_rate} Hz is outside {NATIVE_RATES[0]}..{NATIVE_RATES[1]} Hz")
    if native_rate != sample_rate:
        mono = librosa.resample(mono, orig_sr=native_rate, target_sr=sample_rate, res_type="soxr_hq")
    return np.ascontiguousarray(mono, dtype=np.float32)


def _check_wav_length(path: Path) -> None:
    """Refuse a truncated WAV: libsndfile quietly decodes whatever part of it survived.

    The ``data`` chunk size in the header is compared with the bytes present
    (0 and 0xFFFFFFFF mean "unknown" for streamed files and pass). Cut or damaged
    FLAC needs no such check: libsndfile refuses it (``flac decoder lost sync``).
    """
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return
        size = path.stat().st_size
        position = 12
        while position + 8 <= size:
            handle.seek(position)
            chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
            if chunk_id == b"data":
                present = size - position - 8
                if chunk_size not in (0, 0xFFFFFFFF) and chunk_size > present:
                    raise AudioError(path, f"truncated WAV: header declares {chunk_size} bytes of audio, "
                                           f"file holds {present}")
                return
            position += 8 + chunk_size + (chunk_size & 1)


def rms(samples: np.ndarray) -> float:
    """Root mean square level, used to flag silent clips."""
    return float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
