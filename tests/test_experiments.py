"""Real DVC experiments on a tiny synthetic project: queue, run, compare, diff committed metrics.

One module-scoped repo: two queued experiments (split.strategy group and speaker) run
by two real queue workers at once; the tests then read them the ways a person would.
"""
from __future__ import annotations

import csv
import json
import re
import time

import pytest

import tinyrepo
from singaffect import predict
from tinyrepo import git_run as git, run_dvc as dvc

pytestmark = pytest.mark.slow


def readme_keep_pattern() -> str:
    """The ``--keep`` pattern of the compact ``dvc exp show`` table the README recommends."""
    readme = (tinyrepo.PROJECT / "README.md").read_text()
    (pattern,) = re.findall(r"^dvc exp show --drop '\.\*' --keep '([^']+)'", readme, re.M)
    return pattern


@pytest.fixture(scope="module")
def experiments(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Queue a sweep over split.strategy, run it with two workers, return the repo and `dvc exp show --json`."""
    repo = tinyrepo.make_repo(tmp_path_factory.mktemp("exp") / "repo", dvc=True, track_corpus=True, params={
        **tinyrepo.WHOLE_PIPELINE_PARAMS, "train.task": "enthusiasm", "train.epochs": 1})
    dvc(repo, "exp", "run", "--queue", "-S", "split.strategy=group,speaker")
    try:
        dvc(repo, "queue", "start", "-j", "2")  # two workers, one experiment each
        deadline, idle_polls = time.monotonic() + 600, 0
        while True:
            status = dvc(repo, "queue", "status").stdout
            if not any(word in status for word in ("Queued", "Running")):
                break
            workers = re.search(r"Worker status: (\d+) active, (\d+) idle", status)
            idle_polls = idle_polls + 1 if workers and workers.groups() == ("0", "0") else 0
            assert idle_polls < 4, f"no queue worker is running the queued experiments:\n{status}"
            assert time.monotonic() < deadline, f"queue still busy:\n{status}"
            time.sleep(10)
        shown = json.loads(dvc(repo, "exp", "show", "--json").stdout)
        yield {"repo": repo, "shown": shown, "status": status}
    finally:  # never leave a worker behind, whatever happened
        dvc(repo, "queue", "stop", "--kill", check=False, timeout=120)


def exp_revs(shown: list) -> dict[str, dict]:
    """{experiment name: its data} for the experiments of the baseline commit."""
    baseline = next(entry for entry in shown if entry["rev"] != "workspace")
    return {exp["name"]: exp["revs"][0]["data"] for exp in baseline["experiments"] or []}


def test_queued_experiments_succeed_and_show_their_metrics(experiments: dict) -> None:
    assert "Failed" not in experiments["status"]
    revs = exp_revs(experiments["shown"])
    assert len(revs) == 2, experiments["status"]
    strategies = {}
    for name, data in revs.items():
        split = data["params"]["params.yaml"]["data"]["split"]["strategy"]
        metrics = data["metrics"]["metrics/eval.json"]["data"]
        strategies[split] = metrics
        assert metrics["strategy"] == split and metrics["task"] == "enthusiasm"
        assert -1 <= metrics["pearson_r"] <= 1 and metrics["headline"]["metric"] == "roc_auc"  # binary intensity
        assert 0 <= metrics["roc_auc"] <= 1 and "floor" in metrics
        assert data["metrics"]["metrics/train.json"]["data"]["epochs_run"] == 1
    assert set(strategies) == {"group", "speaker"}
    assert strategies["speaker"]["protocol"] != strategies["group"]["protocol"]


def test_clean_exp_table_and_metrics_diff_between_branches(experiments: dict) -> None:
    repo = experiments["repo"]
    table = dvc(repo, "exp", "show", "--csv", "--drop", ".*", "--keep", readme_keep_pattern()).stdout.splitlines()
    assert table[0].split(",") == [
        "Experiment", "State", "best_val_loss", "metrics/eval.json:headline.value", "metrics/eval.json:pearson_r",
        "metrics/eval.json:ccc", "metrics/functionals_model.json:headline.value", "metrics/handcrafted_model.json:headline.value",
        "split.strategy", "train.task", "train.model", "functionals_model.model"]
    assert sum(",Success," in line for line in table) == 2

    for name, data in exp_revs(experiments["shown"]).items():
        dvc(repo, "exp", "branch", name, data["params"]["params.yaml"]["data"]["split"]["strategy"])
    diff = json.loads(dvc(repo, "metrics", "diff", "group", "speaker", "--json").stdout)
    change = diff["metrics/eval.json"]["pearson_r"]
    assert {"old", "new", "diff"} <= set(change) and change["new"] - change["old"] == pytest.approx(change["diff"])


def test_predict_cli_matches_evaluate_on_an_applied_experiment(experiments: dict) -> None:
    """Decode + window + log-mel in predict give the model exactly what the pipeline gave it."""
    repo = experiments["repo"]
    git(repo, "checkout", "-q", "group")
    dvc(repo, "checkout", "-q", "dvc.yaml")  # the default pipeline's outputs (cv/dvc.yaml never ran here)
    rows = [r for r in csv.DictReader((repo / "metrics/predictions.csv").open()) if r["copy"] == "0"][:4]
    assert rows
    for row in rows:
        (path,) = (repo / "data/corpus").glob(f"*/{row['clip_id']}.wav")
        result = predict.predict_file(path, repo / "models/model.keras")
        assert len(result.scores) == 1
        assert float(result.scores[0]) == pytest.approx(float(row["predicted"]), abs=2e-5)
    examples = sorted(p.name for p in (repo / "plots/mel_examples").iterdir())
    assert examples == ["normal.png", "strong.png"]


def test_the_saved_feature_model_scores_takes_as_the_stage_did(experiments: dict) -> None:
    """functionals_model saves its model (models/functionals_model.h5); predict refits it and gives each test
    take the score in metrics/functionals_model_predictions.csv."""
    repo = experiments["repo"]
    git(repo, "checkout", "-q", "speaker")
    dvc(repo, "checkout", "-q", "dvc.yaml")
    rows = list(csv.DictReader((repo / "metrics/functionals_model_predictions.csv").open()))[:3]
    assert rows
    for row in rows:
        (path,) = (repo / "data/corpus").glob(f"*/{row['clip_id']}.wav")
        scored = predict.score_with_features(path, repo / "models/functionals_model.h5")
        assert scored["task"] == "enthusiasm" and scored["enrolment"]["mode"] == "none"
        assert scored["enthusiasm"] == pytest.approx(float(row["predicted"]), abs=2e-5)


def test_every_model_of_an_experiment_is_tested_on_the_split_stage_clips(experiments: dict) -> None:
    """functionals_model and handcrafted_model read data/split (no second splitter): their test clips are the CNN's copy-0 test rows."""
    repo = experiments["repo"]
    git(repo, "checkout", "-q", "speaker")
    dvc(repo, "checkout", "-q", "dvc.yaml")

    def clips(path: str) -> list[str]:
        return sorted(r["clip_id"] for r in csv.DictReader((repo / path).open()) if r.get("copy", "0") == "0")

    cnn = clips("metrics/predictions.csv")
    assert cnn and clips("metrics/functionals_model_predictions.csv") == cnn == clips("metrics/handcrafted_model_predictions.csv")
    tested = {r["clip_id"] for r in csv.DictReader((repo / "data/split/split.csv").open()) if r["side"] == "test"}
    assert set(cnn) == tested
