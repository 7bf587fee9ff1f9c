#!/usr/bin/env python3
"""Training throughput (clips/s): the train stage's input paths beside a bare ``model.fit`` on arrays.

For one model, batch size and set of rows, measured side by side in one run:
  streamed   training.MelBatches reading mel.h5 batch by batch (2 prefetch threads), as the
             train stage does when the rows exceed train.memory_budget_gb;
  in_memory  training.MelBatches holding the rows (the stage's default when they fit);
  bare_fit   model.fit on float32 numpy arrays already in memory (the ceiling).
Each path trains ``--epochs`` epochs after one warm-up epoch (compilation) and reports the
mean clips/s of the timed epochs. Rows come from ``--mel`` (e.g. data/mel/mel.h5) or are
synthetic (``--rows``, 128 x 216 like the default pipeline). Prints a Markdown table and
says which device ran it; on a machine without a GPU the figures are CPU figures.

  python benchmarks/bench_training.py --model compact_cnn --rows 2048 --epochs 2
  KERAS_BACKEND=jax python benchmarks/bench_training.py --model seed_cnn --mel data/mel/mel.h5
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # before TensorFlow loads (singaffect sets it too)

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

from singaffect import compute, training  # noqa: E402
from singaffect.corpus import EMOTIONS  # noqa: E402
from singaffect.models import build_cnn, normaliser  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []


def synthetic_mel(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    with h5py.File(path, "w") as handle:
        data = handle.create_dataset("mel", shape=(rows, 128, 216), dtype="float16", chunks=(1, 128, 216))
        for start in range(0, rows, 256):
            stop = min(rows, start + 256)
            data[start:stop] = rng.normal(-40, 15, (stop - start, 128, 216)).astype("float16")


def device() -> str:
    if keras.backend.backend() == "jax":
        import jax

        return ", ".join(sorted({d.device_kind for d in jax.devices()}))
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"{len(gpus)} GPU" if gpus else "CPU only (no GPU measured)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="compact_cnn", choices=("compact_cnn", "seed_cnn"))
    parser.add_argument("--mel", type=Path, help="an existing mel.h5 (default: synthetic rows)")
    parser.add_argument("--rows", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs after one warm-up epoch")
    parser.add_argument("--malloc-default", action="store_true",
                        help="leave glibc's malloc as it is (stage processes call compute.keep_freed_memory)")
    args = parser.parse_args()
    kept = False if args.malloc_default else compute.keep_freed_memory()  # as stage.run does
    with tempfile.TemporaryDirectory() as work:
        mel = args.mel or Path(work) / "mel.h5"
        if args.mel is None:
            synthetic_mel(mel, args.rows)
        with h5py.File(mel, "r") as handle:
            n = min(args.rows, handle["mel"].shape[0])
            shape = handle["mel"].shape[1:]
        rows = np.arange(n)
        targets = np.random.default_rng(1).integers(0, len(EMOTIONS), n).astype("int32")
        stats = training.train_statistics(mel, rows)
        results = {}
        for path in ("streamed", "in_memory", "bare_fit"):
            keras.utils.set_random_seed(0)
            model = build_cnn(args.model, (*shape, 1), "emotion", len(EMOTIONS), normaliser("standard", stats), 1e-3)
            timer = EpochTimer()
            if path == "bare_fit":
                x = training.MelBatches(mel, rows, None, n, in_memory=True)[0][0]
                model.fit(x, targets, batch_size=args.batch_size, epochs=1 + args.epochs, verbose=0, callbacks=[timer])
            else:
                feed = {"in_memory": True} if path == "in_memory" else {"workers": 2}
                batches = training.MelBatches(mel, rows, targets, args.batch_size, shuffle_seed=0, **feed)
                model.fit(batches, epochs=1 + args.epochs, verbose=0, callbacks=[timer])
            results[path] = n / float(np.mean(timer.seconds[1:]))
    print(f"Training throughput, {args.model}, {n} rows of {shape[0]} x {shape[1]}, batch {args.batch_size}, "
          f"backend {keras.backend.backend()}, device: {device()}, freed heap memory kept: {kept}\n")
    print("| input path | clips/s | vs bare fit |\n| --- | --- | --- |")
    for path, rate in results.items():
        print(f"| {path} | {rate:,.0f} | {rate / results['bare_fit']:.2f}x |")


if __name__ == "__main__":
    main()
