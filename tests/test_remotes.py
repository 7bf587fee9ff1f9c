"""Beyond one machine on loopback: stage outputs through a DVC remote, experiments through
``dvc exp push`` / ``dvc exp pull`` -- clone A runs, clone B gets everything without rerunning."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import tinyrepo
from tinyrepo import git_run as git, run_dvc as dvc

pytestmark = pytest.mark.slow
TARGET = "dvc.yaml"  # the default pipeline, as the README pushes and pulls it


def clone(origin: Path, dest: Path) -> Path:
    git(origin.parent, "clone", "-q", str(origin), str(dest))
    for args in (["config", "user.email", "test@example.com"], ["config", "user.name", "test"],
                 ["config", "commit.gpgsign", "false"]):
        git(dest, *args)
    return dest


@pytest.fixture(scope="module")
def machines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Clone A ran the tiny pipeline and pushed data and one experiment; B is a fresh clone."""
    root = tmp_path_factory.mktemp("remotes")
    origin, store = root / "origin.git", root / "dvc-store"
    git(root, "init", "-q", "--bare", "-b", "main", str(origin))
    a = tinyrepo.make_repo(root / "a", dvc=True, track_corpus=True,
                           params={**tinyrepo.WHOLE_PIPELINE_PARAMS, "train.epochs": 1, "functionals_model.epochs": 2})
    dvc(a, "remote", "add", "-d", "store", str(store))
    dvc(a, "repro")
    git(a, "add", "-A")
    git(a, "commit", "-q", "-m", "pipeline run")
    git(a, "remote", "add", "origin", str(origin))
    git(a, "push", "-q", "origin", "main")
    dvc(a, "push", "--with-deps", TARGET)
    dvc(a, "exp", "run", "-n", "seed1", "-S", "train.seed=1")
    dvc(a, "exp", "push", "origin", "seed1")
    return {"a": a, "b": clone(origin, root / "b"), "store": store}


def test_a_fresh_clone_pulls_every_output_and_has_nothing_to_rerun(machines: dict[str, Path]) -> None:
    b = machines["b"]
    assert not (b / "models/model.keras").exists()
    dvc(b, "pull", "--with-deps", TARGET)
    assert (b / "models/model.keras").is_file()
    status = dvc(b, "status", TARGET).stdout
    assert "Data and pipelines are up to date" in status, status
    assert (b / "metrics/eval.json").read_text() == git(machines["a"], "show", "HEAD:metrics/eval.json")


def test_an_experiment_pushed_from_a_is_shown_and_diffed_in_b(machines: dict[str, Path]) -> None:
    b = machines["b"]
    dvc(b, "exp", "pull", "origin", "seed1")  # git refs from origin, outputs from the DVC remote
    shown = json.loads(dvc(b, "exp", "show", "--json").stdout)
    experiments = {exp["name"]: exp["revs"][0] for entry in shown if entry["rev"] != "workspace"
                   for exp in entry.get("experiments") or []}
    assert "seed1" in experiments
    data = experiments["seed1"]["data"]
    assert data["params"]["params.yaml"]["data"]["train"]["seed"] == 1
    sha = experiments["seed1"]["rev"]
    diff = json.loads(dvc(b, "metrics", "diff", "HEAD", sha, "--json").stdout)
    assert "metrics/eval.json" in diff or "metrics/train.json" in diff, diff  # a new seed changes the numbers
    git(b, "checkout", "-q", sha)  # (dvc exp apply would also check out the never-run stages' outputs)
    dvc(b, "checkout", "--with-deps", TARGET)
    assert "Data and pipelines are up to date" in dvc(b, "status", TARGET).stdout  # its outputs came along
