"""Fixed-length audio and log-mel features."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import synth
from singaffect import logmel, pad


def test_pad_short_clip_keeps_content_and_zero_fills() -> None:
    clip = np.arange(1, 6, dtype=np.float32)
    out, cut = pad.pad_or_trim(clip, 8)
    assert out.shape == (8,) and out.dtype == np.float32 and cut == 0
    np.testing.assert_array_equal(out, [1, 2, 3, 4, 5, 0, 0, 0])


def test_trim_long_clip_keeps_start_and_counts_cut_samples() -> None:
    clip = np.arange(10, dtype=np.float64)
    out, cut = pad.pad_or_trim(clip, 6)
    assert out.shape == (6,) and out.dtype == np.float32 and cut == 4
    np.testing.assert_array_equal(out, [0, 1, 2, 3, 4, 5])


def test_exact_length_is_a_copy() -> None:
    clip = np.linspace(-1, 1, 7).astype(np.float32)
    out, cut = pad.pad_or_trim(clip, 7)
    assert cut == 0
    np.testing.assert_array_equal(out, clip)
    out[0] = 42.0
    assert clip[0] == -1.0


def test_empty_clip_pads_to_silence() -> None:
    out, cut = pad.pad_or_trim(np.zeros(0, dtype=np.float32), 4)
    np.testing.assert_array_equal(out, np.zeros(4))
    assert cut == 0


@pytest.mark.parametrize("n_samples, hop, frames", [(16000, 256, 63), (16000, 512, 32), (22050 * 5, 512, 216),
                                                     (512, 512, 2), (511, 512, 1)])
def test_n_frames(n_samples: int, hop: int, frames: int) -> None:
    assert logmel.n_frames(n_samples, hop) == frames


@pytest.mark.parametrize("n_samples, n_fft, hop, n_mels", [(16000, 512, 256, 32), (8000, 1024, 128, 40)])
def test_log_mel_shape_and_finite(n_samples: int, n_fft: int, hop: int, n_mels: int) -> None:
    batch = np.stack([synth.sung_tone(n_samples / 16000, 16000, seed=i) for i in range(3)]
                     + [np.zeros(n_samples, dtype=np.float32)])
    out = logmel.log_mel(batch, 16000, n_fft, hop, n_mels)
    assert out.shape == (4, n_mels, 1 + n_samples // hop)
    assert out.shape[2] == logmel.n_frames(n_samples, hop)
    assert out.dtype == np.float32
    assert np.all(np.isfinite(out))
    assert np.all(out[3] == pytest.approx(-100.0))  # silence floors at amin=1e-10 -> -100 dB


def test_log_mel_single_clip_and_absolute_reference() -> None:
    tone = synth.sung_tone(0.5, 16000, seed=3)
    one = logmel.log_mel(tone, 16000, 512, 256, 32)
    assert one.shape == (1, 32, 1 + 8000 // 256)
    louder = logmel.log_mel(tone * 2, 16000, 512, 256, 32)
    # fixed reference: doubling the amplitude adds 20*log10(2) dB where the signal dominates
    strong = one > one.max() - 30
    np.testing.assert_allclose((louder - one)[strong], 20 * np.log10(2), atol=1e-3)


def test_log_mel_is_deterministic() -> None:
    batch = np.stack([synth.sung_tone(0.5, 16000, seed=i) for i in range(2)])
    a = logmel.log_mel(batch, 16000, 512, 256, 32)
    b = logmel.log_mel(batch, 16000, 512, 256, 32)
    assert a.tobytes() == b.tobytes()
    np.testing.assert_allclose(logmel.log_mel(batch[1:], 16000, 512, 256, 32)[0], a[1], rtol=0, atol=1e-4)


@pytest.mark.parametrize("n", [50, 100, 160])
def test_pad_in_the_stored_dtype_equals_the_float32_round_trip(n: int) -> None:
    """The pad stage pads float16 rows as float16: the same bytes as padding in float32 and casting back."""
    clip = (np.random.default_rng(n).standard_normal(n) * 0.1).astype(np.float16)
    direct, cut = pad.pad_or_trim(clip, 100, np.float16)
    via32, cut32 = pad.pad_or_trim(clip, 100)
    assert direct.dtype == np.float16 and via32.dtype == np.float32 and cut == cut32 == max(0, n - 100)
    assert direct.tobytes() == via32.astype(np.float16).tobytes()


def test_log_mel_equals_librosa_batched_and_seed_call() -> None:
    """The row-at-a-time loop gives the bytes of one batched STFT (the form mel.h5 files were
    first written with) and seed 2's ``melspectrogram`` numbers up to float rounding."""
    import librosa

    batch = np.stack([synth.sung_tone(0.5, 16000, seed=i) for i in range(3)])
    ours = logmel.log_mel(batch, 16000, 512, 256, 32)
    power = np.abs(librosa.stft(batch, n_fft=512, hop_length=256)) ** 2
    basis = librosa.filters.mel(sr=16000, n_fft=512, n_mels=32)
    batched = librosa.power_to_db(np.stack([basis @ row for row in power]), ref=1.0, amin=1e-10, top_db=None)
    assert ours.tobytes() == batched.astype(np.float32).tobytes()
    seed = [librosa.power_to_db(librosa.feature.melspectrogram(y=row, sr=16000, n_fft=512, hop_length=256,
                                                              n_mels=32), ref=1.0, amin=1e-10, top_db=None)
            for row in batch]
    np.testing.assert_allclose(ours, np.stack(seed), rtol=0, atol=1e-3)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), length=st.integers(1, 300))
def test_pad_or_trim_property(n: int, length: int) -> None:
    clip = np.arange(1, n + 1, dtype=np.float32)
    out, cut = pad.pad_or_trim(clip, length)
    assert out.shape == (length,) and out.dtype == np.float32
    assert cut == max(0, n - length)
    kept = min(n, length)
    np.testing.assert_array_equal(out[:kept], clip[:kept])
    assert not np.any(out[kept:])
