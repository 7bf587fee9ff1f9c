"""The cross-validation pipeline (cv/dvc.yaml) end to end on a tiny corpus of six actors.

One command trains and scores the CNN on every actor fold and the feature models on the
same folds; the pooled metrics test every clip once, resample speakers for their CI, and
the default ``dvc repro`` does not run any of it.
"""
from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

from singaffect import metrics

import synth
import tinyrepo

pytestmark = pytest.mark.slow

ACTORS = range(1, 7)


def six_actors(root: Path) -> None:
    synth.write_ravdess_corpus(root, actors=ACTORS, statements=("01",))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tinyrepo.make_repo(tmp_path_factory.mktemp("cv") / "repo", corpus=six_actors, dvc=True,
                              params={**tinyrepo.WHOLE_PIPELINE_PARAMS, "train.epochs": 1,
                                      "functionals_model.model": "ridge", "split.final_check_speakers": [6]})
    tinyrepo.run_dvc(repo, "repro", "cv/dvc.yaml", timeout=1500)
    return repo


def read(repo: Path, path: str) -> dict:
    return json.loads((repo / path).read_text())


def test_cv_pools_every_fold_and_tests_each_clip_once(repo: Path) -> None:
    cnn = read(repo, "metrics/cv/cnn.json")
    n_originals = 5 * 11 * 2  # actors 1-5 (6 is held back for the final check) x lines x takes
    assert cnn["strategy"] == "actor_folds" and cnn["n_folds"] == 5 and not cnn["leaky"]
    assert cnn["n_test"] == n_originals == sum(fold["n_test"] for fold in cnn["folds"])
    assert sorted(s for fold in cnn["folds"] for s in fold["test_speakers"]) == ["01", "02", "03", "04", "05"]
    head = cnn["headline"]
    assert head["metric"] == "accuracy" and head["ci_method"] == "cluster bootstrap over speaker"
    assert head["n_clusters"] == 5 and head["ci95"][0] <= head["value"] <= head["ci95"][1]
    clips = []
    for fold in range(5):
        with (repo / f"metrics/cv/fold{fold}/predictions.csv").open() as handle:
            clips += [row["clip_id"] for row in csv.DictReader(handle)]
    assert len(clips) == len(set(clips)) == n_originals
    assert not any(clip.endswith("-06") for clip in clips)  # the final-check actor is never read
    split = read(repo, "data/cv/fold0/split.json")
    assert split["final_check_speakers_held_back"] == ["06"] and split["groups_crossing_sides"] == 0


def test_feature_models_run_on_the_same_folds_and_learn(repo: Path) -> None:
    functionals_model = read(repo, "metrics/cv/functionals_model.json")
    cnn = read(repo, "metrics/cv/cnn.json")
    assert [f["test_speakers"] for f in functionals_model["folds"]] == [f["test_speakers"] for f in cnn["folds"]]
    # the same clips in the same folds: the feature models read the split stage's fold folders
    with (repo / "metrics/cv/functionals_model_predictions.csv").open() as handle:
        functionals_model_folds = sorted((row["fold"], row["clip_id"]) for row in csv.DictReader(handle))
    cnn_folds = []
    for fold in range(5):
        with (repo / f"metrics/cv/fold{fold}/predictions.csv").open() as handle:
            cnn_folds += [(str(fold), row["clip_id"]) for row in csv.DictReader(handle)]
    assert functionals_model_folds == sorted(cnn_folds)
    # the synthetic emotions differ in pitch and brightness: far above chance (1/6) for a linear model
    assert functionals_model["headline"]["value"] > 0.5
    handcrafted_model = read(repo, "metrics/cv/handcrafted_model.json")
    assert handcrafted_model["task"] == "enthusiasm" and handcrafted_model["headline"]["metric"] == "roc_auc"
    assert "floor" in handcrafted_model and handcrafted_model["floor"]["name"] == "emotion label only"


def test_default_repro_does_not_run_the_cross_validation(repo: Path) -> None:
    again = tinyrepo.run_dvc(repo, "repro", "cv/dvc.yaml").stdout
    assert "Running stage" not in again  # every fold is cached
    default = tinyrepo.run_dvc(repo, "repro").stdout
    ran = re.findall(r"Running stage '([^']+)'", default)
    assert "train" in ran and not [name for name in ran if "@" in name or name.startswith("cv/")]


def test_fusion_pools_the_same_clips_and_each_system_alone_is_its_own_stage(repo: Path) -> None:
    fused = read(repo, "metrics/cv/fusion.json")
    cnn, features = read(repo, "metrics/cv/cnn.json"), read(repo, "metrics/cv/functionals_model.json")
    assert fused["n_test"] == cnn["n_test"] and fused["n_folds"] == 5 and not fused["leaky"]
    assert [f["test_speakers"] for f in fused["folds"]] == [f["test_speakers"] for f in cnn["folds"]]
    assert len(fused["weights_chosen"]) == 5 and all(0 <= w <= 1 for w in fused["weights_chosen"])
    # the scores files carry the same decisions as the stages' own predictions: argmax of the
    # CNN's softmax and of the logistic model's probabilities
    assert fused["alone"]["cnn"]["value"] == pytest.approx(cnn["headline"]["value"])
    assert fused["alone"]["functionals_model"]["value"] == pytest.approx(features["headline"]["value"])
    difference = fused["alone"]["cnn"]["fusion_minus_system"]
    assert difference["difference"] == pytest.approx(fused["headline"]["value"] - cnn["headline"]["value"])
    with (repo / "metrics/cv/fold0/scores.csv").open() as handle:
        sides = {row["side"] for row in csv.DictReader(handle)}
    assert sides == {"val", "test"}


def test_enthusiasm_fuses_standardised_scores_beside_the_floor(repo: Path) -> None:
    # last in this module: the experiment leaves train.task=enthusiasm in the workspace
    tinyrepo.run_dvc(repo, "exp", "run", "cv/dvc.yaml", "-S", "train.task=enthusiasm", timeout=1500)
    fused = read(repo, "metrics/cv/fusion.json")
    cnn, features = read(repo, "metrics/cv/cnn.json"), read(repo, "metrics/cv/functionals_model.json")
    assert fused["task"] == cnn["task"] == "enthusiasm" and fused["headline"]["metric"] == "roc_auc"
    assert fused["floor"]["name"] == "emotion label only"
    assert fused["floor"]["value"] == pytest.approx(cnn["floor"]["value"])
    with (repo / "metrics/cv/fusion_predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    # within a fold, standardising and a rising unclipped linear map keep each system's ranking: the
    # feature model's AUC alone is its stage's fold by fold; the CNN's can only gain, as evaluate
    # clips its calibrated scores (ties). Pooled over folds the per-fold maps change the ranking.
    for features_fold, cnn_fold in zip(features["folds"], cnn["folds"]):
        own = [r for r in rows if r["speaker"] in features_fold["test_speakers"]]
        y_true = np.array([float(r["actual"]) for r in own])
        alone = metrics.roc_auc(y_true, np.array([float(r["functionals_model_alone"]) for r in own]))
        assert alone == pytest.approx(features_fold["roc_auc"], abs=1e-4)
        cnn_alone = metrics.roc_auc(y_true, np.array([float(r["cnn_alone"]) for r in own]))
        assert cnn_alone >= cnn_fold["roc_auc"] - 1e-4
    assert len(rows) == cnn["n_test"] and {"decision", "floor", "cnn_alone", "functionals_model_alone"} <= set(rows[0])
