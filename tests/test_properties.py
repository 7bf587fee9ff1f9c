"""Property tests (hypothesis): splitters, padding and per-copy seeds hold for any input."""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from singaffect.augmentation import derive_seed
from singaffect.features import pad_or_trim
from singaffect.splits import SIDES, Row, SplitError, make_split, speaker_key

settings.register_profile("singaffect", deadline=None, max_examples=150)  # shared, loaded CI machines
settings.load_profile("singaffect")


@st.composite
def corpora(draw) -> list[Row]:
    """Augmented rows of 1..30 clips: per-clip speaker/statement/stratum, 1..4 copies each."""
    n_clips = draw(st.integers(1, 30))
    rows = []
    for i in range(n_clips):
        speaker = draw(st.sampled_from(["1", "2", "03", "4", "f01", "m02"]))
        statement = draw(st.sampled_from(["01", "02", "elly"]))
        stratum = draw(st.sampled_from(["happy|normal", "sad|strong", "score=0.5"]))
        rows += [Row(f"clip{i}", copy, speaker, statement, stratum) for copy in range(draw(st.integers(1, 4)))]
    return draw(st.permutations(rows))  # manifest order must not matter


@st.composite
def split_cases(draw) -> tuple[list[Row], dict]:
    """A corpus and split params that mostly fit it (speakers drawn from the corpus, fractions < 1)."""
    rows = draw(corpora())
    speakers = draw(st.permutations(sorted({r.speaker for r in rows})))
    cut_test = draw(st.integers(0, len(speakers)))
    cut_val = draw(st.integers(cut_test, len(speakers)))
    return rows, {
        "strategy": draw(st.sampled_from(["group", "speaker", "statement", "random"])),
        "seed": draw(st.integers(0, 2**32 - 1)),
        "val_fraction": draw(st.floats(0.0, 0.45)),
        "test_fraction": draw(st.floats(0.0, 0.45)),
        "test_speakers": speakers[:cut_test],
        "val_speakers": speakers[cut_test:cut_val],
        "train_statement": draw(st.integers(1, 2)),
    }


def split_or_none(rows, params):
    try:
        return make_split(rows, params)
    except SplitError:
        return None  # params that do not fit the corpus are refused, never half-applied


@settings(max_examples=100)
@given(split_cases())
def test_split_properties(case):
    rows, params = case
    split = split_or_none(rows, params)
    assume(split is not None)
    sides = list(split.sides)
    assert len(sides) == len(rows)  # exactly one assignment per row: at most once, never twice
    assert set(sides) <= {*SIDES, ""}
    assert all(side in sides for side in SIDES)
    assert split_or_none(rows, params).sides.tolist() == sides  # deterministic
    if params["strategy"] == "random":
        assert split.leaky and "" not in sides
        assert sides.count("val") == int(round(params["val_fraction"] * len(rows)))
        assert sides.count("test") == int(round(params["test_fraction"] * len(rows)))
        return
    assert not split.leaky
    by_clip = defaultdict(list)
    for row, side in zip(rows, sides):
        by_clip[row.clip_id].append((row.copy, side))
    for clip, assigned in by_clip.items():
        used = {side for _, side in assigned if side}
        assert len(used) <= 1, f"{clip} leaks across {used}"
        if used == {"train"}:
            assert all(side == "train" for _, side in assigned), "train must keep every copy of its clips"
        for copy, side in assigned:
            if side in ("val", "test"):
                assert copy == 0, "val/test hold original recordings only"
    if params["strategy"] == "group":  # whole clips go to val/test in the shares asked for, per stratum
        side_of = {row.clip_id: side for row, side in zip(rows, sides) if side}
        clips_by_stratum = defaultdict(set)
        for row in rows:
            clips_by_stratum[row.stratum].add(row.clip_id)
        for clips in clips_by_stratum.values():
            assert sum(side_of.get(c) == "val" for c in clips) == int(round(params["val_fraction"] * len(clips)))
            assert sum(side_of.get(c) == "test" for c in clips) == int(round(params["test_fraction"] * len(clips)))
    if params["strategy"] == "speaker":
        speakers = {side: {speaker_key(r.speaker) for r, s in zip(rows, sides) if s == side} for side in SIDES}
        assert not speakers["train"] & speakers["val"] and not speakers["train"] & speakers["test"]
        assert not speakers["val"] & speakers["test"]
    if params["strategy"] == "statement":
        train_statement = speaker_key(params["train_statement"])
        for row, side in zip(rows, sides):
            if side in ("train", "val"):
                assert speaker_key(row.statement) == train_statement
            elif side == "test":
                assert speaker_key(row.statement) != train_statement


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
