"""Log-mel spectrograms of fixed-length clips (the mel stage, and predict's windows).

``log_mel`` turns a batch of clips into log-mel power: an STFT and a BLAS product per row.
"""
from __future__ import annotations

import librosa
import numpy as np
from threadpoolctl import threadpool_limits


def n_frames(n_samples: int, hop_length: int) -> int:
    """Frames librosa gives a centred STFT of ``n_samples``."""
    return 1 + n_samples // hop_length


def log_mel(batch: np.ndarray, sample_rate: int, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    """Log-mel power (dB, absolute reference) of a ``(clips, samples)`` batch.

    The reference is fixed at 1.0 rather than each clip's maximum so that loudness,
    part of how enthusiasm sounds, survives into the features.

    Same numbers as ``librosa.feature.melspectrogram`` up to float rounding, but byte-stable:
    BLAS sums differently with the thread count and the matrix shape, so the mel
    projection is done one row at a time on one BLAS thread. A row's features then
    never depend on ``compute.n_jobs``, ``compute.chunk_size`` or the number of
    cores (the STFT is an FFT per row and does not either).
    """
    batch = np.atleast_2d(np.asarray(batch, dtype=np.float32))
    basis = librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)
    mel = np.empty((len(batch), n_mels, n_frames(batch.shape[-1], hop_length)), dtype=np.float32)
    with threadpool_limits(limits=1, user_api="blas"):
        for out, row in zip(mel, batch):  # one row at a time: its STFT stays in cache (same bytes as batched)
            np.matmul(basis, np.abs(librosa.stft(row, n_fft=n_fft, hop_length=hop_length)) ** 2, out=out)
    return librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=None).astype(np.float32)
