"""Property tests (hypothesis): splitters, padding and per-copy seeds hold for any input."""
from __future__ import annotations

import re
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from singaffect import splits
from singaffect.compute import derive_seed
from singaffect.pad import pad_or_trim
from singaffect.splits import (CV_STRATEGIES, SIDES, SPEAKER_INDEPENDENT, Row, SplitError, crossing_groups,
                               make_folds, make_split, speaker_key)

settings.register_profile("singaffect", deadline=None, max_examples=150)  # shared, loaded CI machines
settings.load_profile("singaffect")


STRATEGIES = ("group", "speaker", "cross_song_same_singers", "cross_song_new_singers", "random",
              "actor_folds", "leave_one_actor_out")
SPEAKERS = ["1", "2", "03", "4", "f01", "m02"]
SONGS = ["01", "02", "elly"]


@st.composite
def corpora(draw) -> list[Row]:
    """Augmented rows of recording groups: per-group speaker/song/stratum, 1..3 takes (clips) per group,
    1..4 copies per take; ``Row.group`` is the ground truth the splitter must respect. Groups are either
    drawn one by one (1..20) or, like RAVDESS, every chosen singer sings every chosen song (1..2 ways)."""
    if draw(st.booleans()):
        n_groups = draw(st.integers(1, 20))
        lines = [(draw(st.sampled_from(SPEAKERS)), draw(st.sampled_from(SONGS))) for _ in range(n_groups)]
    else:
        singers = draw(st.lists(st.sampled_from(SPEAKERS), min_size=1, max_size=6, unique=True))
        songs = draw(st.lists(st.sampled_from(SONGS), min_size=1, max_size=3, unique=True))
        lines = [(singer, song) for singer in singers for song in songs for _ in range(draw(st.integers(1, 2)))]
    rows = []
    for g, (speaker, statement) in enumerate(lines):
        stratum = draw(st.sampled_from(["happy|normal", "sad|strong", "score=0.5"]))
        group = f"{speaker}|{statement}|{g}"
        for take in range(draw(st.integers(1, 3))):
            rows += [Row(f"g{g}t{take}", copy, speaker, statement, stratum, group)
                     for copy in range(draw(st.integers(1, 4)))]
    return draw(st.permutations(rows))  # manifest order must not matter


def song_param(song: str) -> int | str:
    """How params name a song: RAVDESS statement "01" is 1, a lab song keeps its name."""
    return int(song) if song.isdigit() else song


fractions = st.one_of(st.sampled_from([0.2, 0.25, 0.34, 0.5]), st.floats(0.0, 0.6))


@st.composite
def split_cases(draw, strategy: str | None = None) -> tuple[list[Row], dict]:
    """A corpus and split params for any strategy; most fit the corpus, some do not (absent or shared
    speakers, an absent song, fractions summing past 1, too many folds, a fold that does not exist)."""
    rows = draw(corpora())
    speakers = draw(st.permutations(sorted({r.speaker for r in rows})))
    if draw(st.integers(0, 3)):  # mostly: some test and some val speakers of the corpus, some left to train
        n_test = draw(st.integers(1, max(1, len(speakers) // 2)))
        rest = len(speakers) - n_test
        n_val = draw(st.integers(min(1, rest), max(min(1, rest), rest - 1)))
        test_speakers, val_speakers = speakers[:n_test], speakers[n_test:n_test + n_val]
    else:  # anything: empty lists, speakers of no corpus, all speakers held out
        speakers = draw(st.permutations(speakers + ["99"]))
        cut_test = draw(st.integers(0, len(speakers)))
        cut_val = draw(st.integers(cut_test, len(speakers)))
        test_speakers, val_speakers = speakers[:cut_test], speakers[cut_test:cut_val]
    if draw(st.integers(0, 9)) == 0:  # now and then a speaker on both lists, spelled differently
        val_speakers = val_speakers + [s.zfill(3) for s in test_speakers[:1]]
    return rows, {
        "strategy": strategy or draw(st.sampled_from(STRATEGIES)),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "val_fraction": draw(fractions),
        "test_fraction": draw(fractions),
        "test_speakers": test_speakers,
        "val_speakers": val_speakers,
        "train_statement": draw(st.one_of(st.sampled_from(sorted({r.statement for r in rows})).map(song_param),
                                          st.sampled_from([1, 2, "elly"]))),
        "n_folds": draw(st.one_of(st.integers(2, 3), st.integers(2, 7))),
        "fold": draw(st.one_of(st.integers(0, 1), st.integers(0, 6))),
        "final_check_speakers": [],
    }


def _groups(rows: list[Row]) -> dict[str, Row]:
    """One row per recording group (speaker, song and stratum are the group's own in these corpora)."""
    return {row.group: row for row in rows}


def _partition_empty(groups: list[Row], val_fraction: float, test_fraction: float) -> set[str]:
    """Sides a stratified partition of ``groups`` leaves empty: each stratum of n groups sends
    round(f * n) to val, then round(f * n) to test, the rest to train."""
    by_stratum = Counter(row.stratum for row in groups)
    counts = [(n, int(round(val_fraction * n)), int(round(test_fraction * n))) for n in by_stratum.values()]
    empty = set()
    if not any(n_val for _, n_val, _ in counts):
        empty.add("val")
    if not any(n_test and n_val < n for n, n_val, n_test in counts):
        empty.add("test")
    if not any(n_val + n_test < n for n, n_val, n_test in counts):
        empty.add("train")
    return empty


def refusal_causes(rows: list[Row], params: dict) -> set[str]:
    """Independent of ``make_split``: every reason these params do not fit this corpus."""
    strategy = params["strategy"]
    groups = list(_groups(rows).values())
    present = {speaker_key(r.speaker) for r in rows}
    test = {speaker_key(s) for s in params["test_speakers"]}
    val = {speaker_key(s) for s in params["val_speakers"]}
    song = speaker_key(params["train_statement"])
    trained = [g for g in groups if speaker_key(g.statement) == song]
    causes = set()
    if strategy in ("speaker", "cross_song_new_singers"):
        causes |= {"test_speakers"} if not test & present else set()
        causes |= {"val_speakers"} if not val & present else set()
        causes |= {"shared"} if test & val else set()
    if strategy.startswith("cross_song") and not trained:
        causes.add("train_statement")
    if strategy == "group":
        if params["val_fraction"] + params["test_fraction"] >= 1:
            causes.add("fractions")
        causes |= {f"empty:{side}" for side in _partition_empty(groups, params["val_fraction"],
                                                                  params["test_fraction"])}
    elif strategy == "speaker":
        on = {"test": test, "val": val - test}
        for side in ("test", "val"):
            if not any(speaker_key(g.speaker) in on[side] for g in groups):
                causes.add(f"empty:{side}")
        if all(speaker_key(g.speaker) in test | val for g in groups):
            causes.add("empty:train")
    elif strategy == "cross_song_same_singers":
        causes |= {f"empty:{side}" for side in _partition_empty(trained, params["val_fraction"], 0.0) - {"test"}}
        if all(speaker_key(g.statement) == song for g in groups):
            causes.add("empty:test")
    elif strategy == "cross_song_new_singers":
        sides = {new_singers_side(g, params) for g in groups}
        causes |= {f"empty:{side}" for side in SIDES if side not in sides}
    elif strategy == "random":
        n = len(rows)
        n_val, n_test = int(round(params["val_fraction"] * n)), int(round(params["test_fraction"] * n))
        causes |= {"empty:val"} if n_val == 0 else set()
        causes |= {"empty:test"} if n_test == 0 or n_val >= n else set()
        causes |= {"empty:train"} if n_val + n_test >= n else set()
    else:  # cross-validation: folds of actors dealt round-robin, at least 2 training actors per fold
        n = len(present)
        k = params["n_folds"] if strategy == "actor_folds" else n
        causes |= {"few_actors"} if n < 3 else set()
        causes |= {"n_folds"} if k > n else set()
        causes |= {"fold"} if params["fold"] >= k else set()
        causes |= {"fold_without_val"} if any(n - len(range(f, n, k)) < 2 for f in range(min(k, n))) else set()
    return causes


def new_singers_side(row: Row, params: dict) -> str:
    """cross_song_new_singers: train = trained song of other singers, val = trained song of the val singers,
    test = other songs of the test singers, anything else unused."""
    test = {speaker_key(s) for s in params["test_speakers"]}
    val = {speaker_key(s) for s in params["val_speakers"]}
    key, trained = speaker_key(row.speaker), speaker_key(row.statement) == speaker_key(params["train_statement"])
    if key in test and not trained:
        return "test"
    if key in val and trained:
        return "val"
    return "train" if trained and key not in test | val else ""


REFUSALS = [  # message pattern -> cause it claims
    (r"params keys split\.val_fraction \+ split\.test_fraction must be below 1", "fractions"),
    (r"params key split\.test_speakers: none of", "test_speakers"),
    (r"params key split\.val_speakers: none of", "val_speakers"),
    (r"params keys split\.test_speakers and split\.val_speakers share", "shared"),
    (r"params key split\.train_statement: no clip has", "train_statement"),
    (r"split strategy '\w+' leaves the (\w+) side empty", "empty:{}"),
    (r"params key split\.strategy: '\w+' needs at least 3 actors", "few_actors"),
    (r"params key split\.n_folds: \d+ folds need at least", "n_folds"),
    (r"params key split\.fold: \d+ is not a fold", "fold"),
    (r"too few training actors for a validation side; lower split\.n_folds", "fold_without_val"),
]


def claimed_cause(message: str) -> str:
    for pattern, cause in REFUSALS:
        match = re.search(pattern, message)
        if match:
            return cause.format(*match.groups())
    raise AssertionError(f"refusal names no known split params cause: {message}")


def check_accepted(rows: list[Row], params: dict, split) -> None:
    strategy = params["strategy"]
    sides = list(split.sides)
    assert len(sides) == len(rows)  # exactly one assignment per row: at most once, never twice
    assert set(sides) <= {*SIDES, ""}
    assert all(side in sides for side in SIDES)
    assert make_split(rows, splits.Settings(**params)).sides.tolist() == sides  # deterministic
    assert split.strategy == strategy
    assert split.cluster_unit == ("speaker" if strategy in SPEAKER_INDEPENDENT else "group")
    used_by_group = defaultdict(set)
    for row, side in zip(rows, sides):
        if side:
            used_by_group[row.group].add(side)
    crossing = sorted(g for g, used in used_by_group.items() if len(used) > 1)
    assert crossing_groups(rows, split.sides) == crossing
    if strategy == "random":
        assert split.leaky == bool(crossing) and "" not in sides
        assert sides.count("val") == int(round(params["val_fraction"] * len(rows)))
        assert sides.count("test") == int(round(params["test_fraction"] * len(rows)))
        return
    assert not split.leaky and not crossing
    # one fate per group: all rows on train, or originals (every take) on val/test and copies unused, or unused
    side_of = {}
    for row, side in zip(rows, sides):
        if row.copy == 0:
            assert side_of.setdefault(row.group, side) == side, f"takes of {row.group} on two sides"
    for row, side in zip(rows, sides):
        group_side = side_of[row.group]
        assert side == (group_side if group_side == "train" or row.copy == 0 else ""), \
            "train keeps every copy of its groups; val/test hold original recordings only"
    speakers = {side: {speaker_key(r.speaker) for r, s in zip(rows, sides) if s == side} for side in SIDES}
    songs = {side: {speaker_key(r.statement) for r, s in zip(rows, sides) if s == side} for side in SIDES}
    if strategy in SPEAKER_INDEPENDENT:
        assert not speakers["train"] & speakers["val"] and not speakers["train"] & speakers["test"]
        assert not speakers["val"] & speakers["test"]
    if strategy == "group":  # whole groups go to val/test in the shares asked for, per stratum
        groups_by_stratum = defaultdict(set)
        for row in rows:
            groups_by_stratum[row.stratum].add(row.group)
        for groups in groups_by_stratum.values():
            assert sum(side_of[g] == "val" for g in groups) == int(round(params["val_fraction"] * len(groups)))
            assert sum(side_of[g] == "test" for g in groups) == int(round(params["test_fraction"] * len(groups)))
        assert "" not in side_of.values()
    if strategy == "speaker":
        test = {speaker_key(s) for s in params["test_speakers"]}
        val = {speaker_key(s) for s in params["val_speakers"]}
        present = {speaker_key(r.speaker) for r in rows}
        assert (speakers["test"], speakers["val"]) == (test & present, val & present)
        assert speakers["train"] == present - test - val
        assert "" not in side_of.values()
    if strategy.startswith("cross_song"):
        song = speaker_key(params["train_statement"])
        assert songs["train"] == songs["val"] == {song} and song not in songs["test"]
    if strategy == "cross_song_same_singers":  # every group of another song is tested
        for group, row in _groups(rows).items():
            assert (side_of[group] == "test") == (speaker_key(row.statement) != speaker_key(params["train_statement"]))
    if strategy == "cross_song_new_singers":
        for group, row in _groups(rows).items():
            assert side_of[group] == new_singers_side(row, params)
        test = {speaker_key(s) for s in params["test_speakers"]}
        assert not (speakers["train"] | speakers["val"]) & test  # test singers are heard on test only
    if strategy in CV_STRATEGIES:
        assert split.fold == params["fold"]
        folds = make_folds(rows, splits.Settings(**params))
        assert split.n_folds == len(folds) and folds[params["fold"]].sides.tolist() == sides
        tested = Counter()
        for fold in folds:
            assert not crossing_groups(rows, fold.sides)
            for i in fold.rows("test"):
                tested[i] += 1
        assert tested == Counter({i: 1 for i, row in enumerate(rows) if row.copy == 0})  # each original once


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_split_properties(strategy):
    """Every strategy on corpora with takes and copies: accepted splits keep groups whole, refusals are
    justified by a cause that holds, and both outcomes occur."""
    outcomes = Counter()

    @settings(max_examples=100)
    @given(split_cases(strategy))
    def check(case):
        rows, params = case
        causes = refusal_causes(rows, params)
        try:
            split = make_split(rows, splits.Settings(**params))
        except SplitError as error:
            cause = claimed_cause(str(error))
            assert cause in causes, f"refused for {cause!r}, which does not hold (causes: {sorted(causes)})"
            event(f"refused: {cause}")
            outcomes["refused"] += 1
            return
        assert not causes, f"accepted although {sorted(causes)}"
        event("accepted")
        outcomes["accepted"] += 1
        check_accepted(rows, params, split)

    check()
    assert outcomes["accepted"] >= 1 and outcomes["refused"] >= 1, outcomes  # neither outcome assumed away


@given(hnp.arrays(np.float32, st.integers(0, 3000), elements=st.floats(-4, 4, width=32)), st.integers(1, 3000))
def test_pad_or_trim_is_exact_and_keeps_content(samples, length):
    out, cut = pad_or_trim(samples, length)
    kept = min(len(samples), length)
    assert out.shape == (length,) and out.dtype == np.float32
    assert np.array_equal(out[:kept], samples[:kept])
    assert not np.any(out[kept:])
    assert cut == max(0, len(samples) - length)
    if len(samples) >= length:
        assert not np.shares_memory(out, samples)  # a copy: later writes never alias the input


clip_ids = st.text(min_size=1, max_size=40)
copies = st.integers(0, 10_000)


@given(st.integers(0, 2**31), clip_ids, copies)
def test_derive_seed_is_deterministic_and_32_bit(seed, clip_id, copy):
    value = derive_seed(seed, clip_id, copy)
    assert value == derive_seed(seed, clip_id, copy)
    assert 0 <= value < 2**32


@given(st.integers(0, 2**31), clip_ids, copies, clip_ids, copies)
def test_derive_seed_differs_across_clips_and_copies(seed, clip_a, copy_a, clip_b, copy_b):
    assume((clip_a, copy_a) != (clip_b, copy_b))
    assert derive_seed(seed, clip_a, copy_a) != derive_seed(seed, clip_b, copy_b)


@given(st.integers(0, 2**31), st.integers(0, 2**31), clip_ids, copies)
def test_derive_seed_differs_across_base_seeds(seed_a, seed_b, clip_id, copy):
    assume(seed_a != seed_b)
    assert derive_seed(seed_a, clip_id, copy) != derive_seed(seed_b, clip_id, copy)
