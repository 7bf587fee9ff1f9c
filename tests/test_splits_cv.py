"""Cross-validation split strategies and the seed-2 protocols expressed through split params."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from singaffect import params as params_mod
from singaffect import splits
from singaffect.splits import Row, SplitError, make_folds, make_split

from conftest import ROOT


def corpus_rows(actors=range(1, 9), clips_per_actor=6, copies=1) -> list[Row]:
    rows = []
    for actor in actors:
        for clip in range(clips_per_actor):
            for copy in range(copies):
                rows.append(Row(f"a{actor:02d}c{clip}", copy, f"{actor:02d}", str(1 + clip % 2), f"e{clip % 3}"))
    return rows


def split_params(**overrides) -> dict:
    base = yaml.safe_load((ROOT / "params.yaml").read_text())["split"]
    return {**base, **overrides}


def actors_on(rows: list[Row], split: splits.Split, side: str) -> set[str]:
    return {splits.speaker_key(rows[i].speaker) for i in split.rows(side)}


@pytest.mark.parametrize("strategy,n_folds,expected_folds", [
    ("actor_folds", 3, 3), ("actor_folds", 8, 8), ("leave_one_actor_out", 5, 8)])
def test_folds_keep_test_actors_apart_and_test_every_clip_once(strategy, n_folds, expected_folds):
    rows = corpus_rows(copies=3)
    folds = make_folds(rows, split_params(strategy=strategy, n_folds=n_folds, val_fraction=0.2))
    assert len(folds) == expected_folds
    tested = np.zeros(len(rows), dtype=int)
    for number, fold in enumerate(folds):
        assert fold.fold == number and not fold.leaky and fold.strategy == strategy
        test_actors = actors_on(rows, fold, "test")
        assert test_actors
        assert not test_actors & actors_on(rows, fold, "train")
        assert not test_actors & actors_on(rows, fold, "val")
        assert not actors_on(rows, fold, "val") & actors_on(rows, fold, "train")
        tested[fold.rows("test")] += 1
    originals = np.array([r.copy == 0 for r in rows])
    assert np.all(tested[originals] == 1)  # every original recording tested exactly once
    assert np.all(tested[~originals] == 0)  # augmented copies are never tested


def test_fold_sizes_differ_by_at_most_one_actor():
    rows = corpus_rows(actors=range(1, 12))
    folds = make_folds(rows, split_params(strategy="actor_folds", n_folds=4))
    sizes = [len(actors_on(rows, f, "test")) for f in folds]
    assert sum(sizes) == 11 and max(sizes) - min(sizes) <= 1


def test_folds_are_deterministic_and_depend_on_seed():
    rows = corpus_rows(actors=range(1, 13))
    first = make_folds(rows, split_params(strategy="actor_folds", n_folds=4, seed=3))
    again = make_folds(rows, split_params(strategy="actor_folds", n_folds=4, seed=3))
    other = make_folds(rows, split_params(strategy="actor_folds", n_folds=4, seed=4))
    assert all(np.array_equal(a.sides, b.sides) for a, b in zip(first, again))
    assert not all(np.array_equal(a.sides, b.sides) for a, b in zip(first, other))


def test_too_many_folds_names_the_key():
    with pytest.raises(SplitError, match="split.n_folds"):
        make_folds(corpus_rows(actors=range(1, 5)), split_params(strategy="actor_folds", n_folds=5))


def test_single_split_of_a_cv_strategy_is_fold_split_fold():
    rows = corpus_rows()
    folds = make_folds(rows, split_params(strategy="leave_one_actor_out"))
    third = make_split(rows, split_params(strategy="leave_one_actor_out", fold=2))
    assert np.array_equal(third.sides, folds[2].sides) and third.fold == 2
    assert third.protocol.endswith("(fold 3 of 8)")
    with pytest.raises(SplitError, match="split.fold"):
        make_split(rows, split_params(strategy="actor_folds", n_folds=3, fold=3))


def test_single_split_strategies_give_one_fold():
    rows = corpus_rows()
    (only,) = make_folds(rows, split_params(strategy="group"))
    assert only.fold is None and np.array_equal(only.sides, make_split(rows, split_params(strategy="group")).sides)


def test_seed2_speaker_dependent_random_split_of_originals_is_not_leaky():
    """Seed 2's 90/10 split of original clips: random, but no augmented copy to leak."""
    rows = corpus_rows(actors=range(1, 11), clips_per_actor=10)
    split = make_split(rows, split_params(strategy="random", val_fraction=0.1, test_fraction=0.1))
    assert not split.leaky and "LEAKY" not in split.protocol
    assert len(split.rows("test")) == 10 and len(split.rows("val")) == 10
    augmented = corpus_rows(actors=range(1, 11), clips_per_actor=10, copies=2)
    leaky = make_split(augmented, split_params(strategy="random", val_fraction=0.1, test_fraction=0.1))
    assert leaky.leaky and "LEAKY" in leaky.protocol


def test_seed2_speaker_independent_split_tests_actors_21_to_24():
    rows = corpus_rows(actors=range(1, 25), clips_per_actor=2)
    split = make_split(rows, split_params(strategy="speaker", test_speakers=[21, 22, 23, 24], val_speakers=[19, 20]))
    assert actors_on(rows, split, "test") == {"21", "22", "23", "24"}
    assert actors_on(rows, split, "train") == {str(a) for a in range(1, 19)}


def test_rows_from_manifest_defaults_to_originals():
    manifest = [{"clip_id": "x", "speaker": "01", "statement": "01", "emotion": "happy", "intensity": "strong",
                 "enthusiasm": "1.0"},
                {"clip_id": "y", "speaker": "02", "statement": "01", "emotion": "", "intensity": "",
                 "enthusiasm": "0.75", "copy": "3"}]
    first, second = splits.rows_from_manifest(manifest)
    assert (first.copy, first.stratum) == (0, "happy|strong")
    assert (second.copy, second.stratum) == (3, "score=0.8")


def test_params_schema_knows_the_new_strategies():
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    for strategy in ("actor_folds", "leave_one_actor_out"):
        params_mod.validate({**p, "split": {**p["split"], "strategy": strategy}})
    with pytest.raises(params_mod.ParamsError, match="split.n_folds"):
        params_mod.validate({**p, "split": {**p["split"], "n_folds": 1}})
