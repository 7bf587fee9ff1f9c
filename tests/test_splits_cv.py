"""Cross-validation split strategies and the seed-2 protocols expressed through split params."""
from __future__ import annotations

import numpy as np
import pytest
import yaml

from singaffect import params as params_mod
from singaffect import splits
from singaffect.splits import Row, SplitError, make_folds, make_split

from conftest import ROOT


def corpus_rows(actors=range(1, 9), clips_per_actor=6, copies=1, takes=1) -> list[Row]:
    """``clips_per_actor`` recording groups per actor, each ``takes`` takes (clips) x ``copies`` copies."""
    rows = []
    for actor in actors:
        for clip in range(clips_per_actor):
            group = f"{actor:02d}|{1 + clip % 2}|e{clip % 3}|{clip}"
            for take in range(1, takes + 1):
                for copy in range(copies):
                    rows.append(Row(f"a{actor:02d}c{clip}t{take}", copy, f"{actor:02d}", str(1 + clip % 2),
                                    f"e{clip % 3}", group))
    return rows


def split_params(**overrides) -> dict:
    """params.yaml's split section; no final-check actors held back unless a test asks (these tests count actors)."""
    base = yaml.safe_load((ROOT / "params.yaml").read_text())["split"]
    return {**base, "final_check_speakers": [], **overrides}


def actors_on(rows: list[Row], split: splits.Split, side: str) -> set[str]:
    return {splits.speaker_key(rows[i].speaker) for i in split.rows(side)}


@pytest.mark.parametrize("strategy,n_folds,expected_folds", [
    ("actor_folds", 3, 3), ("actor_folds", 8, 8), ("leave_one_actor_out", 5, 8)])
def test_folds_keep_test_actors_apart_and_test_every_clip_once(strategy, n_folds, expected_folds):
    rows = corpus_rows(copies=3, takes=2)
    folds = make_folds(rows, splits.Settings(**split_params(strategy=strategy, n_folds=n_folds, val_fraction=0.2)))
    assert len(folds) == expected_folds
    tested = np.zeros(len(rows), dtype=int)
    for number, fold in enumerate(folds):
        assert fold.fold == number and not fold.leaky and fold.strategy == strategy
        test_actors = actors_on(rows, fold, "test")
        assert test_actors
        assert not test_actors & actors_on(rows, fold, "train")
        assert not test_actors & actors_on(rows, fold, "val")
        assert not actors_on(rows, fold, "val") & actors_on(rows, fold, "train")
        assert splits.crossing_groups(rows, fold.sides) == [] and fold.cluster_unit == "speaker"
        tested[fold.rows("test")] += 1
    originals = np.array([r.copy == 0 for r in rows])
    assert np.all(tested[originals] == 1)  # every original recording tested exactly once
    assert np.all(tested[~originals] == 0)  # augmented copies are never tested


def test_fold_sizes_differ_by_at_most_one_actor():
    rows = corpus_rows(actors=range(1, 12))
    folds = make_folds(rows, splits.Settings(**split_params(strategy="actor_folds", n_folds=4)))
    sizes = [len(actors_on(rows, f, "test")) for f in folds]
    assert sum(sizes) == 11 and max(sizes) - min(sizes) <= 1


def test_folds_are_deterministic_and_depend_on_seed():
    rows = corpus_rows(actors=range(1, 13))
    first = make_folds(rows, splits.Settings(**split_params(strategy="actor_folds", n_folds=4, seed=3)))
    again = make_folds(rows, splits.Settings(**split_params(strategy="actor_folds", n_folds=4, seed=3)))
    other = make_folds(rows, splits.Settings(**split_params(strategy="actor_folds", n_folds=4, seed=4)))
    assert all(np.array_equal(a.sides, b.sides) for a, b in zip(first, again))
    assert not all(np.array_equal(a.sides, b.sides) for a, b in zip(first, other))


def test_too_many_folds_names_the_key():
    with pytest.raises(SplitError, match="split.n_folds"):
        make_folds(corpus_rows(actors=range(1, 5)), splits.Settings(**split_params(strategy="actor_folds", n_folds=5)))


def test_single_split_of_a_cv_strategy_is_fold_split_fold():
    rows = corpus_rows()
    folds = make_folds(rows, splits.Settings(**split_params(strategy="leave_one_actor_out")))
    third = make_split(rows, splits.Settings(**split_params(strategy="leave_one_actor_out", fold=2)))
    assert np.array_equal(third.sides, folds[2].sides) and third.fold == 2
    assert third.protocol.endswith("(fold 3 of 8)")
    with pytest.raises(SplitError, match="split.fold"):
        make_split(rows, splits.Settings(**split_params(strategy="actor_folds", n_folds=3, fold=3)))


def test_single_split_strategies_give_one_fold():
    rows = corpus_rows()
    (only,) = make_folds(rows, splits.Settings(**split_params(strategy="group")))
    assert only.fold is None and np.array_equal(only.sides, make_split(rows, splits.Settings(**split_params(strategy="group"))).sides)


def test_seed2_random_split_is_leaky_unless_every_group_is_one_row():
    """Seed 2's 90/10 split of original clips: with one take per line and no augmented copy nothing can
    leak; twin takes of a line (or augmented copies) on two sides make it leaky."""
    rows = corpus_rows(actors=range(1, 11), clips_per_actor=10)
    assert len({r.group for r in rows}) == len(rows)  # every group is a single row
    split = make_split(rows, splits.Settings(**split_params(strategy="random", val_fraction=0.1, test_fraction=0.1)))
    assert not split.leaky and splits.crossing_groups(rows, split.sides) == []
    assert len(split.rows("test")) == 10 and len(split.rows("val")) == 10
    augmented = corpus_rows(actors=range(1, 11), clips_per_actor=10, copies=2)
    leaky = make_split(augmented, splits.Settings(**split_params(strategy="random", val_fraction=0.1, test_fraction=0.1)))
    assert leaky.leaky and "LEAKY" in leaky.protocol
    twins = corpus_rows(actors=range(1, 11), clips_per_actor=10, takes=2)  # originals only, two takes per line
    assert all(r.copy == 0 for r in twins)
    twin_split = make_split(twins, splits.Settings(**split_params(strategy="random", val_fraction=0.1, test_fraction=0.1)))
    assert twin_split.leaky and "LEAKY" in twin_split.protocol
    assert twin_split.leaky == bool(splits.crossing_groups(twins, twin_split.sides))
    assert not set(splits.crossing_groups(twins, twin_split.sides)) - {r.group for r in twins}


def test_seed2_speaker_independent_split_tests_actors_21_to_24():
    rows = corpus_rows(actors=range(1, 25), clips_per_actor=2)
    split = make_split(rows, splits.Settings(**split_params(strategy="speaker", test_speakers=[21, 22, 23, 24], val_speakers=[19, 20])))
    assert actors_on(rows, split, "test") == {"21", "22", "23", "24"}
    assert actors_on(rows, split, "train") == {str(a) for a in range(1, 19)}


def test_rows_from_manifest_defaults_to_originals():
    manifest = [{"clip_id": "x", "speaker": "01", "statement": "01", "emotion": "happy", "intensity": "strong",
                 "enthusiasm": "1.0", "group": "01|01|happy|strong"},
                {"clip_id": "y", "speaker": "02", "statement": "01", "emotion": "", "intensity": "",
                 "enthusiasm": "0.75", "copy": "3", "group": "m02|elly|normal"}]
    first, second = splits.rows_from_manifest(manifest)
    assert (first.copy, first.stratum, first.group) == (0, "happy|strong", "01|01|happy|strong")
    assert (second.copy, second.stratum, second.group) == (3, "score=0.8", "m02|elly|normal")


@pytest.mark.parametrize("group", [None, ""])
def test_rows_from_manifest_needs_the_recording_group(group):
    row = {"clip_id": "x", "speaker": "01", "statement": "01", "emotion": "happy", "intensity": "strong",
           "enthusiasm": "1.0"}
    ok = {**row, "clip_id": "w", "group": "01|01|happy|strong"}
    bad = row if group is None else {**row, "group": group}
    with pytest.raises(SplitError, match="without a recording group .*clip x.*rerun the raw stage"):
        splits.rows_from_manifest([ok, bad])


def test_params_schema_knows_the_new_strategies():
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    for strategy in ("actor_folds", "leave_one_actor_out", "cross_song_same_singers", "cross_song_new_singers"):
        params_mod.validate({**p, "split": {**p["split"], "strategy": strategy}})
        assert strategy in splits.PROTOCOLS
    with pytest.raises(params_mod.ParamsError, match="split.strategy"):  # renamed cross_song_same_singers
        params_mod.validate({**p, "split": {**p["split"], "strategy": "statement"}})
    with pytest.raises(params_mod.ParamsError, match="split.n_folds"):
        params_mod.validate({**p, "split": {**p["split"], "n_folds": 1}})
