"""Training on several devices: ``train.distribution: data_parallel`` (Keras' distribution API on
JAX) on two virtual CPU devices learns what one device learns."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinyrepo

pytest.importorskip("jax")


def train(repo: Path, name: str, distribution: str) -> subprocess.CompletedProcess:
    tinyrepo.write_params(repo, {"train.distribution": distribution})
    env = {**os.environ, "KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    return subprocess.run([sys.executable, "-m", "stages.train", "--mel", "data/mel/mel.h5",
                           "--manifest", "data/augmented/manifest.csv", "--split", "data/split",
                           "--model-dir", f"models/{name}", "--live", f"dvclive/{name}",
                           "--summary", f"metrics/{name}.json"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tinyrepo.repo_ready_to_train(tmp_path_factory.mktemp("distribution") / "repo",
                                        params={"train.batch_size": 16})
    return repo


@pytest.mark.slow
def test_data_parallel_on_two_devices_matches_one_device(repo: Path) -> None:
    one = train(repo, "one", "none")
    assert one.returncode == 0, one.stderr[-3000:]
    two = train(repo, "two", "data_parallel")
    assert two.returncode == 0, two.stderr[-3000:]
    single = json.loads((repo / "metrics/one.json").read_text())
    parallel = json.loads((repo / "metrics/two.json").read_text())
    assert "devices" not in single and parallel["devices"] == 2
    assert parallel["epochs_run"] == single["epochs_run"] and parallel["train_rows"] == single["train_rows"]
    # the same batches and seed: sums split over devices differ only in float rounding
    assert parallel["best_val_loss"] == pytest.approx(single["best_val_loss"], rel=1e-3)


@pytest.mark.slow
def test_data_parallel_refuses_a_batch_the_devices_do_not_divide(repo: Path) -> None:
    tinyrepo.write_params(repo, {"train.batch_size": 15})
    try:
        done = train(repo, "odd", "data_parallel")
    finally:
        tinyrepo.write_params(repo, {"train.batch_size": 16})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == ("error: params key train.batch_size: 15 is not divisible by the "
                                                    "2 devices of train.distribution=data_parallel")
    assert not (repo / "models/odd").exists()


def test_data_parallel_on_tensorflow_is_one_error_line(repo: Path, capsys: pytest.CaptureFixture) -> None:
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("checks the refusal on the TensorFlow backend")
    tinyrepo.write_params(repo, {"train.distribution": "data_parallel"})
    try:
        assert tinyrepo.run_stage(repo, "train") == 1
    finally:
        tinyrepo.write_params(repo, {"train.distribution": "none"})
    assert "params key train.distribution: data_parallel needs KERAS_BACKEND=jax" in capsys.readouterr().err
