"""Evaluation metrics, each a plain function of true and predicted values.

Headline metrics come with a 95 % percentile-bootstrap confidence interval over test
clips, so a difference between two runs can be read against its noise.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import stats
from sklearn import metrics as skm


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


def unweighted_average_recall(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``y_true``."""
    return float(skm.recall_score(y_true, y_pred, average="macro", labels=np.unique(y_true), zero_division=0))


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    return {
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        "uar": unweighted_average_recall(y_true, y_pred),
        "macro_f1": float(skm.f1_score(y_true, y_pred, average="macro", labels=np.unique(y_true), zero_division=0)),
    }


def bootstrap_ci(metric: Callable[[np.ndarray, np.ndarray], float], y_true: np.ndarray, y_pred: np.ndarray,
                 n_resamples: int = 1000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric`` over resampled test items."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    n = len(y_true)
    values = [metric(y_true[idx], y_pred[idx]) for idx in (rng.integers(0, n, n) for _ in range(n_resamples))]
    alpha = (1 - level) / 2
    low, high = np.quantile(values, [alpha, 1 - alpha])
    return float(low), float(high)


HEADLINE = {"emotion": ("accuracy", lambda t, p: float(np.mean(t == p))), "enthusiasm": ("pearson_r", pearson)}
