"""End to end: ``dvc repro`` of the whole pipeline on a tiny synthetic corpus, in a scratch repo.

Checks what only a real run shows: the stages connect, metrics come out sane, DVC sees
every dependency (a second repro reruns nothing) and a split param change reruns only
the stages downstream of it (raw/augment/pad/mel stay cached).
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import h5py
import pytest
import yaml

import tinyrepo

pytestmark = pytest.mark.slow

STAGES = ("raw", "augment", "pad", "mel", "split", "train", "evaluate")
TARGET = "evaluate"  # the foundation chain; stages other work adds to dvc.yaml are not this test's business


def dvc(repo: Path, *args: str) -> str:
    """``dvc *args`` in ``repo``: stdout and stderr; fails the test with them if dvc fails."""
    done = tinyrepo.run_dvc(repo, *args)
    return done.stdout + done.stderr


def stages_run(output: str) -> list[str]:
    return re.findall(r"Running stage '(\w+)'", output)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tinyrepo.make_repo(tmp_path_factory.mktemp("pipeline") / "repo", dvc=True,
                              params=tinyrepo.WHOLE_PIPELINE_PARAMS)


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_repro_then_cached_then_split_change(repo: Path) -> None:
    # 1. the whole pipeline runs, in order
    output = dvc(repo, "repro", TARGET)
    ran = stages_run(output)
    assert sorted(ran) == sorted(STAGES)  # each once; DVC may order independent stages (split, pad) either way
    for upstream, downstream in (("raw", "augment"), ("augment", "pad"), ("pad", "mel"), ("mel", "train"),
                                 ("augment", "split"), ("split", "train"), ("train", "evaluate")):
        assert ran.index(upstream) < ran.index(downstream), ran
    assert (repo / "dvc.lock").is_file()
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert set(STAGES) <= set(lock["stages"])

    raw = read_json(repo / "metrics/raw.json")
    assert raw["clips"] == 176 and raw["rejected"] == 0 and raw["sample_rate"] == 16000
    assert read_json(repo / "metrics/pad.json")["rows"] == 176 * 2
    with h5py.File(repo / "data/mel/mel.h5", "r") as mel:
        assert mel["mel"].shape == (176 * 2, 32, 1 + 16000 // 256)

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
    tinyrepo.git_run(repo, "add", "-A")
    tinyrepo.git_run(repo, "commit", "-q", "-m", "baseline run")
    mel_lock = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["mel"]
    experiment = dvc(repo, "exp", "run", "-S", "split.strategy=speaker", TARGET)
    assert stages_run(experiment) == ["split", "train", "evaluate"]
    for stage in ("raw", "augment", "pad", "mel"):
        assert f"Stage '{stage}' didn't change, skipping" in experiment
    assert yaml.safe_load((repo / "dvc.lock").read_text())["stages"]["mel"] == mel_lock

    speaker = read_json(repo / "metrics/eval.json")
    assert speaker["strategy"] == "speaker" and speaker["leaky"] is False
    assert speaker["n_test"] == 44  # every original recording of actor 4 (both takes)
    with (repo / "metrics/per_speaker.csv").open() as handle:
        assert [row["speaker"] for row in csv.DictReader(handle)] == ["04"]
    assert "Data and pipelines are up to date" in dvc(repo, "status", "--with-deps", TARGET)

    # 4. enthusiasm on the binary intensity target, under the seed's leaky row-level split:
    #    AUC headline with a clustered CI, a val-chosen threshold, the emotion floor beside it,
    #    and the copy-0 test rows scored apart
    dvc(repo, "exp", "run", "-S", "split.strategy=random", "-S", "train.task=enthusiasm", TARGET)
    enthusiasm = read_json(repo / "metrics/eval.json")
    assert enthusiasm["task"] == "enthusiasm" and enthusiasm["leaky"] is True
    assert enthusiasm["headline"]["metric"] == "roc_auc"
    assert enthusiasm["headline"]["ci_method"] == "cluster bootstrap over group"
    assert {"pearson_r", "ccc", "roc_auc", "balanced_accuracy", "threshold"} <= set(enthusiasm)
    floor = enthusiasm["floor"]
    assert floor["name"] == "emotion label only" and floor["metric"] == "roc_auc"
    assert set(floor["difference"]) >= {"difference", "ci95", "excludes_zero"}
    originals = enthusiasm["test_originals"]
    assert 0 < originals["n_test"] < enthusiasm["n_test"] and originals["headline"]["metric"] == "roc_auc"
    with (repo / "metrics/predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == enthusiasm["n_test"] and {"group", "decision", "floor"} <= set(rows[0])
    assert {float(row["decision"]) for row in rows} <= {0.0, 1.0}
    # the score map fitted on val by train (train.calibration: linear), applied by evaluate, with
    # r, CCC and MAE before it beside the calibrated ones
    prep = read_json(repo / "models/preprocessing.json")
    assert prep["calibration"]["method"] in ("linear", "none") and prep["silence_rms"] > 0
    assert enthusiasm["calibration"]["method"] == prep["calibration"]["method"]
    assert {"pearson_r", "ccc", "mae"} <= set(enthusiasm["uncalibrated"]) and "mae" in enthusiasm
    if prep["calibration"]["method"] == "linear":
        assert enthusiasm["calibration"]["slope"] == prep["calibration"]["slope"] > 0
