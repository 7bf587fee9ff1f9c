"""Late fusion of two systems (the CNN and a feature model), the weight chosen on each fold's validation singers.

The two systems err differently: the CNN reads the log-mel image of an augmented clip, the
feature model summary statistics of the original. Fusing them is cheap, because each
already scores every clip of every fold's val and test sides; what must stay honest is
the choice of the weight. ``fuse`` tries every weight of the grid on a fold's
validation clips only and applies the best one to that fold's test clips, so no test
singer, not even another fold's, informs it. The grid, ``WEIGHT_GRID`` (0, 0.1, ..., 1), is a
constant of the method rather than a params key: a key would change ``params.py``, which
every stage depends on, and so rerun the whole pipeline for nothing.

* emotion: ``w * log p_first + (1 - w) * log p_second`` over the six classes, then argmax
  (probabilities clipped at ``PROBABILITY_FLOOR`` so one confident zero cannot veto);
* enthusiasm: each system's score is standardised by its mean and sd on the fold's
  validation clips, ``w * z_first + (1 - w) * z_second`` is mapped onto the target's scale
  by a rising linear fit on validation (``calibration.fit``; not clipped to the targets' range, as
  clipping would tie the extremes and cost ROC AUC), and binary targets get the threshold
  that maximises validation balanced accuracy.

``w = 1`` is the first system alone, ``w = 0`` the second. Ties between weights go to the
one nearest an even mix (0.5), then to the smaller.

This module owns the scores CSV that ``evaluate`` and ``functionals_model`` write with
``--scores``: one row per original clip on a fold's ``val`` or ``test`` side, columns
``fold, side, clip_id, speaker, group, actual``, then the scores (emotion: ``p_<emotion>``
for each of ``EMOTIONS``; enthusiasm: ``score``) and, for enthusiasm test rows, the
emotion-label ``floor`` (empty elsewhere).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from singaffect import calibration, corpus, evaluation, metrics
from singaffect.corpus import EMOTIONS
from singaffect.errors import SingaffectError

PROBABILITY_FLOOR = 1e-6
WEIGHT_GRID = tuple(round(0.1 * step, 1) for step in range(11))  # weights on the first system (the CNN)
ID_COLUMNS = ("fold", "side", "clip_id", "speaker", "group", "actual")
SIDES = ("val", "test")


class FusionError(SingaffectError, ValueError):
    """Score files that cannot be fused, or a bad weight grid; names the file."""


def score_columns(task: str) -> list[str]:
    """The score columns of ``task``: one probability per emotion, or one enthusiasm score."""
    return [f"p_{name}" for name in EMOTIONS] if task == "emotion" else ["score"]


def score_rows(task: str, fold: int | str, side: str, rows: Sequence[dict[str, str]], actual: Sequence[Any],
               scores: np.ndarray, floor: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Rows of a scores CSV for manifest ``rows`` scored on ``side`` of ``fold``.

    ``scores`` is ``(n, 6)`` class probabilities (emotion, columns in ``EMOTIONS`` order) or
    ``(n,)`` enthusiasm scores; ``actual`` holds the labels as predictions CSVs show them.
    """
    if side not in SIDES:
        raise ValueError(f"side must be one of {SIDES}, got {side!r}")
    columns = score_columns(task)
    scores = np.asarray(scores, dtype=np.float64).reshape(len(rows), len(columns))
    out = []
    for i, (row, label) in enumerate(zip(rows, actual)):
        out.append({"fold": fold, "side": side, "clip_id": row["clip_id"], "speaker": row["speaker"],
                    "group": row["group"], "actual": label,
                    **{name: f"{value:.6g}" for name, value in zip(columns, scores[i])},
                    "floor": "" if floor is None else round(float(floor[i]), 5)})
    return out


def write_scores(path: Path, task: str, rows: Sequence[dict[str, Any]]) -> None:
    """A scores CSV (byte-stable column order); callers write it inside ``storage.atomic_outputs``."""
    corpus.write_manifest(Path(path), rows, columns=[*ID_COLUMNS, *score_columns(task), "floor"])


@dataclass
class Scores:
    """One system's scores, rows sorted by (fold, side, clip_id)."""

    source: str
    fold: np.ndarray
    side: np.ndarray
    clip_id: np.ndarray
    speaker: np.ndarray
    group: np.ndarray
    actual: np.ndarray
    values: np.ndarray   # (n, k)
    floor: np.ndarray | None

    def key(self) -> list[tuple[str, str, str]]:
        return list(zip(self.fold.tolist(), self.side.tolist(), self.clip_id.tolist()))


def read_scores(paths: Sequence[Path], task: str) -> Scores:
    """One system's scores from one or more scores CSVs (the CNN writes one per fold)."""
    columns = score_columns(task)
    rows: list[dict[str, str]] = []
    for path in paths:
        found = corpus.read_manifest(path)
        header = list(found[0]) if found else []
        missing = [c for c in (*ID_COLUMNS, *columns) if c not in header]
        if not found or missing:
            raise FusionError(f"{path}: not a {task} scores file (missing columns {missing or 'and rows'}); "
                              "its stage writes it with --scores")
        rows += found
    rows.sort(key=lambda r: (r["fold"], r["side"], r["clip_id"]))
    source = ", ".join(str(p) for p in paths)
    keys = [(r["fold"], r["side"], r["clip_id"]) for r in rows]
    if len(set(keys)) != len(keys):
        raise FusionError(f"{source}: a clip is scored twice on the same side of one fold")
    if bad := sorted({r["side"] for r in rows} - set(SIDES)):
        raise FusionError(f"{source}: unknown sides {bad}, expected {list(SIDES)}")
    try:
        values = np.array([[float(r[c]) for c in columns] for r in rows], dtype=np.float64)
    except ValueError as error:
        raise FusionError(f"{source}: a score is not a number ({error})") from None
    if not np.isfinite(values).all():
        raise FusionError(f"{source}: scores must be finite numbers")
    has_floor = all(r.get("floor", "") != "" for r in rows if r["side"] == "test")
    floor = np.array([float(r["floor"]) if r["side"] == "test" else np.nan for r in rows]) if has_floor else None

    def column(name: str) -> np.ndarray:
        return np.array([r[name] for r in rows], dtype=object)

    return Scores(source, column("fold"), column("side"), column("clip_id"), column("speaker"), column("group"),
                  column("actual"), values, floor)


def check_weight_grid(grid: Sequence[float]) -> list[float]:
    """The weights to try, sorted; refuses an empty grid or a weight outside [0, 1]."""
    weights = sorted({float(w) for w in grid})
    if not weights or weights[0] < 0 or weights[-1] > 1:
        raise FusionError(f"fusion weights must lie in [0, 1] and be at least one, got {list(grid)}")
    return weights


def _targets(task: str, actual: np.ndarray) -> np.ndarray:
    return np.array([EMOTIONS.index(a) for a in actual]) if task == "emotion" else actual.astype(float)


def _standardised(values: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Scores standardised by their validation mean and sd (sd 1 where they do not vary)."""
    sd = float(values[val].std())
    return (values - values[val].mean()) / (sd if sd > 0 else 1.0)


def _mixed(task: str, first: np.ndarray, second: np.ndarray, weight: float) -> np.ndarray:
    """The fused score of every row: a weighted sum of log-probabilities (emotion) or of standardised scores."""
    if task == "emotion":
        return (weight * np.log(np.clip(first, PROBABILITY_FLOOR, None))
                + (1 - weight) * np.log(np.clip(second, PROBABILITY_FLOOR, None)))
    return weight * first + (1 - weight) * second


def _decided(task: str, fused: np.ndarray) -> np.ndarray:
    return fused.argmax(axis=1) if task == "emotion" else fused.reshape(-1)


def _on_target_scale(y_val: np.ndarray, fused_val: np.ndarray, fused_test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fused enthusiasm scores through ``calibration.fit``'s rising linear map of validation, unclipped
    (the identity where it falls back), so the ranking, and so ROC AUC, is the fused score's own."""
    mapping = calibration.fit("linear", y_val, fused_val)
    if mapping["method"] != "linear":
        return fused_val, fused_test
    return (mapping["intercept"] + mapping["slope"] * fused_val, mapping["intercept"] + mapping["slope"] * fused_test)


def choose_weight(task: str, y_val: np.ndarray, first_val: np.ndarray, second_val: np.ndarray,
                  weights: Sequence[float]) -> float:
    """The weight with the best validation headline (ties: nearest 0.5, then the smaller)."""
    headline = metrics.headline_for(task, y_val)[1]
    scored = []
    for weight in weights:
        value = float(headline(y_val, _decided(task, _mixed(task, first_val, second_val, weight))))
        scored.append((-(value if np.isfinite(value) else -np.inf), abs(weight - 0.5), weight))
    return min(scored)[2]


def fuse(task: str, first: Scores, second: Scores, weights: Sequence[float]
         ) -> tuple[list[list[dict[str, Any]]], list[float]]:
    """Each fold's fused test predictions (``evaluation.pool_folds``'s layout) and the weight each fold chose.

    Each row also holds ``first_alone`` and ``second_alone``: the two systems' own predictions
    through the same path (``w = 1`` and ``w = 0``), for paired comparisons on the same clips.
    """
    if first.key() != second.key():
        only = sorted(set(first.key()) ^ set(second.key()))[:3]
        raise FusionError(f"{first.source} and {second.source} do not score the same clips on the same folds and "
                          f"sides (e.g. {only}): fuse systems run on the same split folders")
    y = _targets(task, first.actual)
    if not np.allclose(y, _targets(task, second.actual), rtol=0, atol=1e-4):
        raise FusionError(f"{first.source} and {second.source} disagree on the labels of the same clips")
    weights = check_weight_grid(weights)
    floor = first.floor if first.floor is not None else second.floor
    folds_out, chosen = [], []
    for fold in sorted(set(first.fold.tolist()), key=lambda f: (len(f), f)):
        in_fold = first.fold == fold
        val, test = np.flatnonzero(in_fold & (first.side == "val")), np.flatnonzero(in_fold & (first.side == "test"))
        if not len(val) or not len(test):
            raise FusionError(f"{first.source}: fold {fold} has no {'val' if not len(val) else 'test'} clips to "
                              "choose or apply a weight")
        a, b = first.values[in_fold], second.values[in_fold]
        local_val = np.flatnonzero(first.side[in_fold] == "val")
        if task != "emotion":
            a, b = _standardised(a[:, 0], local_val), _standardised(b[:, 0], local_val)
        local_test = np.flatnonzero(first.side[in_fold] == "test")
        weight = choose_weight(task, y[val], a[local_val], b[local_val], weights)
        rows = [{"clip_id": first.clip_id[i], "speaker": first.speaker[i], "group": first.group[i],
                 "actual": first.actual[i]} for i in test]
        for name, w in (("predicted", weight), ("first_alone", 1.0), ("second_alone", 0.0)):
            fused = _decided(task, _mixed(task, a, b, w))
            if task == "emotion":
                for row, k in zip(rows, fused[local_test]):
                    row[name] = EMOTIONS[int(k)]
                continue
            mapped_val, mapped_test = _on_target_scale(y[val], fused[local_val], fused[local_test])
            for row, value in zip(rows, mapped_test):
                row[name] = round(float(value), 5)
            if name == "predicted" and metrics.is_binary(y[val]) and metrics.is_binary(y[test]):
                threshold = evaluation.val_threshold(y[val], mapped_val)
                for row, decision in zip(rows, evaluation.decisions(mapped_test, threshold)):
                    row["decision"] = int(decision)
        if floor is not None and task != "emotion":
            for row, i in zip(rows, test):
                row["floor"] = round(float(floor[i]), 5)
        folds_out.append(rows)
        chosen.append(weight)
    return folds_out, chosen
