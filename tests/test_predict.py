"""`python -m singaffect predict`: takes of any length, rate and channel count; bad files fail in one line."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import synth
from singaffect import logmel, pad, predict, preprocessing
from singaffect.__main__ import main
from singaffect.corpus import EMOTIONS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_RATE, N_SAMPLES, N_FFT, HOP, N_MELS = 16000, 16000, 512, 256, 32  # 1 s windows


def save_model(folder: Path, task: str) -> Path:
    """An untrained compact_cnn plus the preprocessing.json stages/train.py writes beside it."""
    import keras

    from singaffect.models import build_cnn, normaliser, save_model

    keras.utils.set_random_seed(0)
    stats = {"mean": np.full(N_MELS, -40.0, np.float32), "variance": np.full(N_MELS, 400.0, np.float32)}
    model = build_cnn("compact_cnn", (N_MELS, logmel.n_frames(N_SAMPLES, HOP), 1), task, len(EMOTIONS),
                      normaliser("standard", stats), 1e-3)
    folder.mkdir(parents=True)
    save_model(model, folder / "model.keras")
    (folder / "preprocessing.json").write_text(json.dumps({
        "hop_length": HOP, "n_fft": N_FFT, "n_mels": N_MELS, "n_samples": N_SAMPLES, "sample_rate": SAMPLE_RATE,
        "mel_dtype": "float16", "audio_dtype": "float16", "task": task, "model": "compact_cnn",
        "classes": list(EMOTIONS) if task == "emotion" else [], "pad_seconds": N_SAMPLES / SAMPLE_RATE}))
    return folder / "model.keras"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {task: save_model(root / task, task) for task in ("emotion", "enthusiasm")}


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "singaffect", "predict", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("total, expected", [
    (8000, [0]), (16000, [0]), (24000, [0, 8000]), (32000, [0, 8000, 16000]), (30000, [0, 8000, 14000])])
def test_windows_cover_the_take_and_end_at_its_end(total: int, expected: list[int]) -> None:
    assert predict.window_starts(total, 16000, 8000) == expected


def test_short_take_prints_a_table_whose_scores_match_the_pipeline_features(
        models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    take = tmp_path / "take.wav"
    samples = synth.sung_tone(2.0, SAMPLE_RATE, amplitude=0.4, seed=3)
    sf.write(take, samples, SAMPLE_RATE, subtype="FLOAT")
    curve = tmp_path / "curve.png"

    assert main(["predict", str(take), "--model", str(models["emotion"]), "--plot", str(curve)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{take}: 2.00 s, 3 window(s) of 1.00 s, hop 0.50 s")
    assert lines[1].split()[:3] == ["start", "end", "emotion"] and lines[1].split()[3:] == list(EMOTIONS)
    assert [line.split()[:2] for line in lines[2:5]] == [["0.00", "1.00"], ["0.50", "1.50"], ["1.00", "2.00"]]
    assert lines[5].split()[0] == "mean" and lines[5].split()[1] in EMOTIONS
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main(["predict", str(take), "--model", str(models["emotion"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    from singaffect.models import load_model

    model = load_model(models["emotion"])
    for window in result["windows"]:
        start = int(window["start_s"] * SAMPLE_RATE)
        batch = pad.pad_or_trim(samples[start:start + N_SAMPLES], N_SAMPLES)[0][None]
        batch = batch.astype(np.float16).astype(np.float32)  # as pad stored it (augment.dtype float16)
        mel = logmel.log_mel(batch, SAMPLE_RATE, N_FFT, HOP, N_MELS).astype(np.float16).astype(np.float32)
        expected = model.predict(mel[..., None], verbose=0)[0]
        assert [window["probabilities"][c] for c in EMOTIONS] == pytest.approx(expected, abs=1e-5)
    mean = np.mean([[w["probabilities"][c] for c in EMOTIONS] for w in result["windows"]], axis=0)
    assert [result["mean"]["probabilities"][c] for c in EMOTIONS] == pytest.approx(mean, abs=1e-5)


def test_long_stereo_take_at_44k_is_scored_in_sliding_windows(models: dict[str, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    take = tmp_path / "long take.wav"
    left = synth.sung_tone(12.0, 44100, amplitude=0.5, vibrato_cents=80, seed=1)
    right = synth.sung_tone(12.0, 44100, f0=330.0, amplitude=0.2, seed=2)
    sf.write(take, np.stack([left, right], axis=1), 44100, subtype="PCM_16")

    done = run_cli(str(take), "--model", str(models["enthusiasm"]), "--json", "--hop", "0.5", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["task"] == "enthusiasm" and result["file"] == str(take)
    assert result["duration_s"] == pytest.approx(12.0, abs=1e-3)
    assert (result["window_s"], result["hop_s"]) == (1.0, 0.5)
    starts = [w["start_s"] for w in result["windows"]]
    assert starts == pytest.approx(np.arange(0, 11.01, 0.5))
    assert all(w["end_s"] == pytest.approx(w["start_s"] + 1.0) for w in result["windows"])
    scores = [w["enthusiasm"] for w in result["windows"]]
    assert np.all(np.isfinite(scores))
    assert result["mean"]["enthusiasm"] == pytest.approx(np.mean(scores), abs=1e-5)

    assert main(["predict", str(take), "--model", str(models["enthusiasm"])]) == 0  # the same, as a table
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 23 + 1 and lines[1].split() == ["start", "end", "enthusiasm"]
    assert lines[-1].split()[0] == "mean"
    assert float(lines[-1].split()[1]) == pytest.approx(np.mean(scores), abs=1e-3)


@pytest.mark.parametrize("name, content", [
    ("corrupt.wav", b"RIFF\x10\x00\x00\x00WAVEfmt garbage" * 8), ("empty.flac", b""), ("missing.wav", None)])
def test_bad_audio_is_one_error_line_naming_the_file(models: dict[str, Path], tmp_path: Path, name: str,
                                                     content: bytes | None) -> None:
    take = tmp_path / name
    if content is not None:
        take.write_bytes(content)
    done = run_cli(str(take), "--model", str(models["emotion"]), cwd=tmp_path)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(take) in lines[0], done.stderr


def test_missing_model_or_preprocessing_is_named(models: dict[str, Path], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    take = tmp_path / "take.wav"
    sf.write(take, synth.sung_tone(1.0, SAMPLE_RATE), SAMPLE_RATE)
    assert main(["predict", str(take), "--model", str(tmp_path / "nope.keras")]) == 1
    assert f"{tmp_path / 'nope.keras'}: model file not found" in capsys.readouterr().err
    lonely = tmp_path / "lonely" / "model.keras"
    lonely.parent.mkdir()
    lonely.write_bytes(models["emotion"].read_bytes())
    assert main(["predict", str(take), "--model", str(lonely)]) == 1
    assert str(lonely.with_name("preprocessing.json")) in capsys.readouterr().err


@pytest.mark.parametrize("key", ["mel_dtype", "audio_dtype"])
def test_an_unknown_stored_dtype_is_named(models: dict[str, Path], tmp_path: Path, key: str) -> None:
    model = tmp_path / "model.keras"
    model.write_bytes(models["emotion"].read_bytes())
    prep = json.loads(models["emotion"].with_name("preprocessing.json").read_text())
    (tmp_path / "preprocessing.json").write_text(json.dumps({**prep, key: "int8"}))
    with pytest.raises(preprocessing.PreprocessingError, match=f"preprocessing.json: unknown {key} 'int8'"):
        preprocessing.read(model)


def test_a_damaged_model_is_named(models: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    take = tmp_path / "take.wav"
    sf.write(take, synth.sung_tone(1.0, SAMPLE_RATE), SAMPLE_RATE)
    damaged = tmp_path / "damaged" / "model.keras"
    damaged.parent.mkdir()
    damaged.write_bytes(b"not a zip")
    (damaged.parent / "preprocessing.json").write_bytes(models["emotion"].with_name("preprocessing.json").read_bytes())
    assert main(["predict", str(take), "--model", str(damaged)]) == 1
    assert f"cannot load model '{damaged}'" in capsys.readouterr().err


@pytest.mark.parametrize("hop", ["0", "-1", "nan", "abc"])
def test_hop_must_be_a_positive_number(hop: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["predict", "take.wav", "--hop", hop])
    assert stop.value.code == 2
    assert "--hop" in capsys.readouterr().err


def copy_model(models: dict[str, Path], task: str, folder: Path, **preprocessing: object) -> Path:
    """``models[task]`` in ``folder`` with ``preprocessing`` keys changed."""
    folder.mkdir()
    (folder / "model.keras").write_bytes(models[task].read_bytes())
    prep = json.loads(models[task].with_name("preprocessing.json").read_text())
    (folder / "preprocessing.json").write_text(json.dumps({**prep, **preprocessing}))
    return folder / "model.keras"


@pytest.mark.parametrize("seconds, message", [(1.0, "silent (RMS below 0.0005, the pipeline's data.silence_rms"),
                                              (0.002, "too short to score (2 ms")])
def test_silence_and_a_too_short_clip_are_refused_in_one_line(models: dict[str, Path], tmp_path: Path,
                                                              seconds: float, message: str) -> None:
    take = tmp_path / "nothing.wav"
    samples = np.zeros(int(seconds * SAMPLE_RATE)) if seconds >= 1 else synth.sung_tone(seconds, SAMPLE_RATE)
    sf.write(take, samples, SAMPLE_RATE, subtype="PCM_16")
    for task in ("emotion", "enthusiasm"):
        done = run_cli(str(take), "--model", str(models[task]), cwd=tmp_path)
        assert done.returncode == 1 and done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {take}: {message}"), done.stderr


def test_silent_windows_are_marked_and_left_out_of_the_mean(models: dict[str, Path], tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    tone = synth.sung_tone(1.0, SAMPLE_RATE, amplitude=0.4, seed=5)
    take = tmp_path / "gap.wav"  # 1 s sung, 2 s of digital silence, 1 s sung
    sf.write(take, np.concatenate([tone, np.zeros(2 * SAMPLE_RATE), tone[::-1]]), SAMPLE_RATE, subtype="FLOAT")
    curve = tmp_path / "gap.png"
    assert main(["predict", str(take), "--model", str(models["enthusiasm"]), "--json", "--plot", str(curve)]) == 0
    result = json.loads(capsys.readouterr().out)
    status = {w["start_s"]: w["status"] for w in result["windows"]}
    assert status == {0.0: "ok", 0.5: "ok", 1.0: "silent", 1.5: "silent", 2.0: "silent", 2.5: "ok", 3.0: "ok"}
    assert all(("enthusiasm" in w) == (w["status"] == "ok") for w in result["windows"])
    assert result["windows_scored"] == 4
    ok = [w["enthusiasm"] for w in result["windows"] if w["status"] == "ok"]
    assert result["mean"]["enthusiasm"] == pytest.approx(np.mean(ok), abs=1e-5)
    assert curve.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    assert main(["predict", str(take), "--model", str(models["emotion"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "3 silent window(s) left out of the mean" in lines[0]
    assert [line.split()[2] for line in lines[4:7]] == ["silent"] * 3  # windows at 1.0, 1.5 and 2.0 s
    assert all(line.split()[2] in EMOTIONS for line in lines[2:4] + lines[7:9])


def test_predict_applies_the_calibration_stored_with_the_model(models: dict[str, Path], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture) -> None:
    take = tmp_path / "take.wav"
    sf.write(take, synth.sung_tone(3.0, SAMPLE_RATE, amplitude=0.4, seed=8), SAMPLE_RATE, subtype="FLOAT")
    assert main(["predict", str(take), "--model", str(models["enthusiasm"]), "--json"]) == 0
    raw = json.loads(capsys.readouterr().out)
    assert raw["calibration"] == "none"
    mapping = {"method": "linear", "slope": 3.0, "intercept": -0.9, "clip": [0.0, 1.0], "n_val": 10}
    calibrated = copy_model(models, "enthusiasm", tmp_path / "calibrated", calibration=mapping)
    assert main(["predict", str(take), "--model", str(calibrated), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["calibration"] == "linear"
    expected = np.clip(3.0 * np.array([w["enthusiasm"] for w in raw["windows"]]) - 0.9, 0, 1)
    assert [w["enthusiasm"] for w in got["windows"]] == pytest.approx(expected, abs=1e-5)
    assert got["mean"]["enthusiasm"] == pytest.approx(expected.mean(), abs=1e-5)
