"""A throw-away copy of the project for tests that drive `dvc plots` and `dvc exp` (plain helpers, no stage runs).

Used by the tests that drive real ``dvc`` commands; the corpus is synthetic and,
like scripts/get_corpus.sh does for the real one, tracked with ``dvc add``.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

import synth
from tinyrepo import env

ROOT = Path(__file__).resolve().parents[1]

# 16 kHz, 1 s clips, one augmented copy, small mels, one epoch, one worker.
TINY = {
    "data": {"sample_rate": 16000},
    "pad": {"seconds": 1.0},
    "augment": {"copies": 1},
    "mel": {"n_mels": 32, "n_fft": 512, "hop_length": 256},
    "split": {"test_speakers": [4], "val_speakers": [3]},
    "train": {"epochs": 1, "batch_size": 32},
    "compute": {"n_jobs": 1},
}


def dvc(repo: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``dvc ARGS`` in ``repo`` with this interpreter's dvc; fail loudly with its output.

    ``tinyrepo.env`` puts this interpreter's bin folder first on PATH: stage commands say
    ``python`` and the queue worker starts ``dvc``, both must be the ones the tests run with.
    """
    done = subprocess.run([sys.executable, "-m", "dvc", *args], cwd=repo, env=env(), capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"dvc {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def tiny_params(overrides: dict | None = None) -> dict:
    """The project's params.yaml with ``TINY`` (and ``overrides``) merged in."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    for changes in (TINY, overrides or {}):
        for section, values in changes.items():
            params[section].update(values)
    return params


def copy_project(repo: Path, params: dict) -> None:
    """dvc.yaml, stages/, singaffect/ and the given params into ``repo``."""
    repo.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dvc.yaml", repo / "dvc.yaml")
    for folder in ("stages", "singaffect"):
        shutil.copytree(ROOT / folder, repo / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def make_repo(repo: Path, overrides: dict | None = None) -> Path:
    """A git + DVC repo holding the project, tiny params and a ``dvc add``-ed synthetic corpus, committed."""
    copy_project(repo, tiny_params(overrides))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "tests@example.com")
    git(repo, "config", "user.name", "tests")
    (repo / ".gitignore").write_text("__pycache__/\n")
    dvc(repo, "init", "-q")
    synth.write_ravdess_corpus(repo / "data" / "corpus")
    dvc(repo, "add", "-q", "data/corpus")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tiny project")
    return repo
