"""train: Keras CNN on the ``--mel`` rows of the ``--split`` folder's train side -> ``--model-dir`` (model.keras, preprocessing.json).

Per-epoch curves go to ``--live DIR`` (DVCLive), the run's summary to ``--summary``.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import h5py
import numpy as np

from singaffect import calibration, corpus, params, preprocessing, split_files, stage, storage, training
from singaffect.corpus import EMOTIONS
from singaffect.models import build_cnn, needs_soft_labels, normaliser, save_model


def main(argv: list[str] | None = None) -> None:
    from dvclive import Live

    args = stage.arguments(__doc__, argv, mel=Path, manifest=Path, split=Path, model_dir=Path, live=Path, summary=Path)
    mel = args.mel
    p = params.load(sections=["train", "data"])
    cfg = p["train"]
    training.seed_everything(cfg["seed"])
    devices = training.distribute(cfg["distribution"], cfg["batch_size"])
    manifest = corpus.read_manifest(args.manifest)
    targets = corpus.targets_for_task(manifest, cfg["task"])
    rows = split_files.read_sides(args.split)
    with h5py.File(mel, "r") as handle:
        attrs = {key: value if isinstance(value, str) else int(value) for key, value in handle.attrs.items()}
        input_shape = (*handle["mel"].shape[1:], 1)
        mel_dtype = str(handle["mel"].dtype)
    singer = preprocessing.enrolment_record(cfg["enrolment"], cfg["enrolment_takes"], cfg["seed"])
    offsets = training.singer_offsets(mel, manifest, preprocessing.singer_enrolment(singer))

    def offsets_of(side: str) -> np.ndarray | None:  # train.enrolment: each row's singer spectrum, or none
        return None if offsets is None else offsets[rows[side]]

    stats = training.train_statistics(mel, rows["train"], offsets=offsets_of("train"))
    soft = needs_soft_labels(cfg["task"], cfg["mixup"], cfg["label_smoothing"])
    if soft:  # one-hot rows, so that mixup can blend them and the categorical loss smooth them
        targets = np.eye(len(EMOTIONS), dtype=np.float32)[targets]
    model = build_cnn(cfg["model"], input_shape, cfg["task"], len(EMOTIONS),
                      normaliser(cfg["normalization"], stats), cfg["learning_rate"],
                      label_smoothing=cfg["label_smoothing"], soft_labels=soft)
    stage.log.info("train: %s for %s, %d parameters, %d train / %d val rows", cfg["model"], cfg["task"],
                   model.count_params(), len(rows["train"]), len(rows["val"]))
    in_memory = training.fits_in_memory(mel, len(rows["train"]) + len(rows["val"]), cfg["memory_budget_gb"])
    feed = {"in_memory": True} if in_memory else {"workers": 2}  # streamed: two threads prefetch batches
    if offsets is not None:
        stage.log.info("train: singer enrolment %s: every row less its singer's mean log-mel spectrum", singer)
    stage.log.info("train: log-mel rows %s (train.memory_budget_gb %g)",
                   "held in memory" if in_memory else "streamed from HDF5", cfg["memory_budget_gb"])
    masks = training.SpecMasks.from_params(cfg["spec_augment"], cfg["seed"], stats["mean"])
    if masks is not None:
        stage.log.info("train: SpecAugment, %d frequency masks (up to %d bands) and %d time masks (up to %d frames) "
                       "a row", masks.masks, masks.max_bands, masks.masks, masks.max_frames)
    mixup = training.Mixup.from_params(cfg["mixup"], cfg["seed"])
    if mixup is not None:
        stage.log.info("train: mixup, each batch blended with itself shuffled, weight ~ Beta(%g, %g)",
                       mixup.alpha, mixup.alpha)
    train = training.MelBatches(mel, rows["train"], targets[rows["train"]], cfg["batch_size"],
                                shuffle_seed=cfg["seed"], offsets=offsets_of("train"), masks=masks, mixup=mixup,
                                **feed)
    val = training.MelBatches(mel, rows["val"], targets[rows["val"]], cfg["batch_size"], offsets=offsets_of("val"),
                              **feed)
    started = time.perf_counter()
    with Live(dir=str(args.live), dvcyaml=False, save_dvc_exp=False, report=None) as live:
        history = training.fit(model, train, val, cfg["epochs"], cfg["patience"], [training.LiveLogger(live)],
                               lr_schedule=cfg["lr_schedule"])
    seconds = time.perf_counter() - started
    val_loss = history.history["val_loss"]
    calibrated = calibration.IDENTITY
    if cfg["task"] == "enthusiasm":  # fitted on the validation side only; evaluate and predict apply it
        val_scores = training.predict(model, training.MelBatches(mel, rows["val"], None, batch_size=64,
                                                                 offsets=offsets_of("val")))
        calibrated = calibration.fit(cfg["calibration"], targets[rows["val"]], val_scores)
    fields = {**attrs, "mel_dtype": mel_dtype, "task": cfg["task"], "model": cfg["model"],
              "classes": list(EMOTIONS) if cfg["task"] == "emotion" else [],
              "pad_seconds": attrs["n_samples"] / attrs["sample_rate"],
              "silence_rms": p["data"]["silence_rms"], "calibration": calibrated,
              **({"enrolment": singer} if singer["mode"] != "none" else {})}
    with storage.atomic_outputs(args.model_dir / "model.keras", args.model_dir / preprocessing.FILE_NAME,
                                args.summary) as tmp:
        save_model(model, tmp[0])
        preprocessing.write(tmp[1], fields)
        tmp[2].write_text(json.dumps({
            "epochs_run": len(val_loss), "best_epoch": int(np.argmin(val_loss)) + 1,
            "best_val_loss": float(np.min(val_loss)), "parameters": int(model.count_params()),
            "train_rows": int(len(rows["train"])), **({"devices": devices} if devices > 1 else {})},
            indent=2) + "\n")  # no wall-clock: reruns change nothing
    stage.log.info("train: %d epochs in %.0f s, best val_loss %.4f", len(val_loss), seconds, min(val_loss))


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
