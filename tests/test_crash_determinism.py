"""Crashes, atomic outputs, determinism and DVC's run-cache, on a tiny copy of the project.

The ``slow`` tests share one git+dvc repo (``pipeline`` fixture: one uninterrupted
``dvc repro train`` with ``compute.n_jobs: 1``) and put it back the way they found it.
Processes are killed with SIGKILL (no cleanup code runs), the way an OOM kill or a
lost machine ends a stage. The killed-training test doubles as the determinism test
of training (same seed, new process: same model bytes and metrics).

Tests run as root here, and ``chmod`` does not stop root from writing, so an
unwritable output folder is simulated by a regular file where the folder should be
(``test_output_folder_blocked_by_a_file``); the ``chmod`` variant runs only for
non-root users.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable

import numpy as np
import psutil
import pytest
import yaml

import synth
import tinyrepo
from singaffect import corpus, storage

HIDDEN_TEMP = re.compile(r"\.[^/]+\.tmp-\d+(\.\w+)?")


def wait_for(condition: Callable[[], object], process: subprocess.Popen, what: str, timeout: float = 300):
    """Poll ``condition`` until it is truthy; fail if ``process`` ends first (it ran too fast to kill)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"process ended (rc {process.returncode}) before {what}:\n{output[-3000:]}")
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"timed out waiting for {what}")


def finished_looking(folder: Path) -> list[str]:
    """Files in ``folder`` a later stage could mistake for output: anything but hidden temporaries."""
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.name != ".gitignore" and not HIDDEN_TEMP.fullmatch(p.name))


def train_summary(repo: Path) -> dict:
    summary = json.loads((repo / "metrics/train.json").read_text())
    assert "train_seconds" not in summary  # wall time would make every rerun change dvc.lock
    return summary


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """A tiny git+dvc repo after one uninterrupted ``dvc repro train`` (n_jobs 1)."""
    repo = tinyrepo.make_repo(tmp_path_factory.mktemp("e2e") / "repo", dvc=True)
    tinyrepo.run_dvc(repo, "repro", "train")
    return {
        "repo": repo,
        "hashes": tinyrepo.lock_hashes(repo),
        "train_hashes": tinyrepo.lock_hashes(repo, ("train",)),
        "train": train_summary(repo),
        "live": json.loads((repo / "dvclive/train/metrics.json").read_text()),
        "params": (repo / "params.yaml").read_text(),
    }


@pytest.fixture
def repo(pipeline):
    """The shared repo; its params.yaml is restored after each test."""
    yield pipeline["repo"]
    (pipeline["repo"] / "params.yaml").write_text(pipeline["params"])


@pytest.mark.slow
def test_forced_repro_gives_identical_hashes_whatever_n_jobs(pipeline, repo):
    tinyrepo.write_params(repo, {"compute.n_jobs": 2})  # compute is not a dependency: --force reruns
    tinyrepo.run_dvc(repo, "repro", "--force", "mel", "split")
    assert tinyrepo.lock_hashes(repo) == pipeline["hashes"]


@pytest.mark.slow
def test_run_cache_restores_outputs_after_a_reverted_params_change(pipeline, repo):
    tinyrepo.write_params(repo, {"split.seed": 1})
    changed = tinyrepo.run_dvc(repo, "repro", "split")
    assert "Running stage 'split'" in changed.stdout
    assert tinyrepo.lock_hashes(repo)["data/split/split.csv"] != pipeline["hashes"]["data/split/split.csv"]
    (repo / "params.yaml").write_text(pipeline["params"])
    reverted = tinyrepo.run_dvc(repo, "repro", "split")
    assert "Stage 'split' is cached - skipping run, checking out outputs" in reverted.stdout, reverted.stdout
    assert "Running stage 'split'" not in reverted.stdout
    assert tinyrepo.lock_hashes(repo) == pipeline["hashes"]


@pytest.mark.slow
def test_killed_augment_leaves_no_output_and_repro_recovers(pipeline, repo):
    tinyrepo.write_params(repo, {"augment.copies": 20})  # ~60 MB to write: plenty of time to be killed
    dvc = tinyrepo.start_dvc(repo, "repro", "augment")
    folder = repo / "data" / "augmented"

    def half_written() -> Path | None:
        temps = [p for p in folder.glob(".audio.tmp-*.h5") if p.exists() and p.stat().st_size > 1_000_000]
        return temps[0] if temps else None

    temp = wait_for(half_written, dvc, "augment wrote its first chunks")
    os.kill(int(re.search(r"tmp-(\d+)", temp.name)[1]), signal.SIGKILL)  # the stage process itself
    output, _ = dvc.communicate(timeout=120)
    assert dvc.returncode != 0, output
    assert finished_looking(folder) == [], "a killed stage must leave nothing but hidden temporaries"
    assert tinyrepo.lock_hashes(repo) == pipeline["hashes"], "dvc.lock must not record a killed run"

    (repo / "params.yaml").write_text(pipeline["params"])
    recovered = tinyrepo.run_dvc(repo, "repro", "mel", "split")
    assert tinyrepo.lock_hashes(repo) == pipeline["hashes"]
    status = tinyrepo.run_dvc(repo, "status", "mel", "split")
    assert "up to date" in status.stdout, status.stdout  # the leftover temporary is ignored by dvc
    # augment came back identical (rerun or restored from the run-cache), so nothing downstream reran
    assert "Running stage 'pad'" not in recovered.stdout, recovered.stdout


@pytest.mark.slow
def test_killed_training_leaves_no_model_and_repro_retrains_to_the_same_result(pipeline, repo):
    """Also the training-determinism test: DVC never run-caches train (its dvclive/train output
    is uncached and not a metric), so the recovering ``dvc repro`` trains again, in a new
    process, and must land on the same model bytes and metrics as the uninterrupted run."""
    tinyrepo.write_params(repo, {"train.epochs": 50, "train.patience": 50})
    epoch_logged = repo / "dvclive/train/plots/metrics/train/loss.tsv"
    shutil.rmtree(repo / "dvclive" / "train")  # the uninterrupted run's log must not trigger the kill
    dvc = tinyrepo.start_dvc(repo, "repro", "train")
    wait_for(lambda: epoch_logged.exists() and len(epoch_logged.read_text().splitlines()) >= 2,
             dvc, "the first epoch was logged")
    running = [p for p in psutil.Process(dvc.pid).children(recursive=True)
               if any("stages.train" in part for part in p.cmdline())]
    # DVC runs the cmd through /bin/sh; dash (Debian's sh) forks python instead of exec'ing it,
    # so the shell matches too: kill the innermost one, the interpreter that trains.
    stage = [p for p in running if not any(q.ppid() == p.pid for q in running)]
    assert len(stage) == 1, running
    stage[0].send_signal(signal.SIGKILL)  # mid-training: epoch 2 of 50 or so
    output, _ = dvc.communicate(timeout=120)
    assert dvc.returncode != 0, output
    for folder in (repo / "models", repo / "metrics"):
        assert not {"model.keras", "preprocessing.json", "train.json"} & set(finished_looking(folder))

    (repo / "params.yaml").write_text(pipeline["params"])
    recovered = tinyrepo.run_dvc(repo, "repro", "train")
    assert "Running stage 'train'" in recovered.stdout, "expected a real retraining (see docstring)"
    assert tinyrepo.lock_hashes(repo) == pipeline["hashes"]
    assert tinyrepo.lock_hashes(repo, ("train",)) == pipeline["train_hashes"]  # no wall time in any output
    assert train_summary(repo) == pipeline["train"]
    assert json.loads((repo / "dvclive/train/metrics.json").read_text()) == pipeline["live"]


# --- fast: temporaries of killed runs, blocked output folders, byte-stable features ---------

def test_log_mel_of_a_row_does_not_depend_on_its_batch_or_blas_threads():
    """BLAS sums differ with thread count and matrix shape; features must not (n_jobs, chunk_size)."""
    from threadpoolctl import threadpool_limits

    from singaffect.logmel import log_mel

    rows = np.random.default_rng(0).standard_normal((7, 4000)).astype(np.float32) * 0.1
    batch = log_mel(rows, 8000, 256, 128, 16)
    with threadpool_limits(limits=2, user_api="blas"):
        alone = np.stack([log_mel(row, 8000, 256, 128, 16)[0] for row in rows])
        middle = log_mel(rows[2:5], 8000, 256, 128, 16)
    assert batch.shape == (7, 16, 1 + 4000 // 128)
    assert np.array_equal(batch, alone) and np.array_equal(batch[2:5], middle)


def test_temporaries_of_dead_processes_are_cleaned_live_ones_kept(tmp_path):
    final = tmp_path / "out" / "audio.h5"
    final.parent.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = storage._tmp_name(final, dead.pid)
    alive = storage._tmp_name(final, os.getppid())  # a running process (pytest's parent)
    other = final.with_name(".other.tmp-1.h5")
    for path in (stale, alive, other):
        path.write_bytes(b"partial")
    with storage.atomic_outputs(final) as (temp,):
        temp.write_bytes(b"done")
    assert final.read_bytes() == b"done"
    assert not stale.exists() and alive.exists() and other.exists()


def test_saved_models_carry_no_timestamps(tmp_path):
    """Keras stamps save times and memory addresses (shared_object_id) into the .keras zip;
    save_model pins them, so the same weights give the same bytes in any process."""
    import zipfile

    from singaffect.models import build_cnn, load_model, normaliser, save_model

    model = build_cnn("compact_cnn", (16, 63, 1), "emotion", 6, normaliser("minmax", {"min": 0, "max": 1}), 1e-3)
    save_model(model, tmp_path / "model.keras")
    with zipfile.ZipFile(tmp_path / "model.keras") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert json.loads(archive.read("metadata.json"))["date_saved"] == "1980-01-01@00:00:00"
        shared = [int(v) for v in re.findall(r'"shared_object_id": (\d+)', archive.read("config.json").decode())]
    assert shared and max(shared) <= len(set(shared)), "shared objects numbered 1, 2, ..., not by id()"
    x = np.random.default_rng(0).standard_normal((2, 16, 63, 1)).astype(np.float32)
    assert np.array_equal(load_model(tmp_path / "model.keras").predict(x, verbose=0), model.predict(x, verbose=0))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def split_inputs(repo: Path) -> Path:
    """params.yaml and an augmented manifest: all the split stage reads."""
    root = repo / "data" / "corpus"
    synth.write_ravdess_corpus(root, seconds=0.05, sample_rate=8000)
    rows = [{**corpus.clip_row(c), "copy": 0} for c in corpus.list_clips("ravdess", root)]
    (repo / "data" / "augmented").mkdir(parents=True)
    corpus.write_manifest(repo / "data" / "augmented" / "manifest.csv", rows)
    params = tinyrepo.set_keys(yaml.safe_load((tinyrepo.PROJECT / "params.yaml").read_text()), tinyrepo.TINY_PARAMS)
    (repo / "params.yaml").write_text(yaml.safe_dump(params))
    return repo


def test_output_folder_blocked_by_a_file(tmp_path, capsys):
    repo = split_inputs(tmp_path)
    (repo / "data" / "split").write_text("not a folder")
    assert tinyrepo.run_stage(repo, "split") == 1
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert "cannot create output folder 'data/split'" in errors[0] and "in the way" in errors[0]
    assert (repo / "data" / "split").read_text() == "not a folder"


def test_a_refused_write_names_the_output_not_the_temporary(tmp_path, capsys, monkeypatch):
    """What a read-only folder or full disk does, simulated so it also runs as root."""
    repo = split_inputs(tmp_path)

    def refuse(path, rows, columns=None):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(corpus, "write_manifest", refuse)
    assert tinyrepo.run_stage(repo, "split") == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert errors == ["error: cannot write data/split/split.csv: Permission denied"]
    assert not (repo / "data" / "split").exists() or list((repo / "data" / "split").iterdir()) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; see the file-in-the-way test")
def test_read_only_output_folder(tmp_path, capsys):
    repo = split_inputs(tmp_path)
    (repo / "data" / "split").mkdir()
    (repo / "data" / "split").chmod(0o555)
    try:
        assert tinyrepo.run_stage(repo, "split") == 1
    finally:
        (repo / "data" / "split").chmod(0o755)
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "cannot write data/split/split" in errors[0], errors
    assert list((repo / "data" / "split").iterdir()) == []
