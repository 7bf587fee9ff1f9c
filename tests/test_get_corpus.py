"""scripts/get_corpus.sh: the tracked corpus equals its source, also when switching corpora."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT

SCRIPT = ROOT / "scripts" / "get_corpus.sh"


def run(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=300)


def corpus(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def listing(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_switching_corpora_replaces_the_tracked_corpus(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    for command in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"]):
        subprocess.run(command, cwd=repo, check=True, capture_output=True)
    ravdess = corpus(tmp_path / "ravdess", {"Actor_01/a.wav": "a", "Actor_01/b.wav": "b", "extra.txt": "x"})
    lab = corpus(tmp_path / "lab", {"l_f01_elly_h1_e1_nm30.wav": "l", "Evaluation.txt": "l_f01 1.5\n"})

    first = run(repo, str(ravdess))
    assert first.returncode == 0, first.stderr
    assert listing(repo / "data/corpus") == listing(ravdess) and "replacing" not in first.stdout
    second = run(repo, str(lab))
    assert second.returncode == 0, second.stderr
    assert "corpus: replacing the 3 files in data/corpus with" in second.stdout
    assert listing(repo / "data/corpus") == listing(lab)  # nothing of the old corpus is left
    assert "2 files tracked as data/corpus.dvc" in second.stdout
    status = subprocess.run([sys.executable, "-m", "dvc", "status", "data/corpus.dvc"], cwd=repo,
                            capture_output=True, text=True)
    assert "up to date" in status.stdout, status.stdout + status.stderr
    assert not list((repo / "data").glob(".corpus.tmp-*"))


def test_a_missing_corpus_and_a_source_inside_the_target_fail_in_one_line(tmp_path: Path) -> None:
    missing = run(tmp_path, str(tmp_path / "nope"))
    assert missing.returncode == 1 and missing.stderr.strip() == f"error: corpus folder '{tmp_path / 'nope'}' does not exist"
    corpus(tmp_path / "data/corpus/sub", {"x.wav": "x"})
    inside = run(tmp_path, "data/corpus/sub")
    assert inside.returncode == 1 and "is inside data/corpus" in inside.stderr
    assert listing(tmp_path / "data/corpus") == {"sub/x.wav": "x"}  # untouched
