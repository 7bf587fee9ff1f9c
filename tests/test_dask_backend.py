"""Per-clip stages on a Dask cluster (``compute.backend: dask``): a LocalCluster of 2 worker
processes on loopback gives byte-identical outputs; a dying worker is retried, and one that
keeps dying fails the stage in one line without leaving output behind."""
from __future__ import annotations

import functools
import hashlib
import os
import signal
from pathlib import Path

import numpy as np
import pytest

import synth
import tinyrepo
from singaffect import compute, feature_table, storage

pytest.importorskip("distributed")

DASK = {"compute.backend": "dask", "compute.n_jobs": 2, "compute.scheduler": ""}
OUTPUTS = ("data/raw/audio.h5", "data/raw/manifest.csv", "data/augmented/audio.h5", "data/augmented/manifest.csv",
           "data/padded/audio.h5", "data/mel/mel.h5")


def digests(repo: Path) -> dict[str, str]:
    return {name: hashlib.sha256((repo / name).read_bytes()).hexdigest() for name in OUTPUTS}


def square(x: int) -> int:
    return x * x


@pytest.mark.slow
def test_ordered_map_on_dask_keeps_the_input_order() -> None:
    workers = compute.Workers(2, "dask")
    assert list(compute.ordered_map(square, [(i,) for i in range(25)], workers)) == [i * i for i in range(25)]


@pytest.mark.slow
def test_the_data_stages_on_a_local_dask_cluster_write_the_same_bytes(tmp_path: Path) -> None:
    local = tinyrepo.make_repo(tmp_path / "local", params={"compute.n_jobs": 2})
    dask = tinyrepo.make_repo(tmp_path / "dask", params=DASK)
    for repo in (local, dask):
        for stage in ("raw", "augment", "pad", "mel"):
            assert tinyrepo.run_stage(repo, stage) == 0, (repo, stage)
    assert digests(dask) == digests(local)


def kill_worker_once(samples: np.ndarray, sample_rate: int, marker: str) -> np.ndarray:
    """Kills its worker process the first time it meets the marker clip, then behaves."""
    marker = Path(marker)
    if abs(float(samples[0])) > 0.5 and not marker.exists():
        marker.write_text("killed once")
        os.kill(os.getpid(), signal.SIGKILL)
    return np.array([float(np.mean(samples)), float(np.std(samples))])


def kill_worker_always(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    if abs(float(samples[0])) > 0.5:
        os.kill(os.getpid(), signal.SIGKILL)
    return np.array([float(np.mean(samples)), float(np.std(samples))])


@pytest.fixture
def audio(tmp_path: Path) -> Path:
    path = tmp_path / "audio.h5"
    clips = [synth.sung_tone(0.2, 8000, seed=i) for i in range(6)]
    clips[3] = np.full(1600, 0.9, np.float32)  # the clip the extractors above react to
    with storage.create_h5(path) as handle:
        writer = storage.ClipAudioWriter(handle, 8000)
        writer.append(clips)
        writer.close()
    return path


@pytest.mark.slow
def test_a_worker_killed_mid_stage_is_retried_and_the_table_is_unchanged(audio: Path, tmp_path: Path) -> None:
    ids = [f"c{i}" for i in range(6)]
    names = ["mean", "sd"]
    local = tmp_path / "local.h5"
    feature_table.write_table_file(local, same_without_killing, names, audio, ids, 1, 2, "local")
    on_dask = tmp_path / "dask.h5"
    feature_table.write_table_file(on_dask, functools.partial(kill_worker_once, marker=str(tmp_path / "m")), names,
                                   audio, ids, compute.Workers(2, "dask"), 2, "dask")
    assert (tmp_path / "m").exists()  # a worker really died
    assert on_dask.read_bytes() == local.read_bytes()


def same_without_killing(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    return np.array([float(np.mean(samples)), float(np.std(samples))])


@pytest.mark.slow
def test_a_task_that_keeps_killing_workers_fails_in_one_line_and_leaves_no_output(audio: Path, tmp_path: Path) -> None:
    import dask

    out = tmp_path / "out" / "table.h5"
    out.parent.mkdir()
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            pytest.raises(compute.WorkerDiedError, match="a Dask worker was killed on every try") as info:
        feature_table.write_table_file(out, kill_worker_always, ["mean", "sd"], audio, [f"c{i}" for i in range(6)],
                                       compute.Workers(2, "dask"), 2, "dask")
    assert "\n" not in str(info.value)
    assert list(out.parent.iterdir()) == []  # no table, no temporary
