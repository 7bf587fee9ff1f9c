"""Metrics against values computed by hand."""
from __future__ import annotations

import numpy as np
import pytest

from singaffect import metrics

# y_true mean 2.5, y_pred mean 3.25; sum dt*dp = 5.5, sum dt^2 = 5, sum dp^2 = 6.75
Y_TRUE = np.array([1.0, 2.0, 3.0, 4.0])
Y_PRED = np.array([2.0, 2.0, 4.0, 5.0])


def test_regression_metrics_by_hand() -> None:
    values = metrics.regression_metrics(Y_TRUE, Y_PRED)
    assert values["pearson_r"] == pytest.approx(5.5 / np.sqrt(5 * 6.75))
    # ranks of y_pred: 1.5, 1.5, 3, 4 -> sum dr*dp = 4.5, sum dr^2 = 4.5
    assert values["spearman"] == pytest.approx(4.5 / np.sqrt(5 * 4.5))
    # 2 * cov / (var_t + var_p + (mean diff)^2) = 2 * 1.375 / (1.25 + 1.6875 + 0.5625)
    assert values["ccc"] == pytest.approx(11 / 14)
    assert values["mse"] == pytest.approx(0.75)
    assert values["mae"] == pytest.approx(0.75)
    assert set(values) == {"pearson_r", "spearman", "ccc", "mse", "mae"}


def test_ccc_penalises_offset_and_scale_where_pearson_does_not() -> None:
    assert metrics.pearson(Y_TRUE, Y_TRUE + 10) == pytest.approx(1.0)
    assert metrics.ccc(Y_TRUE, Y_TRUE) == pytest.approx(1.0)
    assert metrics.ccc(Y_TRUE, Y_TRUE + 10) < 0.1
    assert metrics.ccc(Y_TRUE, 2 * Y_TRUE) < 1.0
    assert metrics.ccc(Y_TRUE, -Y_TRUE) < 0


def test_constant_inputs_give_zero_not_nan() -> None:
    constant = np.full(4, 0.5)
    assert metrics.pearson(Y_TRUE, constant) == 0.0
    assert metrics.spearman(constant, Y_PRED) == 0.0
    assert metrics.ccc(constant, constant) == 0.0
    assert all(np.isfinite(v) for v in metrics.regression_metrics(constant, Y_PRED).values())


# recall: class 0 1/3, class 1 2/2, class 2 1/1; precision: class 0 1/1, class 1 2/4, class 2 1/1
C_TRUE = np.array([0, 0, 0, 1, 1, 2])
C_PRED = np.array([0, 1, 1, 1, 1, 2])


def test_classification_metrics_by_hand() -> None:
    values = metrics.classification_metrics(C_TRUE, C_PRED)
    assert values["accuracy"] == pytest.approx(4 / 6)
    assert values["uar"] == pytest.approx((1 / 3 + 1 + 1) / 3)
    # F1 per class: 2*1*(1/3)/(4/3) = 1/2, 2*(1/2)*1/(3/2) = 2/3, 1
    assert values["macro_f1"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert metrics.unweighted_average_recall(C_TRUE, C_PRED) == values["uar"]


def test_classes_only_predicted_do_not_count_in_averages() -> None:
    values = metrics.classification_metrics(np.array([0, 0, 1, 1]), np.array([0, 5, 1, 1]))
    assert values["accuracy"] == pytest.approx(0.75)
    assert values["uar"] == pytest.approx((0.5 + 1) / 2)
    assert values["macro_f1"] == pytest.approx((2 / 3 + 1) / 2)


def test_headline_functions() -> None:
    name, fn = metrics.HEADLINE["emotion"]
    assert name == "accuracy" and fn(C_TRUE, C_PRED) == pytest.approx(4 / 6)
    name, fn = metrics.HEADLINE["enthusiasm"]
    assert name == "pearson_r" and fn(Y_TRUE, Y_PRED) == pytest.approx(metrics.pearson(Y_TRUE, Y_PRED))


def test_bootstrap_ci_contains_estimate_and_is_seeded() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 6, 120)
    y_pred = np.where(rng.random(120) < 0.6, y_true, rng.integers(0, 6, 120))
    _, accuracy = metrics.HEADLINE["emotion"]
    point = accuracy(y_true, y_pred)
    low, high = metrics.bootstrap_ci(accuracy, y_true, y_pred, n_resamples=300, seed=3)
    assert 0.0 <= low < point < high <= 1.0
    assert high - low < 0.3
    assert (low, high) == metrics.bootstrap_ci(accuracy, y_true, y_pred, n_resamples=300, seed=3)
    assert (low, high) != metrics.bootstrap_ci(accuracy, y_true, y_pred, n_resamples=300, seed=4)
    narrow = metrics.bootstrap_ci(accuracy, y_true, y_pred, n_resamples=300, seed=3, level=0.5)
    assert low <= narrow[0] <= narrow[1] <= high


def test_bootstrap_ci_of_a_perfect_regressor() -> None:
    y = np.linspace(0, 1, 30)
    assert metrics.bootstrap_ci(metrics.pearson, y, y, n_resamples=50) == pytest.approx((1.0, 1.0))
