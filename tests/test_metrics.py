"""Metrics against values computed by hand; bootstrap intervals against their defining properties."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score, roc_auc_score

from singaffect import evaluation, metrics, splits

settings.register_profile("singaffect", deadline=None, max_examples=150)  # shared, loaded CI machines
settings.load_profile("singaffect")

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


# --- classification ---------------------------------------------------------------------------

# recall: class 0 1/3, class 1 2/2, class 2 1/1; precision: class 0 1/1, class 1 2/4, class 2 1/1
C_TRUE = np.array([0, 0, 0, 1, 1, 2])
C_PRED = np.array([0, 1, 1, 1, 1, 2])


def test_classification_metrics_by_hand() -> None:
    values = metrics.classification_metrics(C_TRUE, C_PRED, n_classes=3)
    assert values["accuracy"] == pytest.approx(4 / 6)
    assert values["uar"] == pytest.approx((1 / 3 + 1 + 1) / 3)
    # F1 per class: 2*1*(1/3)/(4/3) = 1/2, 2*(1/2)*1/(3/2) = 2/3, 1
    assert values["macro_f1"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert metrics.unweighted_average_recall(C_TRUE, C_PRED, 3) == values["uar"]
    assert set(values) == {"accuracy", "uar", "macro_f1"}


def test_macro_f1_penalises_predicting_a_class_absent_from_the_test_set() -> None:
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1])
    values = metrics.classification_metrics(y_true, y_pred, n_classes=3)
    assert values["accuracy"] == pytest.approx(0.75)
    # recall 1/2, 1, 0 (class 2 never true); F1 2/3, 1, 0 (class 2 predicted once, never right)
    assert values["uar"] == pytest.approx((0.5 + 1 + 0) / 3)
    assert values["macro_f1"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    present_only = f1_score(y_true, y_pred, average="macro", labels=np.unique(y_true), zero_division=0)
    assert present_only == pytest.approx((2 / 3 + 1) / 2)  # the old average let class 2 go unpenalised
    assert values["macro_f1"] < present_only


def test_labels_outside_the_task_classes_raise() -> None:
    with pytest.raises(ValueError, match="y_pred holds labels \\[5\\]"):
        metrics.classification_metrics(np.array([0, 1]), np.array([0, 5]), n_classes=3)
    with pytest.raises(ValueError, match="y_true"):
        metrics.unweighted_average_recall(np.array([0, 3]), np.array([0, 1]), n_classes=3)


# --- binary target ----------------------------------------------------------------------------

def test_is_binary() -> None:
    assert metrics.is_binary(np.array([0, 1, 1]))
    assert metrics.is_binary(np.array([0.0, 1.0]))
    assert not metrics.is_binary(np.array([1, 1]))  # one class
    assert not metrics.is_binary(np.array([0, 0.5, 1]))
    assert not metrics.is_binary(np.array([]))
    assert not metrics.is_binary(np.array(["0", "1"]))


def test_roc_auc_by_hand_and_against_sklearn() -> None:
    y = np.array([0, 0, 1, 1])
    assert metrics.roc_auc(y, np.array([0.1, 0.2, 0.3, 0.4])) == 1.0  # perfect ranking
    assert metrics.roc_auc(y, np.array([0.4, 0.3, 0.2, 0.1])) == 0.0
    assert metrics.roc_auc(y, np.full(4, 0.7)) == 0.5  # ties count one half
    assert metrics.roc_auc(y, np.array([0.1, 0.3, 0.2, 0.4])) == pytest.approx(3 / 4)
    rng = np.random.default_rng(1)
    labels, scores = rng.integers(0, 2, 200), rng.integers(0, 10, 200).astype(float)  # many ties
    assert metrics.roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert np.isnan(metrics.roc_auc(np.ones(3), np.arange(3.0)))  # undefined with one class


def test_threshold_is_chosen_on_val_and_applied_to_test() -> None:
    # val: t=0.1 -> BA 1/2, 0.2 -> 3/4, 0.3 -> 1, 0.4 -> 3/4
    val_true, val_scores = np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])
    # test at 0.3 predicts [0, 1, 1, 0]: recall 1/2 each -> BA 1/2 (at 0.35, tuned on test, it would be 3/4)
    y_true, scores = np.array([0, 1, 0, 1]), np.array([0.25, 0.35, 0.31, 0.29])
    threshold = evaluation.val_threshold(val_true, val_scores)
    assert threshold == 0.3
    assert metrics.balanced_accuracy(y_true, evaluation.decisions(scores, threshold)) == pytest.approx(1 / 2)
    assert metrics.roc_auc(y_true, scores) == pytest.approx(3 / 4)


def test_threshold_ties_take_the_smallest_val_score() -> None:
    # t=0.1 -> 1/2, 0.2 -> 3/4, 0.3 -> 1/2, 0.4 -> 3/4: tie of 0.2 and 0.4
    assert metrics.best_threshold(np.array([0, 1, 0, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.2
    assert metrics.best_threshold(np.array([1, 0, 1, 0]), np.array([0.4, 0.3, 0.2, 0.1])) == 0.2  # order-free


@pytest.mark.parametrize("val_true, val_scores", [([], []), ([1, 1, 1], [0.2, 0.9, 0.4]), ([0], [0.3])])
def test_empty_or_one_class_val_falls_back_to_half(val_true: list, val_scores: list) -> None:
    assert metrics.best_threshold(np.array(val_true), np.array(val_scores)) is None
    threshold = evaluation.val_threshold(np.array(val_true), np.array(val_scores))
    assert threshold == 0.5
    decided = evaluation.decisions(np.array([0.2, 0.7, 0.6, 0.4]), threshold)
    assert metrics.balanced_accuracy(np.array([0, 1, 0, 1]), decided) == pytest.approx(1 / 2)  # [0, 1, 1, 0]


def test_emotion_floor_scores_by_the_training_mean_of_the_emotion() -> None:
    train_emotions = np.array(["neutral", "happy", "happy", "sad", "sad"])
    train_targets = np.array([0, 1, 0, 1, 1])
    floor = metrics.emotion_floor(train_emotions, train_targets, np.array(["happy", "neutral", "angry", "sad"]))
    np.testing.assert_allclose(floor, [0.5, 0.0, 0.6, 1.0])  # angry unseen -> overall mean 3/5
    assert floor.dtype == float
    np.testing.assert_allclose(metrics.emotion_floor(np.array([3, 3, 1]), np.array([0.2, 0.4, 1.0]),
                                                     np.array([1, 3])), [1.0, 0.3])


# --- headline ---------------------------------------------------------------------------------

def test_headline_for_picks_by_task_and_target() -> None:
    name, fn = metrics.headline_for("emotion", C_TRUE)
    assert name == "accuracy" and fn(C_TRUE, C_PRED) == pytest.approx(4 / 6)
    name, fn = metrics.headline_for("enthusiasm", np.array([0, 1, 1, 0]))
    assert name == "roc_auc" and fn(np.array([0, 1]), np.array([0.2, 0.8])) == 1.0
    name, fn = metrics.headline_for("enthusiasm", Y_TRUE)
    assert name == "pearson_r" and fn is metrics.pearson
    with pytest.raises(ValueError, match="unknown task"):
        metrics.headline_for("valence", Y_TRUE)


def test_cluster_unit() -> None:
    """Speaker-independent splits resample speakers; the others recording groups (splits.Split.cluster_unit)."""
    import numpy as np

    for strategy in splits.PROTOCOLS:
        split = splits.Split(sides=np.array([]), strategy=strategy, leaky=False)
        expected = "speaker" if strategy in splits.SPEAKER_INDEPENDENT else "group"
        assert split.cluster_unit == expected, strategy
    assert {"speaker", "actor_folds", "leave_one_actor_out", "cross_song_new_singers"} <= set(splits.SPEAKER_INDEPENDENT)
    assert "group" not in splits.SPEAKER_INDEPENDENT and "cross_song_same_singers" not in splits.SPEAKER_INDEPENDENT


def _noisy_classes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 6, n)
    return y_true, np.where(rng.random(n) < 0.6, y_true, rng.integers(0, 6, n))


def test_bootstrap_ci_contains_estimate_and_is_seeded() -> None:
    y_true, y_pred = _noisy_classes(120)
    accuracy = metrics.accuracy
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


# --- cluster bootstrap ------------------------------------------------------------------------

def test_each_cluster_resample_holds_whole_clusters() -> None:
    clusters = np.array(["b", "a", "c", "a", "b", "a", "d"])  # uneven sizes, interleaved
    members = {c: sorted(np.flatnonzero(clusters == c).tolist()) for c in np.unique(clusters)}
    seen: list[np.ndarray] = []

    def record(items: np.ndarray, _: np.ndarray) -> float:
        seen.append(items.copy())
        return 0.0

    metrics.cluster_bootstrap_ci(record, np.arange(7), np.zeros(7), clusters, n_resamples=200, seed=5)
    assert len(seen) == 200
    for items in seen:
        remaining, drawn = sorted(items.tolist()), 0
        while remaining:  # peel off whole clusters; a cluster drawn twice appears twice
            cluster = members[clusters[remaining[0]]]
            for item in cluster:
                remaining.remove(item)
            drawn += 1
        assert drawn == len(members)
    assert any(len(set(items.tolist())) < len(items) for items in seen)  # some cluster drawn twice


def test_identical_items_within_clusters_give_the_one_item_per_cluster_interval() -> None:
    y_true, y_pred = _noisy_classes(20, seed=2)
    clusters = np.arange(20)
    single = metrics.cluster_bootstrap_ci(metrics.accuracy, y_true, y_pred, clusters, n_resamples=400, seed=1)
    order = np.random.default_rng(9).permutation(100)  # 5 copies per cluster, shuffled together
    repeated = metrics.cluster_bootstrap_ci(metrics.accuracy, np.repeat(y_true, 5)[order],
                                            np.repeat(y_pred, 5)[order], np.repeat(clusters, 5)[order],
                                            n_resamples=400, seed=1)
    assert repeated == pytest.approx(single)
    assert single[0] < single[1]


def test_cluster_interval_is_wider_than_the_item_interval_on_clustered_data() -> None:
    # 20 singers x 10 clips, each singer either all right or all wrong: 20 effective items, not 200
    rng = np.random.default_rng(4)
    right = np.repeat(rng.random(20) < 0.6, 10)
    y_true = rng.integers(0, 6, 200)
    y_pred = np.where(right, y_true, (y_true + 1) % 6)
    clusters = np.repeat(np.arange(20), 10)
    item = metrics.bootstrap_ci(metrics.accuracy, y_true, y_pred, n_resamples=500, seed=0)
    cluster = metrics.cluster_bootstrap_ci(metrics.accuracy, y_true, y_pred, clusters, n_resamples=500, seed=0)
    assert cluster[1] - cluster[0] > 2 * (item[1] - item[0])
    assert cluster[0] < metrics.accuracy(y_true, y_pred) < cluster[1]


def test_cluster_bootstrap_is_seeded() -> None:
    y_true, y_pred = _noisy_classes(300, seed=6)
    clusters = np.random.default_rng(6).integers(0, 23, 300)
    first = metrics.cluster_bootstrap_ci(metrics.accuracy, y_true, y_pred, clusters, n_resamples=300, seed=7)
    assert first == metrics.cluster_bootstrap_ci(metrics.accuracy, y_true, y_pred, clusters, n_resamples=300, seed=7)
    assert first != metrics.cluster_bootstrap_ci(metrics.accuracy, y_true, y_pred, clusters, n_resamples=300, seed=8)
    narrow = metrics.cluster_bootstrap_ci(metrics.accuracy, y_true, y_pred, clusters, n_resamples=300, seed=7,
                                          level=0.5)
    assert first[0] <= narrow[0] <= narrow[1] <= first[1]


def test_resamples_where_the_metric_is_undefined_are_skipped_and_counted() -> None:
    # 4 clusters, two all-positive and two all-negative: 1 resample in 8 holds one class (AUC undefined)
    y_true = np.repeat([0, 0, 1, 1], 3)
    scores = np.linspace(0, 1, 12) + np.tile([0.0, 0.5, -0.5], 4)
    clusters = np.repeat(["p", "q", "r", "s"], 3)
    values, skipped = metrics.cluster_bootstrap_values(metrics.roc_auc, y_true, scores, clusters, 400, seed=0)
    assert 0 < skipped < 400 and len(values) + skipped == 400 and np.all(np.isfinite(values))
    with pytest.warns(RuntimeWarning, match=f"undefined on {skipped} of 400"):
        low, high = metrics.cluster_bootstrap_ci(metrics.roc_auc, y_true, scores, clusters, 400, seed=0)
    assert 0.0 <= low <= high <= 1.0
    with pytest.raises(ValueError, match="undefined on all"):
        metrics.cluster_bootstrap_ci(metrics.roc_auc, np.ones(4), np.arange(4.0), np.arange(4), 50)


def test_cluster_bootstrap_with_one_cluster_or_mismatched_lengths() -> None:
    with pytest.warns(RuntimeWarning, match="fewer than 2 clusters"):
        low, high = metrics.cluster_bootstrap_ci(metrics.accuracy, np.array([0, 1]), np.array([0, 0]),
                                                 np.array(["a", "a"]))
    assert np.isnan(low) and np.isnan(high)
    with pytest.raises(ValueError, match="clusters has 2"):
        metrics.cluster_bootstrap_ci(metrics.accuracy, np.zeros(3), np.zeros(3), np.zeros(2))


@given(st.lists(st.tuples(st.integers(0, 5), st.booleans()), min_size=2, max_size=40), st.integers(0, 2**16))
@settings(max_examples=60)
def test_cluster_interval_ignores_item_order_and_stays_within_cluster_extremes(rows: list, seed: int) -> None:
    clusters = np.array([c for c, _ in rows])
    correct = np.array([ok for _, ok in rows], dtype=int)
    truth = np.ones_like(correct)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # one-cluster draws give (nan, nan), checked below
        low, high = metrics.cluster_bootstrap_ci(metrics.accuracy, truth, correct, clusters, 50, seed)
        order = np.random.default_rng(seed).permutation(len(rows))
        shuffled = metrics.cluster_bootstrap_ci(metrics.accuracy, truth[order], correct[order], clusters[order],
                                                50, seed)
    if len(np.unique(clusters)) < 2:
        assert np.isnan(low) and np.isnan(high)
        return
    assert shuffled == pytest.approx((low, high))
    per_cluster = [correct[clusters == c].mean() for c in np.unique(clusters)]
    assert min(per_cluster) - 1e-12 <= low <= high <= max(per_cluster) + 1e-12


# --- paired comparison ------------------------------------------------------------------------

def test_identical_systems_differ_by_exactly_zero() -> None:
    y_true, y_pred = _noisy_classes(200, seed=3)
    clusters = np.arange(200) % 23
    result = metrics.paired_difference_ci(metrics.accuracy, y_true, y_pred, y_pred.copy(), clusters, 300)
    assert result == {"difference": 0.0, "ci95": [0.0, 0.0], "excludes_zero": False, "n_clusters": 23,
                      "n_skipped": 0}


def test_a_clearly_better_system_excludes_zero() -> None:
    y_true, worse = _noisy_classes(300, seed=8)  # about 65 % right
    clusters = np.arange(300) % 23
    better = np.where(np.arange(300) % 10 == 0, worse, y_true)  # about 96 % right
    result = metrics.paired_difference_ci(metrics.accuracy, y_true, better, worse, clusters, 500, seed=2)
    assert result["difference"] == pytest.approx(metrics.accuracy(y_true, better) - metrics.accuracy(y_true, worse))
    low, high = result["ci95"]
    assert 0 < low < result["difference"] < high and result["excludes_zero"] is True
    swapped = metrics.paired_difference_ci(metrics.accuracy, y_true, worse, better, clusters, 500, seed=2)
    assert swapped["difference"] == pytest.approx(-result["difference"])
    assert swapped["ci95"] == pytest.approx([-high, -low])  # same resamples for both systems


def test_pairing_narrows_the_interval_of_a_difference() -> None:
    # both systems share each singer's difficulty; B errs on 10 % more clips than A
    rng = np.random.default_rng(5)
    clusters = np.repeat(np.arange(20), 15)
    hard = np.repeat(rng.random(20), 15) > rng.random(300)
    y_true = rng.integers(0, 2, 300)
    pred_a = np.where(hard, 1 - y_true, y_true)
    pred_b = np.where(rng.random(300) < 0.1, 1 - y_true, pred_a)
    paired = metrics.paired_difference_ci(metrics.accuracy, y_true, pred_a, pred_b, clusters, 500)["ci95"]
    a = metrics.cluster_bootstrap_ci(metrics.accuracy, y_true, pred_a, clusters, 500)
    assert paired[1] - paired[0] < (a[1] - a[0]) / 2


def test_paired_comparison_refuses_mismatched_lengths() -> None:
    y = np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match="pred_b has 4"):
        metrics.paired_difference_ci(metrics.accuracy, y, y, y[:4], np.arange(5))
    with pytest.raises(ValueError, match="clusters has 6"):
        metrics.paired_difference_ci(metrics.accuracy, y, y, y, np.arange(6))
