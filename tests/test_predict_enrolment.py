"""The CNN with singer enrolment (``train.enrolment``): trained, evaluated and, through
``singaffect predict --enrol FOLDER``, applied to a new take the same way."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

import tinyrepo
from singaffect import corpus, enrolment, predict, preprocessing, split_files, stage
from singaffect.cli import main as cli_main


@pytest.fixture(scope="module")
def enrolled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny repo whose CNN trained with every other take of the singer enrolled, then evaluated
    with ``--scores`` (the test originals' class probabilities)."""
    repo = tinyrepo.make_repo(tmp_path_factory.mktemp("enrolled") / "repo",
                              params={"train.enrolment": "other_takes"})
    for name in ("raw", "augment", "pad", "mel", "split", "train"):
        assert tinyrepo.run_stage(repo, name) == 0, name
    with tinyrepo.chdir(repo):
        stage.run(tinyrepo.load_stage("evaluate").main,
                  [*tinyrepo.stage_argv("evaluate"), "--scores", "metrics/scores.csv"], in_process=True)
    return repo


def test_the_model_records_its_enrolment(enrolled: Path) -> None:
    prep = preprocessing.read(enrolled / "models/model.keras")
    assert prep.enrolment == {"mode": "other_takes", "takes": 0, "seed": 0}
    assert preprocessing.singer_enrolment(prep.enrolment) == enrolment.Enrolment("other_takes", scale="centre")


def test_predict_with_the_singers_takes_gives_the_evaluated_probabilities(enrolled: Path, tmp_path: Path) -> None:
    manifest = corpus.read_manifest(enrolled / "data/augmented/manifest.csv")
    originals = [row for row in manifest if row["copy"] == "0"]
    sets = enrolment.enrolment_sets(originals, enrolment.Enrolment("other_takes"))
    with (enrolled / "metrics/scores.csv").open() as handle:
        evaluated = {row["clip_id"]: row for row in csv.DictReader(handle) if row["side"] == "test"}
    test = [i for i, row in enumerate(originals) if row["clip_id"] in evaluated]
    assert len(test) >= 4
    for i in test[:4]:
        folder = tmp_path / originals[i]["clip_id"]
        folder.mkdir()
        for j in sets[i]:  # the takes the stage enrolled this clip with
            shutil.copy(enrolled / "data/corpus" / originals[j]["path"], folder)
        take = Path(shutil.copy(enrolled / "data/corpus" / originals[i]["path"], folder / "scored.wav"))  # left out
        result = predict.predict_file(take, enrolled / "models/model.keras", enrol_folder=folder)
        expected = [float(evaluated[originals[i]["clip_id"]][f"p_{name}"]) for name in corpus.EMOTIONS]
        np.testing.assert_allclose(result.mean(), expected, rtol=2e-5, atol=1e-6)  # the CSV keeps 6 digits
        assert result.extra["enrolment"]["takes_given"] == len(sets[i]) > 0
    other = predict.predict_file(take, enrolled / "models/model.keras", enrol_folder=folder.parent / originals[test[0]]["clip_id"])
    assert not np.allclose(other.mean(), result.mean())  # another singer's takes move the scores: the folder is read


def test_predict_refuses_a_take_without_the_enrolment_it_was_trained_with(enrolled: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    take = next((enrolled / "data/corpus").rglob("*.wav"))
    with pytest.raises(predict.PredictError, match="trained with singer enrolment \\(other_takes\\).*--enrol FOLDER"):
        predict.predict_file(take, enrolled / "models/model.keras")
    plain = tmp_path / "plain"
    plain.mkdir()
    shutil.copy(enrolled / "models/model.keras", plain)
    fields = dict(vars(preprocessing.read(enrolled / "models/model.keras")))
    fields.pop("enrolment")
    fields["classes"] = list(fields["classes"])
    preprocessing.write(plain / preprocessing.FILE_NAME, fields)
    assert cli_main(["predict", str(take), "--model", str(plain / "model.keras"), "--enrol", str(take.parent)]) == 1
    assert "trained without singer enrolment (train.enrolment: none)" in capsys.readouterr().err
    assert cli_main(["predict", str(take), "--model", str(enrolled / "models/model.keras"),
                     "--enrol", str(take.parent), "--json"]) == 0
    assert '"takes_given"' in capsys.readouterr().out


def test_evaluate_reads_the_enrolment_the_model_was_trained_with(enrolled: Path) -> None:
    """The same model and rows, scored without the offsets, give other probabilities."""
    from singaffect import training
    from singaffect.models import load_model

    manifest = corpus.read_manifest(enrolled / "data/augmented/manifest.csv")
    test = split_files.read_sides(enrolled / "data/split")["test"]
    model = load_model(enrolled / "models/model.keras")
    mel = enrolled / "data/mel/mel.h5"
    trained_with = preprocessing.read(enrolled / "models/model.keras").enrolment
    offsets = training.singer_offsets(mel, manifest, preprocessing.singer_enrolment(trained_with))
    with_offsets = training.predict(model, training.MelBatches(mel, test, None, 64, offsets=offsets[test]))
    without = training.predict(model, training.MelBatches(mel, test, None, 64))
    with (enrolled / "metrics/predictions.csv").open() as handle:
        predicted = [row["predicted"] for row in csv.DictReader(handle)]
    assert predicted == [corpus.EMOTIONS[k] for k in with_offsets.argmax(axis=1)]
    assert not np.allclose(with_offsets, without)
