"""Every results row must be re-derivable from main: its commit is in main's history and holds its metrics."""
from __future__ import annotations

import json

import pytest

from conftest import ROOT
from singaffect import results
from test_results_table import README, commit_files, git, init_repo, metrics, run, side_commit


@pytest.fixture
def registry(tmp_path):
    """A repo whose HEAD holds a recorded `dvc repro` row, plus one experiment-like commit on the side."""
    repo = init_repo(tmp_path / "repo")
    commit_files(repo, {"README.md": README, "params.yaml": "split: {strategy: group}\n"}, "code")
    head = commit_files(repo, {"metrics/eval.json": metrics(0.61)}, "dvc repro")
    experiment = side_commit(repo, {"params.yaml": "split: {strategy: speaker}\n",
                                    "metrics/eval.json": metrics(0.78, strategy="speaker")})
    results.record("CNN", "dvc repro", "metrics/eval.json", repo / "results")
    results.record("CNN speaker", "dvc exp run -S split.strategy=speaker", "metrics/eval.json", repo / "results",
                   rev=experiment)
    return {"repo": repo, "head": head, "experiment": experiment, "results": repo / "results"}


def edit(path, change) -> None:
    entry = json.loads(path.read_text())
    change(entry)
    path.write_text(json.dumps(entry, indent=2) + "\n")


def test_an_experiment_commit_outside_main_is_caught_until_merged_with_ours(registry):
    repo, experiment = registry["repo"], registry["experiment"]
    (problem,) = results.verify(registry["results"], repo)
    assert problem.startswith("results/002_cnn-speaker.json run 1:")
    assert f"commit {experiment[:8]} is not in the history of HEAD" in problem
    assert f"git merge -s ours {experiment[:8]}" in problem
    tree = git(repo, "rev-parse", "HEAD^{tree}")
    git(repo, "merge", "-q", "-s", "ours", "--no-edit", experiment)
    assert git(repo, "rev-parse", "HEAD^{tree}") == tree  # main's files are untouched
    assert json.loads((repo / "metrics/eval.json").read_text())["accuracy"] == 0.61
    assert results.verify(registry["results"], repo) == []


def test_a_commit_that_does_not_resolve_is_caught(registry):
    git(registry["repo"], "merge", "-q", "-s", "ours", "--no-edit", registry["experiment"])
    edit(registry["results"] / "001_cnn.json", lambda e: e["runs"][0].update(commit="0" * 40))
    (problem,) = results.verify(registry["results"], registry["repo"])
    assert problem == f"results/001_cnn.json run 1: commit {'0' * 12} does not resolve in {registry['repo']}"


def test_recorded_metrics_that_differ_from_the_commit_are_caught(registry):
    git(registry["repo"], "merge", "-q", "-s", "ours", "--no-edit", registry["experiment"])
    edit(registry["results"] / "001_cnn.json", lambda e: e["runs"][0]["metrics"]["headline"].update(value=0.99))
    (problem,) = results.verify(registry["results"], registry["repo"])
    assert problem.startswith(f"results/001_cnn.json run 1: recorded metrics differ from metrics/eval.json at "
                              f"{registry['head'][:8]}: headline.value recorded 0.99, committed 0.61")
    edit(registry["results"] / "001_cnn.json", lambda e: e["runs"][0]["metrics"].update(extra=1))
    (problem,) = results.verify(registry["results"], registry["repo"])
    assert "and 1 more" in problem  # the hand-edited value and the key the commit lacks


def test_a_metrics_file_missing_from_the_commit_is_caught(registry):
    git(registry["repo"], "merge", "-q", "-s", "ours", "--no-edit", registry["experiment"])
    edit(registry["results"] / "001_cnn.json", lambda e: e["runs"][0].update(source="metrics/classic.json"))
    (problem,) = results.verify(registry["results"], registry["repo"])
    assert problem == f"results/001_cnn.json run 1: commit {registry['head'][:8]} has no metrics/classic.json"


def test_every_run_of_a_row_is_checked(registry):
    repo = registry["repo"]
    seed_1 = side_commit(repo, {"metrics/eval.json": metrics(0.63)}, "seed 1")
    results.record("CNN", "dvc exp run -S train.seed=1", "metrics/eval.json", registry["results"], rev=seed_1,
                   append=True)
    git(repo, "merge", "-q", "-s", "ours", "--no-edit", registry["experiment"])
    (problem,) = results.verify(registry["results"], repo)
    assert problem.startswith("results/001_cnn.json run 2:") and "not in the history" in problem
    git(repo, "merge", "-q", "-s", "ours", "--no-edit", seed_1)
    assert results.verify(registry["results"], repo) == []
    edit(registry["results"] / "001_cnn.json", lambda e: e["runs"].append(e["runs"][0]))
    assert results.verify(registry["results"], repo) == [
        "results/001_cnn.json run 3: same commit and source as run 1"]


def test_check_prints_one_line_per_problem_and_exits_1(registry, capsys):
    repo = registry["repo"]
    assert run(repo) == 0  # write the README table
    edit(registry["results"] / "001_cnn.json", lambda e: e["runs"][0]["metrics"].update(accuracy=0.7))
    assert run(repo, "--check") == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("problem: ") for line in lines)
    assert "002_cnn-speaker.json run 1" in lines[0] + lines[1] and "001_cnn.json run 1" in lines[0] + lines[1]
    edit(registry["results"] / "001_cnn.json", lambda e: e["runs"][0]["metrics"].update(accuracy=0.61))
    git(repo, "merge", "-q", "-s", "ours", "--no-edit", registry["experiment"])
    assert run(repo, "--check") == 0


def test_a_comparison_of_a_re_recorded_row_is_stale(registry):
    git(registry["repo"], "merge", "-q", "-s", "ours", "--no-edit", registry["experiment"])
    folder = registry["results"] / results.COMPARISONS
    folder.mkdir()
    stored = {"a": "CNN", "b": "CNN speaker", "metric": "accuracy", "difference": 0.1, "ci95": [0.0, 0.2],
              "excludes_zero": False, "n_clusters": 4, "clusters_by": "speaker", "runs": {"a": [1], "b": [1]},
              "all_runs": {"a": True, "b": True},
              "commits": {"a": [registry["head"]], "b": [registry["experiment"]]}}
    (folder / "cnn__vs__cnn-speaker.json").write_text(json.dumps(stored))
    assert results.verify(registry["results"], registry["repo"]) == []
    (folder / "cnn__vs__cnn-speaker.json").write_text(json.dumps({**stored, "commits": {
        "a": [registry["experiment"]], "b": [registry["experiment"]]}, "b": "gone"}))
    problems = results.verify(registry["results"], registry["repo"])
    assert len(problems) == 2
    assert "stale, row 'CNN' run 1 now cites" in problems[0] and "'gone' is not in the registry" in problems[1]
    # a comparison over all runs of a row is stale once the row gains a run (another seed)
    (folder / "cnn__vs__cnn-speaker.json").write_text(json.dumps(stored))
    seed_1 = commit_files(registry["repo"], {"metrics/eval.json": metrics(0.64)}, "seed 1")
    results.record("CNN", "dvc exp run -S train.seed=1", "metrics/eval.json", registry["results"], rev=seed_1,
                   append=True)
    (problem,) = results.verify(registry["results"], registry["repo"])
    assert "stale, row 'CNN' now has 2 runs, the comparison used 1" in problem


def test_the_real_registry_cites_commits_of_main_that_hold_its_metrics():
    """The project's own results/: every run's commit is in HEAD's history and holds its metrics."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    problems = results.verify(ROOT / "results", ROOT)
    assert problems == [], "\n".join(problems)


def test_the_real_readme_table_is_generated_from_results():
    readme = (ROOT / "README.md").read_text()
    assert results.update_readme(readme, results.table(ROOT / "results")) == readme, (
        "README results table is out of date: run singaffect results")
