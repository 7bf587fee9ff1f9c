"""The raw stage over hostile corpora (tests/hostile.py), under both data.on_error policies.

Stages run in-process (``tinyrepo.run_stage``: the stage's ``main`` through
``singaffect.stage.run`` with the tiny repo as working directory), which is what
``python -m stages.raw`` does, without paying the imports once per case.
"""
from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import h5py
import numpy as np
import pytest

import hostile
import tinyrepo
from singaffect import corpus


def make_repo(tmp_path: Path, case: hostile.Case, **params) -> tuple[Path, str, int]:
    """A tiny repo whose corpus is ``case``; returns (repo, path the case names, healthy clips)."""
    written = {}

    def write(root: Path) -> None:
        written["named"], written["good"] = hostile.write_case(root, case)

    repo = tinyrepo.make_repo(tmp_path / "repo", corpus=write, params={
        "data.corpus": case.corpus, "data.manifest": hostile.CORPORA[case.corpus][1], **params})
    return repo, written["named"], written["good"]


def error_lines(capsys: pytest.CaptureFixture) -> tuple[list[str], str]:
    err = capsys.readouterr().err
    return [line for line in err.splitlines() if line.startswith("error:")], err


def outputs(repo: Path) -> list[str]:
    folder = repo / "data" / "raw"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.mark.parametrize("case", hostile.REJECTED, ids=str)
def test_fail_policy_stops_with_one_message_naming_the_file(case, tmp_path, capsys):
    repo, named, _ = make_repo(tmp_path, case)  # data.on_error: fail is the default
    assert tinyrepo.run_stage(repo, "raw") == 1
    errors, err = error_lines(capsys)
    assert len(errors) == 1, err
    assert "Traceback" not in err
    assert named in errors[0] and case.reason in errors[0], errors[0]
    assert outputs(repo) == [], "a failed raw stage must leave no output behind"
    assert not (repo / "metrics" / "raw.json").exists()


@pytest.mark.parametrize("case", hostile.REJECTED, ids=str)
def test_skip_policy_records_the_file_and_goes_on(case, tmp_path, capsys):
    repo, named, n_good = make_repo(tmp_path, case, **{"data.on_error": "skip", "data.max_rejected_fraction": 0.5})
    assert tinyrepo.run_stage(repo, "raw") == 0, capsys.readouterr().err
    rejected = corpus.read_manifest(repo / "data/raw/rejected.csv")
    assert len(rejected) == 1, rejected
    assert named in rejected[0]["path"] and case.reason in rejected[0]["reason"], rejected[0]
    kept = corpus.read_manifest(repo / "data/raw/manifest.csv")
    assert len(kept) == n_good
    assert all(named not in row["path"] for row in kept)
    report = json.loads((repo / "metrics/raw.json").read_text())
    assert (report["clips"], report["rejected"]) == (n_good, 1)
    with h5py.File(repo / "data/raw/audio.h5") as handle:
        assert len(handle["offsets"]) - 1 == n_good


def test_skip_policy_fails_above_max_rejected_fraction(tmp_path, capsys):
    case = next(c for c in hostile.REJECTED if c.name == "text_named_wav")
    repo, named, n_good = make_repo(tmp_path, case, **{"data.on_error": "skip", "data.max_rejected_fraction": 0.02})
    assert 1 / (n_good + 1) > 0.02
    assert tinyrepo.run_stage(repo, "raw") == 1
    errors, err = error_lines(capsys)
    assert len(errors) == 1, err
    assert "data.max_rejected_fraction" in errors[0] and named in errors[0]
    assert outputs(repo) == []


def test_skip_policy_with_every_file_rejected_fails(tmp_path, capsys):
    """Rejections from listing and from decoding add up; nothing left is an error, not an empty dataset."""
    def write(root: Path) -> None:
        for case in hostile.REJECTED:
            if case.corpus == "ravdess" and case.name != "duplicate_clip_id":
                (root / case.name).mkdir()
                case.write(root / case.name)

    repo = tinyrepo.make_repo(tmp_path / "repo", corpus=write,
                              params={"data.on_error": "skip", "data.max_rejected_fraction": 1.0})
    assert tinyrepo.run_stage(repo, "raw") == 1
    errors, _ = error_lines(capsys)
    assert len(errors) == 1 and "files rejected" in errors[0]
    assert outputs(repo) == []


@pytest.mark.parametrize("case", hostile.ACCEPTED, ids=str)
def test_odd_but_usable_audio_is_kept(case, tmp_path, capsys):
    repo, named, n_good = make_repo(tmp_path, case)
    assert tinyrepo.run_stage(repo, "raw") == 0, capsys.readouterr().err
    assert corpus.read_manifest(repo / "data/raw/rejected.csv") == []
    kept = corpus.read_manifest(repo / "data/raw/manifest.csv")
    if case.name == "dir_symlink_loop":  # listed once, never through the loop
        assert len(kept) == n_good and all("loop" not in row["path"] for row in kept)
        return
    assert len(kept) == n_good + 1 and any(row["path"] == named for row in kept)
    with h5py.File(repo / "data/raw/audio.h5") as handle:
        assert handle.attrs["sample_rate"] == 8000
        assert np.all(np.isfinite(handle["samples"][:]))
    report = json.loads((repo / "metrics/raw.json").read_text())
    # one sample at 96 kHz resamples to a single zero at 8 kHz: silent too
    silent = case.name in ("silent", "single_sample")
    assert report["silent_clips"] == ([Path(named).stem] if silent else [])
    assert report["silent"] == len(report["silent_clips"])


def test_short_silent_and_long_clips_flow_through_pad_and_mel(tmp_path, capsys):
    """Silent and over-trimmed clips are counted in metrics/{raw,pad}.json; a clip shorter
    than one FFT frame (and one of a single sample) goes through augment, pad and mel."""
    def write(root: Path) -> None:
        hostile.base_ravdess(root)
        for name, samples in (("03-02-03-01-01-01-06", np.zeros(4000, np.float32)),  # silent
                              ("03-02-03-02-01-01-06", hostile.tone()[:100]),         # < n_fft
                              ("03-02-03-01-02-01-06", hostile.tone()[:1]),           # one sample
                              ("03-02-03-02-02-01-06", hostile.tone(3.0))):           # trimmed by 2/3
            hostile.write_clip(root, f"Actor_06/{name}.wav", samples)

    repo = tinyrepo.make_repo(tmp_path / "repo", corpus=write, params={"augment.copies": 1})
    for name in ("raw", "augment", "pad", "mel"):
        assert tinyrepo.run_stage(repo, name) == 0, capsys.readouterr().err
    raw = json.loads((repo / "metrics/raw.json").read_text())
    assert raw["silent_clips"] == ["03-02-03-01-01-01-06"]
    pad = json.loads((repo / "metrics/pad.json").read_text())
    assert pad["rows"] == 2 * 28 and pad["length_samples"] == 8000  # 24 base clips (both takes) + 4
    assert "03-02-03-02-02-01-06" in pad["trimmed_clips"]
    assert pad["trimmed_over_limit"] >= 1
    assert pad["silent_rows"] >= 2  # the silent clip and the single sample, padded (copies may get noise)
    with h5py.File(repo / "data/mel/mel.h5") as handle:
        mel = handle["mel"][:]
    assert mel.shape[0] == 56 and np.all(np.isfinite(mel))


def test_ten_minute_file_is_decoded_within_bounded_memory(tmp_path, capsys):
    """A 10-minute clip (4.8 M samples) costs a few copies of itself while raw decodes it
    (numpy allocations, which tracemalloc sees), and pad reports it as trimmed."""
    def write(root: Path) -> None:
        hostile.base_ravdess(root)
        hostile.ten_minutes(root)

    repo = tinyrepo.make_repo(tmp_path / "repo", corpus=write, params={"augment.copies": 0})
    clip_bytes = 600 * 8000 * 4  # float32 at the pipeline rate
    tracemalloc.start()
    try:
        assert tinyrepo.run_stage(repo, "raw") == 0, capsys.readouterr().err
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # decoded samples + rms()'s float64 squares + the HDF5 write block: about 3.3 clips today
    assert peak < 5 * clip_bytes, f"raw peaked at {peak / 1e6:.0f} MB for a {clip_bytes / 1e6:.0f} MB clip"
    for name in ("augment", "pad"):
        assert tinyrepo.run_stage(repo, name) == 0, capsys.readouterr().err
    pad = json.loads((repo / "metrics/pad.json").read_text())
    assert pad["trimmed_clips"] == [hostile.NAME]
