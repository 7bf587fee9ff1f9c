"""Score a system's test predictions one way for every model: metrics, clustered CI, floor.

The CNN (``evaluate`` stage) and the feature models (``functionals_model``, ``handcrafted_model``) share this,
so their numbers are comparable: the headline's 95 % interval resamples whole clusters
(speakers when they are held out, recording groups otherwise), binary enthusiasm targets
get ROC AUC and a balanced accuracy at a threshold chosen on validation clips, and every
enthusiasm result stands beside the emotion-label floor (intensity guessed from the
emotion alone), with the paired interval of the difference.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from singaffect import metrics
from singaffect.corpus import EMOTIONS


def task_metrics(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Every metric of ``task``; binary enthusiasm targets add ROC AUC to r, CCC and errors."""
    if task == "emotion":
        return metrics.classification_metrics(y_true, y_pred, len(EMOTIONS))
    values = metrics.regression_metrics(y_true, y_pred)
    if metrics.is_binary(y_true):
        values["roc_auc"] = metrics.roc_auc(y_true, y_pred)
    return values


def ci_text(ci: Sequence[float | None]) -> str:
    """``0.712-0.801`` for logs, ``undefined`` where too few clusters gave no interval."""
    return "undefined" if None in ci else f"{ci[0]:.3f}-{ci[1]:.3f}"


def decisions(y_pred: np.ndarray, threshold: float) -> np.ndarray:
    """Binary decisions of enthusiasm scores at a threshold chosen on validation clips."""
    return (np.asarray(y_pred, dtype=float) >= threshold).astype(int)


def val_threshold(val_true: np.ndarray, val_pred: np.ndarray) -> float:
    """The decision threshold that maximises balanced accuracy on validation scores (0.5 without both classes)."""
    threshold = metrics.best_threshold(val_true, val_pred)
    return 0.5 if threshold is None else float(threshold)


def emotion_floor(emotions: Sequence[str], y: np.ndarray, train: np.ndarray, test: np.ndarray) -> np.ndarray | None:
    """Floor scores of the ``test`` items from the ``train`` items' emotion labels; ``None`` without emotions."""
    emotions = np.asarray(emotions, dtype=object)
    if not all(emotions[np.concatenate([train, test])]):
        return None
    return metrics.emotion_floor(emotions[train], np.asarray(y, dtype=float)[train], emotions[test])


def _finite(values: Sequence[float]) -> list[float | None]:
    """An interval for JSON: ``None`` where it is undefined (fewer than two clusters)."""
    return [float(v) if np.isfinite(v) else None for v in values]


def summarise(task: str, y_true: np.ndarray, y_pred: np.ndarray, clusters: Sequence[str], cluster_unit: str,
              binary_decisions: np.ndarray | None = None, floor: np.ndarray | None = None) -> dict[str, Any]:
    """``headline`` (with its clustered CI), every task metric and, for enthusiasm, the ``floor``."""
    y_true, y_pred, clusters = np.asarray(y_true), np.asarray(y_pred), np.asarray(clusters)
    values = task_metrics(task, y_true, y_pred)
    if binary_decisions is not None and metrics.is_binary(y_true):
        values["balanced_accuracy"] = metrics.balanced_accuracy(y_true.astype(int), binary_decisions)
    name, function = metrics.headline_for(task, y_true)
    low, high = metrics.cluster_bootstrap_ci(function, y_true, y_pred, clusters)
    n_clusters = int(len(np.unique(clusters)))
    result: dict[str, Any] = {
        "headline": {"metric": name, "value": values[name], "ci95": _finite([low, high]),
                     "ci_method": f"cluster bootstrap over {cluster_unit}", "n_clusters": n_clusters},
        **values,
    }
    if floor is not None and task == "enthusiasm":
        floor_low, floor_high = metrics.cluster_bootstrap_ci(function, y_true, floor, clusters)
        result["floor"] = {"name": "emotion label only", "metric": name, "value": float(function(y_true, floor)),
                           "ci95": _finite([floor_low, floor_high]),
                           "difference": metrics.paired_difference_ci(function, y_true, y_pred, floor, clusters)}
        result["floor"]["difference"]["ci95"] = _finite(result["floor"]["difference"]["ci95"])
    return result


def cluster_labels(rows: Sequence[dict[str, str]], cluster_unit: str) -> list[str]:
    """The cluster of each manifest row: its speaker or its recording group."""
    return [row["speaker"] if cluster_unit == "speaker" else row["group"] for row in rows]


def aggregate_folds(per_fold: Sequence[dict[str, float | None]]) -> dict[str, dict[str, float | None]]:
    """Mean and sample standard deviation (ddof=1) of every metric over the folds where it is defined.

    A metric missing or undefined in a fold (ROC AUC of a one-class fold) is left out of
    that fold's count; ``None`` where fewer than one (mean) or two (sd) folds define it.
    """
    names = list(dict.fromkeys(name for fold in per_fold for name in fold))
    mean, std = {}, {}
    for name in names:
        values = np.array([v for fold in per_fold if (v := fold.get(name)) is not None and np.isfinite(v)])
        mean[name] = float(values.mean()) if len(values) else None
        std[name] = float(values.std(ddof=1)) if len(values) > 1 else None
    return {"mean": mean, "std": std}


def fold_table(task: str, y_true: np.ndarray, y_pred: np.ndarray, folds: np.ndarray,
               speakers: Sequence[str]) -> dict[str, Any]:
    """Each fold's metrics and their mean ± sd (``n_folds``, ``fold_mean``, ``fold_std``, ``folds``)."""
    y_true, y_pred, folds, speakers = map(np.asarray, (y_true, y_pred, folds, speakers))
    per_fold = []
    for number in np.unique(folds):
        picked = folds == number
        values = {k: (v if np.isfinite(v) else None) for k, v in task_metrics(task, y_true[picked], y_pred[picked]).items()}
        per_fold.append({"fold": int(number), "test_speakers": sorted(set(speakers[picked].tolist()), key=_natural),
                         "n_test": int(picked.sum()), **values})
    stats = aggregate_folds([{k: v for k, v in f.items() if k not in ("fold", "test_speakers", "n_test")}
                             for f in per_fold])
    return {"n_folds": len(per_fold), "fold_mean": stats["mean"], "fold_std": stats["std"], "folds": per_fold}


def _natural(text: str) -> tuple:
    return (len(text), text)


def pool_folds(task: str, fold_predictions: Sequence[Sequence[dict[str, str]]]) -> dict[str, Any]:
    """Pooled metrics of a cross-validation from each fold's ``predictions.csv`` rows (``evaluate``'s layout).

    Every clip is tested in exactly one fold; the headline pools them, resampling speakers.
    """
    rows = [(number, row) for number, fold in enumerate(fold_predictions) for row in fold]
    if not rows:
        raise ValueError("no fold predictions to pool")
    ids = [row["clip_id"] for _, row in rows]
    if len(set(ids)) != len(ids):
        raise ValueError("a clip is tested in more than one fold")

    def column(name: str, convert) -> np.ndarray | None:
        if any(name not in row for _, row in rows):
            return None
        return np.array([convert(row[name]) for _, row in rows])

    convert = EMOTIONS.index if task == "emotion" else float
    y_true, y_pred = column("actual", convert), column("predicted", convert)
    folds = np.array([number for number, _ in rows])
    speakers = [row["speaker"] for _, row in rows]
    decided = column("decision", lambda v: int(float(v)))
    floor = column("floor", float)
    return {**summarise(task, y_true, y_pred, speakers, "speaker", decided, floor),
            **fold_table(task, y_true, y_pred, folds, speakers)}
