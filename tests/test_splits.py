"""Split protocols: no recording crosses sides, evaluation on originals, leaky marked."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from singaffect import corpus, splits
from singaffect.splits import Row, SplitError

COPIES = 3  # copies per clip in the test rows (copy 0 plus two augmented)


@pytest.fixture(scope="module")
def rows(ravdess_corpus: Path) -> list[Row]:
    """Augmented rows of the synthetic corpus (4 actors, 88 clips) as the split stage builds them."""
    out = []
    for clip in corpus.list_clips("ravdess", ravdess_corpus):
        for copy in range(COPIES):
            out.append(Row(clip.clip_id, copy, clip.speaker, clip.statement, f"{clip.emotion}|{clip.intensity}"))
    return out


def params(**overrides) -> dict:
    base = {"strategy": "group", "seed": 0, "val_fraction": 0.2, "test_fraction": 0.2,
            "test_speakers": [4], "val_speakers": [3], "train_statement": 1}
    return {**base, **overrides}


def sides_of_clips(rows: list[Row], split: splits.Split) -> dict[str, set[str]]:
    sides = defaultdict(set)
    for row, side in zip(rows, split.sides):
        if side:
            sides[row.clip_id].add(side)
    return sides


def assert_honest(rows: list[Row], split: splits.Split) -> None:
    """No clip on two sides; val/test only originals; train keeps every copy of its clips."""
    assert not split.leaky
    assert all(len(s) == 1 for s in sides_of_clips(rows, split).values())
    for row, side in zip(rows, split.sides):
        if side in ("val", "test"):
            assert row.copy == 0
    train_clips = {r.clip_id for r, s in zip(rows, split.sides) if s == "train"}
    assert sum(s == "train" for s in split.sides) == COPIES * len(train_clips)
    for side in splits.SIDES:
        assert np.any(split.sides == side)


def test_group_split_is_honest_and_stratified(rows: list[Row]) -> None:
    split = splits.make_split(rows, params())
    assert_honest(rows, split)
    assert split.strategy == "group" and "speaker-dependent" in split.protocol
    # every clip is used: its originals on val/test, all copies on train
    assert set(sides_of_clips(rows, split)) == {r.clip_id for r in rows}
    strata = {r.clip_id: r.stratum for r in rows}
    for side in ("val", "test"):
        chosen = [strata[r.clip_id] for r in np.asarray(rows, dtype=object)[split.rows(side)]]
        assert sorted(set(chosen)) == sorted(set(strata.values()))  # 8 clips per stratum -> 2 each side
        assert len(chosen) == 2 * 11


def test_group_split_is_deterministic_and_seeded(rows: list[Row]) -> None:
    a = splits.make_split(rows, params())
    b = splits.make_split(list(rows), params())
    c = splits.make_split(rows, params(seed=1))
    np.testing.assert_array_equal(a.sides, b.sides)
    assert not np.array_equal(a.sides, c.sides)


def test_group_split_does_not_depend_on_row_order(rows: list[Row]) -> None:
    a = splits.make_split(rows, params())
    order = np.random.default_rng(0).permutation(len(rows))
    b = splits.make_split([rows[i] for i in order], params())
    np.testing.assert_array_equal(a.sides[order], b.sides)


def test_group_fractions_must_leave_room_for_train(rows: list[Row]) -> None:
    with pytest.raises(SplitError, match="split.val_fraction \\+ split.test_fraction"):
        splits.make_split(rows, params(val_fraction=0.5, test_fraction=0.5))


@pytest.mark.parametrize("test_speakers, val_speakers", [([4], [3]), (["04"], ["3"]), ([4, "2"], [3])])
def test_speaker_split_holds_out_named_speakers(rows: list[Row], test_speakers: list, val_speakers: list) -> None:
    split = splits.make_split(rows, params(strategy="speaker", test_speakers=test_speakers,
                                           val_speakers=val_speakers))
    assert_honest(rows, split)
    assert "speaker-independent" in split.protocol
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
        splits.make_split(rows, params(strategy="speaker", test_speakers=[21, 22]))
    with pytest.raises(SplitError, match="split.val_speakers"):
        splits.make_split(rows, params(strategy="speaker", val_speakers=[]))
    with pytest.raises(SplitError, match=r"share \['3'\]"):
        splits.make_split(rows, params(strategy="speaker", test_speakers=[3, 4], val_speakers=["03"]))


def test_speaker_split_that_leaves_train_empty(rows: list[Row]) -> None:
    with pytest.raises(SplitError, match="train side empty"):
        splits.make_split(rows, params(strategy="speaker", test_speakers=[1, 2, 4], val_speakers=[3]))


def test_statement_split_tests_on_the_other_statement(rows: list[Row]) -> None:
    split = splits.make_split(rows, params(strategy="statement", train_statement=1))
    assert_honest(rows, split)
    assert "cross-song" in split.protocol
    for row, side in zip(rows, split.sides):
        if side in ("train", "val"):
            assert row.statement == "01"
        elif side == "test":
            assert row.statement == "02"
    assert len(split.rows("test")) == sum(1 for r in rows if r.copy == 0 and r.statement == "02")
    with pytest.raises(SplitError, match="split.train_statement: no clip has statement/song 3"):
        splits.make_split(rows, params(strategy="statement", train_statement=3))


def test_random_split_is_marked_leaky(rows: list[Row]) -> None:
    split = splits.make_split(rows, params(strategy="random"))
    assert split.leaky and "LEAKY" in split.protocol
    assert all(side in splits.SIDES for side in split.sides)  # every row used, copies included
    crossing = [c for c, s in sides_of_clips(rows, split).items() if len(s) > 1]
    assert crossing, "a row-level split puts copies of one recording on several sides"
    assert len(split.rows("val")) == round(0.2 * len(rows))
    for strategy in ("group", "speaker", "statement"):
        assert not splits.make_split(rows, params(strategy=strategy)).leaky


@pytest.mark.parametrize("strategy, overrides, side", [
    ("group", {"val_fraction": 0.0}, "val"),
    ("group", {"test_fraction": 0.0}, "test"),
    ("statement", {"val_fraction": 0.0}, "val"),
    ("random", {"test_fraction": 0.0}, "test"),
])
def test_empty_side_is_an_error(rows: list[Row], strategy: str, overrides: dict, side: str) -> None:
    with pytest.raises(SplitError, match=f"'{strategy}' leaves the {side} side empty"):
        splits.make_split(rows, params(strategy=strategy, **overrides))


def test_unknown_strategy(rows: list[Row]) -> None:
    with pytest.raises(SplitError, match="split.strategy: unknown strategy 'clip'"):
        splits.make_split(rows, params(strategy="clip"))


@pytest.mark.parametrize("value, key", [(1, "1"), ("01", "1"), (" 21 ", "21"), ("F01", "f01"), ("m02", "m02")])
def test_speaker_key(value, key: str) -> None:
    assert splits.speaker_key(value) == key
