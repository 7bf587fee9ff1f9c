"""Models on feature tables under the split protocols: a tiny run on synthetic features."""
from __future__ import annotations

import dataclasses
import importlib.util
import json

import numpy as np
import pytest
import yaml

from conftest import ROOT
from singaffect import corpus, evaluation, feature_table, metrics, split_files, splits, storage
from singaffect import feature_models
from singaffect.corpus import EMOTIONS
from tinyrepo import stage_argv

PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
CFG = PARAMS["functionals_model"]
ALPHA = CFG["alpha"]
QUICK = feature_models.KerasFit(epochs=3, batch_size=32, learning_rate=CFG["learning_rate"], patience=1,
                                seed=CFG["seed"])


def synthetic_manifest(actors=range(1, 7), per_actor=22, seed=0) -> tuple[list[dict], np.ndarray]:
    """Manifest rows and 20 features where feature 0 carries enthusiasm and 1..6 the emotion."""
    rng = np.random.default_rng(seed)
    manifest, x = [], []
    for actor in actors:
        for i in range(per_actor):
            emotion = EMOTIONS[i % 6]
            strong = (i // 6) % 2  # both intensities in every emotion: the emotion alone tells nothing
            manifest.append({"clip_id": f"a{actor:02d}_{i:02d}", "path": "", "speaker": f"{actor:02d}",
                             "gender": "", "statement": f"{1 + i % 2:02d}", "repetition": "01", "emotion": emotion,
                             "intensity": "strong" if strong else "normal", "enthusiasm": float(strong),
                             "group": f"{actor:02d}|{i:02d}"})
            row = rng.normal(size=20)
            row[0] += 2.0 * strong
            row[1 + EMOTIONS.index(emotion)] += 3.0
            x.append(row)
    return manifest, np.asarray(x, dtype=np.float32)


def write_features(path, manifest, x) -> None:
    with storage.create_h5(path) as handle:
        feature_table.write_table(handle, [f"f{i}" for i in range(x.shape[1])], [r["clip_id"] for r in manifest],
                                [(0, len(x), x)], {"sample_rate": 16000})


def split_params(**overrides) -> dict:
    return {**PARAMS["split"], **overrides}


def folds_for(manifest, params: dict) -> list[splits.Split]:
    return splits.make_folds(splits.rows_from_manifest(manifest), splits.Settings(**params))


def write_split_folders(root, manifest, params: dict) -> list:
    """What the split stage would write for ``params``: one folder per fold (``fold0``...), or one."""
    rows = splits.rows_from_manifest(manifest)
    folders = []
    for split in splits.make_folds(rows, splits.Settings(**params)):
        folder = root / (f"fold{split.fold}" if split.fold is not None else "split")
        split_files.write(folder, rows, split, splits.describe(rows, split, splits.Settings(**params)))
        folders.append(folder)
    return folders


@pytest.mark.parametrize("task,metric,floor", [("enthusiasm", "roc_auc", 0.8), ("emotion", "accuracy", 0.6)])
def test_ridge_learns_the_signal_under_actor_folds(tmp_path, task, metric, floor):
    manifest, x = synthetic_manifest()
    x[3, 0] = np.nan  # an undefined feature is imputed from the training clips
    write_features(tmp_path / "features.h5", manifest, x)
    result, predictions, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, task,
                                                 folds_for(manifest, split_params(strategy="actor_folds", n_folds=3)),
                                                 "ridge", ALPHA, QUICK)
    assert result["headline"]["metric"] == metric and result["headline"]["value"] > floor
    low, high = result["headline"]["ci95"]
    assert low <= result["headline"]["value"] <= high
    assert result["n_test"] == len(manifest) == len(predictions)  # every clip tested once
    assert sorted(p["clip_id"] for p in predictions) == sorted(r["clip_id"] for r in manifest)
    assert result["n_folds"] == 3 and len(result["folds"]) == 3 and not result["leaky"]
    per_fold = [f[metric] for f in result["folds"]]
    assert result["fold_mean"][metric] == pytest.approx(np.mean(per_fold))
    assert result["fold_std"][metric] == pytest.approx(np.std(per_fold, ddof=1))
    speakers = [s for f in result["folds"] for s in f["test_speakers"]]
    assert sorted(speakers) == [f"{a:02d}" for a in range(1, 7)]
    assert result["headline"]["ci_method"] == "cluster bootstrap over speaker"
    assert result["headline"]["n_clusters"] == 6
    if task == "enthusiasm":  # binary target: r, balanced accuracy at val thresholds, and the emotion floor
        assert result["pearson_r"] > 0.5 and result["balanced_accuracy"] > 0.7
        # the synthetic intensity alternates within every emotion, so the emotion alone says nothing
        assert result["floor"]["value"] < 0.65
        assert result["floor"]["difference"]["excludes_zero"] and result["floor"]["difference"]["difference"] > 0
    else:
        assert "floor" not in result


def test_single_split_summary_has_no_fold_fields(tmp_path):
    manifest, x = synthetic_manifest()
    write_features(tmp_path / "features.h5", manifest, x)
    result, predictions, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "enthusiasm",
                                                 folds_for(manifest, split_params(strategy="speaker",
                                                                                  test_speakers=[5, 6],
                                                                                  val_speakers=[4])), "ridge", ALPHA, QUICK)
    assert "folds" not in result and result["n_test"] == 44
    assert {p["speaker"] for p in predictions} == {"05", "06"} and {p["fold"] for p in predictions} == {""}


def test_aggregate_folds_mean_and_std():
    stats = evaluation.aggregate_folds([{"a": 1.0, "b": 0.0}, {"a": 3.0, "b": 0.0}, {"a": 5.0, "b": 3.0}])
    assert stats["mean"] == {"a": 3.0, "b": 1.0}
    assert stats["std"]["a"] == pytest.approx(2.0) and stats["std"]["b"] == pytest.approx(np.sqrt(3.0))
    # ROC AUC of a one-class fold is undefined (None): averaged over the folds that define it
    partial = evaluation.aggregate_folds([{"a": 1.0}, {"a": None, "b": 2.0}, {"a": 3.0}])
    assert partial["mean"] == {"a": 2.0, "b": 2.0} and partial["std"]["b"] is None


def test_preprocessing_uses_training_clips_only():
    x = np.array([[0.0], [2.0], [np.nan], [100.0]])
    prep = feature_models.preprocessor().fit(x[:3])
    z = prep.transform(x)
    assert z[2, 0] == pytest.approx(0.0)  # imputed with the training median (1.0), which standardises to 0
    assert z[3, 0] == pytest.approx((100.0 - 1.0) / np.std([0.0, 2.0, 1.0]))


@pytest.mark.parametrize("name", ["mlp", "lstm", "gru", "conv1d"])
def test_keras_models_build_for_both_tasks(name):
    for task, out in (("emotion", 6), ("enthusiasm", 1)):
        model = feature_models.keras_model(name, 386, task, 1e-3)
        assert model.output_shape == (None, out)


@pytest.mark.parametrize("name", ["lstm", "gru", "conv1d"])
def test_every_keras_feature_model_fits_and_learns(name):
    """Each seed-2 model trains end to end (fit, early stopping, predict) and beats chance on a clear signal."""
    manifest, x = synthetic_manifest(actors=range(1, 5), per_actor=24)
    rows = splits.rows_from_manifest(manifest)
    split = splits.make_split(rows, splits.Settings(**split_params(strategy="speaker", test_speakers=[4], val_speakers=[3],
                                                 final_check_speakers=[])))
    y = np.array([EMOTIONS.index(r["emotion"]) for r in manifest])
    val_pred, test_pred, _, *_ = feature_models.fit_predict(name, "emotion", x, y, split.sides,
                                              ALPHA, dataclasses.replace(QUICK, epochs=30, patience=5, batch_size=16))
    assert len(val_pred) == len(split.rows("val")) and len(test_pred) == len(split.rows("test"))
    assert np.mean(test_pred == y[split.rows("test")]) > 0.5  # chance is 1/6


def test_tiny_keras_run(tmp_path):
    manifest, x = synthetic_manifest(actors=range(1, 5), per_actor=12)
    write_features(tmp_path / "features.h5", manifest, x)
    params = split_params(strategy="group", val_fraction=0.2, test_fraction=0.2)
    result, predictions, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion",
                                                 folds_for(manifest, params), "mlp", ALPHA, QUICK)
    assert result["model"] == "mlp" and result["strategy"] == "group" and result["n_test"] == len(predictions) > 0
    assert {p["predicted"] for p in predictions} <= set(EMOTIONS)


def test_unknown_model_names_the_key():
    with pytest.raises(feature_models.FeatureModelError, match="functionals_model.model"):
        feature_models.run("random_forest", "emotion", np.zeros((4, 2)), np.zeros(4), [], ALPHA, QUICK)


def load_stage(name: str):
    spec = importlib.util.spec_from_file_location(f"stage_{name}", ROOT / "stages" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_functionals_model_stage_writes_metrics(tmp_path, monkeypatch):
    """The stage script's main on a synthetic workspace (raw manifest + functionals table), in process."""
    manifest, x = synthetic_manifest(actors=range(1, 5), per_actor=12)
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/functionals").mkdir(parents=True)
    corpus.write_manifest(tmp_path / "data/raw/manifest.csv", manifest)
    write_features(tmp_path / "data/functionals/features.h5", manifest, x)
    params = {**PARAMS, "functionals_model": {**CFG, "model": "ridge"},
              "split": split_params(strategy="leave_one_actor_out"), "train": {**PARAMS["train"], "task": "emotion"}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    folders = write_split_folders(tmp_path / "data/cv", manifest, params["split"])
    monkeypatch.chdir(tmp_path)
    argv = stage_argv("functionals_model")  # dvc.yaml's paths, with the fold folders for --split
    split_at = argv.index("--split")
    argv = argv[:split_at + 1] + list(map(str, folders)) + argv[split_at + 2:]
    # dvc.yaml's --model-out saves the model of one split; over folds it is refused before anything is written
    with pytest.raises(feature_models.FeatureModelError, match="--model-out needs one split"):
        load_stage("functionals_model").main(argv)
    assert not (tmp_path / "metrics").exists() and not (tmp_path / "models").exists()
    model_out = argv.index("--model-out")
    load_stage("functionals_model").main(argv[:model_out] + argv[model_out + 2:])  # as cv/dvc.yaml runs it
    result = json.loads((tmp_path / "metrics/functionals_model.json").read_text())
    assert result["strategy"] == "leave_one_actor_out" and result["n_folds"] == 4 and result["n_test"] == 48
    assert (tmp_path / "metrics/functionals_model_predictions.csv").read_text().count("\n") == 49
    assert splits.PROTOCOLS["leave_one_actor_out"] == result["protocol"]


def test_handcrafted_model_stage_scores_enthusiasm_with_ridge(tmp_path, monkeypatch):
    manifest, x = synthetic_manifest(actors=range(1, 5), per_actor=12)
    (tmp_path / "data/raw").mkdir(parents=True)
    (tmp_path / "data/handcrafted").mkdir(parents=True)
    corpus.write_manifest(tmp_path / "data/raw/manifest.csv", manifest)
    write_features(tmp_path / "data/handcrafted/features.h5", manifest, x[:, :9])
    params = {**PARAMS, "split": split_params(strategy="speaker", test_speakers=[4], val_speakers=[3])}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (folder,) = write_split_folders(tmp_path / "data", manifest, params["split"])  # data/split: the default
    monkeypatch.chdir(tmp_path)
    load_stage("handcrafted_model").main(stage_argv("handcrafted_model"))
    result = json.loads((tmp_path / "metrics/handcrafted_model.json").read_text())
    assert (result["task"], result["model"], result["features"]) == ("enthusiasm", "ridge", "handcrafted")
    assert result["n_test"] == 12 and result["headline"]["metric"] == "roc_auc"  # binary target


def test_feature_models_read_the_split_stage_sides_not_a_second_splitter(tmp_path):
    """The clip sides come from split.csv's copy-0 rows, whatever the params say now."""
    manifest, _ = synthetic_manifest(actors=range(1, 5), per_actor=12)
    augmented = [{**row, "copy": str(copy)} for row in manifest for copy in (0, 1)]
    rows = splits.rows_from_manifest(augmented)
    split = splits.make_split(rows, splits.Settings(**split_params(strategy="speaker", test_speakers=[4], val_speakers=[3],
                                                 final_check_speakers=[])))
    split.sides[[i for i, r in enumerate(rows) if r.copy == 0 and r.speaker == "01"][:2]] = "test"  # hand-moved
    split_files.write(tmp_path, rows, split, splits.describe(rows, split))
    (read,) = split_files.read_clip_splits([tmp_path], [r["clip_id"] for r in manifest])
    expected = [side for side, r in zip(split.sides, rows) if r.copy == 0]
    assert read.sides.tolist() == expected and read.strategy == "speaker" and read.fold is None
    assert sum(side == "test" for side in expected) == 12 + 2


def test_a_split_of_another_corpus_is_refused_naming_the_file(tmp_path):
    manifest, _ = synthetic_manifest(actors=range(1, 5), per_actor=12)
    (folder,) = write_split_folders(tmp_path, manifest, split_params(strategy="group"))
    with pytest.raises(splits.SplitError, match=r"split\.csv was made for another corpus.*clips have no row"):
        split_files.read_clip_splits([folder], [r["clip_id"] for r in manifest] + ["new-clip"])
    with pytest.raises(splits.SplitError, match="clips the feature table lacks"):
        split_files.read_clip_splits([folder], [r["clip_id"] for r in manifest][1:])


def test_folds_out_of_order_or_missing_are_refused(tmp_path):
    manifest, _ = synthetic_manifest()
    folders = write_split_folders(tmp_path, manifest, split_params(strategy="actor_folds", n_folds=3))
    clip_ids = [r["clip_id"] for r in manifest]
    assert [s.fold for s in split_files.read_clip_splits(folders, clip_ids)] == [0, 1, 2]
    for wrong in ([folders[1], folders[0], folders[2]], folders[:2]):
        with pytest.raises(splits.SplitError, match="not folds 0..* of one cross-validation"):
            split_files.read_clip_splits(wrong, clip_ids)


def test_one_fold_alone_is_reported_as_a_single_split(tmp_path):
    manifest, x = synthetic_manifest()
    write_features(tmp_path / "features.h5", manifest, x)
    fold = folds_for(manifest, split_params(strategy="actor_folds", n_folds=3))[2]
    result, predictions, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", [fold], "ridge",
                                                        ALPHA, QUICK)
    assert "folds" not in result and result["protocol"].endswith("(fold 3 of 3)")
    assert {p["fold"] for p in predictions} == {2}


def test_the_ridge_path_never_imports_keras(tmp_path):
    """A ridge fit (the handcrafted_model stage, functionals_model.model=ridge) loads no Keras or TensorFlow."""
    import subprocess
    import sys

    manifest, x = synthetic_manifest(actors=range(1, 5), per_actor=12)
    write_features(tmp_path / "features.h5", manifest, x)
    corpus.write_manifest(tmp_path / "manifest.csv", manifest)
    (folder,) = write_split_folders(tmp_path, manifest, split_params(strategy="speaker", test_speakers=[4],
                                                                     val_speakers=[3]))
    probe = f"""
import sys
from singaffect import corpus, feature_models, split_files
manifest = corpus.read_manifest({str(tmp_path / "manifest.csv")!r})
folds = split_files.read_clip_splits([{str(folder)!r}], [r["clip_id"] for r in manifest])
result, _, _ = feature_models.evaluate_table({str(tmp_path / "features.h5")!r}, manifest, "enthusiasm", folds, "ridge", 1.0)
assert result["n_test"] == 12, result["n_test"]
print(sorted(m for m in sys.modules if m.split(".")[0] in ("keras", "tensorflow")))
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_logistic_scores_a_binary_target_by_its_probability_and_refuses_graded_scores(tmp_path):
    manifest, x = synthetic_manifest()
    write_features(tmp_path / "features.h5", manifest, x)
    folds = folds_for(manifest, split_params(strategy="actor_folds", n_folds=3))
    result, predictions, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "enthusiasm", folds,
                                                        "logistic", ALPHA)
    assert result["model"] == "logistic" and result["headline"]["metric"] == "roc_auc"
    assert result["headline"]["value"] > 0.8
    assert all(0.0 <= p["predicted"] <= 1.0 for p in predictions)  # P(strong)
    graded = [{**row, "enthusiasm": str(0.5 * (i % 3))} for i, row in enumerate(manifest)]
    with pytest.raises(feature_models.FeatureModelError, match="functionals_model.model: logistic needs a 0/1"):
        feature_models.evaluate_table(tmp_path / "features.h5", graded, "enthusiasm", folds, "logistic", ALPHA)


def test_alpha_grid_chooses_on_validation_clips_only(tmp_path):
    """Each fold's penalty comes from the grid and depends on its validation clips, never its test clips."""
    manifest, x = synthetic_manifest()
    write_features(tmp_path / "features.h5", manifest, x)
    folds = folds_for(manifest, split_params(strategy="actor_folds", n_folds=3))
    grid = [1e-3, 1.0, 1e4]
    result, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", folds, "logistic",
                                              ALPHA, alpha_grid=grid)
    chosen = result["alpha_chosen"]
    assert result["alpha_grid"] == sorted(grid) and len(chosen) == 3 and set(chosen) <= set(grid)
    assert 1e4 not in chosen  # so strong a penalty cannot tell six emotions apart: validation says so
    # one held-out split: relabel its test clips at random; the choice cannot move
    (split,) = folds_for(manifest, split_params(strategy="speaker", test_speakers=[5, 6], val_speakers=[4]))
    before, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", [split], "logistic",
                                              ALPHA, alpha_grid=grid)
    rng = np.random.default_rng(1)
    test_rows = set(split.rows("test").tolist())
    relabelled = [{**row, "emotion": EMOTIONS[rng.integers(6)]} if i in test_rows else row
                  for i, row in enumerate(manifest)]
    after, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", relabelled, "emotion", [split], "logistic",
                                             ALPHA, alpha_grid=grid)
    assert after["alpha_chosen"] == before["alpha_chosen"] and after["accuracy"] < before["accuracy"]
    # a grid of one value is that alpha
    one, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", folds, "logistic", 5.0)
    same, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", folds, "logistic",
                                            ALPHA, alpha_grid=[5.0])
    assert same["accuracy"] == one["accuracy"] and same["alpha_chosen"] == [5.0] * 3
    with pytest.raises(feature_models.FeatureModelError, match="alpha_grid: penalties must be positive"):
        feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", folds, "ridge", ALPHA,
                                      alpha_grid=[0.0, 1.0])


def test_svm_learns_a_feature_interaction_a_linear_model_cannot():
    """The RBF kernel separates emotion classes laid out on a ring, where a linear model stays near chance;
    binary enthusiasm is scored by the SVM's signed distance, graded enthusiasm by SVR."""
    rng = np.random.default_rng(0)
    n = 360
    labels = np.arange(n) % 2
    radius = np.where(labels == 1, 3.0, 1.0) + rng.normal(scale=0.2, size=n)
    angle = rng.uniform(0, 2 * np.pi, size=n)
    x = np.column_stack([radius * np.cos(angle), radius * np.sin(angle), rng.normal(size=(n, 3))])
    sides = np.array(["train"] * 240 + ["val"] * 60 + ["test"] * 60)
    _, svm_test, used, *_ = feature_models.fit_predict("svm", "emotion", x, labels, sides, 1.0)
    _, linear_test, _, *_ = feature_models.fit_predict("logistic", "emotion", x, labels, sides, 1.0)
    truth = labels[sides == "test"]
    assert used == 1.0
    assert (svm_test == truth).mean() > 0.95 and (linear_test == truth).mean() < 0.75
    _, scores, _, *_ = feature_models.fit_predict("svm", "enthusiasm", x, labels.astype(float), sides, 1.0)
    assert scores.dtype.kind == "f" and (scores < 0).any() and (scores > 0).any()  # distances, not 0/1 labels
    assert metrics.roc_auc(truth, scores) > 0.95
    graded = np.where(labels == 1, 1.5, 0.5) + rng.normal(scale=0.1, size=n)
    _, graded_pred, _, *_ = feature_models.fit_predict("svm", "enthusiasm", x, graded, sides, 1.0)
    assert np.corrcoef(graded_pred, graded[sides == "test"])[0, 1] > 0.9


@pytest.mark.parametrize("one_clip_class", [False, True])
def test_emotion_scores_are_class_probabilities_in_emotion_order(one_clip_class):
    """fit_predict's val and test scores (what fusion reads) are probabilities over the six emotions,
    zero for classes training lacked, agreeing with the predictions, even with a single training
    clip of a class (the SVM's Platt scaling cross-validates inside the training rows)."""
    rng = np.random.default_rng(1)
    present = np.array([0, 2, 5])  # neutral, happy, fearful
    n = 240
    labels = present[np.arange(n) % 3]
    x = np.eye(6)[labels] * 3 + rng.normal(scale=0.5, size=(n, 6))
    sides = np.array(["train"] * 160 + ["val"] * 40 + ["test"] * 40)
    if one_clip_class:  # one training clip of calm, far from the others
        labels, x = labels.copy(), x.copy()
        labels[0], x[0] = 1, np.eye(6)[1] * 3
    for name in ("svm", "logistic"):
        fitted = feature_models.fit_predict(name, "emotion", x, labels, sides, 1.0)
        for predicted, scores in ((fitted.val, fitted.val_scores), (fitted.test, fitted.test_scores)):
            assert scores.shape == (len(predicted), 6) and np.allclose(scores.sum(axis=1), 1.0)
            absent = [k for k in range(6) if k not in set(labels[sides == "train"].tolist())]
            assert (scores[:, absent] == 0).all()
            assert (scores.argmax(axis=1) == predicted).mean() > 0.9


def test_svm_runs_through_the_actor_folds_with_a_validation_chosen_penalty(tmp_path):
    manifest, x = synthetic_manifest()
    write_features(tmp_path / "features.h5", manifest, x)
    folds = folds_for(manifest, split_params(strategy="actor_folds", n_folds=3))
    # one weak enthusiasm feature among 19 noise ones is hard for an RBF kernel: above chance is the claim
    for task, floor in (("emotion", 0.75), ("enthusiasm", 0.6)):
        result, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, task, folds, "svm", ALPHA,
                                                  alpha_grid=[0.1, 1.0, 1e4])
        assert result["model"] == "svm" and result["headline"]["value"] > floor
        assert len(result["alpha_chosen"]) == 3 and set(result["alpha_chosen"]) <= {0.1, 1.0, 1e4}
        if task == "emotion":  # C = 1e-4 cannot tell six emotions apart: validation says so
            assert 1e4 not in result["alpha_chosen"]


def test_lda_shrinkage_fits_more_features_than_training_clips_and_grows_with_alpha():
    """With 200 features and 120 training clips the sample covariance is singular; the shrunk LDA still
    separates six emotions carried by a few features. alpha maps monotonically into (0, 1), binary
    enthusiasm is scored by LDA's signed decision function, and a graded target is refused by key."""
    assert [feature_models.lda_shrinkage(a) for a in (0.01, 1.0, 100.0)] == pytest.approx([0.01 / 1.01, 0.5, 100 / 101])
    rng = np.random.default_rng(2)
    n, d = 240, 200
    labels = np.arange(n) % 6
    x = rng.normal(size=(n, d))
    for j in range(5):  # each emotion raises its own 5 of the 200 features
        x[np.arange(n), 5 * labels + j] += 2.0
    sides = np.array(["train"] * 120 + ["val"] * 60 + ["test"] * 60)
    truth = labels[sides == "test"]
    fitted = feature_models.fit_predict("lda", "emotion", x, labels, sides, [0.01, 1.0, 100.0])
    assert (fitted.test == truth).mean() > 0.8 and fitted.alpha in (0.01, 1.0, 100.0)  # chance: 1/6
    assert fitted.test_scores.shape == (60, 6) and np.allclose(fitted.test_scores.sum(axis=1), 1.0)
    assert (fitted.test_scores.argmax(axis=1) == fitted.test).all()
    binary = (labels >= 3).astype(float)
    x_binary = rng.normal(size=(n, d))
    x_binary[:, :5] += 1.5 * binary[:, None]
    _, scores, _, *_ = feature_models.fit_predict("lda", "enthusiasm", x_binary, binary, sides, 1.0)
    assert scores.dtype.kind == "f" and (scores < 0).any() and (scores > 0).any()
    assert metrics.roc_auc(binary[sides == "test"], scores) > 0.85
    with pytest.raises(feature_models.FeatureModelError, match="functionals_model.model: lda needs a 0/1"):
        feature_models.fit_predict("lda", "enthusiasm", x_binary, binary * 1.5 + rng.uniform(size=n), sides, 1.0)


def test_lda_runs_through_the_actor_folds_and_refits_from_its_saved_file(tmp_path):
    """The stage's path for lda: validation-chosen shrinkage per fold, and the file predict reads refits
    a model that scores the training clips as the stage's fit does."""
    from singaffect import enrolment, feature_model_file

    manifest, x = synthetic_manifest()
    write_features(tmp_path / "features.h5", manifest, x)
    folds = folds_for(manifest, split_params(strategy="actor_folds", n_folds=3))
    result, predictions, scores = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", folds,
                                                                "lda", ALPHA, alpha_grid=[0.1, 1.0, 10.0])
    assert result["model"] == "lda" and result["headline"]["value"] > 0.75
    assert len(result["alpha_chosen"]) == 3 and set(result["alpha_chosen"]) <= {0.1, 1.0, 10.0}
    assert len(predictions) == len(manifest) and scores
    saved = feature_model_file.build(tmp_path / "features.h5", manifest, "emotion", folds[0], "lda", 1.0,
                                     enrolment.Enrolment(), 22050, PARAMS["functionals"])
    feature_model_file.save(tmp_path / "model.h5", saved)
    prep, model = feature_model_file.load(tmp_path / "model.h5").fit()
    direct_prep, direct = feature_models.fit_penalised("lda", "emotion", 1.0, saved.x_train, saved.y_train)
    assert np.array_equal(feature_models.penalised_scores(prep, model, "emotion", x),
                          feature_models.penalised_scores(direct_prep, direct, "emotion", x))


def test_params_schema_offers_exactly_the_models_feature_models_fits():
    """functionals_model.model's choices in the params schema are feature_models.MODELS (one list, checked here,
    because params.py stays free of scikit-learn imports)."""
    from singaffect import params

    assert params.SCHEMA["functionals_model"]["model"].choices == feature_models.MODELS
