"""Lab corpora name their songs and singers: cross-song splits by song name (or a list of
songs), and speaker splits that draw their singers themselves (``test_speakers: auto``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import synth
from conftest import ROOT
from singaffect import corpus, params, splits
from singaffect.splits import Row

BASE = {**params.load(ROOT / "params.yaml")["split"], "final_check_speakers": []}


def lab_rows(root: Path, **corpus_args) -> list[Row]:
    synth.write_evaluation_corpus(root, **corpus_args)
    clips = corpus.list_clips("evaluation_txt", root, "Evaluation.txt", 3.0)  # ten singers score up to 2.5
    return splits.rows_from_manifest([{**corpus.clip_row(clip), "copy": str(copy)} for clip in clips
                                      for copy in range(2)])


def songs_on(rows: list[Row], split: splits.Split, side: str) -> set[str]:
    return {row.statement for row, s in zip(rows, split.sides) if s == side}


@pytest.fixture(scope="module")
def three_songs(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    return lab_rows(tmp_path_factory.mktemp("songs"), songs=("elly", "fav", "moon"), takes=(1, 2), parts=(1,),
                    seconds=0.2)


@pytest.mark.parametrize("value", ["elly", ["elly"], 1, ["elly", "fav"]])
def test_train_statement_takes_a_song_name_or_a_list(value) -> None:
    got = params.apply_overrides(params.load(ROOT / "params.yaml"), {"split.train_statement": value})
    assert got["split"]["train_statement"] == value


def test_train_statement_refuses_a_mapping() -> None:
    with pytest.raises(params.ParamsError, match="split.train_statement"):
        params.apply_overrides(params.load(ROOT / "params.yaml"), {"split.train_statement": {"a": 1}})


@pytest.mark.parametrize("train, test", [("elly", {"fav", "moon"}), (["ELLY", "moon"], {"fav"})])
def test_cross_song_trains_on_the_named_songs_and_tests_on_the_rest(three_songs: list[Row], train, test) -> None:
    split = splits.make_split(three_songs, splits.Settings(**{**BASE, "strategy": "cross_song_same_singers", "train_statement": train}))
    trained = splits.train_songs(train)
    assert songs_on(three_songs, split, "train") == songs_on(three_songs, split, "val") == trained
    assert songs_on(three_songs, split, "test") == test
    summary = splits.describe(three_songs, split, splits.Settings(**BASE))
    assert set(summary["sides"]["test"]["songs"]) == test and set(summary["sides"]["train"]["songs"]) == trained


def test_cross_song_new_singers_by_name(three_songs: list[Row]) -> None:
    p = {**BASE, "strategy": "cross_song_new_singers", "train_statement": "fav", "test_speakers": ["m02"],
         "val_speakers": ["f02"]}
    split = splits.make_split(three_songs, splits.Settings(**p))
    test_rows = [row for row, s in zip(three_songs, split.sides) if s == "test"]
    assert {row.speaker for row in test_rows} == {"m02"} and {row.statement for row in test_rows} == {"elly", "moon"}


def test_an_unknown_song_is_named_with_the_corpus_songs(three_songs: list[Row]) -> None:
    with pytest.raises(splits.SplitError, match=r"split.train_statement: no clip has statement/song sun "
                                                r"\(songs: elly, fav, moon\)"):
        splits.make_split(three_songs, splits.Settings(**{**BASE, "strategy": "cross_song_same_singers", "train_statement": ["elly", "sun"]}))


@pytest.fixture(scope="module")
def ten_singers(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    singers = [f"{'mf'[i % 2]}{i:02d}" for i in range(10)]  # mean score grows with the singer index
    return lab_rows(tmp_path_factory.mktemp("singers"), singers=singers, songs=("elly",), takes=(1,), parts=(1,),
                    seconds=0.2)


def test_auto_speakers_draw_a_seeded_stratified_set_and_record_it(ten_singers: list[Row]) -> None:
    p = {**BASE, "strategy": "speaker", "test_speakers": "auto", "val_speakers": "auto", "test_fraction": 0.2,
         "val_fraction": 0.2}
    split = splits.make_split(ten_singers, splits.Settings(**p))
    again = splits.make_split(ten_singers, splits.Settings(**p))
    assert np.array_equal(split.sides, again.sides)  # seeded
    summary = splits.describe(ten_singers, split, splits.Settings(**p))
    test, val = summary["sides"]["test"]["speakers"], summary["sides"]["val"]["speakers"]
    assert len(test) == len(val) == 2 and not set(test) & set(val)
    assert summary["speakers_drawn_by_auto"] == ["split.test_speakers", "split.val_speakers"]
    order = sorted({row.speaker for row in ten_singers}, key=lambda s: int(s[1:]))  # by mean score
    assert sorted(order.index(s) // 5 for s in test) == [0, 1]  # one from each half of the score range
    drawn = {tuple(splits.describe(ten_singers, splits.make_split(ten_singers, splits.Settings(**{**p, "seed": seed})), splits.Settings(**p))
                   ["sides"]["test"]["speakers"]) for seed in range(8)}
    assert len(drawn) > 1  # the seed decides who is drawn


def test_auto_val_speakers_avoid_listed_test_speakers(ten_singers: list[Row]) -> None:
    p = {**BASE, "strategy": "speaker", "test_speakers": ["m00", "f01"], "val_speakers": "auto", "val_fraction": 0.3}
    summary = splits.describe(ten_singers, splits.make_split(ten_singers, splits.Settings(**p)), splits.Settings(**p))
    assert summary["sides"]["test"]["speakers"] == ["f01", "m00"]
    assert len(summary["sides"]["val"]["speakers"]) == 3 and not {"m00", "f01"} & set(summary["sides"]["val"]["speakers"])
    assert summary["speakers_drawn_by_auto"] == ["split.val_speakers"]


def test_auto_is_the_only_word_a_speaker_list_takes() -> None:
    with pytest.raises(params.ParamsError, match="split.test_speakers"):
        params.apply_overrides(params.load(ROOT / "params.yaml"), {"split.test_speakers": "all"})
