"""Evaluation metrics, each a plain function of true and predicted values.

Headline metrics come with a 95 % percentile-bootstrap confidence interval, so a difference
between two runs can be read against its noise. Test clips are not independent: one singer
sings many clips and the takes of one recording group are near copies, so the intervals
that matter resample whole clusters (``cluster_bootstrap_ci``, ``paired_difference_ci``)
rather than clips (``bootstrap_ci``, kept for the item-level view).
"""
from __future__ import annotations

import warnings
from typing import Callable, Iterator

import numpy as np
from scipy import stats
from sklearn import metrics as skm

Metric = Callable[[np.ndarray, np.ndarray], float]


def pearson(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if np.std(y_true) == 0 or np.std(y_pred) == 0:
        return 0.0
    return float(stats.pearsonr(y_true, y_pred).statistic)


def spearman(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if np.std(y_true) == 0 or np.std(y_pred) == 0:
        return 0.0
    return float(stats.spearmanr(y_true, y_pred).statistic)


def ccc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Lin's concordance correlation coefficient: agreement, not just correlation."""
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    mean_t, mean_p = y_true.mean(), y_pred.mean()
    covariance = np.mean((y_true - mean_t) * (y_pred - mean_p))
    denominator = y_true.var() + y_pred.var() + (mean_t - mean_p) ** 2
    return float(2 * covariance / denominator) if denominator > 0 else 0.0


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true, y_pred = np.asarray(y_true, float), np.asarray(y_pred, float)
    return {
        "pearson_r": pearson(y_true, y_pred),
        "spearman": spearman(y_true, y_pred),
        "ccc": ccc(y_true, y_pred),
        "mse": float(np.mean((y_true - y_pred) ** 2)),
        "mae": float(np.mean(np.abs(y_true - y_pred))),
    }


# --- classification -------------------------------------------------------------------------

def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Share of items predicted exactly (cheap: it is called once per bootstrap resample)."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


def _class_labels(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[int]:
    """``range(n_classes)`` after checking every label lies in it (a label outside is a bug upstream)."""
    if n_classes < 1:
        raise ValueError(f"n_classes must be at least 1, got {n_classes}")
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        values = np.asarray(values)
        if values.size and (not np.all(np.isin(values, np.arange(n_classes)))):
            bad = sorted(set(np.unique(values).tolist()) - set(range(n_classes)))
            raise ValueError(f"{name} holds labels {bad[:5]} outside the task's classes 0..{n_classes - 1}")
    return list(range(n_classes))


def unweighted_average_recall(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    """Mean per-class recall over the task's classes ``0..n_classes-1``.

    A class absent from ``y_true`` has recall 0 (sklearn's ``zero_division=0``), so the
    value is comparable across test sets only when every class occurs in each of them.
    """
    labels = _class_labels(y_true, y_pred, n_classes)
    return float(skm.recall_score(y_true, y_pred, average="macro", labels=labels, zero_division=0))


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> dict[str, float]:
    """Accuracy, UAR and macro-F1, averaged over the task's FULL class list ``range(n_classes)``.

    Averaging over the classes present in ``y_true`` only would let a model predict a class
    absent from the test set for free; over the full list that class's F1 is 0 and counts.
    A class absent from ``y_true`` scores 0 recall and 0 F1 even when never predicted, so
    UAR and macro-F1 compare systems on one test set, or test sets holding every class.
    """
    labels = _class_labels(y_true, y_pred, n_classes)
    return {
        "accuracy": accuracy(y_true, y_pred),
        "uar": float(skm.recall_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)),
        "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)),
    }


# --- binary target scored by a continuous value ------------------------------------------------

def is_binary(y: np.ndarray) -> bool:
    """True when every value is 0 or 1 and both occur (RAVDESS intensity: normal 0, strong 1)."""
    y = np.asarray(y)
    if y.size == 0 or y.dtype.kind not in "biuf":
        return False
    return bool(np.all((y == 0) | (y == 1)) and np.any(y == 0) and np.any(y == 1))


def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for a 0/1 ``y_true`` (ties count one half).

    Computed from ranks (Mann-Whitney U), which is what sklearn gives but fast enough to run
    once per bootstrap resample. NaN when ``y_true`` holds a single class (AUC undefined);
    the cluster bootstrap skips such resamples.
    """
    y_true, scores = np.asarray(y_true), np.asarray(scores, float)
    positive = y_true == 1
    n_pos = int(positive.sum())
    n_neg = len(y_true) - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = stats.rankdata(scores)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean of the recalls of the classes present in ``y_true`` (0/1 predictions)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    recalls = [np.mean(y_pred[y_true == c] == c) for c in np.unique(y_true)]
    return float(np.mean(recalls))


def best_threshold(val_true: np.ndarray, val_scores: np.ndarray) -> float | None:
    """Threshold (predict 1 when score >= threshold) that maximises balanced accuracy on ``val``.

    Candidates are the validation scores themselves (no midpoints), so the choice depends on
    the validation data only; among ties the smallest wins, which makes it deterministic.
    None when ``val`` is empty or holds one class (nothing to balance).
    """
    val_true, val_scores = np.asarray(val_true), np.asarray(val_scores, float)
    if len(val_true) != len(val_scores):
        raise ValueError(f"val_true has {len(val_true)} items but val_scores has {len(val_scores)}")
    if not is_binary(val_true):
        if val_true.size and not np.all((val_true == 0) | (val_true == 1)):
            raise ValueError("val_true must hold only 0 and 1")
        return None
    if not np.all(np.isfinite(val_scores)):
        raise ValueError("val_scores holds NaN or infinite values")
    candidates = np.unique(val_scores)  # ascending
    positives = np.sort(val_scores[val_true == 1])
    negatives = np.sort(val_scores[val_true == 0])
    true_pos = len(positives) - np.searchsorted(positives, candidates, side="left")  # score >= t
    true_neg = np.searchsorted(negatives, candidates, side="left")  # score < t
    balanced = (true_pos / len(positives) + true_neg / len(negatives)) / 2
    return float(candidates[int(np.argmax(balanced))])  # argmax: first (smallest) of ties


def emotion_floor(train_emotions: np.ndarray, train_targets: np.ndarray, test_emotions: np.ndarray) -> np.ndarray:
    """Score each test item by the mean training target of its emotion label.

    The floor an enthusiasm model must beat: in RAVDESS neutral is always normal intensity,
    so knowing only the emotion already predicts intensity above chance. An emotion unseen
    in training gets the overall training mean.
    """
    train_emotions, test_emotions = np.asarray(train_emotions), np.asarray(test_emotions)
    train_targets = np.asarray(train_targets, float)
    if len(train_emotions) != len(train_targets):
        raise ValueError(f"train_emotions has {len(train_emotions)} items but train_targets has {len(train_targets)}")
    if len(train_targets) == 0:
        raise ValueError("emotion_floor needs at least one training item")
    labels, inverse = np.unique(train_emotions, return_inverse=True)
    means = np.bincount(inverse, weights=train_targets) / np.bincount(inverse)
    by_label = dict(zip(labels.tolist(), means.tolist()))
    overall = float(train_targets.mean())
    return np.array([by_label.get(label, overall) for label in test_emotions.tolist()], dtype=float)


# --- headline metric --------------------------------------------------------------------------

"""Task -> (name, function) ignoring the target's kind; prefer ``headline_for``."""


def headline_for(task: str, y_true: np.ndarray) -> tuple[str, Metric]:
    """Headline (name, function) for ``task`` given its test target.

    Emotion: accuracy. Enthusiasm: ROC AUC when the target is 0/1 (RAVDESS normal vs strong,
    where Pearson r of a binary target is a point-biserial correlation that hides the
    ranking quality), Pearson r when the score is graded.
    """
    if task == "emotion":
        return "accuracy", accuracy
    if task == "enthusiasm":
        return ("roc_auc", roc_auc) if is_binary(y_true) else ("pearson_r", pearson)
    raise ValueError(f"unknown task {task!r} (choose from 'emotion', 'enthusiasm')")


# --- bootstrap intervals ----------------------------------------------------------------------

def bootstrap_ci(metric: Metric, y_true: np.ndarray, y_pred: np.ndarray,
                 n_resamples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric`` over resampled test items.

    Treats items as independent, which clips of one singer are not; see ``cluster_bootstrap_ci``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    n = len(y_true)
    values = [metric(y_true[idx], y_pred[idx]) for idx in (rng.integers(0, n, n) for _ in range(n_resamples))]
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


_CHUNK_ITEMS = 2_000_000  # resampled indices built at once: bounds memory on large test sets


def _check_bootstrap_args(lengths: dict[str, int], n_resamples: int, level: float) -> None:
    if len(set(lengths.values())) != 1:
        raise ValueError("lengths differ: " + ", ".join(f"{name} has {n}" for name, n in lengths.items()))
    if next(iter(lengths.values())) == 0:
        raise ValueError("no test items to bootstrap")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level}")


def _cluster_resamples(clusters: np.ndarray, n_resamples: int, seed: int) -> Iterator[np.ndarray]:
    """Item indices of each cluster-bootstrap resample, in order.

    Each resample draws as many clusters as there are, uniformly with replacement, and takes
    every item of each drawn cluster (twice if drawn twice). Clusters are numbered in sorted
    label order and all draws are made up front, so a seed fixes the resamples whatever the
    item order. Indices are built vectorised, a chunk of resamples at a time.
    """
    _, inverse = np.unique(np.asarray(clusters), return_inverse=True)
    inverse = inverse.reshape(-1)
    order = np.argsort(inverse, kind="stable")  # items grouped by cluster
    sizes = np.bincount(inverse)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    n_clusters = len(sizes)
    draws = np.random.default_rng(seed).integers(0, n_clusters, size=(n_resamples, n_clusters))
    per_chunk = max(1, _CHUNK_ITEMS // len(inverse))
    for first in range(0, n_resamples, per_chunk):
        drawn = draws[first:first + per_chunk]
        lengths = sizes[drawn.ravel()]
        ends = np.cumsum(lengths)
        # position within the concatenation -> position in ``order``: start of its cluster + offset
        offsets = np.arange(ends[-1]) - np.repeat(ends - lengths, lengths)
        flat = order[np.repeat(starts[drawn.ravel()], lengths) + offsets]
        bounds = np.cumsum(lengths.reshape(drawn.shape).sum(axis=1))[:-1]
        yield from np.split(flat, bounds)


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


def _warn_skipped(n_skipped: int, n_resamples: int) -> None:
    if n_skipped:
        warnings.warn(f"cluster bootstrap: metric undefined on {n_skipped} of {n_resamples} resamples; "
                      "those were skipped", RuntimeWarning, stacklevel=3)


def cluster_bootstrap_values(metric: Metric, y_true: np.ndarray, y_pred: np.ndarray, clusters: np.ndarray,
                             n_resamples: int = 1000, seed: int = 0) -> tuple[np.ndarray, int]:
    """Metric on each cluster resample (see ``cluster_bootstrap_ci``): (finite values, number skipped)."""
    y_true, y_pred, clusters = np.asarray(y_true), np.asarray(y_pred), np.asarray(clusters)
    _check_bootstrap_args({"y_true": len(y_true), "y_pred": len(y_pred), "clusters": len(clusters)},
                          n_resamples, 0.95)
    values = np.array([metric(y_true[idx], y_pred[idx]) for idx in _cluster_resamples(clusters, n_resamples, seed)],
                      dtype=float)
    finite = np.isfinite(values)
    return values[finite], int((~finite).sum())


def cluster_bootstrap_ci(metric: Metric, y_true: np.ndarray, y_pred: np.ndarray, clusters: np.ndarray,
                         n_resamples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of ``metric`` resampling whole clusters (speakers or recording groups).

    ``clusters`` labels each item. Items of one cluster are correlated, so resampling items
    as if independent gives intervals that are too narrow; resampling clusters with
    replacement keeps each cluster's items together (a cluster drawn twice enters twice).

    A resample on which the metric is undefined (it returns NaN or inf, e.g. ``roc_auc``
    with one class) is skipped, with a RuntimeWarning giving the count; metrics that define
    such cases themselves (``pearson`` returns 0 for zero variance) are taken as they are.
    Fewer than 2 clusters leave nothing to resample: the interval is (nan, nan), with a warning.
    Raises ValueError when lengths differ, or when the metric is undefined on every resample.
    """
    _check_bootstrap_args({"y_true": len(y_true), "y_pred": len(y_pred), "clusters": len(clusters)},
                          n_resamples, level)
    if len(np.unique(np.asarray(clusters))) < 2:
        warnings.warn("cluster bootstrap: fewer than 2 clusters, interval undefined", RuntimeWarning, stacklevel=2)
        return float("nan"), float("nan")
    values, n_skipped = cluster_bootstrap_values(metric, y_true, y_pred, clusters, n_resamples, seed)
    if values.size == 0:
        raise ValueError(f"metric undefined on all {n_resamples} cluster resamples")
    _warn_skipped(n_skipped, n_resamples)
    return _interval(values, level)


def paired_difference_ci(metric: Metric, y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray,
                         clusters: np.ndarray, n_resamples: int = 1000, seed: int = 0,
                         level: float = 0.95) -> dict[str, float | list[float] | bool | int]:
    """Is system A better than system B on the same test items? Paired cluster bootstrap.

    Returns ``difference`` (metric(A) - metric(B) on all items), ``ci95`` [low, high]: the
    percentile interval (at ``level``, 0.95 by default) of the difference over cluster
    resamples applied identically to both systems, so shared difficulty cancels out;
    ``excludes_zero`` (low > 0 or high < 0); ``n_clusters``; ``n_skipped`` (resamples where
    the metric was undefined for either system, left out as in ``cluster_bootstrap_ci``).
    Fewer than 2 clusters: ci95 [nan, nan] and excludes_zero False.
    Raises ValueError when the arrays are not all the same length.
    """
    y_true, pred_a, pred_b, clusters = map(np.asarray, (y_true, pred_a, pred_b, clusters))
    _check_bootstrap_args({"y_true": len(y_true), "pred_a": len(pred_a), "pred_b": len(pred_b),
                           "clusters": len(clusters)}, n_resamples, level)
    difference = float(metric(y_true, pred_a) - metric(y_true, pred_b))
    n_clusters = int(len(np.unique(clusters)))
    result: dict[str, float | list[float] | bool | int] = {
        "difference": difference, "ci95": [float("nan"), float("nan")], "excludes_zero": False,
        "n_clusters": n_clusters, "n_skipped": 0,
    }
    if n_clusters < 2:
        warnings.warn("paired cluster bootstrap: fewer than 2 clusters, interval undefined", RuntimeWarning,
                      stacklevel=2)
        return result
    diffs = np.array([metric(y_true[idx], pred_a[idx]) - metric(y_true[idx], pred_b[idx])
                      for idx in _cluster_resamples(clusters, n_resamples, seed)], dtype=float)
    finite = np.isfinite(diffs)
    if not finite.any():
        raise ValueError(f"metric undefined on all {n_resamples} cluster resamples")
    n_skipped = int((~finite).sum())
    _warn_skipped(n_skipped, n_resamples)
    low, high = _interval(diffs[finite], level)
    result.update(ci95=[low, high], excludes_zero=bool(low > 0 or high < 0), n_skipped=n_skipped)
    return result
