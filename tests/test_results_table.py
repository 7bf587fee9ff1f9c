"""The results registry and the README table generated from it."""
from __future__ import annotations

import importlib.util
import json

import pytest

from conftest import ROOT
from singaffect import results

README = """# singaffect

Intro.

## Results

<!-- results:start -->
_old table_
<!-- results:end -->

## After
Kept.
"""


def script():
    spec = importlib.util.spec_from_file_location("results_table", ROOT / "scripts" / "results_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def metrics(value=0.61, leaky=False, folds=False, **extra) -> dict:
    m = {"task": "emotion", "protocol": "speaker-dependent, recordings grouped", "strategy": "group",
         "leaky": leaky, "n_test": 202, "headline": {"metric": "accuracy", "value": value, "ci95": [0.55, 0.67]},
         "accuracy": value, **extra}
    if folds:
        m.update({"n_folds": 5, "fold_mean": {"accuracy": 0.6}, "fold_std": {"accuracy": 0.05}})
    return m


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "README.md").write_text(README)
    (tmp_path / "metrics").mkdir()
    return tmp_path


def run(workspace, *argv) -> int:
    return script().main([*argv, "--results", str(workspace / "results"), "--readme", str(workspace / "README.md")])


def test_add_then_render_keeps_the_rest_of_the_readme(workspace):
    (workspace / "metrics/eval.json").write_text(json.dumps(metrics()))
    (workspace / "metrics/classic.json").write_text(json.dumps(metrics(0.7, folds=True, strategy="actor_folds")))
    assert run(workspace, "--add", "CNN | group", "--command", "dvc exp run -S split.strategy=group",
               "--metrics", str(workspace / "metrics/eval.json")) == 0
    assert run(workspace, "--add", "MLP functionals", "--command", "dvc exp run -S split.strategy=actor_folds",
               "--metrics", str(workspace / "metrics/classic.json")) == 0
    text = (workspace / "README.md").read_text()
    assert text.startswith("# singaffect\n\nIntro.") and text.endswith("## After\nKept.\n")
    assert "_old table_" not in text
    table = text[text.index(results.START):text.index(results.END)]
    rows = [line for line in table.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| system | task | protocol | leaky | n_test |")
    assert "CNN \\| group" in rows[1] and "accuracy 0.610 (0.550–0.670)" in rows[1]
    assert "`dvc exp run -S split.strategy=group`" in rows[1]
    assert "folds 0.600 ± 0.050 (k=5)" in rows[2] and "`actor_folds`" in rows[2]
    assert sorted(p.name for p in (workspace / "results").iterdir()) == ["001_cnn-group.json",
                                                                          "002_mlp-functionals.json"]
    entry = json.loads((workspace / "results/001_cnn-group.json").read_text())
    assert entry["command"] == "dvc exp run -S split.strategy=group" and entry["metrics"]["n_test"] == 202
    assert run(workspace, "--check") == 0


def test_readding_a_label_replaces_its_row_in_place(workspace):
    path = workspace / "metrics/eval.json"
    for label, value in (("first", 0.5), ("second", 0.6), ("first", 0.9)):
        path.write_text(json.dumps(metrics(value)))
        assert run(workspace, "--add", label, "--command", "dvc exp run", "--metrics", str(path)) == 0
    entries = results.load(workspace / "results")
    assert [(e["label"], e["metrics"]["accuracy"]) for e in entries] == [("first", 0.9), ("second", 0.6)]


def test_leaky_rows_are_flagged(workspace):
    path = workspace / "metrics/eval.json"
    path.write_text(json.dumps(metrics(0.95, leaky=True, strategy="random")))
    run(workspace, "--add", "seed protocol", "--command", "dvc exp run -S split.strategy=random", "--metrics", str(path))
    assert "| **yes** |" in (workspace / "README.md").read_text()


def test_check_fails_when_the_table_is_stale(workspace):
    (workspace / "metrics/eval.json").write_text(json.dumps(metrics()))
    run(workspace, "--add", "x", "--command", "dvc exp run", "--metrics", str(workspace / "metrics/eval.json"))
    (workspace / "README.md").write_text(README)
    assert run(workspace, "--check") == 1
    assert run(workspace) == 0 and run(workspace, "--check") == 0


def test_bad_inputs_name_the_file(workspace, capsys):
    assert run(workspace, "--add", "x", "--command", "dvc exp run", "--metrics", str(workspace / "none.json")) == 1
    assert "none.json" in capsys.readouterr().err
    (workspace / "metrics/bad.json").write_text(json.dumps({"accuracy": 1.0}))
    assert run(workspace, "--add", "x", "--command", "dvc exp run", "--metrics",
               str(workspace / "metrics/bad.json")) == 1
    assert "bad.json" in capsys.readouterr().err
    (workspace / "metrics/eval.json").write_text(json.dumps(metrics()))
    assert run(workspace, "--add", "x", "--command", " ", "--metrics", str(workspace / "metrics/eval.json")) == 1
    assert not (workspace / "results").exists()


def test_readme_without_markers_gets_a_results_section():
    updated = results.update_readme("# Title\n", results.render([]))
    assert updated.startswith("# Title\n\n## Results\n\n<!-- results:start -->\n_No results recorded yet")
    assert updated.endswith("<!-- results:end -->\n")
    with pytest.raises(results.ResultsError, match="markers"):
        results.update_readme(f"{results.END}\n{results.START}\n", "table")


def test_rev_reads_the_metrics_of_that_commit_and_names_it(workspace, capsys):
    import subprocess

    def git(*args):
        return subprocess.run(["git", *args], cwd=workspace, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("config", "user.email", "t@example.com")
    git("config", "user.name", "t")
    (workspace / "metrics/eval.json").write_text(json.dumps(metrics(0.81, strategy="speaker")))
    git("add", "metrics/eval.json")
    git("commit", "-q", "-m", "experiment")
    experiment = git("rev-parse", "HEAD").strip()
    (workspace / "metrics/eval.json").write_text(json.dumps(metrics(0.5)))  # the workspace moved on
    assert run(workspace, "--add", "CNN speaker", "--rev", experiment[:7], "--command",
               "dvc exp run -S split.strategy=speaker", "--metrics", "metrics/eval.json") == 0
    (entry,) = results.load(workspace / "results")
    assert entry["commit"] == experiment and entry["metrics"]["accuracy"] == 0.81
    assert "0.810" in (workspace / "README.md").read_text()

    assert run(workspace, "--add", "y", "--rev", "no-such-rev", "--command", "dvc exp run") == 1
    assert "no-such-rev" in capsys.readouterr().err
    assert run(workspace, "--add", "y", "--rev", experiment, "--command", "dvc exp run",
               "--metrics", "metrics/classic.json") == 1
    assert "metrics/classic.json" in capsys.readouterr().err
