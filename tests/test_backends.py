"""The models and the training loop use only Keras APIs: they train, save, load and predict under JAX too."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path

    import h5py, keras, numpy as np

    from singaffect import predict, preprocessing, training
    from singaffect.corpus import EMOTIONS
    from singaffect.models import build_cnn, normaliser

    work = Path(sys.argv[1])
    training.seed_everything(0)
    rng = np.random.default_rng(0)
    n_mels, frames, rows = 16, 32, 24
    with h5py.File(work / "mel.h5", "w") as handle:
        handle["mel"] = rng.normal(-40, 10, (rows, n_mels, frames)).astype(np.float16)
    targets = np.arange(rows, dtype=np.int32) % len(EMOTIONS)
    stats = training.train_statistics(work / "mel.h5", np.arange(rows))
    model = build_cnn("compact_cnn", (n_mels, frames, 1), "emotion", len(EMOTIONS),
                      normaliser("standard", stats), 1e-3)
    batches = training.MelBatches(work / "mel.h5", np.arange(rows), targets, batch_size=rows, shuffle_seed=0)

    class Live:  # what LiveLogger needs of dvclive.Live
        logged = {}
        def log_metric(self, name, value): self.logged[name] = value
        def next_step(self): pass

    live = Live()
    history = training.fit(model, batches, batches, epochs=1, patience=1, callbacks=[training.LiveLogger(live)])
    model.save(work / "model.keras")
    loaded = predict.load_model(work / "model.keras")
    prep = preprocessing.Preprocessing(sample_rate=8000, n_samples=8000, n_fft=256, hop_length=256, n_mels=n_mels,
                                 task="emotion", classes=EMOTIONS, mel_dtype="float16")
    take = predict.score_samples(loaded, prep, rng.normal(0, 0.1, 12000).astype(np.float32))
    print(json.dumps({"backend": keras.backend.backend(), "loss": history.history["loss"][0],
                      "logged": sorted(live.logged), "scores": take.scores.tolist()}))
""")


@pytest.mark.slow  # XLA compiles the train, validation and predict steps: ~30 s of CPU
def test_compact_cnn_trains_saves_and_predicts_under_jax(tmp_path: Path) -> None:
    pytest.importorskip("jax")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == "jax"
    assert math.isfinite(result["loss"]) and result["loss"] > 0
    assert result["logged"] == ["train/accuracy", "train/loss", "val/accuracy", "val/loss"]
    assert len(result["scores"]) == 2  # 1.5 s take, 1 s windows, hop 0.5 s
    assert all(math.isfinite(p) for window in result["scores"] for p in window)
    assert all(abs(sum(window) - 1) < 1e-4 for window in result["scores"])
