"""Fixed-length audio: every clip made ``pad.seconds`` long (the pad stage, and predict's windows)."""
from __future__ import annotations

import numpy as np


def pad_or_trim(samples: np.ndarray, length: int) -> tuple[np.ndarray, int]:
    """``samples`` zero-padded or cut at the end to ``length``; also how many samples were cut."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.size >= length:
        return samples[:length].copy(), int(samples.size - length)
    out = np.zeros(length, dtype=np.float32)
    out[:samples.size] = samples
    return out, 0
