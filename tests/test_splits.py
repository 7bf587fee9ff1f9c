"""Split protocols: no recording group crosses sides, evaluation on originals, leaky marked."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from singaffect import corpus, splits
from singaffect.splits import Row, SplitError

COPIES = 3  # copies per clip in the test rows (copy 0 plus two augmented)
TAKES = 2   # RAVDESS repetitions 01 and 02 of every line: one recording group


@pytest.fixture(scope="module")
def rows(ravdess_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    """Augmented rows of the synthetic corpus (4 actors, 176 clips in 88 groups) as the split stage builds them:
    clip manifest + a ``copy`` column, written and read back as CSV, then ``rows_from_manifest``."""
    manifest = [{**corpus.clip_row(clip), "copy": copy}
                for clip in corpus.list_clips("ravdess", ravdess_corpus) for copy in range(COPIES)]
    path = tmp_path_factory.mktemp("split") / "manifest.csv"
    corpus.write_manifest(path, manifest)
    return splits.rows_from_manifest(corpus.read_manifest(path))


def params(**overrides) -> dict:
    base = {"strategy": "group", "seed": 0, "val_fraction": 0.2, "test_fraction": 0.2,
            "test_speakers": [4], "val_speakers": [3], "train_statement": 1, "n_folds": 3, "fold": 0,
            "final_check_speakers": []}
    return {**base, **overrides}


def sides_of(rows: list[Row], split: splits.Split, key=lambda row: row.group) -> dict[str, set[str]]:
    """The sides each unit (recording group by default) has used rows on."""
    sides = defaultdict(set)
    for row, side in zip(rows, split.sides):
        if side:
            sides[key(row)].add(side)
    return sides


def assert_honest(rows: list[Row], split: splits.Split) -> None:
    """No recording group (so no clip) on two sides; val/test only originals; train keeps every copy of its groups."""
    assert not split.leaky
    assert all(len(s) == 1 for s in sides_of(rows, split).values())
    assert all(len(s) == 1 for s in sides_of(rows, split, key=lambda row: row.clip_id).values())
    assert splits.crossing_groups(rows, split.sides) == []
    for row, side in zip(rows, split.sides):
        if side in ("val", "test"):
            assert row.copy == 0
    train_clips = {r.clip_id for r, s in zip(rows, split.sides) if s == "train"}
    assert sum(s == "train" for s in split.sides) == COPIES * len(train_clips)
    train_groups = {r.group for r, s in zip(rows, split.sides) if s == "train"}
    assert all(side == "train" for row, side in zip(rows, split.sides) if row.group in train_groups)
    for side in splits.SIDES:
        assert np.any(split.sides == side)


def test_rows_carry_the_recording_group(rows: list[Row]) -> None:
    assert len(rows) == COPIES * 176
    members = defaultdict(set)
    for row in rows:
        members[row.group].add(row.clip_id)
    assert len(members) == 88 and all(len(clips) == TAKES for clips in members.values())
    first = next(r for r in rows if r.clip_id == "03-02-05-02-01-02-03")
    assert first.group == "03|01|angry|strong" and first.stratum == "angry|strong"


def test_group_split_is_honest_and_stratified(rows: list[Row]) -> None:
    split = splits.make_split(rows, splits.Settings(**params()))
    assert_honest(rows, split)
    assert split.strategy == "group" and "speaker-dependent" in split.protocol and split.cluster_unit == "group"
    # every clip is used: its originals on val/test, all copies on train
    assert set(sides_of(rows, split, key=lambda row: row.clip_id)) == {r.clip_id for r in rows}
    strata = {r.clip_id: r.stratum for r in rows}
    for side in ("val", "test"):
        chosen = np.asarray(rows, dtype=object)[split.rows(side)]
        assert sorted({strata[r.clip_id] for r in chosen}) == sorted(set(strata.values()))
        # 8 groups per stratum (4 actors x 2 statements) -> 2 groups each side, both takes of each
        groups = defaultdict(set)
        for r in chosen:
            groups[r.stratum].add(r.group)
        assert all(len(g) == 2 for g in groups.values()) and len(groups) == 11
        assert len(chosen) == 2 * 11 * TAKES


def test_group_split_is_deterministic_and_seeded(rows: list[Row]) -> None:
    a = splits.make_split(rows, splits.Settings(**params()))
    b = splits.make_split(list(rows), splits.Settings(**params()))
    c = splits.make_split(rows, splits.Settings(**params(seed=1)))
    np.testing.assert_array_equal(a.sides, b.sides)
    assert not np.array_equal(a.sides, c.sides)


def test_group_split_does_not_depend_on_row_order(rows: list[Row]) -> None:
    a = splits.make_split(rows, splits.Settings(**params()))
    order = np.random.default_rng(0).permutation(len(rows))
    b = splits.make_split([rows[i] for i in order], splits.Settings(**params()))
    np.testing.assert_array_equal(a.sides[order], b.sides)


def test_group_fractions_must_leave_room_for_train(rows: list[Row]) -> None:
    with pytest.raises(SplitError, match="split.val_fraction \\+ split.test_fraction"):
        splits.make_split(rows, splits.Settings(**params(val_fraction=0.5, test_fraction=0.5)))


@pytest.mark.parametrize("test_speakers, val_speakers", [([4], [3]), (["04"], ["3"]), ([4, "2"], [3])])
def test_speaker_split_holds_out_named_speakers(rows: list[Row], test_speakers: list, val_speakers: list) -> None:
    split = splits.make_split(rows, splits.Settings(**params(strategy="speaker", test_speakers=test_speakers,
                                           val_speakers=val_speakers)))
    assert_honest(rows, split)
    assert "speaker-independent" in split.protocol and split.cluster_unit == "speaker"
    test_keys = {splits.speaker_key(s) for s in test_speakers}
    val_keys = {splits.speaker_key(s) for s in val_speakers}
    by_side = defaultdict(set)
    for row, side in zip(rows, split.sides):
        by_side[side].add(splits.speaker_key(row.speaker))
    assert by_side["test"] == test_keys
    assert by_side["val"] == val_keys
    assert by_side["train"] == {"1", "2", "3", "4"} - test_keys - val_keys
    # held-out speakers are evaluated on every one of their original recordings
    n_test_clips = sum(1 for r in rows if r.copy == 0 and splits.speaker_key(r.speaker) in test_keys)
    assert len(split.rows("test")) == n_test_clips


def test_speaker_split_errors_name_the_key(rows: list[Row]) -> None:
    with pytest.raises(SplitError, match=r"split.test_speakers: none of \['21', '22'\]"):
        splits.make_split(rows, splits.Settings(**params(strategy="speaker", test_speakers=[21, 22])))
    with pytest.raises(SplitError, match="split.val_speakers"):
        splits.make_split(rows, splits.Settings(**params(strategy="speaker", val_speakers=[])))
    with pytest.raises(SplitError, match=r"share \['3'\]"):
        splits.make_split(rows, splits.Settings(**params(strategy="speaker", test_speakers=[3, 4], val_speakers=["03"])))


def test_speaker_split_that_leaves_train_empty(rows: list[Row]) -> None:
    with pytest.raises(SplitError, match="train side empty"):
        splits.make_split(rows, splits.Settings(**params(strategy="speaker", test_speakers=[1, 2, 4], val_speakers=[3])))


def test_cross_song_same_singers_tests_on_the_other_statement(rows: list[Row]) -> None:
    split = splits.make_split(rows, splits.Settings(**params(strategy="cross_song_same_singers", train_statement=1)))
    assert_honest(rows, split)
    assert "cross-song, same singers" in split.protocol and split.cluster_unit == "group"
    for row, side in zip(rows, split.sides):
        if side in ("train", "val"):
            assert row.statement == "01"
        elif side == "test":
            assert row.statement == "02"
    assert len(split.rows("test")) == sum(1 for r in rows if r.copy == 0 and r.statement == "02")
    speakers = {side: {r.speaker for r, s in zip(rows, split.sides) if s == side} for side in splits.SIDES}
    assert speakers["train"] == speakers["test"] == {"01", "02", "03", "04"}  # same singers on both songs
    with pytest.raises(SplitError, match="split.train_statement: no clip has statement/song 3"):
        splits.make_split(rows, splits.Settings(**params(strategy="cross_song_same_singers", train_statement=3)))


def test_cross_song_new_singers_holds_out_songs_and_singers(rows: list[Row]) -> None:
    split = splits.make_split(rows, splits.Settings(**params(strategy="cross_song_new_singers", train_statement=1,
                                           test_speakers=[4], val_speakers=[3])))
    assert_honest(rows, split)
    assert "cross-singer" in split.protocol and split.cluster_unit == "speaker"
    expected = {("01", "01"): "train", ("02", "01"): "train", ("03", "01"): "val", ("04", "02"): "test"}
    for row, side in zip(rows, split.sides):
        want = expected.get((row.speaker, row.statement), "")  # e.g. actor 4 singing statement 1: unused
        assert side == (want if want == "train" or row.copy == 0 else "")
    assert len(split.rows("test")) == sum(1 for r in rows if r.copy == 0 and (r.speaker, r.statement) == ("04", "02"))
    with pytest.raises(SplitError, match="split.train_statement"):
        splits.make_split(rows, splits.Settings(**params(strategy="cross_song_new_singers", train_statement=3)))
    with pytest.raises(SplitError, match="split.test_speakers"):
        splits.make_split(rows, splits.Settings(**params(strategy="cross_song_new_singers", test_speakers=[9])))


def test_random_split_is_marked_leaky(rows: list[Row]) -> None:
    split = splits.make_split(rows, splits.Settings(**params(strategy="random")))
    assert split.leaky and "LEAKY" in split.protocol
    assert all(side in splits.SIDES for side in split.sides)  # every row used, copies included
    crossing = [g for g, s in sides_of(rows, split).items() if len(s) > 1]
    assert crossing, "a row-level split puts copies and takes of one recording group on several sides"
    assert sorted(crossing) == splits.crossing_groups(rows, split.sides)
    assert len(split.rows("val")) == round(0.2 * len(rows))
    for strategy in ("group", "speaker", "cross_song_same_singers", "cross_song_new_singers",
                     "actor_folds", "leave_one_actor_out"):
        assert not splits.make_split(rows, splits.Settings(**params(strategy=strategy))).leaky


@pytest.mark.parametrize("strategy, overrides, side", [
    ("group", {"val_fraction": 0.0}, "val"),
    ("group", {"test_fraction": 0.0}, "test"),
    ("cross_song_same_singers", {"val_fraction": 0.0}, "val"),
    ("random", {"test_fraction": 0.0}, "test"),
])
def test_empty_side_is_an_error(rows: list[Row], strategy: str, overrides: dict, side: str) -> None:
    with pytest.raises(SplitError, match=f"'{strategy}' leaves the {side} side empty"):
        splits.make_split(rows, splits.Settings(**params(strategy=strategy, **overrides)))


@pytest.mark.parametrize("strategy", ["cross_song_same_singers", "cross_song_new_singers"])
def test_cross_song_without_other_songs_leaves_test_empty(rows: list[Row], strategy: str) -> None:
    one_song = [r for r in rows if r.statement == "01"]
    with pytest.raises(SplitError, match=f"'{strategy}' leaves the test side empty"):
        splits.make_split(one_song, splits.Settings(**params(strategy=strategy)))


@pytest.mark.parametrize("name", ["clip", "statement"])  # 'statement' is now cross_song_same_singers
def test_unknown_strategy(rows: list[Row], name: str) -> None:
    with pytest.raises(SplitError, match=f"split.strategy: unknown strategy '{name}'"):
        splits.make_split(rows, splits.Settings(**params(strategy=name)))


def test_crossing_groups_lists_each_leaking_group_once() -> None:
    rows = [Row("a1", 0, "1", "01", "s", "A"), Row("a2", 0, "1", "01", "s", "A"),
            Row("b1", 0, "2", "01", "s", "B"), Row("b1", 1, "2", "01", "s", "B"),
            Row("c1", 0, "3", "01", "s", "C"), Row("c1", 1, "3", "01", "s", "C")]
    sides = np.array(["train", "test", "val", "val", "test", ""], dtype=object)
    assert splits.crossing_groups(rows, sides) == ["A"]  # unused rows never count as a side
    sides[3] = "train"
    assert splits.crossing_groups(rows, sides) == ["A", "B"]


def test_describe_counts_add_up(rows: list[Row]) -> None:
    split = splits.make_split(rows, splits.Settings(**params()))
    info = splits.describe(rows, split)
    assert (info["strategy"], info["leaky"], info["cluster_unit"]) == ("group", False, "group")
    assert info["protocol"] == split.protocol and info["fold"] is None
    assert info["groups_crossing_sides"] == 0
    assert sum(info["rows"].values()) == np.count_nonzero(split.sides != "")
    total_groups = 0
    for side in splits.SIDES:
        chosen = [r for r, s in zip(rows, split.sides) if s == side]
        got = info["sides"][side]
        assert got["rows"] == info["rows"][side] == len(chosen)
        assert got["originals"] == sum(r.copy == 0 for r in chosen) == sum(got["strata"].values())
        assert got["groups"] == len({r.group for r in chosen})
        assert got["speakers"] == ["01", "02", "03", "04"] and got["songs"] == ["01", "02"]
        total_groups += got["groups"]
    assert total_groups == 88  # disjoint sides: every group counted exactly once
    assert info["sides"]["train"]["rows"] == COPIES * info["sides"]["train"]["originals"]
    assert info["sides"]["val"]["rows"] == info["sides"]["val"]["originals"] == 2 * 11 * TAKES


def test_describe_shows_a_leak_and_folds(rows: list[Row]) -> None:
    random = splits.make_split(rows, splits.Settings(**params(strategy="random")))
    leaky = splits.describe(rows, random)
    assert leaky["leaky"] and leaky["groups_crossing_sides"] == len(splits.crossing_groups(rows, random.sides)) > 0
    # a group on k sides is counted on each of them
    on_sides = sum(len(s) for s in sides_of(rows, random).values())
    assert sum(side["groups"] for side in leaky["sides"].values()) == on_sides
    assert sum(leaky["rows"].values()) == len(rows)
    fold = splits.describe(rows, splits.make_split(rows, splits.Settings(**params(strategy="leave_one_actor_out", fold=1))))
    assert (fold["fold"], fold["n_folds"], fold["cluster_unit"], fold["groups_crossing_sides"]) == (1, 4, "speaker", 0)
    assert fold["protocol"].endswith("(fold 2 of 4)")
    assert len(fold["sides"]["test"]["speakers"]) == 1
    assert not set(fold["sides"]["test"]["speakers"]) & set(fold["sides"]["train"]["speakers"])


@pytest.mark.parametrize("value, key", [(1, "1"), ("01", "1"), (" 21 ", "21"), ("F01", "f01"), ("m02", "m02")])
def test_speaker_key(value, key: str) -> None:
    assert splits.speaker_key(value) == key


def test_the_params_schema_offers_exactly_the_registered_strategies():
    from singaffect import params as params_module

    assert params_module.SCHEMA["split"]["strategy"].choices == tuple(splits.STRATEGIES)
    assert set(splits.PROTOCOLS) == set(splits.STRATEGIES)
    assert set(splits.CV_STRATEGIES) | {"final_check", "speaker", "cross_song_new_singers"} == set(
        splits.SPEAKER_INDEPENDENT)
