"""The results registry and the README table generated from it.

The helpers here (a scratch git workspace, committing metrics files, running the script)
are shared by the other tests/test_results_*.py files.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from singaffect import cli, results

README = """# singaffect

Intro.

## Results

<!-- results:start -->
_old table_
<!-- results:end -->

## After
Kept.
"""




def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, env=results._clean_env())
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for args in (["init", "-q", "-b", "main"], ["config", "user.email", "t@example.com"], ["config", "user.name", "t"],
                 ["config", "commit.gpgsign", "false"]):
        git(path, *args)
    return path


def commit_files(repo: Path, files: dict[str, object], message: str = "run") -> str:
    """Write ``files`` (dicts as JSON, str as text), commit them, return the commit's sha."""
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2) + "\n")
    git(repo, "add", "-A", *files)
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def side_commit(repo: Path, files: dict[str, object], message: str = "experiment") -> str:
    """A commit on top of HEAD that HEAD does not contain (like a DVC experiment's); HEAD stays put."""
    head = git(repo, "rev-parse", "HEAD").strip()
    sha = commit_files(repo, files, message)
    git(repo, "reset", "-q", "--hard", head)
    return sha


def metrics(value=0.61, leaky=False, folds=False, **extra) -> dict:
    m = {"task": "emotion", "protocol": "speaker-dependent, recordings grouped", "strategy": "group",
         "leaky": leaky, "n_test": 202, "headline": {"metric": "accuracy", "value": value, "ci95": [0.55, 0.67]},
         "accuracy": value, **extra}
    if folds:
        m.update({"n_folds": 5, "fold_mean": {"accuracy": 0.6}, "fold_std": {"accuracy": 0.05}})
    return m


@pytest.fixture
def workspace(tmp_path):
    init_repo(tmp_path)
    commit_files(tmp_path, {"README.md": README}, "readme")
    return tmp_path


def run(workspace, *argv) -> int:
    return cli.main(["results", *argv, "--results", str(workspace / "results"), "--readme", str(workspace / "README.md")])


def table_rows(workspace) -> list[str]:
    text = (workspace / "README.md").read_text()
    block = text[text.index(results.START):text.index(results.END)]
    return [line for line in block.splitlines() if line.startswith("| ")]


def test_add_then_render_keeps_the_rest_of_the_readme(workspace):
    commit = commit_files(workspace, {"metrics/eval.json": metrics(),
                                      "metrics/classic.json": metrics(0.7, folds=True, strategy="actor_folds")})
    assert run(workspace, "--add", "CNN | group", "--command", "dvc exp run -S split.strategy=group",
               "--metrics", str(workspace / "metrics/eval.json")) == 0  # an absolute path is made relative
    assert run(workspace, "--add", "MLP functionals", "--command", "dvc exp run -S split.strategy=actor_folds",
               "--metrics", "metrics/classic.json") == 0
    text = (workspace / "README.md").read_text()
    assert text.startswith("# singaffect\n\nIntro.") and text.endswith("## After\nKept.\n")
    assert "_old table_" not in text
    rows = table_rows(workspace)
    assert rows[0] == ("| system | task | protocol (strategy) | leaky | n_test | headline (95 % CI) | "
                       "over seeds: mean ± sd | floor | command | commit |")
    assert "CNN \\| group" in rows[1] and "accuracy 0.610 (0.550–0.670)" in rows[1]
    assert "`dvc exp run -S split.strategy=group`" in rows[1] and f"| {commit[:8]} |" in rows[1]
    assert "| 1 run |" in rows[1] and "| — |" in rows[1]
    assert "folds 0.600 ± 0.050 (k=5)" in rows[2] and "`actor_folds`" in rows[2]
    assert sorted(p.name for p in (workspace / "results").iterdir()) == ["001_cnn-group.json",
                                                                          "002_mlp-functionals.json"]
    entry = json.loads((workspace / "results/001_cnn-group.json").read_text())
    assert entry == {"label": "CNN | group", "runs": [{
        "commit": commit, "command": "dvc exp run -S split.strategy=group", "source": "metrics/eval.json",
        "metrics": metrics()}]}
    assert run(workspace, "--check") == 0


def test_readding_a_label_replaces_its_row_in_place(workspace):
    for label, value in (("first", 0.5), ("second", 0.6), ("first", 0.9)):
        commit_files(workspace, {"metrics/eval.json": metrics(value)})
        assert run(workspace, "--add", label, "--command", "dvc repro") == 0
    entries = results.load(workspace / "results")
    assert [(e["label"], [r["metrics"]["accuracy"] for r in e["runs"]]) for e in entries] == [
        ("first", [0.9]), ("second", [0.6])]


def test_append_adds_runs_and_the_table_shows_their_mean_and_sd(workspace, capsys):
    commits = []
    for seed, value in enumerate((0.5, 0.6, 0.7)):
        commits.append(commit_files(workspace, {"metrics/eval.json": metrics(value)}))
        assert run(workspace, "--add", "CNN", "--append", "--command", f"dvc exp run -S train.seed={seed}") == 0
    (entry,) = results.load(workspace / "results")
    assert [r["commit"] for r in entry["runs"]] == commits
    assert [r["command"] for r in entry["runs"]] == [f"dvc exp run -S train.seed={s}" for s in range(3)]
    row = table_rows(workspace)[1]
    assert "accuracy 0.500" in row  # the first run's headline
    assert "| 0.600 ± 0.100 (3 runs) |" in row
    assert "`dvc exp run -S train.seed=0`<br>`dvc exp run -S train.seed=1`<br>`dvc exp run -S train.seed=2`" in row
    assert ", ".join(c[:8] for c in commits) in row
    # the same commit twice, or a run of another task or split, is not another seed
    assert run(workspace, "--add", "CNN", "--append", "--command", "dvc exp run -S train.seed=2") == 1
    assert "already records" in capsys.readouterr().err
    commit_files(workspace, {"metrics/eval.json": metrics(0.7, strategy="speaker")})
    assert run(workspace, "--add", "CNN", "--append", "--command", "dvc exp run -S split.strategy=speaker") == 1
    assert "strategy 'group' vs 'speaker'" in capsys.readouterr().err
    assert len(results.load(workspace / "results")[0]["runs"]) == 3


def test_leaky_rows_are_flagged(workspace):
    commit_files(workspace, {"metrics/eval.json": metrics(0.95, leaky=True, strategy="random")})
    assert run(workspace, "--add", "seed protocol", "--command", "dvc exp run -S split.strategy=random") == 0
    assert "| **yes** |" in (workspace / "README.md").read_text()


def test_check_fails_when_the_table_is_stale(workspace, capsys):
    commit_files(workspace, {"metrics/eval.json": metrics()})
    assert run(workspace, "--add", "x", "--command", "dvc repro") == 0
    assert run(workspace, "--check") == 0
    (workspace / "README.md").write_text(README)
    assert run(workspace, "--check") == 1
    assert "out of date" in capsys.readouterr().err
    assert run(workspace) == 0 and run(workspace, "--check") == 0


def test_bad_inputs_name_the_file(workspace, capsys):
    commit_files(workspace, {"metrics/eval.json": metrics(), "metrics/bad.json": {"accuracy": 1.0}})
    assert run(workspace, "--add", "x", "--command", "dvc repro", "--metrics", "metrics/none.json") == 1
    assert "metrics/none.json" in capsys.readouterr().err
    assert run(workspace, "--add", "x", "--command", "dvc repro", "--metrics", "metrics/bad.json") == 1
    assert "bad.json" in capsys.readouterr().err
    assert run(workspace, "--add", "x", "--command", " ") == 1
    assert "--command" in capsys.readouterr().err
    assert not (workspace / "results").exists()


def test_uncommitted_metrics_are_not_recorded_as_head(workspace, capsys):
    commit_files(workspace, {"metrics/eval.json": metrics(0.5)})
    (workspace / "metrics/eval.json").write_text(json.dumps(metrics(0.9)))  # a run nobody committed
    assert run(workspace, "--add", "x", "--command", "dvc repro") == 1
    assert "differs from the copy committed in HEAD" in capsys.readouterr().err
    assert not (workspace / "results").exists()


def test_readme_without_markers_gets_a_results_section():
    updated = results.update_readme("# Title\n", results.render([]))
    assert updated.startswith("# Title\n\n## Results\n\n<!-- results:start -->\n_No results recorded yet")
    assert updated.endswith("<!-- results:end -->\n")
    with pytest.raises(results.ResultsError, match="markers"):
        results.update_readme(f"{results.END}\n{results.START}\n", "table")


def test_rev_reads_the_metrics_of_that_commit_and_names_it(workspace, capsys):
    commit_files(workspace, {"metrics/eval.json": metrics(0.5)})
    experiment = side_commit(workspace, {"metrics/eval.json": metrics(0.81, strategy="speaker")})
    assert run(workspace, "--add", "CNN speaker", "--rev", experiment[:7], "--command",
               "dvc exp run -S split.strategy=speaker", "--metrics", "metrics/eval.json") == 0
    (entry,) = results.load(workspace / "results")
    assert entry["runs"][0]["commit"] == experiment and entry["runs"][0]["metrics"]["accuracy"] == 0.81
    assert "0.810" in (workspace / "README.md").read_text()

    git(workspace, "update-ref", "refs/exps/ab/cdef0123/brisk-lark", experiment)  # as dvc exp run names one
    assert run(workspace, "--add", "CNN speaker", "--rev", "brisk-lark", "--command",
               "dvc exp run -S split.strategy=speaker") == 0
    assert results.load(workspace / "results")[0]["runs"][0]["commit"] == experiment

    assert run(workspace, "--add", "y", "--rev", "no-such-rev", "--command", "dvc exp run") == 1
    assert "no-such-rev" in capsys.readouterr().err
    assert run(workspace, "--add", "y", "--rev", experiment, "--command", "dvc exp run",
               "--metrics", "metrics/classic.json") == 1
    assert "metrics/classic.json" in capsys.readouterr().err


def test_single_run_files_of_the_old_layout_are_read_as_one_run_rows(tmp_path):
    (tmp_path / "001_old.json").write_text(json.dumps({
        "label": "old", "command": "dvc repro", "source": "metrics/classic.json", "commit": "abc",
        "metrics": metrics(0.7)}))
    (entry,) = results.load(tmp_path)
    assert entry["label"] == "old" and entry["runs"] == [
        {"commit": "abc", "command": "dvc repro", "source": "metrics/classic.json", "metrics": metrics(0.7)}]
    (tmp_path / "002_broken.json").write_text(json.dumps({"label": "b", "runs": []}))
    with pytest.raises(results.ResultsError, match="002_broken.json"):
        results.load(tmp_path)


def enthusiasm_metrics(value=0.74, floor=0.64, low=0.05, high=0.15, excludes=True) -> dict:
    return {"task": "enthusiasm", "protocol": "speaker-independent, held-out actors", "strategy": "speaker",
            "leaky": False, "n_test": 176,
            "headline": {"metric": "roc_auc", "value": value, "ci95": [0.68, 0.8],
                         "ci_method": "cluster bootstrap over speaker", "n_clusters": 4},
            "roc_auc": value, "pearson_r": 0.4,
            "floor": {"name": "emotion label only", "metric": "roc_auc", "value": floor, "ci95": [0.58, 0.7],
                      "difference": {"difference": value - floor, "ci95": [low, high], "excludes_zero": excludes,
                                     "n_clusters": 4}}}


def test_new_metric_keys_render_ci_method_clusters_and_floor():
    row = {"label": "CNN", "runs": [{"commit": "a" * 40, "command": "dvc exp run", "source": "metrics/eval.json",
                                     "metrics": enthusiasm_metrics()}]}
    text = results.render([row])
    line = [line for line in text.splitlines() if line.startswith("| CNN")][0]
    assert "roc_auc 0.740 (0.680–0.800, cluster bootstrap over speaker, 4 clusters)" in line
    assert "roc_auc 0.640 (0.580–0.700); Δ +0.100 (0.050–0.150, excludes 0)" in line
    row["runs"][0]["metrics"] = enthusiasm_metrics(0.66, low=-0.04, high=0.08, excludes=False)
    assert "Δ +0.020 (-0.040 to 0.080, includes 0)" in results.render([row])
    del row["runs"][0]["metrics"]["floor"], row["runs"][0]["metrics"]["headline"]["ci_method"]
    line = [line for line in results.render([row]).splitlines() if line.startswith("| CNN")][0]
    assert "roc_auc 0.660 (0.680–0.800, 4 clusters)" in line and "| — |" in line


def comparison(difference=0.031, low=0.010, high=0.052, excludes=True, runs_a=3, runs_b=3) -> dict:
    return {"a": "CNN", "b": "MLP", "metric": "accuracy", "difference": difference, "ci95": [low, high],
            "excludes_zero": excludes, "n_clusters": 23, "clusters_by": "speaker",
            "runs": {"a": list(range(1, runs_a + 1)), "b": list(range(1, runs_b + 1))},
            "commits": {"a": ["1" * 40] * runs_a, "b": ["2" * 40] * runs_b}}


def test_comparison_sentences_claim_only_what_the_interval_and_seeds_allow():
    assert results.comparison_sentence(comparison()) == (
        "**CNN** beats **MLP**: +0.031 accuracy (95 % CI 0.010–0.052, paired, clustered by speaker, 23 clusters, "
        "mean of 3 runs each).")
    assert results.comparison_sentence(comparison(-0.031, -0.052, -0.010, runs_b=4)).startswith(
        "**MLP** beats **CNN**: +0.031 accuracy (95 % CI 0.010–0.052, paired, clustered by speaker, 23 clusters, "
        "4 vs 3 runs)")
    assert results.comparison_sentence(comparison(0.012, -0.010, 0.034, False, 1, 1)) == (
        "**CNN** and **MLP** are not distinguishable: +0.012 accuracy (95 % CI -0.010 to 0.034, paired, "
        "clustered by speaker, 23 clusters, 1 run each).")
    few_seeds = results.comparison_sentence(comparison(runs_b=1))
    assert "beats" not in few_seeds and few_seeds.startswith("**CNN** ahead of **MLP**: +0.031")
    assert "3 vs 1 runs" in few_seeds and "no claim until each side averages 3 seeds" in few_seeds
    undefined = results.comparison_sentence(comparison(0.0, None, None, False))
    assert "not distinguishable" in undefined and "CI undefined" in undefined


def test_render_adds_one_sentence_per_comparison():
    rows = [{"label": label, "runs": [{"commit": "a" * 40, "command": "dvc repro", "source": "metrics/eval.json",
                                       "metrics": metrics()}]} for label in ("CNN", "MLP")]
    text = results.render(rows, [comparison(0.012, -0.01, 0.034, False, 1, 1)])
    assert text.splitlines()[-1] == ("- **CNN** and **MLP** are not distinguishable: +0.012 accuracy (95 % CI "
                                     "-0.010 to 0.034, paired, clustered by speaker, 23 clusters, 1 run each).")
    assert "Paired comparisons" in text
