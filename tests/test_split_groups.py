"""Twin takes never straddle sides: every honest strategy, every fold, RAVDESS and lab names.

Recording groups are rebuilt here from the file names alone -- RAVDESS
``MM-VV-EE-II-SS-RR-AA``: actor, statement, emotion, intensity (repetition RR is the take);
lab ``l_<singer>_<song>_<style><take>_e<part>_nm30``: singer, song, style -- so the checks
hold whatever ``Row.group`` says: a splitter that grouped by clip id, or a wrong group
field, puts twin takes on two sides and fails here.
"""
from __future__ import annotations

import dataclasses
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from singaffect import corpus, splits
from singaffect.splits import Row

COPIES = 3
_LAB = re.compile(r"^l_(?P<singer>[mf]\d+)_(?P<song>[a-z]+)_(?P<style>[hn])(?P<take>\d+)_e(?P<part>\d+)_nm30$")

RAVDESS_PARAMS = {"seed": 0, "val_fraction": 0.2, "test_fraction": 0.2, "test_speakers": [4], "val_speakers": [3],
                  "train_statement": 1, "n_folds": 3, "fold": 0, "final_check_speakers": []}
# lab songs are names: splits compare them as text (the params schema only takes integers, see report)
LAB_PARAMS = {**RAVDESS_PARAMS, "test_speakers": ["m02"], "val_speakers": ["f02"], "train_statement": "elly",
              "n_folds": 2}

# every honest strategy; the cross-validation ones fold by fold (4 actors/singers in both corpora)
STRATEGIES = ([("group", {}), ("speaker", {}), ("cross_song_same_singers", {}), ("cross_song_new_singers", {})]
              + [("actor_folds", {"fold": f}) for f in range(3)]
              + [("leave_one_actor_out", {"fold": f}) for f in range(4)])
LAB_STRATEGIES = ([(s, o) for s, o in STRATEGIES if s != "actor_folds"]
                  + [("actor_folds", {"fold": f}) for f in range(2)])
CASE_IDS = [f"{s}-{o['fold']}" if o else s for s, o in STRATEGIES]
LAB_IDS = [f"{s}-{o['fold']}" if o else s for s, o in LAB_STRATEGIES]


def ravdess_labels(clip_id: str) -> tuple[tuple, str]:
    """(actor, statement, emotion, intensity) and the take (repetition) of a RAVDESS file name."""
    _, _, emotion, intensity, statement, repetition, actor = clip_id.split("-")
    return (actor, statement, emotion, intensity), repetition


def lab_labels(clip_id: str) -> tuple[tuple, str]:
    """(singer, song, style) and take+part of a lab file name."""
    match = _LAB.match(clip_id)
    assert match, clip_id
    return (match["singer"], match["song"], match["style"]), f"take{match['take']}part{match['part']}"


def augmented_rows(clips: list[corpus.Clip]) -> list[Row]:
    """Rows as the split stage builds them: manifest rows + a ``copy`` column, through ``rows_from_manifest``."""
    return splits.rows_from_manifest([{**corpus.clip_row(clip), "copy": str(copy)}
                                      for clip in clips for copy in range(COPIES)])


@pytest.fixture(scope="module")
def ravdess_rows(ravdess_corpus: Path) -> list[Row]:
    return augmented_rows(corpus.list_clips("ravdess", ravdess_corpus))


@pytest.fixture(scope="module")
def lab_rows(evaluation_corpus: Path) -> list[Row]:
    return augmented_rows(corpus.list_clips("evaluation_txt", evaluation_corpus, "Evaluation.txt"))


def assert_takes_together(rows: list[Row], sides: np.ndarray, labels) -> None:
    """Each label-defined recording group has one fate: all its rows on train, or its originals (every take
    and part) on val or test and its copies unused, or all unused. Implies no group and no clip crosses sides."""
    fate: dict[tuple, set[str]] = defaultdict(set)
    for row, side in zip(rows, sides):
        if row.copy == 0:
            fate[labels(row.clip_id)[0]].add(str(side))
    for key, seen in fate.items():
        assert len(seen) == 1, f"takes of {key} on sides {sorted(seen)}"
    for row, side in zip(rows, sides):
        (group_side,) = fate[labels(row.clip_id)[0]]
        want = group_side if group_side == "train" or row.copy == 0 else ""
        assert side == want, f"{row.clip_id} copy {row.copy} on {side!r}, its group on {group_side!r}"
    assert splits.crossing_groups(rows, sides) == []


def check_twins_fixture(rows: list[Row], labels, takes_per_group: int) -> None:
    """The corpus does have twin takes, and ``Row.group`` matches the label-defined groups one to one."""
    takes, by_field = defaultdict(set), defaultdict(set)
    for row in rows:
        key, take = labels(row.clip_id)
        takes[key].add(take)
        by_field[row.group].add(key)
    assert all(len(t) == takes_per_group for t in takes.values())
    assert all(len(keys) == 1 for keys in by_field.values()) and len(by_field) == len(takes)


@pytest.mark.parametrize("strategy, overrides", STRATEGIES, ids=CASE_IDS)
def test_ravdess_twin_takes_stay_on_one_side(ravdess_rows: list[Row], strategy: str, overrides: dict) -> None:
    check_twins_fixture(ravdess_rows, ravdess_labels, takes_per_group=2)  # repetitions 01 and 02
    split = splits.make_split(ravdess_rows, splits.Settings(**{**RAVDESS_PARAMS, "strategy": strategy, **overrides}))
    assert not split.leaky and split.fold == overrides.get("fold")
    assert_takes_together(ravdess_rows, split.sides, ravdess_labels)
    twins = defaultdict(dict)  # the issue's own words: repetition 01 and 02 of one line, same side
    for row, side in zip(ravdess_rows, split.sides):
        if row.copy == 0:
            key, repetition = ravdess_labels(row.clip_id)
            twins[key][repetition] = side
    assert all(t["01"] == t["02"] for t in twins.values())
    assert sum(t["01"] in ("val", "test") for t in twins.values()) > 0  # something is evaluated


@pytest.mark.parametrize("strategy, overrides", LAB_STRATEGIES, ids=LAB_IDS)
def test_lab_takes_and_parts_stay_on_one_side(lab_rows: list[Row], strategy: str, overrides: dict) -> None:
    check_twins_fixture(lab_rows, lab_labels, takes_per_group=4)  # takes h1/h2 (n1/n2) x parts e1/e2
    split = splits.make_split(lab_rows, splits.Settings(**{**LAB_PARAMS, "strategy": strategy, **overrides}))
    assert not split.leaky
    assert_takes_together(lab_rows, split.sides, lab_labels)
    for side in splits.SIDES:
        assert np.any(split.sides == side)


@pytest.mark.parametrize("strategy", ["actor_folds", "leave_one_actor_out"])
def test_every_fold_keeps_takes_together(ravdess_rows: list[Row], lab_rows: list[Row], strategy: str) -> None:
    for rows, labels, params in ((ravdess_rows, ravdess_labels, RAVDESS_PARAMS), (lab_rows, lab_labels, LAB_PARAMS)):
        folds = splits.make_folds(rows, splits.Settings(**{**params, "strategy": strategy}))
        tested = np.zeros(len(rows), dtype=int)
        for fold in folds:
            assert_takes_together(rows, fold.sides, labels)
            tested[fold.rows("test")] += 1
        originals = np.array([r.copy == 0 for r in rows])
        assert np.all(tested[originals] == 1) and np.all(tested[~originals] == 0)


@pytest.mark.parametrize("strategy", ["group", "cross_song_same_singers"])
def test_a_wrong_group_field_is_caught(ravdess_rows: list[Row], lab_rows: list[Row], strategy: str) -> None:
    """Rows grouped by clip id (the old splitter's unit) split twin takes: the label checks must see it."""
    for rows, labels, params in ((ravdess_rows, ravdess_labels, RAVDESS_PARAMS), (lab_rows, lab_labels, LAB_PARAMS)):
        by_clip = [dataclasses.replace(row, group=row.clip_id) for row in rows]
        split = splits.make_split(by_clip, splits.Settings(**{**params, "strategy": strategy}))
        assert not split.leaky  # the splitter cannot know: every "group" is on one side
        with pytest.raises(AssertionError, match="takes of"):
            assert_takes_together(by_clip, split.sides, labels)


def test_random_split_of_twin_takes_is_leaky(ravdess_rows: list[Row], lab_rows: list[Row]) -> None:
    params = {**RAVDESS_PARAMS, "strategy": "random"}
    for rows in (ravdess_rows, lab_rows):
        originals = [row for row in rows if row.copy == 0]  # no augmented copy: only the twins can leak
        split = splits.make_split(originals, splits.Settings(**params))
        assert split.leaky and "LEAKY" in split.protocol
        assert splits.crossing_groups(originals, split.sides)
        assert splits.describe(originals, split)["groups_crossing_sides"] > 0


def test_random_split_is_not_leaky_when_every_group_is_one_row(ravdess_rows: list[Row]) -> None:
    one_take = [row for row in ravdess_rows if row.copy == 0 and ravdess_labels(row.clip_id)[1] == "01"]
    assert len({row.group for row in one_take}) == len(one_take) == 88
    split = splits.make_split(one_take, splits.Settings(**{**RAVDESS_PARAMS, "strategy": "random"}))
    assert not split.leaky and "" not in split.sides
    assert splits.describe(one_take, split)["groups_crossing_sides"] == 0


def test_a_group_spanning_singers_or_songs_is_refused() -> None:
    """Speaker and song splits could not keep such a group whole (e.g. a bad CSV group column)."""
    def row(clip: str, speaker: str, song: str, group: str) -> splits.Row:
        return splits.Row(clip, 0, speaker, song, "s", group)

    params = {**RAVDESS_PARAMS, "strategy": "speaker"}
    for rows, culprit in (([row("a", "1", "01", "g"), row("b", "4", "01", "g"), row("c", "3", "01", "h")], "singer"),
                          ([row("a", "1", "01", "g"), row("b", "1", "02", "g"), row("c", "3", "01", "h")], "song")):
        with pytest.raises(splits.SplitError, match="recording group 'g' has takes by"):
            splits.make_split(rows, splits.Settings(**params))


def test_group_stratum_does_not_depend_on_row_order() -> None:
    """Takes of one lab group may score differently; the split must not depend on which comes first."""
    rows = []
    for g in range(12):
        for take, score in enumerate(("score=0.8", "score=0.9" if g % 2 else "score=0.8")):
            rows.append(splits.Row(f"g{g}t{take}", 0, f"s{g % 4}", "01", score, f"grp{g}"))
    params = {**RAVDESS_PARAMS, "strategy": "group", "seed": 3, "val_fraction": 0.25, "test_fraction": 0.25}
    forward = splits.make_split(rows, splits.Settings(**params))
    backward = splits.make_split(rows[::-1], splits.Settings(**params))
    assert forward.sides.tolist() == backward.sides[::-1].tolist()
