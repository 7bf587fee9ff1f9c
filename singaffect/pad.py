"""Fixed-length audio: every clip made ``pad.seconds`` long (the pad stage, and predict's windows)."""
from __future__ import annotations

import numpy as np


def pad_or_trim(samples: np.ndarray, length: int, dtype: np.dtype | str = np.float32) -> tuple[np.ndarray, int]:
    """``samples`` zero-padded or cut at the end to ``length``, as ``dtype``; also how many samples were cut.

    The pad stage passes its stored dtype (float16 by default), so samples it read are copied, never
    converted there and back.
    """
    samples = np.asarray(samples, dtype=dtype)
    if samples.size >= length:
        return samples[:length].copy(), int(samples.size - length)
    out = np.zeros(length, dtype=dtype)
    out[:samples.size] = samples
    return out, 0
