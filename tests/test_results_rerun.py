"""Re-running one results row: the recorded command, at the right commit, in a temporary git worktree.

The end-to-end tests use a toy DVC project (one cheap stage, a real dvc.yaml, an input
tracked by DVC so that only the shared cache can provide it in the worktree).
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import tinyrepo
from singaffect import results
from test_results_table import commit_files, git, init_repo, run

SCORE = textwrap.dedent('''\
    """Toy stage: per-clip predictions whose accuracy depends on score.seed -> metrics/eval.json."""
    import csv, json, os, random
    import yaml

    p = yaml.safe_load(open("params.yaml"))["score"]
    words = open("data/input.txt").read().split()  # tracked by DVC: present only after dvc checkout
    rng = random.Random(p["seed"])
    classes = ["calm", "sad"]
    rows = []
    for i, word in enumerate(words):
        actual = classes[i % 2]
        predicted = actual if rng.random() < p["skill"] else classes[(i + 1) % 2]
        rows.append({"clip_id": word, "speaker": str(i % 4), "actual": actual, "predicted": predicted})
    accuracy = sum(r["actual"] == r["predicted"] for r in rows) / len(rows)
    json.dump({"task": "emotion", "protocol": "toy", "strategy": "speaker", "leaky": False, "n_test": len(rows),
               "headline": {"metric": "accuracy", "value": accuracy, "ci95": [accuracy / 2, (1 + accuracy) / 2]},
               "accuracy": accuracy}, open("metrics/eval.json", "w"), indent=2)
    with open("metrics/predictions.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if os.environ.get("TOY_LOG"):  # the tests count real executions (not run-cache restores)
        with open(os.environ["TOY_LOG"], "a") as log:
            log.write(f"{os.getcwd()} seed={p['seed']}\\n")
''')

DVC_YAML = textwrap.dedent("""\
    stages:
      score:
        cmd: python score.py
        deps: [score.py, data/input.txt]
        params: [score]
        metrics:
        - metrics/eval.json:
            cache: false
        plots:   # not an uncached "outs", which would keep DVC from filling its run cache
        - metrics/predictions.csv:
            cache: false
""")


def dvc(repo: Path, *args: str) -> str:
    return tinyrepo.run_dvc(repo, *args, timeout=300).stdout


def exp_run(repo: Path, *overrides: str) -> str:
    """``dvc exp run -S ...`` in the workspace; the experiment's commit. The workspace is reset after."""
    before = set(git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split())
    dvc(repo, "exp", "run", *[arg for o in overrides for arg in ("-S", o)])
    (ref,) = [r for r in set(git(repo, "for-each-ref", "--format=%(refname)", "refs/exps").split()) - before
              if not r.startswith(("refs/exps/exec/", "refs/exps/celery/")) and r != "refs/exps/stash"]
    git(repo, "reset", "-q", "--hard")
    return git(repo, "rev-parse", ref).strip()


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict:
    repo = init_repo(tmp_path_factory.mktemp("toy") / "repo")
    (repo / "README.md").write_text("# toy\n")
    (repo / "score.py").write_text(SCORE)
    (repo / "dvc.yaml").write_text(DVC_YAML)
    (repo / "params.yaml").write_text("score:\n  seed: 0\n  skill: 0.7\n")
    (repo / "data").mkdir()
    (repo / "data/input.txt").write_text(" ".join(f"clip{i:02d}" for i in range(40)) + "\n")
    (repo / "metrics").mkdir()
    dvc(repo, "init", "-q")
    dvc(repo, "config", "core.analytics", "false")
    dvc(repo, "add", "-q", "data/input.txt")
    commit_files(repo, {}, "toy pipeline")
    dvc(repo, "repro")
    repro = commit_files(repo, {}, "dvc repro")
    seeds = [exp_run(repo, f"score.seed={seed}") for seed in (1, 2)]
    results_dir = repo / "results"
    assert run(repo, "--add", "toy default", "--command", "dvc repro") == 0
    for seed, commit in zip((1, 2), seeds):
        assert run(repo, "--add", "toy seeds", "--append", "--rev", commit,
                   "--command", f"dvc exp run -S score.seed={seed}") == 0
    # recorded with a command that did not produce it
    assert run(repo, "--add", "toy wrong command", "--rev", seeds[0], "--command", "dvc exp run -S score.seed=2") == 0
    for commit in seeds:
        git(repo, "merge", "-q", "-s", "ours", "--no-edit", commit)
    assert results.verify(results_dir, repo) == []
    return {"repo": repo, "repro": repro, "seeds": seeds}


def state(repo: Path) -> tuple[str, ...]:
    return (git(repo, "worktree", "list", "--porcelain"), git(repo, "for-each-ref"),
            git(repo, "status", "--porcelain"), (repo / "params.yaml").read_text())


def executions(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


@pytest.mark.slow
def test_rerun_of_a_dvc_repro_row_runs_its_commit_again_and_matches(toy, tmp_path, monkeypatch, capsys):
    log = tmp_path / "log"
    monkeypatch.setenv("TOY_LOG", str(log))
    before = state(toy["repo"])
    assert run(toy["repo"], "--rerun", "toy default") == 0
    out = capsys.readouterr().out
    assert f"at {toy['repro'][:8]}, the commit holding its outputs, every stage forced" in out
    assert "$ dvc repro --force" in out
    assert "headline.value" in out and "REPRODUCED: all" in out
    (line,) = executions(log)  # executed once, in the worktree, not restored from any cache
    assert line.endswith("seed=0") and not line.startswith(str(toy["repo"]))
    assert state(toy["repo"]) == before  # no worktree, ref or file left behind


@pytest.mark.slow
def test_rerun_of_an_experiment_runs_its_command_on_the_parent(toy, tmp_path, monkeypatch, capsys):
    log = tmp_path / "log"
    monkeypatch.setenv("TOY_LOG", str(log))
    before = state(toy["repo"])
    assert run(toy["repo"], "--rerun", "toy seeds", "--run", "2") == 0
    assert [line.split()[-1] for line in executions(log)] == ["seed=2"]  # ran, though the run cache had it
    out = capsys.readouterr().out
    assert f"run 2/2: `dvc exp run -S score.seed=2` at {toy['repro'][:8]}, the parent of experiment commit " \
           f"{toy['seeds'][1][:8]}" in out
    assert "params: -S score.seed=2" in out and "$ dvc repro --no-run-cache" in out
    assert "REPRODUCED" in out
    assert state(toy["repo"]) == before


@pytest.mark.slow
def test_a_row_whose_command_did_not_produce_it_is_not_reproduced(toy, tmp_path, capsys):
    assert run(toy["repo"], "--rerun", "toy wrong command") == 1
    out = capsys.readouterr().out
    assert "NOT REPRODUCED" in out
    line = next(line for line in out.splitlines() if line.startswith("headline.value"))
    assert line.endswith("DIFFERS")
    # within a tolerance wider than any difference of the two seeds' values, it passes
    assert run(toy["repo"], "--rerun", "toy wrong command", "--tolerance", "1") == 0
    assert "REPRODUCED: all" in capsys.readouterr().out


@pytest.mark.slow
def test_rerun_fails_when_the_command_cannot_run(toy, tmp_path, capsys):
    repo = toy["repo"]
    entry = results.find(results.load(repo / "results"), "toy default")
    broken = tmp_path / "results"
    broken.mkdir()
    run_ = dict(entry["runs"][0], command="dvc repro no-such-stage")
    (broken / "001_broken.json").write_text(json.dumps({"label": "broken", "runs": [run_]}))
    assert results.rerun(broken, "broken", repo=repo) is False
    assert "NOT REPRODUCED: the command exited" in capsys.readouterr().out
    assert "repo" not in git(repo, "worktree", "list").split("\n", 1)[1]  # only the main worktree is left


@pytest.fixture
def history(tmp_path) -> dict:
    repo = init_repo(tmp_path)
    parent = commit_files(repo, {"params.yaml": "a: 1\n"}, "base")
    child = commit_files(repo, {"params.yaml": "a: 2\n"}, "experiment")
    return {"repo": repo, "parent": parent, "child": child}


def test_plan_of_an_experiment_runs_repro_on_the_parent_with_its_overrides(history):
    plan = results.plan_rerun("KERAS_BACKEND=jax dvc exp run --queue -n seed1 -S train.seed=1 "
                              "--set-param split.test_speakers=[21,22] -f classic baseline",
                              history["child"], history["repo"])
    assert plan.experiment and plan.base == history["parent"]
    assert plan.overrides == ["train.seed=1", "split.test_speakers=[21,22]"]
    assert plan.argv == ["repro", "--no-run-cache", "--force", "classic", "baseline"]
    assert plan.env == {"KERAS_BACKEND": "jax"}


def test_plan_of_a_repro_runs_at_the_commit_itself_with_every_stage_forced(history):
    plan = results.plan_rerun("dvc repro evaluate", history["child"], history["repo"])
    assert not plan.experiment and plan.base == history["child"]
    assert plan.argv == ["repro", "--force", "evaluate"] and plan.overrides == []
    assert results.plan_rerun("dvc repro -f", history["child"], history["repo"]).argv == ["repro", "-f"]


@pytest.mark.parametrize("command, message", [
    ("python -m stages.train", "only 'dvc repro ...' and 'dvc exp run ...'"),
    ("dvc exp run -S train.seed=0,1,2", "is a sweep"),
    ("dvc exp run --run-all", "does not produce a run"),
    ("dvc exp run --frobnicate", "unknown dvc exp run option"),
    ("dvc exp run -S", "-S without a value"),
])
def test_plan_refuses_what_cannot_be_rerun(history, command, message):
    with pytest.raises(results.ResultsError, match=message):
        results.plan_rerun(command, history["child"], history["repo"])
    with pytest.raises(results.ResultsError, match="no parent"):
        results.plan_rerun("dvc exp run", git(history["repo"], "rev-list", "--max-parents=0", "HEAD").strip(),
                           history["repo"])


def test_compare_values_reports_every_differing_leaf():
    recorded = {"headline": {"value": 0.5, "ci95": [0.4, 0.6]}, "n_test": 10, "nan": float("nan"), "gone": 1}
    produced = {"headline": {"value": 0.5000001, "ci95": [0.4, 0.6]}, "n_test": 10, "nan": float("nan"), "new": 2}
    rows = {key: equal for key, _, _, equal in results.compare_values(recorded, produced)}
    assert rows == {"headline.value": False, "headline.ci95[0]": True, "headline.ci95[1]": True, "n_test": True,
                    "nan": True, "gone": False, "new": False}
    loose = {key: equal for key, _, _, equal in results.compare_values(recorded, produced, tolerance=1e-6)}
    assert loose["headline.value"] and not loose["gone"]
