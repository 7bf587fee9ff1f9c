"""Assign augmented rows to train / val / test under a named protocol.

Honest protocols keep every copy of one recording on one side and evaluate on
original recordings only (copy 0). ``random`` splits rows, so augmented copies of a
test recording train the model: it exists only to reproduce the seed's number and
is marked ``leaky``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from singaffect.errors import SingaffectError

SIDES = ("train", "val", "test")

PROTOCOLS = {
    "group": "speaker-dependent, recordings grouped (no augmented copy crosses sides)",
    "speaker": "speaker-independent, held-out actors",
    "statement": "cross-song: train on one statement/song, test on the others",
    "random": "LEAKY row-level random split of augmented rows (seed protocol)",
}


class SplitError(SingaffectError, ValueError):
    """The split params do not fit the corpus; names the params key."""


@dataclass(frozen=True)
class Row:
    """What the splitter needs to know about one augmented row."""

    clip_id: str
    copy: int
    speaker: str
    statement: str
    stratum: str  # label used to balance classes across sides


@dataclass
class Split:
    sides: np.ndarray  # one of SIDES or "" (unused) per row
    strategy: str
    leaky: bool

    @property
    def protocol(self) -> str:
        return PROTOCOLS[self.strategy]

    def rows(self, side: str) -> np.ndarray:
        return np.flatnonzero(self.sides == side)


def speaker_key(value: int | str) -> str:
    """Speakers compare as integers when numeric ("01" == 1), else as text."""
    text = str(value).strip()
    return str(int(text)) if text.isdigit() else text.lower()


def _partition_groups(groups: Sequence[str], strata: dict[str, str], fractions: tuple[float, float],
                      seed: int) -> dict[str, str]:
    """Stratified random assignment of whole groups to val/test (fractions) and train (rest)."""
    rng = np.random.default_rng(seed)
    side_of: dict[str, str] = {}
    by_stratum: dict[str, list[str]] = {}
    for group in sorted(set(groups)):
        by_stratum.setdefault(strata[group], []).append(group)
    for stratum in sorted(by_stratum):
        members = [by_stratum[stratum][i] for i in rng.permutation(len(by_stratum[stratum]))]
        n_val = int(round(fractions[0] * len(members)))
        n_test = int(round(fractions[1] * len(members)))
        for i, group in enumerate(members):
            side_of[group] = "val" if i < n_val else "test" if i < n_val + n_test else "train"
    return side_of


def _originals_only(rows: Sequence[Row], side_of_clip: dict[str, str]) -> np.ndarray:
    """Train keeps every copy; val and test keep original recordings only."""
    sides = np.array([""] * len(rows), dtype=object)
    for i, row in enumerate(rows):
        side = side_of_clip.get(row.clip_id, "")
        if side == "train" or (side in ("val", "test") and row.copy == 0):
            sides[i] = side
    return sides


def make_split(rows: Sequence[Row], params: dict) -> Split:
    """Sides for ``rows`` under ``params['strategy']`` (see PROTOCOLS)."""
    strategy, seed = params["strategy"], params["seed"]
    val_fraction, test_fraction = params["val_fraction"], params["test_fraction"]
    clip_strata = {row.clip_id: row.stratum for row in rows}
    if strategy == "group":
        if val_fraction + test_fraction >= 1:
            raise SplitError("params keys split.val_fraction + split.test_fraction must be below 1")
        side_of = _partition_groups([r.clip_id for r in rows], clip_strata, (val_fraction, test_fraction), seed)
        sides = _originals_only(rows, side_of)
    elif strategy == "speaker":
        test = {speaker_key(s) for s in params["test_speakers"]}
        val = {speaker_key(s) for s in params["val_speakers"]}
        present = {speaker_key(r.speaker) for r in rows}
        for key, chosen in (("split.test_speakers", test), ("split.val_speakers", val)):
            if not chosen & present:
                raise SplitError(f"params key {key}: none of {sorted(chosen)} is a speaker of this corpus "
                                 f"(speakers: {sorted(present)})")
        if test & val:
            raise SplitError(f"params keys split.test_speakers and split.val_speakers share {sorted(test & val)}")
        side_of = {}
        for row in rows:
            key = speaker_key(row.speaker)
            side_of[row.clip_id] = "test" if key in test else "val" if key in val else "train"
        sides = _originals_only(rows, side_of)
    elif strategy == "statement":
        train_statement = speaker_key(params["train_statement"])
        in_train = [r for r in rows if speaker_key(r.statement) == train_statement]
        if not in_train:
            raise SplitError(f"params key split.train_statement: no clip has statement/song {train_statement}")
        side_of = _partition_groups([r.clip_id for r in in_train], clip_strata, (val_fraction, 0.0), seed)
        for row in rows:
            side_of.setdefault(row.clip_id, "test")
        sides = _originals_only(rows, side_of)
    elif strategy == "random":
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(rows))
        n_val = int(round(val_fraction * len(rows)))
        n_test = int(round(test_fraction * len(rows)))
        sides = np.array(["train"] * len(rows), dtype=object)
        sides[order[:n_val]] = "val"
        sides[order[n_val:n_val + n_test]] = "test"
    else:
        raise SplitError(f"params key split.strategy: unknown strategy {strategy!r}")
    sides = sides.astype(str)
    for side in SIDES:
        if not np.any(sides == side):
            raise SplitError(f"split strategy '{strategy}' leaves the {side} side empty; check the split params")
    return Split(sides=sides, strategy=strategy, leaky=strategy == "random")
