"""Assign augmented rows to train / val / test under a named protocol.

Honest protocols keep every copy of one recording on one side and evaluate on
original recordings only (copy 0). ``random`` splits rows, so augmented copies of a
test recording train the model: it exists only to reproduce the seed's number and
is marked ``leaky`` (on original recordings only, as the feature baselines use it,
it is a plain speaker-dependent random split and not leaky).

Cross-validation strategies (``actor_folds``, ``leave_one_actor_out``) give one
``Split`` per fold through ``make_folds``: each actor is tested in exactly one fold,
and each fold's validation actors come from that fold's training actors. The feature
baselines run every fold; ``make_split`` (the CNN's split stage) gives fold
``split.fold``, so a CNN fold runs as its own experiment.
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
    "actor_folds": "speaker-independent cross-validation: k folds of actors",
    "leave_one_actor_out": "speaker-independent cross-validation: one fold per actor",
}
CV_STRATEGIES = ("actor_folds", "leave_one_actor_out")
RANDOM_ORIGINALS = "speaker-dependent, row-level random split of original recordings (no augmented copies)"


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
    fold: int | None = None  # fold number of a cross-validation strategy
    n_folds: int | None = None

    @property
    def protocol(self) -> str:
        if self.strategy == "random" and not self.leaky:
            return RANDOM_ORIGINALS
        if self.fold is not None:
            return f"{PROTOCOLS[self.strategy]} (fold {self.fold + 1} of {self.n_folds})"
        return PROTOCOLS[self.strategy]

    def rows(self, side: str) -> np.ndarray:
        return np.flatnonzero(self.sides == side)


def speaker_key(value: int | str) -> str:
    """Speakers compare as integers when numeric ("01" == 1), else as text."""
    text = str(value).strip()
    return str(int(text)) if text.isdigit() else text.lower()


def row_stratum(row: dict[str, str]) -> str:
    """Balance emotion x intensity (RAVDESS) or the rounded score (private corpora)."""
    if row["emotion"]:
        return f"{row['emotion']}|{row['intensity']}"
    return f"score={round(float(row['enthusiasm']), 1)}"


def rows_from_manifest(manifest: Sequence[dict[str, str]]) -> list[Row]:
    """``Row``s of a manifest; rows without a ``copy`` column are original recordings (copy 0)."""
    return [Row(r["clip_id"], int(r.get("copy", 0) or 0), r["speaker"], r["statement"], row_stratum(r))
            for r in manifest]


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
    if strategy in CV_STRATEGIES:
        folds = make_folds(rows, params)
        if params["fold"] >= len(folds):
            raise SplitError(f"params key split.fold: {params['fold']} is not a fold of split.strategy={strategy!r} "
                             f"(folds 0..{len(folds) - 1})")
        return folds[params["fold"]]
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
    _check_sides(sides, strategy)
    leaky = strategy == "random" and any(row.copy != 0 for row in rows)
    return Split(sides=sides.astype(str), strategy=strategy, leaky=leaky)


def _check_sides(sides: np.ndarray, strategy: str, fold: int | None = None) -> None:
    where = f" (fold {fold})" if fold is not None else ""
    for side in SIDES:
        if not np.any(sides.astype(str) == side):
            raise SplitError(f"split strategy '{strategy}' leaves the {side} side empty{where}; check the split params")


def actor_folds(speakers: Sequence[str], n_folds: int, seed: int) -> list[list[str]]:
    """Actors shuffled by ``seed`` and dealt round-robin into ``n_folds`` folds (sizes differ by at most 1)."""
    actors = sorted({speaker_key(s) for s in speakers}, key=lambda k: (not k.isdigit(), k.zfill(8)))
    if n_folds > len(actors):
        raise SplitError(f"params key split.n_folds: {n_folds} folds need at least {n_folds} actors, "
                         f"the corpus has {len(actors)}")
    order = np.random.default_rng(seed).permutation(len(actors))
    return [sorted((actors[i] for i in order[f::n_folds]), key=lambda k: (not k.isdigit(), k.zfill(8)))
            for f in range(n_folds)]


def make_folds(rows: Sequence[Row], params: dict) -> list[Split]:
    """One ``Split`` per fold for the CV strategies, else ``[make_split(rows, params)]``.

    Within a fold the test actors are that fold's actors; ``split.val_fraction`` of the
    remaining actors (at least one, chosen by ``split.seed`` and the fold) form the
    validation side, so neither early stopping nor testing ever sees a training actor.
    """
    strategy = params["strategy"]
    if strategy not in CV_STRATEGIES:
        return [make_split(rows, params)]
    speakers = [speaker_key(r.speaker) for r in rows]
    n_actors = len(set(speakers))
    if n_actors < 3:
        raise SplitError(f"params key split.strategy: {strategy!r} needs at least 3 actors (train, val and test), "
                         f"the corpus has {n_actors}")
    n_folds = params["n_folds"] if strategy == "actor_folds" else n_actors
    folds = actor_folds(speakers, n_folds, params["seed"])
    splits = []
    for number, test_actors in enumerate(folds):
        rest = sorted({s for s in speakers} - set(test_actors))
        n_val = min(len(rest) - 1, max(1, int(round(params["val_fraction"] * len(rest)))))
        if n_val < 1:
            raise SplitError(f"fold {number} of split.strategy={strategy!r} has too few training actors for a "
                             f"validation side; lower split.n_folds")
        rng = np.random.default_rng((params["seed"], number))
        val_actors = {rest[i] for i in rng.permutation(len(rest))[:n_val]}
        side_of = {}
        for row, key in zip(rows, speakers):
            side_of[row.clip_id] = "test" if key in test_actors else "val" if key in val_actors else "train"
        sides = _originals_only(rows, side_of)
        _check_sides(sides, strategy, number)
        splits.append(Split(sides=sides.astype(str), strategy=strategy, leaky=False, fold=number, n_folds=len(folds)))
    return splits
