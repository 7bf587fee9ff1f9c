"""The learning-rate schedule of the CNN (``train.lr_schedule``): constant, or cosine-annealed per epoch."""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

import tinyrepo
from singaffect import storage, training
from singaffect.corpus import EMOTIONS
from singaffect.models import build_cnn, normaliser

N_ROWS, N_MELS, FRAMES = 12, 16, 32


def test_cosine_falls_from_the_base_rate_to_near_zero_and_constant_stays() -> None:
    rates = [training.learning_rate_at("cosine", 1e-3, epoch, 15) for epoch in range(15)]
    assert rates[0] == pytest.approx(1e-3)
    assert all(later < earlier for earlier, later in zip(rates, rates[1:]))
    assert 0 < rates[-1] < 0.02 * 1e-3  # the last epoch still learns, barely
    assert training.learning_rate_at("cosine", 1e-3, 5, 10) == pytest.approx(0.5e-3)
    assert {training.learning_rate_at("constant", 1e-3, epoch, 15) for epoch in range(15)} == {1e-3}
    with pytest.raises(ValueError, match="train.lr_schedule: unknown schedule 'step'"):
        training.learning_rate_at("step", 1e-3, 0, 15)


class RateRecorder(keras.callbacks.Callback):
    """The optimizer's learning rate as each epoch trains."""

    def __init__(self) -> None:
        super().__init__()
        self.rates: list[float] = []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_fit_trains_each_epoch_at_the_scheduled_rate(tmp_path: Path, schedule: str) -> None:
    path = tmp_path / "mel.h5"
    values = np.random.default_rng(0).standard_normal((N_ROWS, N_MELS, FRAMES)).astype(np.float16)
    with storage.create_h5(path) as handle:
        storage.create_rows(handle, "mel", N_ROWS, (N_MELS, FRAMES), "float16")[:] = values
    training.seed_everything(0)
    rows, targets = np.arange(N_ROWS), np.arange(N_ROWS, dtype=np.int32) % len(EMOTIONS)
    model = build_cnn("compact_cnn", (N_MELS, FRAMES, 1), "emotion", len(EMOTIONS),
                      normaliser("standard", training.train_statistics(path, rows)), 1e-3)
    recorder = RateRecorder()
    epochs = 3
    training.fit(model, training.MelBatches(path, rows, targets, 4, shuffle_seed=0),
                 training.MelBatches(path, rows, targets, 4), epochs=epochs, patience=epochs,
                 callbacks=[recorder], lr_schedule=schedule)
    expected = [training.learning_rate_at(schedule, 1e-3, epoch, epochs) for epoch in range(epochs)]
    np.testing.assert_allclose(recorder.rates, expected, rtol=1e-6)
    assert (len(set(recorder.rates)) == 1) == (schedule == "constant")


@pytest.mark.slow
def test_train_stage_anneals_deterministically_and_refuses_an_unknown_schedule(tmp_path, capsys) -> None:
    from singaffect.models import load_model

    repo = tinyrepo.repo_ready_to_train(tmp_path / "repo")
    weights = {}
    for run, schedule in enumerate(("constant", "cosine", "cosine")):
        tinyrepo.write_params(repo, {"train.lr_schedule": schedule, "train.epochs": 3, "train.patience": 3})
        assert tinyrepo.run_stage(repo, "train") == 0
        weights[run] = [w.tobytes() for w in load_model(repo / "models/model.keras").get_weights()]
    assert weights[1] == weights[2]  # same params, same bytes
    assert weights[0] != weights[1]  # the schedule changes what is learnt

    before = (repo / "models/model.keras").read_bytes()
    tinyrepo.write_params(repo, {"train.lr_schedule": "step"})
    capsys.readouterr()
    assert tinyrepo.run_stage(repo, "train") == 1
    assert "train.lr_schedule" in capsys.readouterr().err
    assert (repo / "models/model.keras").read_bytes() == before  # nothing half-written
