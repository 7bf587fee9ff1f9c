"""Decoding: mono float32 at the pipeline rate, and errors that name the file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import synth
from singaffect import audio_io
from singaffect.audio_io import AudioError
from singaffect.errors import SingaffectError


def test_load_mono_downmixes_and_resamples(tmp_path: Path) -> None:
    left = synth.sung_tone(0.5, 8000, seed=1)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    sf.write(tmp_path / "s.wav", stereo, 8000, subtype="FLOAT")
    same_rate = audio_io.load_mono(tmp_path / "s.wav", 8000)
    assert same_rate.dtype == np.float32 and same_rate.ndim == 1
    np.testing.assert_allclose(same_rate, left / 2, atol=1e-7)
    doubled = audio_io.load_mono(tmp_path / "s.wav", 16000)
    assert doubled.shape == (2 * len(left),) and doubled.flags.c_contiguous
    np.testing.assert_array_equal(doubled, audio_io.load_mono(tmp_path / "s.wav", 16000))  # deterministic


@pytest.mark.parametrize("source_rate, target_rate", [(44100, 22050), (48000, 22050), (8000, 16000)])
def test_resampling_keeps_a_tone_at_its_frequency(tmp_path: Path, source_rate: int, target_rate: int) -> None:
    """A 440 Hz tone is still at 440 Hz after resampling (a wrong rate would move the peak)."""
    t = np.arange(source_rate) / source_rate
    sf.write(tmp_path / "tone.wav", (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), source_rate,
             subtype="FLOAT")
    resampled = audio_io.load_mono(tmp_path / "tone.wav", target_rate)
    assert len(resampled) == target_rate
    spectrum = np.abs(np.fft.rfft(resampled * np.hanning(len(resampled))))
    peak_hz = np.argmax(spectrum) * target_rate / len(resampled)
    assert abs(peak_hz - 440.0) <= 1.0


def test_load_mono_reads_flac(tmp_path: Path) -> None:
    tone = synth.sung_tone(0.25, 16000, seed=2)
    sf.write(tmp_path / "t.flac", tone, 16000, subtype="PCM_16")
    np.testing.assert_allclose(audio_io.load_mono(tmp_path / "t.flac", 16000), tone, atol=1 / 2 ** 14)


def test_errors_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "text.wav").write_text("not audio at all")
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    bad = synth.sung_tone(0.1, 16000)
    bad[10] = np.nan
    sf.write(tmp_path / "nan.wav", bad, 16000, subtype="FLOAT")
    cases = {"missing.wav": "(cannot|no such file)", "text.wav": "cannot decode audio", "empty.wav": "no audio samples",
             "nan.wav": "NaN or infinite"}
    for name, reason in cases.items():
        with pytest.raises(AudioError, match=f"{name}: .*{reason}") as info:
            audio_io.load_mono(tmp_path / name, 16000)
        assert info.value.path == str(tmp_path / name)
        assert isinstance(info.value, SingaffectError)


def test_rms() -> None:
    assert audio_io.rms(np.zeros(0)) == 0.0
    assert audio_io.rms(np.full(10, -0.5, dtype=np.float32)) == pytest.approx(0.5)
    assert audio_io.rms(np.array([3.0, -4.0])) == pytest.approx(np.sqrt(12.5))
