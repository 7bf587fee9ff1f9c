"""Assign augmented rows to train / val / test under a named protocol.

A *recording group* is one singer singing one line one way: every take of it (RAVDESS
repetitions 01 and 02, lab takes h1/h2 and their parts) and every augmented copy. Takes
of a group are near-duplicates, so every honest protocol keeps a whole group on one side
and evaluates on original recordings only (copy 0); ``make_split`` checks that no group
crosses sides. ``random`` splits rows, so copies and twin takes of a test recording
train the model: it exists only to reproduce the seeds' numbers and is marked ``leaky``.

Cross-validation strategies (``actor_folds``, ``leave_one_actor_out``) give one
``Split`` per fold through ``make_folds``: each actor is tested in exactly one fold,
and each fold's validation actors come from that fold's training actors. The split
stage writes fold ``split.fold`` (``make_split``); cv/dvc.yaml writes every fold to its
own folder, and every model (CNN and feature models) reads those folders, never this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from singaffect.errors import SingaffectError

SIDES = ("train", "val", "test")

class SplitError(SingaffectError, ValueError):
    """The split params do not fit the corpus; names the params key."""


@dataclass(frozen=True)
class Settings:
    """The ``split`` params: the strategy, and the values the strategies read (each its own; see params.yaml)."""

    strategy: str
    seed: int
    val_fraction: float
    test_fraction: float
    test_speakers: list | str      # a list of speakers, or "auto"
    val_speakers: list | str
    final_check_speakers: list
    train_statement: int | str | list
    n_folds: int
    fold: int


@dataclass(frozen=True)
class Row:
    """What the splitter needs to know about one augmented row."""

    clip_id: str
    copy: int
    speaker: str
    statement: str
    stratum: str  # label used to balance classes across sides
    group: str    # recording group (corpus.Clip.group): never split across sides


@dataclass
class Split:
    sides: np.ndarray  # one of SIDES or "" (unused) per row
    strategy: str
    leaky: bool
    fold: int | None = None  # fold number of a cross-validation strategy
    n_folds: int | None = None

    @property
    def protocol(self) -> str:
        if self.fold is not None:
            return f"{PROTOCOLS[self.strategy]} (fold {self.fold + 1} of {self.n_folds})"
        return PROTOCOLS[self.strategy]

    @property
    def cluster_unit(self) -> str:
        """What a bootstrap must resample: speakers when they are held out, else recording groups."""
        return "speaker" if self.strategy in SPEAKER_INDEPENDENT else "group"

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
    missing = [r["clip_id"] for r in manifest if not r.get("group")]
    if missing:
        raise SplitError(f"manifest rows without a recording group (e.g. clip {missing[0]}): rerun the raw stage")
    return [Row(r["clip_id"], int(r.get("copy", 0) or 0), r["speaker"], r["statement"], row_stratum(r), r["group"])
            for r in manifest]


def check_groups(rows: Sequence[Row]) -> None:
    """A recording group belongs to one singer and one song, or speaker and song splits could not keep it whole."""
    owner: dict[str, tuple[str, str]] = {}
    for row in rows:
        key = (speaker_key(row.speaker), speaker_key(row.statement))
        if owner.setdefault(row.group, key) != key:
            raise SplitError(f"recording group {row.group!r} has takes by {owner[row.group]} and {key} (singer, song): "
                             f"a group (e.g. a CSV manifest's group column) must hold one singer's takes of one song")


def crossing_groups(rows: Sequence[Row], sides: np.ndarray) -> list[str]:
    """Recording groups whose used rows lie on more than one side (a leak), sorted."""
    seen: dict[str, set[str]] = {}
    for row, side in zip(rows, sides):
        if side:
            seen.setdefault(row.group, set()).add(str(side))
    return sorted(group for group, used in seen.items() if len(used) > 1)


def _partition_groups(rows: Sequence[Row], fractions: tuple[float, float], seed: int) -> dict[str, str]:
    """Stratified random assignment of whole recording groups to val/test (fractions) and train (rest).

    A group's stratum is the smallest of its rows' (RAVDESS: one emotion x intensity per group;
    private corpora: takes of a group may score differently), so row order never matters.
    """
    rng = np.random.default_rng(seed)
    stratum_of: dict[str, str] = {}
    for row in rows:
        stratum_of[row.group] = min(stratum_of.get(row.group, row.stratum), row.stratum)
    by_stratum: dict[str, list[str]] = {}
    for group in sorted(stratum_of):
        by_stratum.setdefault(stratum_of[group], []).append(group)
    side_of: dict[str, str] = {}
    for stratum in sorted(by_stratum):
        members = [by_stratum[stratum][i] for i in rng.permutation(len(by_stratum[stratum]))]
        n_val = int(round(fractions[0] * len(members)))
        n_test = int(round(fractions[1] * len(members)))
        for i, group in enumerate(members):
            side_of[group] = "val" if i < n_val else "test" if i < n_val + n_test else "train"
    return side_of


def _originals_only(rows: Sequence[Row], side_of_group: dict[str, str]) -> np.ndarray:
    """Train keeps every copy; val and test keep original recordings only; unlisted groups are unused."""
    sides = np.array([""] * len(rows), dtype=object)
    for i, row in enumerate(rows):
        side = side_of_group.get(row.group, "")
        if side == "train" or (side in ("val", "test") and row.copy == 0):
            sides[i] = side
    return sides


AUTO = "auto"


def _score_of(stratum: str) -> float:
    """The numeric score in a ``score=x`` stratum (private corpora); 0 for label strata."""
    return float(stratum.split("=", 1)[1]) if stratum.startswith("score=") else 0.0


def auto_speakers(rows: Sequence[Row], fraction: float, exclude: set[str], seed: int, salt: int) -> set[str]:
    """A seeded set of ``round(fraction * n)`` speakers (at least one), stratified by mean score.

    Speakers (minus ``exclude``) are ordered by their mean score, ties broken at random,
    and one is drawn from each of as many equal bins: the chosen singers span the score
    range as the corpus does. Corpora with labels, not scores, get a seeded random draw.
    """
    rng = np.random.default_rng((seed, salt))
    scores: dict[str, list[float]] = {}
    for row in rows:
        key = speaker_key(row.speaker)
        if key not in exclude and row.copy == 0:
            scores.setdefault(key, []).append(_score_of(row.stratum))
    speakers = sorted(scores)
    if not speakers:
        return set()
    ties = rng.permutation(len(speakers))
    ordered = [s for _, _, s in sorted(zip([float(np.mean(scores[s])) for s in speakers], ties, speakers))]
    count = min(len(ordered), max(1, int(round(fraction * (len(ordered) + len(exclude))))))
    return {str(bin_[rng.integers(len(bin_))]) for bin_ in np.array_split(np.array(ordered, dtype=object), count)
            if len(bin_)}


def _speaker_sets(rows: Sequence[Row], settings: Settings) -> tuple[set[str], set[str]]:
    """The test and validation speakers of ``settings``, checked against the corpus.

    ``auto`` draws them (``auto_speakers``): ``split.test_fraction`` and ``split.val_fraction``
    of the speakers, seeded by ``split.seed``; split.json lists who was drawn.
    """
    present = {speaker_key(r.speaker) for r in rows}
    explicit = {key: {speaker_key(s) for s in getattr(settings, key)} for key in ("test_speakers", "val_speakers")
                if getattr(settings, key) != AUTO}
    test = explicit.get("test_speakers")
    if test is None:
        test = auto_speakers(rows, settings.test_fraction, explicit.get("val_speakers", set()) & present,
                             settings.seed, 1)
    val = explicit.get("val_speakers")
    if val is None:
        val = auto_speakers(rows, settings.val_fraction, test & present, settings.seed, 2)
    for key, chosen in (("split.test_speakers", test), ("split.val_speakers", val)):
        if not chosen & present:
            raise SplitError(f"params key {key}: none of {sorted(chosen)} is a speaker of this corpus "
                             f"(speakers: {sorted(present)})")
    if test & val:
        raise SplitError(f"params keys split.test_speakers and split.val_speakers share {sorted(test & val)}")
    return test, val


def train_songs(value: int | str | list) -> set[str]:
    """The songs (statements) ``split.train_statement`` names: one number or name, or a list."""
    return {speaker_key(v) for v in (value if isinstance(value, list) else [value])}


def _train_statement_rows(rows: Sequence[Row], settings: Settings) -> tuple[set[str], list[Row]]:
    """The training songs of ``settings`` (each checked against the corpus) and their rows."""
    wanted = train_songs(settings.train_statement)
    present = {speaker_key(r.statement) for r in rows}
    missing = sorted(wanted - present)
    if missing or not wanted:
        raise SplitError(f"params key split.train_statement: no clip has statement/song "
                         f"{', '.join(missing) or '(an empty list)'} (songs: {', '.join(sorted(present))})")
    return wanted, [r for r in rows if speaker_key(r.statement) in wanted]


def _group_sides(rows: Sequence[Row], settings: Settings) -> np.ndarray:
    if settings.val_fraction + settings.test_fraction >= 1:
        raise SplitError("params keys split.val_fraction + split.test_fraction must be below 1")
    return _originals_only(rows, _partition_groups(rows, (settings.val_fraction, settings.test_fraction),
                                                   settings.seed))


def _speaker_sides(rows: Sequence[Row], settings: Settings) -> np.ndarray:
    test, val = _speaker_sets(rows, settings)
    side_of = {}
    for row in rows:
        key = speaker_key(row.speaker)
        side_of[row.group] = "test" if key in test else "val" if key in val else "train"
    return _originals_only(rows, side_of)


def _cross_song_same_singers_sides(rows: Sequence[Row], settings: Settings) -> np.ndarray:
    _, in_train = _train_statement_rows(rows, settings)
    side_of = _partition_groups(in_train, (settings.val_fraction, 0.0), settings.seed)
    for row in rows:
        side_of.setdefault(row.group, "test")
    return _originals_only(rows, side_of)


def _cross_song_new_singers_sides(rows: Sequence[Row], settings: Settings) -> np.ndarray:
    trained_songs, _ = _train_statement_rows(rows, settings)
    test, val = _speaker_sets(rows, settings)
    side_of = {}
    for row in rows:
        key, trained_song = speaker_key(row.speaker), speaker_key(row.statement) in trained_songs
        if key in test and not trained_song:
            side_of[row.group] = "test"
        elif key in val and trained_song:
            side_of[row.group] = "val"
        elif key not in test | val and trained_song:
            side_of[row.group] = "train"
    return _originals_only(rows, side_of)


def _random_sides(rows: Sequence[Row], settings: Settings) -> np.ndarray:
    order = np.random.default_rng(settings.seed).permutation(len(rows))
    n_val = int(round(settings.val_fraction * len(rows)))
    n_test = int(round(settings.test_fraction * len(rows)))
    sides = np.array(["train"] * len(rows), dtype=object)
    sides[order[:n_val]] = "val"
    sides[order[n_val:n_val + n_test]] = "test"
    return sides


def _one_split(assign: Callable[[Sequence[Row], Settings], np.ndarray]) -> Callable[[Sequence[Row], Settings], list[Split]]:
    """A builder of one checked ``Split`` from a function that assigns sides to rows."""
    def build(rows: Sequence[Row], settings: Settings) -> list[Split]:
        strategy = settings.strategy
        sides = assign(rows, settings)
        _check_sides(sides, strategy)
        crossing = crossing_groups(rows, sides)
        if crossing and strategy != "random":  # the honest strategies guarantee this by construction
            raise SplitError(f"internal error: split.strategy={strategy!r} put recording group {crossing[0]!r} on "
                             f"two sides; please report it with the split params")
        return [Split(sides=sides.astype(str), strategy=strategy, leaky=bool(crossing))]
    return build


def describe(rows: Sequence[Row], split: Split, settings: Settings | None = None) -> dict:
    """What ``split.json`` records besides the rows: sizes, speakers, songs and strata per side,
    and the final-check actors ``settings`` held back."""
    held = held_back(rows, settings) if settings is not None else np.zeros(len(rows), dtype=bool)
    sides = {}
    for side in SIDES:
        used = [row for row, s in zip(rows, split.sides) if s == side]
        strata: dict[str, int] = {}
        for row in used:
            if row.copy == 0:
                strata[row.stratum] = strata.get(row.stratum, 0) + 1
        sides[side] = {"rows": len(used), "originals": sum(row.copy == 0 for row in used),
                       "groups": len({row.group for row in used}),
                       "speakers": sorted({row.speaker for row in used}, key=lambda k: (len(k), k)),
                       "songs": sorted({row.statement for row in used}),
                       "strata": dict(sorted(strata.items()))}
    return {"strategy": split.strategy, "protocol": split.protocol, "leaky": split.leaky,
            "fold": split.fold, "n_folds": split.n_folds, "cluster_unit": split.cluster_unit,
            "groups_crossing_sides": len(crossing_groups(rows, split.sides)),
            "speakers_drawn_by_auto": [f"split.{key}" for key in ("test_speakers", "val_speakers")
                                       if settings is not None and getattr(settings, key) == AUTO
                                       and split.strategy in ("speaker", "cross_song_new_singers")],
            "final_check_speakers_held_back": sorted({row.speaker for row, h in zip(rows, held) if h},
                                                     key=lambda k: (len(k), k)),
            "rows": {side: sides[side]["rows"] for side in SIDES}, "sides": sides}


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


def _actor_folds(rows: Sequence[Row], settings: Settings) -> list[Split]:
    """One ``Split`` per fold of actors (``actor_folds``: ``split.n_folds``; ``leave_one_actor_out``: one per actor)."""
    strategy = settings.strategy
    speakers = [speaker_key(r.speaker) for r in rows]
    n_actors = len(set(speakers))
    if n_actors < 3:
        raise SplitError(f"params key split.strategy: {strategy!r} needs at least 3 actors (train, val and test), "
                         f"the corpus has {n_actors}")
    n_folds = settings.n_folds if strategy == "actor_folds" else n_actors
    folds = actor_folds(speakers, n_folds, settings.seed)
    splits = []
    for number, test_actors in enumerate(folds):
        rest = sorted({s for s in speakers} - set(test_actors))
        n_val = min(len(rest) - 1, max(1, int(round(settings.val_fraction * len(rest)))))
        if n_val < 1:
            raise SplitError(f"fold {number} of split.strategy={strategy!r} has too few training actors for a "
                             f"validation side; lower split.n_folds")
        rng = np.random.default_rng((settings.seed, number))
        val_actors = {rest[i] for i in rng.permutation(len(rest))[:n_val]}
        side_of = {}
        for row, key in zip(rows, speakers):
            side_of[row.group] = "test" if key in test_actors else "val" if key in val_actors else "train"
        sides = _originals_only(rows, side_of)
        _check_sides(sides, strategy, number)
        splits.append(Split(sides=sides.astype(str), strategy=strategy, leaky=False, fold=number, n_folds=len(folds)))
    return splits


def held_back(rows: Sequence[Row], settings: Settings) -> np.ndarray:
    """Rows of the final-check actors (``split.final_check_speakers`` present in the corpus)."""
    held = {speaker_key(s) for s in settings.final_check_speakers}
    return np.array([speaker_key(row.speaker) in held for row in rows], dtype=bool)


def _final_check(rows: Sequence[Row], settings: Settings) -> list[Split]:
    """Train on every other actor (val: ``split.val_fraction`` of them), test the held-back actors."""
    held = held_back(rows, settings)
    if not held.any():
        raise SplitError(f"params key split.final_check_speakers: none of {settings.final_check_speakers} "
                         f"is a speaker of this corpus")
    rest = sorted({speaker_key(r.speaker) for r, h in zip(rows, held) if not h})
    n_val = min(len(rest) - 1, max(1, int(round(settings.val_fraction * len(rest)))))
    val_actors = {rest[i] for i in np.random.default_rng(settings.seed).permutation(len(rest))[:n_val]}
    side_of = {row.group: "test" if h else "val" if speaker_key(row.speaker) in val_actors else "train"
               for row, h in zip(rows, held)}
    sides = _originals_only(rows, side_of)
    _check_sides(sides, "final_check")
    return [Split(sides=sides.astype(str), strategy="final_check", leaky=False)]


@dataclass(frozen=True)
class Strategy:
    """A split protocol: what it measures, how it assigns rows, and what that makes of its results."""

    protocol: str
    build: Callable[[Sequence[Row], Settings], list[Split]]  # rows -> one Split, or one per fold
    cross_validation: bool = False
    speaker_independent: bool = False  # test speakers never train: a bootstrap resamples speakers
    reads_held_back: bool = False      # the one strategy that tests split.final_check_speakers


STRATEGIES: dict[str, Strategy] = {
    "group": Strategy("speaker-dependent, recording groups (all takes and copies of a line) kept on one side",
                      _one_split(_group_sides)),
    "speaker": Strategy("speaker-independent, held-out actors", _one_split(_speaker_sides), speaker_independent=True),
    "cross_song_same_singers": Strategy("cross-song, same singers: train on one statement/song, test on the others",
                                        _one_split(_cross_song_same_singers_sides)),
    "cross_song_new_singers": Strategy("cross-song and cross-singer: train on one statement/song and some actors, "
                                       "test on the other statements/songs of other actors",
                                       _one_split(_cross_song_new_singers_sides), speaker_independent=True),
    "random": Strategy("LEAKY row-level random split (seed protocol): takes and copies of a recording cross sides",
                       _one_split(_random_sides)),
    "actor_folds": Strategy("speaker-independent cross-validation: k folds of actors", _actor_folds,
                            cross_validation=True, speaker_independent=True),
    "leave_one_actor_out": Strategy("speaker-independent cross-validation: one fold per actor", _actor_folds,
                                    cross_validation=True, speaker_independent=True),
    "final_check": Strategy("FINAL CHECK: held-back actors (split.final_check_speakers), read once per frozen model",
                            _final_check, speaker_independent=True, reads_held_back=True),
}
PROTOCOLS = {name: strategy.protocol for name, strategy in STRATEGIES.items()}
CV_STRATEGIES = tuple(name for name, strategy in STRATEGIES.items() if strategy.cross_validation)
SPEAKER_INDEPENDENT = tuple(name for name, strategy in STRATEGIES.items() if strategy.speaker_independent)


def _strategy(settings: Settings) -> Strategy:
    if settings.strategy not in STRATEGIES:
        raise SplitError(f"params key split.strategy: unknown strategy {settings.strategy!r}")
    return STRATEGIES[settings.strategy]


def make_folds(rows: Sequence[Row], settings: Settings) -> list[Split]:
    """One ``Split`` per fold for the CV strategies, else the one split of ``settings.strategy``.

    The actors of ``split.final_check_speakers`` are left out of every strategy but
    ``final_check`` (their rows stay unused, ""): they stay untouched by development and
    are read once a model is frozen. Within a fold the test actors are that fold's actors;
    ``split.val_fraction`` of the remaining actors (at least one, chosen by ``split.seed``
    and the fold) form the validation side, so neither early stopping nor testing ever
    sees a training actor.
    """
    check_groups(rows)
    strategy = _strategy(settings)
    final = {speaker_key(s) for s in settings.final_check_speakers}
    for key in ("test_speakers", "val_speakers"):
        listed = getattr(settings, key)
        shared = sorted(final & {speaker_key(s) for s in (listed if isinstance(listed, list) else [])})
        if shared and settings.strategy in ("speaker", "cross_song_new_singers"):
            raise SplitError(f"params keys split.{key} and split.final_check_speakers share {shared}: "
                             f"final-check actors are held back from every other strategy")
    if strategy.reads_held_back:
        return strategy.build(rows, settings)
    kept = np.flatnonzero(~held_back(rows, settings))
    splits_ = strategy.build([rows[i] for i in kept], settings)
    for split in splits_:
        sides = np.full(len(rows), "", dtype=object)
        sides[kept] = split.sides
        split.sides = sides.astype(str)
    return splits_


def make_split(rows: Sequence[Row], settings: Settings) -> Split:
    """The split the split stage writes: the strategy's one split, or fold ``split.fold`` of a CV strategy."""
    folds = make_folds(rows, settings)
    if not _strategy(settings).cross_validation:
        return folds[0]
    if settings.fold >= len(folds):
        raise SplitError(f"params key split.fold: {settings.fold} is not a fold of split.strategy="
                         f"{settings.strategy!r} (folds 0..{len(folds) - 1})")
    return folds[settings.fold]
