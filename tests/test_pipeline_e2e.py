"""End to end: ``dvc repro`` of the whole pipeline on a tiny synthetic corpus, in a scratch repo.

Checks what only a real run shows: the stages connect, metrics come out sane, DVC sees
every dependency (a second repro reruns nothing) and a split param change reruns only
the stages downstream of it (raw/augment/pad/mel stay cached).
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

import synth

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("raw", "augment", "pad", "mel", "split", "train", "evaluate")
TARGET = "evaluate"  # the foundation chain; stages other work adds to dvc.yaml are not this test's business


def tiny_params() -> dict:
    """The repository's params.yaml scaled down to seconds of CPU."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["data"].update(corpus="ravdess", root="corpus", manifest="", sample_rate=16000)
    params["augment"]["copies"] = 1
    params["pad"]["seconds"] = 1.0
    params["mel"].update(n_mels=32, n_fft=512, hop_length=256)
    params["split"].update(strategy="group", test_speakers=[4], val_speakers=[3])
    params["train"].update(epochs=2, batch_size=16, patience=2)
    params["compute"].update(n_jobs=1, chunk_size=16)
    return params


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DVC_", "GIT_")) and k not in ("VIRTUAL_ENV_PROMPT",)}
    # stage commands say ``python``: make it this interpreter's environment
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(DVC_NO_ANALYTICS="1", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return env


def sh(repo: Path, *args: str) -> str:
    """Run a command in ``repo``; fail the test with its output if it fails."""
    result = subprocess.run(args, cwd=repo, env=environment(), capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{output[-6000:]}")
    return output


def dvc(repo: Path, *args: str) -> str:
    return sh(repo, sys.executable, "-m", "dvc", *args)


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("pipeline")
    for name in ("dvc.yaml", "stages", "singaffect"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, repo / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, repo / name)
    (repo / "params.yaml").write_text(yaml.safe_dump(tiny_params(), sort_keys=False))
    synth.write_ravdess_corpus(repo / "corpus", actors=(1, 2, 3, 4))
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "config", "user.email", "tests@singaffect.invalid")
    sh(repo, "git", "config", "user.name", "singaffect tests")
    sh(repo, "git", "config", "commit.gpgsign", "false")
    dvc(repo, "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", "scratch pipeline")
    return repo


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_repro_then_cached_then_split_change(repo: Path) -> None:
    # 1. the whole pipeline runs, in order
    output = dvc(repo, "repro", TARGET)
    assert stages_run(output) == list(STAGES)
    assert (repo / "dvc.lock").is_file()
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert set(STAGES) <= set(lock["stages"])

    raw = read_json(repo / "metrics/raw.json")
    assert raw["clips"] == 88 and raw["rejected"] == 0 and raw["sample_rate"] == 16000
    assert read_json(repo / "metrics/pad.json")["rows"] == 88 * 2
    with h5py.File(repo / "data/mel/mel.h5", "r") as mel:
        assert mel["mel"].shape == (88 * 2, 32, 1 + 16000 // 256)

    evaluation = read_json(repo / "metrics/eval.json")
    assert evaluation["task"] == "emotion" and evaluation["strategy"] == "group"
    assert evaluation["leaky"] is False
    assert evaluation["n_test"] > 0
    assert 0.0 <= evaluation["accuracy"] <= 1.0 and 0.0 <= evaluation["uar"] <= 1.0
    headline = evaluation["headline"]
    assert headline["metric"] == "accuracy" and headline["value"] == evaluation["accuracy"]
    low, high = headline["ci95"]
    assert 0.0 <= low <= headline["value"] <= high <= 1.0
    train = read_json(repo / "metrics/train.json")
    assert 1 <= train["epochs_run"] <= 2 and train["train_rows"] > 0
    with (repo / "metrics/predictions.csv").open() as handle:
        assert len(list(csv.DictReader(handle))) == evaluation["n_test"]

    # 2. nothing changed, so nothing reruns
    again = dvc(repo, "repro", TARGET)
    assert stages_run(again) == []
    assert "Data and pipelines are up to date" in dvc(repo, "status", "--with-deps", TARGET)

    # 3. a split param changes: only split and the stages after it rerun
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-q", "-m", "baseline run")
    mel_lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["mel"]
    experiment = dvc(repo, "exp", "run", "-S", "split.strategy=speaker", TARGET)
    assert stages_run(experiment) == ["split", "train", "evaluate"]
    for stage in ("raw", "augment", "pad", "mel"):
        assert f"Stage '{stage}' didn't change, skipping" in experiment
    assert yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["mel"] == mel_lock

    speaker = read_json(repo / "metrics/eval.json")
    assert speaker["strategy"] == "speaker" and speaker["leaky"] is False
    assert speaker["n_test"] == 22  # every original recording of actor 4
    with (repo / "metrics/per_speaker.csv").open() as handle:
        assert [row["speaker"] for row in csv.DictReader(handle)] == ["04"]
    assert "Data and pipelines are up to date" in dvc(repo, "status", "--with-deps", TARGET)
