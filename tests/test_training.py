"""Batches from mel.h5, streamed train statistics, and one tiny epoch of training."""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

import tinyrepo
from singaffect import corpus, storage, training
from singaffect.corpus import EMOTIONS
from singaffect.models import build_cnn, normaliser

N_ROWS, N_MELS, FRAMES = 13, 16, 32


@pytest.fixture(scope="module")
def mel_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A float16 mel.h5 like the mel stage writes, and its values."""
    path = tmp_path_factory.mktemp("mel") / "mel.h5"
    rng = np.random.default_rng(0)
    values = (rng.standard_normal((N_ROWS, N_MELS, FRAMES)) * 10 - 40).astype(np.float16)
    values[:, :4] += 30  # bands differ, so per-band statistics differ
    with storage.create_h5(path) as handle:
        storage.create_rows(handle, "mel", N_ROWS, (N_MELS, FRAMES), "float16")[:] = values
    return path, values


def test_read_rows_in_any_order(mel_file: tuple[Path, np.ndarray]) -> None:
    path, values = mel_file
    with h5py.File(path, "r") as handle:
        for rows in ([7, 2, 5], [12, 0], [3], list(range(N_ROWS))[::-1], [4, 9, 4, 0, 9]):
            np.testing.assert_array_equal(training.read_rows(handle["mel"], np.array(rows)), values[rows])
            for max_gap, max_span in ((0, 1), (1, 2), (2, 3), (100, 4)):  # every way of cutting the slices
                got = training.read_rows(handle["mel"], np.array(rows), max_gap=max_gap, max_span=max_span)
                np.testing.assert_array_equal(got, values[rows])
        assert training.read_rows(handle["mel"], np.array([], dtype=int)).shape == (0, *values.shape[1:])


def test_mel_batches_shapes_and_targets(mel_file: tuple[Path, np.ndarray]) -> None:
    path, values = mel_file
    rows = np.array([11, 3, 8, 0, 5, 9, 1])
    targets = np.arange(N_ROWS, dtype=np.int32)[rows] * 10
    batches = training.MelBatches(path, rows, targets, batch_size=3)
    assert len(batches) == 3
    seen_x, seen_y = [], []
    for i in range(len(batches)):
        x, y = batches[i]
        assert x.dtype == np.float32 and x.shape == (3 if i < 2 else 1, N_MELS, FRAMES, 1)
        seen_x.append(x)
        seen_y.append(y)
    x, y = np.concatenate(seen_x), np.concatenate(seen_y)
    np.testing.assert_array_equal(x[..., 0], values[rows].astype(np.float32))  # no shuffle: row order kept
    np.testing.assert_array_equal(y, rows * 10)


def test_mel_batches_without_targets(mel_file: tuple[Path, np.ndarray]) -> None:
    path, values = mel_file
    (x,) = training.MelBatches(path, np.array([4, 2]), None, batch_size=8)[0]
    np.testing.assert_array_equal(x[..., 0], values[[4, 2]].astype(np.float32))


def test_mel_batches_shuffle_is_seeded_per_epoch_and_keeps_pairs(mel_file: tuple[Path, np.ndarray]) -> None:
    path, values = mel_file
    rows = np.arange(N_ROWS)
    targets = rows.astype(np.float32) / 100

    def epoch(batches: training.MelBatches) -> tuple[np.ndarray, np.ndarray]:
        parts = [batches[i] for i in range(len(batches))]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    a = training.MelBatches(path, rows, targets, batch_size=4, shuffle_seed=5)
    b = training.MelBatches(path, rows, targets, batch_size=4, shuffle_seed=5)
    x1, y1 = epoch(a)
    np.testing.assert_array_equal(y1, epoch(b)[1])
    assert sorted(y1) == sorted(targets) and not np.array_equal(y1, targets)
    for xi, yi in zip(x1, y1):  # every mel row travels with its own target
        np.testing.assert_array_equal(xi[..., 0], values[int(round(yi * 100))].astype(np.float32))
    a.on_epoch_end()
    assert not np.array_equal(epoch(a)[1], y1)


def test_train_statistics_match_numpy(mel_file: tuple[Path, np.ndarray]) -> None:
    path, values = mel_file
    rows = np.array([9, 0, 4, 12, 7])
    stats = training.train_statistics(path, rows, chunk=2)
    chosen = values[np.sort(rows)].astype(np.float64)
    np.testing.assert_allclose(stats["mean"], chosen.mean(axis=(0, 2)), rtol=1e-5)
    np.testing.assert_allclose(stats["variance"], chosen.var(axis=(0, 2)), rtol=1e-4)
    assert stats["min"] == np.float32(chosen.min()) and stats["max"] == np.float32(chosen.max())
    assert stats["mean"].shape == stats["variance"].shape == (N_MELS,)
    whole = training.train_statistics(path, rows, chunk=256)
    np.testing.assert_allclose(whole["mean"], stats["mean"], rtol=1e-6)


def test_offsets_are_subtracted_from_every_frame_streamed_or_held(mel_file: tuple[Path, np.ndarray]) -> None:
    path, values = mel_file
    rows = np.array([9, 0, 4, 12, 7, 3])
    offsets = np.random.default_rng(1).normal(size=(len(rows), N_MELS)).astype(np.float32) * 5
    for held in (False, True):
        batches = training.MelBatches(path, rows, None, batch_size=4, in_memory=held, offsets=offsets)
        x = np.concatenate([batches[i][0] for i in range(len(batches))])[..., 0]
        np.testing.assert_array_equal(x, values[rows].astype(np.float32) - offsets[:, :, None])
    with pytest.raises(ValueError, match="5 offsets for 6 rows"):
        training.MelBatches(path, rows, None, batch_size=4, offsets=offsets[:5])


def test_spec_masks_are_per_row_and_epoch_alike_streamed_or_held_and_fill_whole_bands_and_frames(
        mel_file: tuple[Path, np.ndarray]) -> None:
    path, values = mel_file
    rows = np.array([9, 0, 4, 12, 7, 3, 5])
    fill = np.arange(N_MELS, dtype=np.float32) * 1000.0  # far from every stored value, so masked cells show
    masks = training.SpecMasks(masks=2, max_bands=5, max_frames=7, seed=3, fill=fill)

    def epoch_rows(held: bool, shuffle: int | None, epochs: int) -> list[np.ndarray]:
        batches = training.MelBatches(path, rows, None, batch_size=3, in_memory=held, shuffle_seed=shuffle, masks=masks)
        out = []
        for _ in range(epochs):
            x = np.concatenate([batches[i][0] for i in range(len(batches))])[..., 0]
            out.append(x[np.argsort(batches.order)])  # back in the order of ``rows``
            batches.on_epoch_end()
        return out

    held, streamed = epoch_rows(True, 5, 2), epoch_rows(False, 5, 2)
    unshuffled = epoch_rows(False, None, 1)
    for epoch in range(2):
        np.testing.assert_array_equal(held[epoch], streamed[epoch])
    np.testing.assert_array_equal(held[0], unshuffled[0])  # a row's masks do not depend on its batch
    assert not np.array_equal(held[0], held[1])  # drawn afresh every epoch
    original = values[rows].astype(np.float32)
    masked = held[0] != original
    assert masked.any() and not masked.all()
    np.testing.assert_array_equal(held[0][masked], np.broadcast_to(fill[None, :, None], original.shape)[masked])
    for row in range(len(rows)):  # each masked cell lies in a masked band or frame; at most 2 x 5 bands, 2 x 7 frames
        bands, frames = masked[row].all(axis=1), masked[row].all(axis=0)
        assert np.array_equal(masked[row], bands[:, None] | frames[None, :])
        assert bands.sum() <= 10 and frames.sum() <= 14
    val = training.MelBatches(path, rows, None, batch_size=3)
    np.testing.assert_array_equal(np.concatenate([val[i][0] for i in range(len(val))])[..., 0], original)
    assert training.SpecMasks.from_params({"masks": 0, "max_bands": 5, "max_frames": 7}, 0, fill) is None


def test_train_statistics_describe_the_rows_less_their_offsets(mel_file: tuple[Path, np.ndarray]) -> None:
    path, values = mel_file
    rows = np.array([9, 0, 4, 12, 7])
    offsets = np.arange(len(rows) * N_MELS, dtype=np.float32).reshape(len(rows), N_MELS)
    stats = training.train_statistics(path, rows, chunk=2, offsets=offsets)
    fed = values[rows].astype(np.float32) - offsets[:, :, None]  # what MelBatches feeds, in the rows' order
    np.testing.assert_allclose(stats["mean"], fed.astype(np.float64).mean(axis=(0, 2)), rtol=1e-5)
    np.testing.assert_allclose(stats["variance"], fed.astype(np.float64).var(axis=(0, 2)), rtol=1e-4)
    assert stats["min"] == np.float32(fed.min()) and stats["max"] == np.float32(fed.max())


def test_singer_offsets_come_from_the_original_rows_of_other_lines(mel_file: tuple[Path, np.ndarray]) -> None:
    """Rows 0..12 of the mel file: one singer's three lines, each an original and its copies."""
    from singaffect.enrolment import Enrolment

    path, values = mel_file
    manifest = [{"clip_id": f"c{i // 3}", "speaker": "01", "statement": "01", "group": f"g{i // 6}",
                 "copy": str(i % 3)} for i in range(N_ROWS)]
    assert training.singer_offsets(path, manifest, Enrolment()) is None
    offsets = training.singer_offsets(path, manifest, Enrolment("other_takes"))
    band = values.astype(np.float64).mean(axis=2)  # each row's spectrum; originals are rows 0, 3, 6, 9, 12
    expected_g0 = band[[6, 9, 12]].mean(axis=0)  # clips c0, c1 (group g0) enrol c2, c3 (g1) and c4 (g2)
    np.testing.assert_allclose(offsets[0], expected_g0, rtol=1e-6)
    np.testing.assert_array_equal(offsets[:6], np.repeat(offsets[:1], 6, axis=0))  # every copy of g0 alike
    np.testing.assert_allclose(offsets[12], band[[0, 3, 6, 9]].mean(axis=0), rtol=1e-6)
    assert offsets.dtype == np.float32 and offsets.shape == (N_ROWS, N_MELS)


def test_targets_for_task() -> None:
    rows = [{"emotion": "sad", "enthusiasm": "1.0"}, {"emotion": "neutral", "enthusiasm": "0.25"}]
    np.testing.assert_array_equal(corpus.targets_for_task(rows, "emotion"), [EMOTIONS.index("sad"), 0])
    enthusiasm = corpus.targets_for_task(rows, "enthusiasm")
    assert enthusiasm.dtype == np.float32
    np.testing.assert_array_equal(enthusiasm, [1.0, 0.25])
    with pytest.raises(corpus.TargetError, match=r"train.task=emotion: clips have emotion labels \[''\]"):
        corpus.targets_for_task([{"emotion": "", "enthusiasm": "0.5"}], "emotion")
    with pytest.raises(corpus.TargetError, match="train.task: unknown task 'valence'"):
        corpus.targets_for_task(rows, "valence")


def test_tiny_model_trains_one_epoch(mel_file: tuple[Path, np.ndarray]) -> None:
    path, _ = mel_file
    training.seed_everything(0)
    train_rows, val_rows = np.arange(10), np.arange(10, N_ROWS)
    targets = np.arange(N_ROWS, dtype=np.int32) % len(EMOTIONS)
    stats = training.train_statistics(path, train_rows)
    model = build_cnn("compact_cnn", (N_MELS, FRAMES, 1), "emotion", len(EMOTIONS),
                      normaliser("standard", stats), 1e-3)
    history = training.fit(model,
                           training.MelBatches(path, train_rows, targets[train_rows], 4, shuffle_seed=0),
                           training.MelBatches(path, val_rows, targets[val_rows], 4), epochs=1, patience=1)
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["val_loss"][0])
    scores = training.predict(model, training.MelBatches(path, val_rows, None, batch_size=2))
    assert scores.shape == (len(val_rows), len(EMOTIONS))
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, rtol=1e-5)


class FakeLive:
    def __init__(self) -> None:
        self.logged: list[tuple[str, float]] = []
        self.steps = 0

    def log_metric(self, name: str, value: float) -> None:
        self.logged.append((name, value))

    def next_step(self) -> None:
        self.steps += 1


def test_live_logger_splits_train_and_val() -> None:
    live = FakeLive()
    logger = training.LiveLogger(live)
    logger.on_epoch_end(0, {"loss": 1.5, "val_loss": 2.0, "accuracy": 0.5, "learning_rate": 1e-3})
    assert live.logged == [("train/accuracy", 0.5), ("train/loss", 1.5), ("val/loss", 2.0)]
    assert live.steps == 1


@pytest.mark.slow
def test_rows_held_in_memory_and_streamed_train_byte_identical_weights(tmp_path) -> None:
    from singaffect.models import load_model

    repo = tinyrepo.repo_ready_to_train(tmp_path / "repo")
    weights = {}
    for masks in (0, 2):  # SpecAugment off and on
        for budget in (0.0, 4.0):  # 0: streamed from HDF5 with prefetching threads; 4 GiB: held in memory
            tinyrepo.write_params(repo, {"train.memory_budget_gb": budget, "train.spec_augment.masks": masks})
            assert tinyrepo.run_stage(repo, "train") == 0
            weights[masks, budget] = [w.tobytes() for w in load_model(repo / "models/model.keras").get_weights()]
    assert len(weights[0, 0.0]) > 4 and weights[0, 0.0] == weights[0, 4.0]  # every weight, bit for bit
    assert weights[2, 0.0] == weights[2, 4.0] and weights[2, 0.0] != weights[0, 0.0]


def test_fits_in_memory_counts_rows_in_their_stored_dtype(tmp_path) -> None:
    path = tmp_path / "mel.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("mel", shape=(10, 4, 8), dtype="float16")  # 64 bytes a row
    assert training.fits_in_memory(path, 10, 640 / 2 ** 30)
    assert not training.fits_in_memory(path, 11, 640 / 2 ** 30)
