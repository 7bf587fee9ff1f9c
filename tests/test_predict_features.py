"""`singaffect predict --model models/functionals_model.h5 [--enrol FOLDER]`: the feature model scores a take
exactly as the functionals_model stage evaluated it, with the singer's enrolment takes applied the same way."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import synth
from singaffect import (audio_io, corpus, enrolment, feature_model_file, feature_models, feature_table, functionals,
                        predict, splits, storage)
from singaffect.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text())
RATE = 16000
SETTINGS = {**PARAMS["functionals"], "n_fft": 512, "hop_length": 256, "n_mels": 48}  # n_mels >= n_mfcc


@pytest.fixture(scope="module")
def corpus_table(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A three-singer RAVDESS-named corpus (one statement, both takes), its manifest, its functionals table
    (computed as the pipeline computes it) and one recording-group split."""
    root = tmp_path_factory.mktemp("corpus")
    synth.write_ravdess_corpus(root, actors=(1, 2, 3), seconds=0.5, sample_rate=RATE, statements=("01",))
    manifest = [corpus.clip_row(c) for c in corpus.list_clips("ravdess", root)]
    settings = functionals.Settings(**SETTINGS)
    rows = [functionals.functionals(audio_io.load_mono(root / r["path"], RATE), RATE, settings) for r in manifest]
    table = root.parent / "features.h5"
    with storage.create_h5(table) as handle:
        feature_table.write_table(handle, functionals.functional_names(settings), [r["clip_id"] for r in manifest],
                                  [(0, len(rows), np.stack(rows))], {"sample_rate": RATE})
    split = splits.make_folds(splits.rows_from_manifest(manifest), splits.Settings(
        **{**PARAMS["split"], "strategy": "group", "final_check_speakers": []}))[0]
    return {"root": root, "manifest": manifest, "table": table, "split": split}


def saved_model(data: dict, folder: Path, task: str, singer: enrolment.Enrolment, model: str = "svm") -> Path:
    grid_alpha = 1.0
    saved = feature_model_file.build(data["table"], data["manifest"], task, data["split"], model, grid_alpha, singer,
                                     RATE, SETTINGS)
    path = folder / f"{task}-{singer.mode}-{model}.h5"
    feature_model_file.save(path, saved)
    return path


@pytest.mark.parametrize("task, singer", [
    ("emotion", enrolment.Enrolment()),
    ("enthusiasm", enrolment.Enrolment("other_takes")),
    ("enthusiasm", enrolment.Enrolment("other_takes", scale="centre")),
])
def test_predict_scores_a_take_as_the_stage_evaluated_it(corpus_table: dict, tmp_path: Path, task: str,
                                                          singer: enrolment.Enrolment) -> None:
    data, manifest = corpus_table, corpus_table["manifest"]
    path = saved_model(data, tmp_path, task, singer)
    _, evaluated, _ = feature_models.evaluate_table(data["table"], manifest, task, [data["split"]], "svm", 1.0,
                                                 singer=singer)
    by_clip = {row["clip_id"]: row for row in evaluated}
    sets = enrolment.enrolment_sets(manifest, singer)
    test = data["split"].rows("test")
    assert len(test) >= 3
    for i in test[:3]:
        take = data["root"] / manifest[i]["path"]
        enrol = None
        if singer.mode != "none":  # the singer's takes the stage enrolled this clip with, and the take itself
            enrol = tmp_path / f"enrol-{i}"
            enrol.mkdir()
            for j in sets[i]:
                shutil.copy(data["root"] / manifest[j]["path"], enrol / Path(manifest[j]["path"]).name)
            take = Path(shutil.copy(take, enrol / "scored.wav"))  # inside the folder: never enrolled
        scored = predict.score_with_features(take, path, enrol)
        assert scored["task"] == task and scored["feature_model"] == "svm"
        if task == "emotion":
            assert scored["emotion"] == by_clip[manifest[i]["clip_id"]]["predicted"]
        else:
            assert scored["enthusiasm"] == pytest.approx(by_clip[manifest[i]["clip_id"]]["predicted"], abs=1e-5)
            assert scored["strong"] == (scored["enthusiasm"] >= scored["threshold"])
            assert scored["enrolment"]["takes_given"] == len(sets[i]) > 0
    if singer.mode != "none":  # a different enrolment set moves the score: the folder is really read
        other = tmp_path / "other-singer"
        other.mkdir()
        for j in range(len(manifest)):
            if manifest[j]["speaker"] != manifest[test[0]]["speaker"]:
                shutil.copy(data["root"] / manifest[j]["path"], other / Path(manifest[j]["path"]).name)
        first = predict.score_with_features(data["root"] / manifest[test[0]]["path"], path, other)
        assert first["enthusiasm"] != pytest.approx(by_clip[manifest[test[0]]["clip_id"]]["predicted"], abs=1e-5)


def test_the_model_file_round_trips_and_holds_no_pickle(corpus_table: dict, tmp_path: Path) -> None:
    singer = enrolment.Enrolment("other_takes", scale="centre")
    path = saved_model(corpus_table, tmp_path, "enthusiasm", singer)
    loaded = feature_model_file.load(path)
    built = feature_model_file.build(corpus_table["table"], corpus_table["manifest"], "enthusiasm",
                                     corpus_table["split"], "svm", 1.0, singer, RATE, SETTINGS)
    assert np.array_equal(loaded.x_train, built.x_train) and np.array_equal(loaded.y_train, built.y_train)
    assert loaded.enrolment == {"mode": "other_takes", "scale": "centre", "takes": "all"}
    assert loaded.functionals == SETTINGS and loaded.sample_rate == RATE and loaded.threshold == built.threshold
    assert b"pickle" not in path.read_bytes() and b"\x80\x04\x95" not in path.read_bytes()
    again = tmp_path / "again.h5"
    feature_model_file.save(again, built)
    assert again.read_bytes() == path.read_bytes()  # byte-stable: same fit, same file


def test_enrolment_is_required_refused_or_named(corpus_table: dict, tmp_path: Path,
                                                capsys: pytest.CaptureFixture) -> None:
    data = corpus_table
    take = data["root"] / data["manifest"][0]["path"]
    enrolled = saved_model(data, tmp_path, "enthusiasm", enrolment.Enrolment("other_takes"))
    plain = saved_model(data, tmp_path, "emotion", enrolment.Enrolment())
    with pytest.raises(predict.PredictError, match="trained with singer enrolment.*--enrol FOLDER"):
        predict.score_with_features(take, enrolled)
    with pytest.raises(predict.PredictError, match="trained without singer enrolment"):
        predict.score_with_features(take, plain, take.parent)
    empty = tmp_path / "empty"
    empty.mkdir()
    shutil.copy(take, empty / "take.wav")
    with pytest.raises(predict.PredictError, match=f"--enrol {empty}: no audio files .* other than the scored take"):
        predict.score_with_features(empty / "take.wav", enrolled, empty)
    mlp = saved_model(data, tmp_path, "emotion", enrolment.Enrolment(), model="mlp")
    with pytest.raises(feature_model_file.FeatureModelFileError, match="functionals_model.model=mlp"):
        predict.score_with_features(take, mlp)
    # the CLI: one JSON object, one-line errors, CNN-only options refused
    assert main(["predict", str(take), "--model", str(plain), "--json"]) in (0, None)
    out = json.loads(capsys.readouterr().out)
    assert out["emotion"] in corpus.EMOTIONS and out["enrolment"] == {"mode": "none", "scale": "standardise",
                                                                      "takes_given": 0}
    assert main(["predict", str(take), "--model", str(plain), "--hop", "0.5"]) == 1
    assert "--hop and --plot apply to the CNN" in capsys.readouterr().err
    not_a_model = tmp_path / "plain.h5"
    with storage.create_h5(not_a_model) as handle:
        handle.attrs["kind"] = "something else"
    with pytest.raises(feature_model_file.FeatureModelFileError, match="not a singaffect feature model"):
        feature_model_file.load(not_a_model)
