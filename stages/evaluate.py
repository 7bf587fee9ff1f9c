"""evaluate: score the ``--model-dir`` model on the ``--split`` folder's test side -> ``--metrics`` JSON,
plus plot data for dvc plots: ``--predictions`` (one row per test clip) and ``--per-speaker`` CSV.

``--scores`` (optional; cv/dvc.yaml) also writes the model's class probabilities or scores of
the val and test originals, in ``fusion``'s scores CSV, for the fusion stage.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from singaffect import (calibration, corpus, evaluation, fusion, metrics, params, preprocessing, split_files,
                        stage, storage, training)
from singaffect.models import load_model


def per_speaker_value(headline_fn, pairs: list[tuple]) -> float | str:
    """One speaker's headline, rounded; empty where undefined (ROC AUC of a speaker with one intensity)."""
    value = float(headline_fn(*map(np.array, zip(*pairs))))
    return round(value, 4) if np.isfinite(value) else ""


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, mel=Path, manifest=Path, split=Path, model_dir=Path, metrics=Path,
                           predictions=Path, per_speaker=Path, scores=None)
    params.load(sections=[])  # refuse a broken params.yaml even though evaluate reads none of it
    prep = preprocessing.read(args.model_dir / "model.keras")
    task = prep.task
    split_info = split_files.read_summary(args.split)
    manifest = corpus.read_manifest(args.manifest)
    side = split_files.read_sides(args.split)
    test = side["test"]
    targets = corpus.targets_for_task(manifest, task)
    y_true = targets[test]
    model = load_model(args.model_dir / "model.keras")
    singer = preprocessing.singer_enrolment(prep.enrolment)  # as the model was trained
    offsets = training.singer_offsets(args.mel, manifest, singer)

    def model_scores(rows: np.ndarray) -> np.ndarray:
        return training.predict(model, training.MelBatches(args.mel, rows, None, batch_size=64,
                                                           offsets=None if offsets is None else offsets[rows]))

    scores = model_scores(test)
    test_rows = [manifest[i] for i in test]
    clusters = evaluation.cluster_labels(test_rows, split_info["cluster_unit"])
    binary_decisions, threshold, floor, calibration_report = None, None, None, {}
    if task == "emotion":
        classes = prep.classes
        y_pred = scores.argmax(axis=1)
        actual, predicted = [classes[i] for i in y_true], [classes[i] for i in y_pred]
    else:
        mapping = prep.calibration  # fitted on val by the train stage
        raw = scores.reshape(-1)
        y_pred = calibration.apply(mapping, raw)
        actual, predicted = [float(v) for v in y_true], [round(float(v), 5) for v in y_pred]
        calibration_report = {"calibration": calibration.describe(mapping),
                              "uncalibrated": evaluation.task_metrics(task, y_true, raw)}
        if metrics.is_binary(y_true):
            val = side["val"]
            val_raw = model_scores(val).reshape(-1)
            threshold = evaluation.val_threshold(targets[val], calibration.apply(mapping, val_raw))
            binary_decisions = evaluation.decisions(y_pred, threshold)
        originals = np.array([i for i in side["train"] if manifest[i]["copy"] in ("", "0")], dtype=np.int64)
        floor = evaluation.emotion_floor([r["emotion"] for r in manifest], targets, originals, test)
    scored = evaluation.summarise(task, y_true, y_pred, clusters, split_info["cluster_unit"], binary_decisions, floor)
    summary = {
        "task": task, "model": prep.model, "protocol": split_info["protocol"],
        "strategy": split_info["strategy"], "fold": split_info["fold"], "n_folds": split_info["n_folds"],
        "leaky": split_info["leaky"], "n_test": int(len(test)),
        **({"threshold": threshold} if threshold is not None else {}), **scored, **calibration_report,
    }
    copies = np.array([r["copy"] not in ("", "0") for r in test_rows])
    if copies.any():  # the seed's leaky protocol tests on augmented copies too: score its originals apart
        keep = ~copies
        summary["test_originals"] = {"n_test": int(keep.sum()), **evaluation.summarise(
            task, y_true[keep], y_pred[keep], np.asarray(clusters)[keep], split_info["cluster_unit"],
            None if binary_decisions is None else binary_decisions[keep])}
    per_speaker: dict[str, list[tuple]] = {}
    for row, t, q in zip(test_rows, y_true, y_pred):
        per_speaker.setdefault(row["speaker"], []).append((t, q))
    headline_fn = metrics.headline_for(task, y_true)[1]
    scores_out = [] if args.scores is None else [Path(args.scores)]
    if scores_out:  # the val originals' scores too, as the model gives them (calibrated for enthusiasm)
        val_originals = np.array([i for i in side["val"] if manifest[i]["copy"] in ("", "0")], dtype=np.int64)
        val_scores = model_scores(val_originals)
        if task != "emotion":
            val_scores = calibration.apply(prep.calibration, val_scores.reshape(-1))
    with storage.atomic_outputs(args.metrics, args.predictions, args.per_speaker, *scores_out) as tmp:
        tmp[0].write_text(json.dumps(summary, indent=2) + "\n")
        extra = {"decision": binary_decisions, "floor": floor}  # per-clip inputs of the pooled CV metrics
        extra = {name: values for name, values in extra.items() if values is not None}
        corpus.write_manifest(tmp[1], ({"clip_id": r["clip_id"], "speaker": r["speaker"], "group": r["group"],
                                        "copy": r["copy"], "actual": a, "predicted": q,
                                        **{name: round(float(values[i]), 5) for name, values in extra.items()}}
                                       for i, (r, a, q) in enumerate(zip(test_rows, actual, predicted))))
        corpus.write_manifest(tmp[2], ({"speaker": s, "n": len(pairs), "headline": per_speaker_value(headline_fn, pairs)}
                                       for s, pairs in sorted(per_speaker.items())))
        if scores_out:
            shown = (lambda k: classes[k]) if task == "emotion" else float
            val_rows = [manifest[i] for i in val_originals]
            keep = np.array([r["copy"] in ("", "0") for r in test_rows], dtype=bool)
            fusion.write_scores(tmp[3], task, [
                *fusion.score_rows(task, split_info["fold"], "val", val_rows, [shown(t) for t in targets[val_originals]],
                                   val_scores),
                *fusion.score_rows(task, split_info["fold"], "test", [r for r, k in zip(test_rows, keep) if k],
                                   [a for a, k in zip(actual, keep) if k],
                                   scores[keep] if task == "emotion" else y_pred[keep],
                                   None if floor is None else floor[keep])])
    head = summary["headline"]
    stage.log.info("evaluate: %s %s = %.3f (95%% CI %s, %s) on %d test clips%s", task, head["metric"],
                   head["value"], evaluation.ci_text(head["ci95"]), head["ci_method"], len(test),
                   " [LEAKY protocol]" if split_info["leaky"] else "")


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
