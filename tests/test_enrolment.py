"""Singer enrolment: each clip standardised by other recordings of its singer, never its own line."""
from __future__ import annotations

import numpy as np
import pytest

from singaffect import enrolment, feature_models, splits
from singaffect.corpus import EMOTIONS
from singaffect.enrolment import Enrolment
from test_feature_models import ALPHA, PARAMS, split_params, write_features


def singers_manifest(actors=range(1, 7), seed=0, offset=6.0) -> tuple[list[dict], np.ndarray]:
    """Two statements x 6 emotions x 2 intensities x 2 takes per actor; every actor's voice shifts
    all features by a large random offset, the emotion moves features 1..6 a little."""
    rng = np.random.default_rng(seed)
    manifest, x = [], []
    for actor in actors:
        voice = rng.normal(scale=offset, size=12)
        for statement in ("01", "02"):
            for e, emotion in enumerate(EMOTIONS):
                for strong in (0, 1):
                    for take in ("01", "02"):
                        manifest.append({
                            "clip_id": f"{actor:02d}-{statement}-{e}-{strong}-{take}", "path": "",
                            "speaker": f"{actor:02d}", "gender": "", "statement": statement, "repetition": take,
                            "emotion": emotion, "intensity": "strong" if strong else "normal",
                            "enthusiasm": float(strong), "group": f"{actor:02d}|{statement}|{emotion}|{strong}"})
                        row = voice + rng.normal(scale=0.5, size=12)
                        row[1 + e] += 1.5
                        row[0] += 1.0 * strong
                        x.append(row)
    return manifest, np.asarray(x, dtype=np.float32)


def test_enrolment_sets_hold_the_same_singer_and_never_the_scored_line():
    manifest, _ = singers_manifest(actors=range(1, 3))
    for mode, takes in (("other_takes", 0), ("other_takes", 4), ("other_statement", 0)):
        sets = enrolment.enrolment_sets(manifest, Enrolment(mode, takes, seed=3))
        for row, members in zip(manifest, sets):
            assert len(members) > 0
            assert {manifest[j]["speaker"] for j in members} == {row["speaker"]}
            assert row["group"] not in {manifest[j]["group"] for j in members}  # neither take of the line
            if mode == "other_statement":
                assert {manifest[j]["statement"] for j in members} == {"02" if row["statement"] == "01" else "01"}
                assert len(members) == 24
            elif takes:
                assert len(members) == takes
            else:
                assert len(members) == 48 - 2


def test_drawn_sets_are_seeded_per_clip():
    manifest, _ = singers_manifest(actors=range(1, 3))
    first = enrolment.enrolment_sets(manifest, Enrolment("other_takes", 2, seed=0))
    again = enrolment.enrolment_sets(manifest, Enrolment("other_takes", 2, seed=0))
    other = enrolment.enrolment_sets(manifest, Enrolment("other_takes", 2, seed=1))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    reordered = enrolment.enrolment_sets(manifest[::-1], Enrolment("other_takes", 2, seed=0))[::-1]
    clip = [r["clip_id"] for r in manifest]
    back = [r["clip_id"] for r in manifest[::-1]]
    assert all(sorted(clip[j] for j in a) == sorted(back[j] for j in b) for a, b in zip(first, reordered))


def test_normalise_removes_the_singer_and_never_reads_labels():
    manifest, x = singers_manifest()
    z = enrolment.normalise(x, manifest, Enrolment("other_statement"))
    by_singer = lambda data: np.array([data[[i for i, r in enumerate(manifest) if r["speaker"] == s]].mean(axis=0)
                                       for s in sorted({r["speaker"] for r in manifest})])
    assert by_singer(x).std(axis=0).mean() > 3.0 > 0.5 > by_singer(z).std(axis=0).mean()
    shuffled = [{**r, "emotion": EMOTIONS[(EMOTIONS.index(r["emotion"]) + 1) % 6], "intensity": "normal",
                 "enthusiasm": 0.0} for r in manifest]
    assert np.array_equal(z, enrolment.normalise(x, shuffled, Enrolment("other_statement")))
    assert enrolment.normalise(x, manifest, Enrolment("none")) is x


def test_one_enrolment_take_only_centres_and_undefined_features_stay_undefined():
    manifest = [{"clip_id": c, "speaker": "01", "statement": "01", "group": c} for c in ("a", "b")]
    x = np.array([[1.0, np.nan, 5.0], [3.0, 2.0, 5.0]])
    z = enrolment.normalise(x, manifest, Enrolment("other_takes"))
    assert z[0].tolist()[0] == -2.0 and np.isnan(z[0, 1]) and z[0, 2] == 0.0
    assert z[1].tolist()[0] == 2.0 and z[1, 1] == 2.0  # the other take's pitch was undefined: left as it is


@pytest.mark.parametrize("singer,recorded", [
    (Enrolment("other_statement"), {"mode": "other_statement"}),
    # the singers' offsets are additive here, so removing a few takes' mean alone is enough
    (Enrolment("other_takes", 4, scale="centre"), {"mode": "other_takes", "takes": 4, "scale": "centre"}),
])
def test_enrolment_helps_a_model_across_singers(tmp_path, singer, recorded):
    """Under actor folds the singers' voices swamp the emotion; enrolment gives it back."""
    manifest, x = singers_manifest()
    write_features(tmp_path / "features.h5", manifest, x)
    folds = splits.make_folds(splits.rows_from_manifest(manifest),
                              splits.Settings(**split_params(strategy="actor_folds", n_folds=3, final_check_speakers=[])))
    plain, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", folds, "ridge", ALPHA)
    enrolled, _, _ = feature_models.evaluate_table(tmp_path / "features.h5", manifest, "emotion", folds, "ridge", ALPHA,
                                                singer=singer)
    assert "enrolment" not in plain and enrolled["enrolment"] == recorded
    assert enrolled["accuracy"] > plain["accuracy"] + 0.15 and enrolled["accuracy"] > 0.6


def test_unknown_mode_names_the_key():
    manifest, _ = singers_manifest(actors=range(1, 2))
    with pytest.raises(enrolment.EnrolmentError, match="functionals_model.enrolment"):
        enrolment.enrolment_sets(manifest, Enrolment("everyone"))
    assert PARAMS["functionals_model"]["enrolment"] in enrolment.MODES


def test_enrolment_from_one_emotion_only():
    manifest, x = singers_manifest(actors=range(1, 3))
    sets = enrolment.enrolment_sets(manifest, Enrolment("other_takes", 0, emotions=("neutral",)))
    for row, members in zip(manifest, sets):
        assert {manifest[j]["emotion"] for j in members} == {"neutral"}
        assert row["group"] not in {manifest[j]["group"] for j in members}
        assert len(members) == (6 if row["emotion"] == "neutral" else 8)  # 2 songs x 2 intensities x 2 takes
    assert Enrolment("other_takes", 3, emotions=("neutral", "calm")).describe() == {
        "mode": "other_takes", "takes": 3, "emotions": ["neutral", "calm"]}
    with pytest.raises(enrolment.EnrolmentError, match=r"functionals_model.enrolment_emotions.*\['bored'\]"):
        enrolment.enrolment_sets(manifest, Enrolment("other_takes", emotions=("bored",)))


def test_centre_scale_removes_the_set_mean_only():
    """``centre`` subtracts the enrolment set's mean and keeps the spread; ``standardise`` divides by it too."""
    manifest = [{"clip_id": c, "speaker": "01", "statement": "01", "group": c} for c in ("a", "b", "c")]
    x = np.array([[10.0, 1.0], [2.0, 4.0], [6.0, 10.0]])
    centred = enrolment.normalise(x, manifest, Enrolment("other_takes", scale="centre"))
    standardised = enrolment.normalise(x, manifest, Enrolment("other_takes"))
    assert centred[0].tolist() == [10.0 - 4.0, 1.0 - 7.0]  # set {b, c}: mean (4, 7)
    assert standardised[0].tolist() == [(10.0 - 4.0) / 2.0, (1.0 - 7.0) / 3.0]  # sd (2, 3)
    assert Enrolment("other_takes", 4, scale="centre").describe() == {"mode": "other_takes", "takes": 4,
                                                                      "scale": "centre"}
    assert "scale" not in Enrolment("other_statement").describe()  # standardise, as recorded before the key
    with pytest.raises(enrolment.EnrolmentError, match="functionals_model.enrolment_scale.*'zscore'"):
        enrolment.normalise(x, manifest, Enrolment("other_takes", scale="zscore"))
    assert PARAMS["functionals_model"]["enrolment_scale"] in enrolment.SCALES


def test_enrolment_from_the_training_song_only_never_reads_the_test_song():
    """Cross-song: with ``enrolment_statements`` = the training song, no clip (a training clip included)
    is normalised by a take of the test song, and a test clip gets every take of its singer's training song."""
    manifest, x = singers_manifest(actors=range(1, 4))
    split = splits.make_folds(splits.rows_from_manifest(manifest), splits.Settings(**split_params(
        strategy="cross_song_same_singers", train_statement=1, final_check_speakers=[])))[0]
    test_rows = set(split.rows("test").tolist())
    assert test_rows and all(manifest[i]["statement"] == "02" for i in test_rows)
    singer = Enrolment("other_takes", 0, statements=("1",))  # "1" names song "01", as split.train_statement does
    sets = enrolment.enrolment_sets(manifest, singer)
    for i, (row, members) in enumerate(zip(manifest, sets)):
        assert not test_rows & set(members.tolist())
        assert {manifest[j]["statement"] for j in members} == {"01"}
        assert {manifest[j]["speaker"] for j in members} == {row["speaker"]}
        assert row["group"] not in {manifest[j]["group"] for j in members}
        assert len(members) == (24 if i in test_rows else 22)  # the whole training song, less the line's two takes
    # without the restriction the training clips would be enrolled by test-song takes
    unrestricted = enrolment.enrolment_sets(manifest, Enrolment("other_takes", 0))
    assert any(test_rows & set(m.tolist()) for i, m in enumerate(unrestricted) if i not in test_rows)
    assert singer.describe() == {"mode": "other_takes", "takes": "all", "statements": ["1"]}
    normalised = enrolment.normalise(x, manifest, singer)
    changed = x.copy()
    changed[sorted(test_rows)] += 100.0  # test-song audio moves: no training clip may notice
    train_rows = split.rows("train")
    assert np.array_equal(enrolment.normalise(changed, manifest, singer)[train_rows], normalised[train_rows])
    with pytest.raises(enrolment.EnrolmentError, match="functionals_model.enrolment_statements: no clip has "
                                                       "statement/song 3"):
        enrolment.enrolment_sets(manifest, Enrolment("other_takes", statements=("03",)))


def test_spectral_offsets_read_every_copy_against_its_originals_set():
    """The CNN's enrolment: each row (augmented copies too) gets the mean spectrum of its clip's set."""
    originals, band_means = singers_manifest(actors=range(1, 3))
    copies = [{**row, "copy": "3"} for row in originals[::5]]
    rows = [*originals, *copies]
    singer = Enrolment("other_takes")
    offsets = enrolment.spectral_offsets(band_means, originals, rows, singer)
    sets = enrolment.enrolment_sets(originals, singer)
    assert offsets.shape == (len(rows), band_means.shape[1])
    for i, members in enumerate(sets):
        np.testing.assert_allclose(offsets[i], band_means[members].astype(np.float64).mean(axis=0))
    np.testing.assert_array_equal(offsets[len(originals):], offsets[:len(originals):5])  # a copy = its original
    assert not np.allclose(offsets[0], offsets[len(originals) // 2])  # two singers, two spectra
    assert not enrolment.spectral_offsets(band_means, originals, rows, Enrolment()).any()  # none: nothing removed


def test_spectral_offsets_never_read_the_clips_own_line():
    originals, band_means = singers_manifest(actors=range(1, 3))
    singer = Enrolment("other_takes")
    before = enrolment.spectral_offsets(band_means, originals, originals, singer)
    line = [i for i, row in enumerate(originals) if row["group"] == originals[0]["group"]]  # both takes
    moved = band_means.copy()
    moved[line] += 100.0
    after = enrolment.spectral_offsets(moved, originals, originals, singer)
    np.testing.assert_array_equal(after[line], before[line])  # its own takes never enter its offset
    same_singer = [i for i, row in enumerate(originals) if row["speaker"] == originals[0]["speaker"] and i not in line]
    assert (after[same_singer] > before[same_singer]).all()  # but they do enter the singer's other clips'
    other_singer = [i for i, row in enumerate(originals) if row["speaker"] != originals[0]["speaker"]]
    np.testing.assert_array_equal(after[other_singer], before[other_singer])


def test_spectral_offsets_need_an_original_for_every_row():
    originals, band_means = singers_manifest(actors=range(1, 2))
    stray = {**originals[0], "clip_id": "not-in-the-corpus", "copy": "1"}
    with pytest.raises(enrolment.EnrolmentError, match="train.enrolment: clips \\['not-in-the-corpus'\\]"):
        enrolment.spectral_offsets(band_means, originals, [stray], Enrolment("other_takes"))
