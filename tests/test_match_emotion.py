"""``functionals_model.enrolment_match_emotion``: enthusiasm read against the singer's own takes of the same
(predicted) emotion; no label of a test clip, or of its singer's takes, is read (val labels only choose penalties)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from singaffect import enrolment, feature_model_file, feature_models, predict, splits
from singaffect.corpus import EMOTIONS
from singaffect.enrolment import Enrolment
from test_enrolment import singers_manifest
from test_feature_models import split_params, write_features
from test_predict_features import RATE, SETTINGS, corpus_table  # noqa: F401  (the module fixture)

GRID = [0.1, 1.0, 10.0]


def emotion_levelled(seed: int = 0) -> tuple[list[dict], np.ndarray]:
    """``singers_manifest`` with feature 0's level set mostly by the emotion: strong raises it by 1, but the
    emotions sit 2.5 apart, so only a clip read against its singer's takes of the same emotion shows it."""
    manifest, x = singers_manifest(seed=seed)
    x[:, 0] += 2.5 * np.array([EMOTIONS.index(r["emotion"]) for r in manifest], dtype=np.float32)
    return manifest, x


def actor_folds(manifest: list[dict]) -> list[splits.Split]:
    return splits.make_folds(splits.rows_from_manifest(manifest),
                             splits.Settings(**split_params(strategy="actor_folds", n_folds=3, final_check_speakers=[])))


def test_centre_by_emotion_uses_the_matching_takes_or_else_all_of_them():
    takes = np.array([[0.0, 10.0], [2.0, 20.0], [4.0, 30.0]])
    emotions = np.array([1, 1, 2])
    assert enrolment.centre_by_emotion(np.array([5.0, 5.0]), takes, emotions, 1).tolist() == [4.0, -10.0]
    assert enrolment.centre_by_emotion(np.array([5.0, 5.0]), takes, emotions, 2).tolist() == [1.0, -25.0]
    assert enrolment.centre_by_emotion(np.array([5.0, 5.0]), takes, emotions, 0).tolist() == [3.0, -15.0]


def test_matching_lifts_enthusiasm_where_the_emotion_sets_the_level(tmp_path: Path):
    manifest, x = emotion_levelled()
    write_features(tmp_path / "features.h5", manifest, x)
    folds = actor_folds(manifest)
    plain, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "enthusiasm", folds, "svm", 1.0,
                                                singer=Enrolment("other_takes"), alpha_grid=GRID)
    matched, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "enthusiasm", folds, "svm", 1.0,
                                                  singer=Enrolment("other_takes", match_emotion=True), alpha_grid=GRID)
    assert matched["enrolment"] == {"mode": "other_takes", "takes": "all", "match_emotion": True}
    assert matched["n_features"] == 2 * plain["n_features"] == 2 * x.shape[1]
    assert len(matched["emotion_alpha_chosen"]) == len(folds) and set(matched["emotion_alpha_chosen"]) <= set(GRID)
    assert matched["roc_auc"] > plain["roc_auc"] + 0.1 and matched["roc_auc"] > 0.8


def test_no_test_label_is_read():
    """Relabelling every test clip (emotion and intensity) leaves every clip's inputs as they were; val labels
    choose the emotion model's penalty, as validation does everywhere."""
    manifest, x = emotion_levelled()
    split = actor_folds(manifest)[0]
    singer = Enrolment("other_takes", match_emotion=True)
    x_enrolled = enrolment.normalise(x, manifest, singer)

    def inputs(rows: list[dict]) -> np.ndarray:
        emotions = feature_models.check_match_emotion("enthusiasm", singer, rows)
        return feature_models.emotion_matched_inputs(x, x_enrolled, enrolment.enrolment_sets(rows, singer), emotions,
                                                     split.sides, "svm", GRID)[0]

    relabelled = [dict(r) if split.sides[i] != "test" else
                  {**r, "emotion": "neutral", "intensity": "normal", "enthusiasm": 0.0}  # one label: every take matches
                  for i, r in enumerate(manifest)]
    first = inputs(manifest)
    assert np.array_equal(first, inputs(relabelled))
    assert first.shape == (len(x), 2 * x.shape[1])
    train = split.rows("train")  # a training clip is centred by its singer's takes of its labelled emotion
    i = int(train[0])
    same = [j for j in enrolment.enrolment_sets(manifest, singer)[i] if manifest[j]["emotion"] == manifest[i]["emotion"]]
    assert np.allclose(first[i, x.shape[1]:], x[i] - x[same].mean(axis=0), atol=1e-5)


@pytest.mark.parametrize("task, mode, message", [
    ("emotion", "other_takes", "enrolment_match_emotion: matches enrolment takes by emotion to score enthusiasm"),
    ("enthusiasm", "none", r"enrolment_match_emotion: needs singer enrolment"),
])
def test_bad_settings_name_the_key(tmp_path: Path, task: str, mode: str, message: str):
    manifest, x = emotion_levelled()
    write_features(tmp_path / "features.h5", manifest, x)
    with pytest.raises(feature_models.FeatureModelError, match=message):
        feature_models.evaluate_table(tmp_path / "features.h5", manifest, task, actor_folds(manifest), "svm", 1.0,
                                      singer=Enrolment(mode, match_emotion=True))


def test_a_private_corpus_without_emotions_is_refused(tmp_path: Path):
    manifest, x = emotion_levelled()
    scores_only = [{**r, "emotion": ""} for r in manifest]
    write_features(tmp_path / "features.h5", scores_only, x)
    with pytest.raises(feature_models.FeatureModelError, match="enrolment_match_emotion: needs emotion labels"):
        feature_models.evaluate_table(tmp_path / "features.h5", scores_only, "enthusiasm", actor_folds(manifest),
                                      "svm", 1.0, singer=Enrolment("other_takes", match_emotion=True))


def test_predict_matches_the_enrolment_takes_by_predicted_emotion(corpus_table: dict, tmp_path: Path):  # noqa: F811
    """The saved model holds the emotion model; predict reads the folder's audio, never its file names' labels."""
    data, manifest = corpus_table, corpus_table["manifest"]
    singer = Enrolment("other_takes", match_emotion=True)
    saved = feature_model_file.build(data["table"], manifest, "enthusiasm", data["split"], "svm", 1.0, singer,
                                     RATE, SETTINGS, emotion_alpha=1.0)
    path = tmp_path / "matched.h5"
    feature_model_file.save(path, saved)
    loaded = feature_model_file.load(path)
    assert loaded.x_train.shape[1] == 2 * loaded.emotion_x_train.shape[1]
    assert loaded.emotion_alpha == 1.0 and loaded.enrolment["match_emotion"] is True
    assert np.array_equal(loaded.emotion_y_train, saved.emotion_y_train)
    with pytest.raises(feature_model_file.FeatureModelFileError, match="needs the emotion model's penalty|penalty"):
        feature_model_file.build(data["table"], manifest, "enthusiasm", data["split"], "svm", 1.0, singer,
                                 RATE, SETTINGS)
    i = int(data["split"].rows("test")[0])
    labelled, unlabelled = tmp_path / "labelled", tmp_path / "unlabelled"
    labelled.mkdir()
    unlabelled.mkdir()
    for n, j in enumerate(enrolment.enrolment_sets(manifest, singer)[i]):
        shutil.copy(data["root"] / manifest[j]["path"], labelled / Path(manifest[j]["path"]).name)
        shutil.copy(data["root"] / manifest[j]["path"], unlabelled / f"take{n}.wav")
    take = data["root"] / manifest[i]["path"]
    scored = predict.score_with_features(take, path, labelled)
    assert np.isfinite(scored["enthusiasm"]) and scored["enrolment"]["match_emotion"] is True
    assert scored["enthusiasm"] == predict.score_with_features(take, path, unlabelled)["enthusiasm"]
    one = tmp_path / "one"  # a single enrolment take: predicted from its own features, and still scored
    one.mkdir()
    shutil.copy(next(unlabelled.iterdir()), one / "take0.wav")
    assert np.isfinite(predict.score_with_features(take, path, one)["enthusiasm"])
    plain = tmp_path / "plain.h5"
    feature_model_file.save(plain, feature_model_file.build(data["table"], manifest, "enthusiasm", data["split"], "svm",
                                                            1.0, Enrolment("other_takes"), RATE, SETTINGS))
    assert scored["enthusiasm"] != predict.score_with_features(take, plain, labelled)["enthusiasm"]
