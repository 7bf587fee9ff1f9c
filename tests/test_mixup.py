"""mixup and label smoothing of the CNN's train rows (``train.mixup``, ``train.label_smoothing``)."""
from __future__ import annotations

import keras
import numpy as np
import pytest

import tinyrepo
from singaffect import storage, training
from singaffect.corpus import EMOTIONS
from singaffect.models import build_cnn, needs_soft_labels, normaliser

N_ROWS, N_MELS, FRAMES = 12, 16, 32


@pytest.fixture(scope="module")
def mel_path(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("mel") / "mel.h5"
    values = (np.random.default_rng(0).standard_normal((N_ROWS, N_MELS, FRAMES)) * 10 - 40).astype(np.float16)
    with storage.create_h5(path) as handle:
        storage.create_rows(handle, "mel", N_ROWS, (N_MELS, FRAMES), "float16")[:] = values
    return path


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(len(EMOTIONS), dtype=np.float32)[labels]


def test_mixup_blends_inputs_and_targets_with_one_weight_and_one_partner_per_row() -> None:
    n = len(EMOTIONS)  # row k has class k, so a mixed target row says how its input was blended
    x = np.random.default_rng(1).standard_normal((n, N_MELS, FRAMES)).astype(np.float32)
    mixed_x, mixed_y = training.Mixup(alpha=0.4, seed=3).apply(x, one_hot(np.arange(n)), epoch=0, index=0)
    np.testing.assert_allclose(mixed_y.sum(axis=1), 1.0, rtol=1e-6)  # still a distribution over emotions
    np.testing.assert_allclose(mixed_x, np.einsum("ik,kmf->imf", mixed_y, x), atol=1e-5)  # inputs as targets
    assert ((mixed_y > 0).sum(axis=1) <= 2).all()  # each row and at most one partner
    weights = {round(float(w), 6) for w in mixed_y[np.arange(n), np.arange(n)]} - {1.0}
    assert len(weights) == 1 and 0 < weights.pop() < 1  # one weight for the whole batch


def test_mixup_draws_depend_on_seed_epoch_and_batch_only() -> None:
    x = np.random.default_rng(2).standard_normal((6, 4, 5)).astype(np.float32)
    y = np.linspace(0, 1, 6).astype(np.float32)  # enthusiasm scores mix too
    mix = training.Mixup(alpha=1.0, seed=0)
    first = mix.apply(x, y, 1, 2)
    np.testing.assert_array_equal(first[0], mix.apply(x, y, 1, 2)[0])
    for other in (mix.apply(x, y, 2, 2), mix.apply(x, y, 1, 3), training.Mixup(1.0, 1).apply(x, y, 1, 2)):
        assert not np.array_equal(first[0], other[0])
    assert first[1].min() >= 0 and first[1].max() <= 1
    assert training.Mixup.from_params(0.0, 0) is None and training.Mixup.from_params(0.2, 5) == training.Mixup(0.2, 5)


def test_mixed_batches_are_alike_streamed_or_held_and_val_batches_stay_unmixed(mel_path) -> None:
    rows = np.arange(N_ROWS)
    targets = one_hot(rows % len(EMOTIONS))
    mix = training.Mixup(alpha=0.4, seed=0)
    streamed = training.MelBatches(mel_path, rows, targets, 4, shuffle_seed=0, mixup=mix)
    held = training.MelBatches(mel_path, rows, targets, 4, shuffle_seed=0, mixup=mix, in_memory=True)
    plain = training.MelBatches(mel_path, rows, targets, 4, shuffle_seed=0)
    for epoch in range(2):
        for i in range(len(streamed)):
            a, b, c = streamed[i], held[i], plain[i]
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
            assert a[0].shape == c[0].shape and not np.array_equal(a[0], c[0])
            assert set(np.unique(c[1])) <= {0.0, 1.0}  # without mixup the targets stay one-hot
        for batches in (streamed, held, plain):
            batches.on_epoch_end()
    with pytest.raises(ValueError, match="targets"):
        training.MelBatches(mel_path, rows, None, 4, mixup=mix)


def test_soft_labels_only_for_emotion_with_mixup_or_smoothing() -> None:
    assert needs_soft_labels("emotion", 0.2, 0.0) and needs_soft_labels("emotion", 0.0, 0.1)
    assert not needs_soft_labels("emotion", 0.0, 0.0) and not needs_soft_labels("enthusiasm", 0.2, 0.0)


def test_label_smoothing_raises_the_loss_of_a_confident_right_answer_and_is_refused_for_enthusiasm() -> None:
    stats = {"mean": np.zeros(N_MELS, np.float32), "variance": np.ones(N_MELS, np.float32)}
    x = np.random.default_rng(0).standard_normal((6, N_MELS, FRAMES, 1)).astype(np.float32)
    losses = {}
    for smoothing in (0.0, 0.2):
        keras.utils.set_random_seed(0)
        model = build_cnn("compact_cnn", (N_MELS, FRAMES, 1), "emotion", len(EMOTIONS), normaliser("standard", stats),
                          1e-3, label_smoothing=smoothing, soft_labels=True)
        labels = np.argmax(model.predict(x, verbose=0), axis=1)  # the model's own answers: smoothing costs there
        losses[smoothing] = float(model.evaluate(x, one_hot(labels), verbose=0)[0])
    assert losses[0.2] > losses[0.0]
    with pytest.raises(ValueError, match="train.label_smoothing"):
        build_cnn("compact_cnn", (N_MELS, FRAMES, 1), "enthusiasm", len(EMOTIONS), normaliser("standard", stats),
                  1e-3, label_smoothing=0.1)
    with pytest.raises(ValueError, match="soft_labels"):  # smoothing on class indices would mismatch loss and targets
        build_cnn("compact_cnn", (N_MELS, FRAMES, 1), "emotion", len(EMOTIONS), normaliser("standard", stats),
                  1e-3, label_smoothing=0.1, soft_labels=False)


@pytest.mark.slow
def test_train_stage_mixes_alike_streamed_or_held_and_refuses_smoothing_a_score(tmp_path, capsys) -> None:
    from singaffect.models import load_model

    repo = tinyrepo.repo_ready_to_train(tmp_path / "repo")
    weights = {}
    for setting, budgets in (((0.0, 0.0), (0.0,)), ((0.4, 0.0), (0.0, 4.0)), ((0.0, 0.1), (0.0,)), ((0.4, 0.1), (0.0,))):
        for budget in budgets:  # 0: streamed from HDF5; 4 GiB: held in memory
            tinyrepo.write_params(repo, {"train.memory_budget_gb": budget, "train.mixup": setting[0],
                                         "train.label_smoothing": setting[1]})
            assert tinyrepo.run_stage(repo, "train") == 0
            weights[setting, budget] = [w.tobytes() for w in load_model(repo / "models/model.keras").get_weights()]
    assert weights[(0.4, 0.0), 0.0] == weights[(0.4, 0.0), 4.0]  # mixed alike either way, bit for bit
    assert len({tuple(w) for w in weights.values()}) == 4  # mixup and smoothing each change the weights
    assert tinyrepo.run_stage(repo, "evaluate") == 0  # a model trained on soft labels evaluates as any other

    before = (repo / "models/model.keras").read_bytes()
    tinyrepo.write_params(repo, {"train.task": "enthusiasm", "train.mixup": 0.4, "train.label_smoothing": 0.1})
    capsys.readouterr()
    assert tinyrepo.run_stage(repo, "train") == 1
    assert "error: params key train.label_smoothing" in capsys.readouterr().err
    assert (repo / "models/model.keras").read_bytes() == before  # nothing half-written
    tinyrepo.write_params(repo, {"train.task": "enthusiasm", "train.mixup": 0.4, "train.label_smoothing": 0.0})
    assert tinyrepo.run_stage(repo, "train") == 0  # mixup blends scores too
