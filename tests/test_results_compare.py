"""Paired comparisons of two results rows on the same test clips, and the README sentence they generate."""
from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from singaffect import metrics as metric_functions
from singaffect import results
from test_results_table import README, commit_files, init_repo, metrics, run

EMOTIONS = ("angry", "calm", "happy", "sad")


@pytest.fixture
def calls(monkeypatch):
    """Record what reaches ``metrics.paired_difference_ci`` (stubbed if metrics.py lacks it)."""
    seen = []
    real = getattr(metric_functions, "paired_difference_ci", None)

    def paired(metric, y_true, pred_a, pred_b, clusters, n_resamples=1000, seed=0):
        seen.append({"metric": metric, "y_true": np.asarray(y_true), "pred_a": np.asarray(pred_a),
                     "pred_b": np.asarray(pred_b), "clusters": np.asarray(clusters), "n_resamples": n_resamples})
        if real is not None:
            return real(metric, y_true, pred_a, pred_b, clusters, n_resamples=n_resamples, seed=seed)
        difference = metric(np.asarray(y_true), np.asarray(pred_a)) - metric(np.asarray(y_true), np.asarray(pred_b))
        low, high = difference - 0.05, difference + 0.05
        return {"difference": difference, "ci95": [low, high], "excludes_zero": low > 0 or high < 0,
                "n_clusters": len(set(clusters))}

    monkeypatch.setattr(metric_functions, "paired_difference_ci", paired, raising=False)
    if not hasattr(metric_functions, "headline_for"):
        def headline_for(task, y_true):
            if task == "emotion":
                return "accuracy", lambda t, p: float(np.mean(np.asarray(t) == np.asarray(p)))
            return "roc_auc", lambda t, p: float(__import__("sklearn.metrics").metrics.roc_auc_score(t, p))
        monkeypatch.setattr(metric_functions, "headline_for", headline_for, raising=False)
    return seen


def predictions_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def emotion_rows(correct_every: int, n_speakers=8, per_speaker=6, group=True, shuffle=False) -> list[dict]:
    """Clips of ``n_speakers`` speakers; every ``correct_every``-th one is predicted wrongly."""
    rows = []
    for s in range(n_speakers):
        for i in range(per_speaker):
            actual = EMOTIONS[(s + i) % len(EMOTIONS)]
            wrong = (s * per_speaker + i) % correct_every == 0
            row = {"clip_id": f"clip-{s:02d}-{i}", "speaker": f"{s:02d}", "copy": "0", "actual": actual,
                   "predicted": EMOTIONS[(s + i + 1) % len(EMOTIONS)] if wrong else actual}
            if group:
                row["group"] = f"{s:02d}-line{i % 2}"
            rows.append(row)
    return rows[::-1] if shuffle else rows


@pytest.fixture
def repo(tmp_path):
    repo = init_repo(tmp_path)
    commit_files(repo, {"README.md": README}, "readme")
    return repo


def record_pair(repo, rows_a, rows_b, metrics_a, metrics_b) -> None:
    commit_files(repo, {"metrics/eval.json": metrics_a, "metrics/predictions.csv": predictions_csv(rows_a),
                        "metrics/classic.json": metrics_b,
                        "metrics/classic_predictions.csv": predictions_csv(rows_b)}, "dvc repro")
    results.record("CNN", "dvc repro", "metrics/eval.json", repo / "results")
    results.record("MLP", "dvc repro", "metrics/classic.json", repo / "results")


def test_emotion_rows_are_paired_by_clip_and_compared_on_accuracy(repo, calls):
    rows_a, rows_b = emotion_rows(10), emotion_rows(2, shuffle=True)  # B's file lists the clips in another order
    record_pair(repo, rows_a, rows_b, metrics(strategy="speaker", protocol="speaker-independent"),
                metrics(strategy="speaker", protocol="speaker-independent"))
    path = results.compare(repo / "results", "CNN", "MLP")
    assert path == repo / "results" / "comparisons" / "cnn__vs__mlp.json"
    stored = json.loads(path.read_text())
    acc_a = np.mean([r["actual"] == r["predicted"] for r in rows_a])
    acc_b = np.mean([r["actual"] == r["predicted"] for r in rows_b])
    assert stored["metric"] == "accuracy" and stored["difference"] == pytest.approx(acc_a - acc_b)
    assert stored["clusters_by"] == "speaker" and stored["n_clusters"] == 8 and stored["n_clips"] == 48
    head = results._git_commit(repo)
    assert stored["commits"] == {"a": [head], "b": [head]} and stored["runs"] == {"a": [1], "b": [1]}
    assert stored["excludes_zero"] is True and 0 < stored["ci95"][0] < stored["difference"] < stored["ci95"][1]
    (call,) = calls
    # the same clip in the same position for both systems: B's predictions were re-ordered to A's clips
    assert (call["pred_b"] == np.array([r["predicted"] for r in sorted(rows_b, key=lambda r: r["clip_id"])])).all()
    assert list(call["clusters"]) == sorted(r["speaker"] for r in rows_a) and call["n_resamples"] == 1000
    sentence = results.comparison_sentence(stored)  # one run a side: no claim yet, whatever the interval
    assert sentence.startswith(f"**CNN** ahead of **MLP**: +{acc_a - acc_b:.3f} accuracy (95 % CI ")
    assert sentence.endswith("1 run each); no claim until each side averages 3 seeds.")


def test_enthusiasm_rows_with_a_0_1_target_compare_roc_auc_of_the_scores(repo, calls):
    rng = np.random.default_rng(0)
    rows_a, rows_b = [], []
    for s in range(6):
        for i in range(10):
            actual = float(i % 2)
            base = {"clip_id": f"c{s}-{i}", "speaker": str(s), "group": f"{s}-{i // 4}", "fold": "", "actual": actual}
            rows_a.append({**base, "predicted": round(actual * 0.6 + rng.random() * 0.5, 5)})
            rows_b.append({**base, "predicted": round(rng.random(), 5)})
    ent = dict(metrics(), task="enthusiasm", headline={"metric": "roc_auc", "value": 0.8, "ci95": [0.7, 0.9],
                                                       "ci_method": "cluster bootstrap over group"})
    record_pair(repo, rows_a, rows_b, ent, ent)
    stored = json.loads(results.compare(repo / "results", "CNN", "MLP").read_text())
    assert stored["metric"] == "roc_auc" and stored["clusters_by"] == "group" and stored["n_clusters"] == 18
    assert calls[0]["y_true"].dtype.kind == "f" and calls[0]["pred_a"].dtype.kind == "f"


def test_clusters_follow_the_split_strategy_and_refuse_a_missing_column(repo, calls):
    record_pair(repo, emotion_rows(3), emotion_rows(4), metrics(strategy="group"), metrics(strategy="group"))
    assert json.loads(results.compare(repo / "results", "CNN", "MLP").read_text())["clusters_by"] == "group"
    record_pair(repo, emotion_rows(3, group=False), emotion_rows(4, group=False), metrics(strategy="group"),
                metrics(strategy="group"))  # older predictions without a group column: no silent speaker fallback
    with pytest.raises(results.ResultsError, match="no 'group' column"):
        results.compare(repo / "results", "CNN", "MLP")


def test_different_clip_sets_or_targets_are_not_a_paired_comparison(repo, calls):
    record_pair(repo, emotion_rows(3), emotion_rows(3)[:-2], metrics(), metrics())
    with pytest.raises(results.ResultsError, match="different clips .2 only in the first, 0 only in the second"):
        results.compare(repo / "results", "CNN", "MLP")
    other = [dict(r, actual="neutral") if i == 0 else r for i, r in enumerate(emotion_rows(3))]
    record_pair(repo, emotion_rows(3), other, metrics(), metrics())
    with pytest.raises(results.ResultsError, match="disagree on the true values"):
        results.compare(repo / "results", "CNN", "MLP")
    commit_files(repo, {"metrics/eval.json": dict(metrics(), task="enthusiasm")})
    results.record("CNN", "dvc repro", "metrics/eval.json", repo / "results")
    with pytest.raises(results.ResultsError, match="nothing to compare"):
        results.compare(repo / "results", "CNN", "MLP")
    assert calls == []


def test_missing_predictions_are_named(repo, calls):
    commit_files(repo, {"metrics/eval.json": metrics(), "metrics/baseline.json": metrics()})
    results.record("CNN", "dvc repro", "metrics/eval.json", repo / "results")
    results.record("ridge", "dvc repro", "metrics/baseline.json", repo / "results")
    with pytest.raises(results.ResultsError, match="metrics/predictions.csv"):
        results.compare(repo / "results", "CNN", "ridge")


def test_cross_validation_predictions_are_read_from_the_fold_folders(repo, calls):
    rows = emotion_rows(3)
    cv = dict(metrics(strategy="actor_folds"), n_folds=2)
    commit_files(repo, {"metrics/cv/cnn.json": cv, "metrics/cv/fold0/predictions.csv": predictions_csv(rows[:24]),
                        "metrics/cv/fold1/predictions.csv": predictions_csv(rows[24:]),
                        "metrics/classic.json": cv, "metrics/classic_predictions.csv": predictions_csv(
                            emotion_rows(5))})
    results.record("CNN folds", "dvc repro cv/dvc.yaml", "metrics/cv/cnn.json", repo / "results")
    results.record("MLP folds", "dvc repro", "metrics/classic.json", repo / "results")
    stored = json.loads(results.compare(repo / "results", "CNN folds", "MLP folds").read_text())
    assert stored["n_clips"] == 48 and stored["clusters_by"] == "speaker"
    assert stored["predictions"]["a"] == ["metrics/cv/fold0/predictions.csv ... (2 files)"]


def test_several_seeds_a_side_are_averaged_over_the_same_cluster_resamples(repo, calls):
    """Three seeds of A, three of B: the difference of the mean accuracies, one paired interval."""
    seeds_a, seeds_b = [emotion_rows(k) for k in (10, 9, 8)], [emotion_rows(k) for k in (2, 3, 4)]
    commits = {"a": [], "b": []}
    for n, (rows_a, rows_b) in enumerate(zip(seeds_a, seeds_b)):
        commit_files(repo, {"metrics/eval.json": metrics(0.9 - n / 100, strategy="speaker"),
                            "metrics/predictions.csv": predictions_csv(rows_a),
                            "metrics/classic.json": metrics(0.6 - n / 100, strategy="speaker"),
                            "metrics/classic_predictions.csv": predictions_csv(rows_b)}, f"seed {n}")
        for side, label, source in (("a", "CNN", "metrics/eval.json"), ("b", "MLP", "metrics/classic.json")):
            results.record(label, f"dvc exp run -S train.seed={n}", source, repo / "results", append=True)
            commits[side].append(results._git_commit(repo))
    stored = json.loads(results.compare(repo / "results", "CNN", "MLP").read_text())
    accuracy = [[np.mean([r["actual"] == r["predicted"] for r in rows]) for rows in seeds]
                for seeds in (seeds_a, seeds_b)]
    assert stored["difference"] == pytest.approx(np.mean(accuracy[0]) - np.mean(accuracy[1]))
    assert stored["runs"] == {"a": [1, 2, 3], "b": [1, 2, 3]} and stored["commits"] == commits
    (call,) = calls
    assert call["pred_a"].shape == (48, 3) and call["pred_b"].shape == (48, 3)
    assert stored["excludes_zero"] and results.comparison_sentence(stored).startswith("**CNN** beats **MLP**: +")
    assert "mean of 3 runs each" in results.comparison_sentence(stored)
    one = json.loads(results.compare(repo / "results", "CNN", "MLP", run_a=2, run_b=2).read_text())
    assert one["runs"] == {"a": [2], "b": [2]} and one["difference"] == pytest.approx(
        accuracy[0][1] - accuracy[1][1])
    assert results.verify(repo / "results", repo) == []


def test_compare_cli_stores_the_comparison_and_the_readme_says_what_it_shows(repo, calls, capsys):
    record_pair(repo, emotion_rows(10), emotion_rows(9), metrics(strategy="speaker"), metrics(strategy="speaker"))
    assert run(repo, "--compare", "CNN", "MLP", "--resamples", "200") == 0
    stored = json.loads((repo / "results/comparisons/cnn__vs__mlp.json").read_text())
    assert stored["n_resamples"] == 200 and stored["excludes_zero"] is False
    text = (repo / "README.md").read_text()
    assert "- **CNN** and **MLP** are not distinguishable: " in text and "clustered by speaker" in text
    assert run(repo, "--check") == 0
    assert run(repo, "--compare", "CNN", "nobody") == 1
    assert "no results row labelled 'nobody'" in capsys.readouterr().err


def test_comparison_file_names_stay_within_the_file_system_limit():
    short = results.comparison_file_name("CNN", "MLP")
    assert short == "cnn__vs__mlp.json"
    a = "Logistic regression (P(strong)), penalty chosen on validation, on seed 2's 386 functionals + " \
        "singer enrolment (all other takes), enthusiasm, 5 actor folds"
    b = a.replace("all other takes", "other statement")
    long_ab, long_ba = results.comparison_file_name(a, b), results.comparison_file_name(b, a)
    assert len(long_ab.encode()) <= 255 and long_ab.endswith(".json") and "__vs__" in long_ab
    assert long_ab != long_ba  # the order of the pair is kept, and the hash tells long pairs apart


def test_a_named_lever_fills_the_ablation_table_with_its_verdict(repo, calls, capsys):
    """``--lever`` stores what A adds to B; the README's ablation table lists it with the paired change,
    and says "helps" only with the interval clear of 0 and 3 runs a side."""
    record_pair(repo, emotion_rows(10), emotion_rows(2), metrics(strategy="speaker"), metrics(strategy="speaker"))
    assert run(repo, "--compare", "CNN", "MLP", "--lever", "a convolutional trunk") == 0
    stored = json.loads((repo / "results/comparisons/cnn__vs__mlp.json").read_text())
    assert stored["lever"] == "a convolutional trunk" and stored["excludes_zero"]
    text = (repo / "README.md").read_text()
    (line,) = [row for row in text.splitlines() if row.startswith("| a convolutional trunk |")]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[1] == "MLP" and cells[2].startswith(f"+{stored['difference']:.3f} accuracy (")
    assert cells[4] == "1 / 1" and cells[5] == "no claim yet (fewer than 3 runs a side)"
    assert run(repo, "--check") == 0
    # the verdict follows the interval and the runs, both ways round
    three = {**stored, "runs": {"a": [1, 2, 3], "b": [1, 2, 3]}}
    assert results.verdict(three) == "helps"
    assert results.verdict({**three, "difference": -0.1, "ci95": [-0.2, -0.05]}) == "hurts"
    assert results.verdict({**three, "excludes_zero": False, "ci95": [-0.01, 0.2]}) == "not distinguishable"
    assert results.ablation_table([{**three, "lever": ""}]) == ""  # no lever, no ablation row
    assert run(repo, "--compare", "CNN", "MLP", "--lever", "  ") == 1
    assert "--lever needs a name" in capsys.readouterr().err
