"""evaluate: score the test split -> metrics/eval.json and plot data for dvc plots."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from singaffect import corpus, metrics, params, stage, storage, training  # noqa: E402
from singaffect.models import load_model  # noqa: E402

MEL = Path("data/mel/mel.h5")
MANIFEST = Path("data/augmented/manifest.csv")
SPLIT = Path("data/split")
MODEL_DIR = Path("models")
OUT = Path("metrics")


def main() -> None:
    params.load(sections=[])  # refuse a broken params.yaml even though evaluate reads none of it
    preprocessing = json.loads((MODEL_DIR / "preprocessing.json").read_text())
    task = preprocessing["task"]
    split_info = json.loads((SPLIT / "split.json").read_text())
    manifest = corpus.read_manifest(MANIFEST)
    test = np.array([int(r["row"]) for r in corpus.read_manifest(SPLIT / "split.csv") if r["side"] == "test"])
    y_true = training.targets_for_task(manifest, task)[test]
    model = load_model(MODEL_DIR / "model.keras")
    scores = training.predict(model, training.MelBatches(MEL, test, None, batch_size=64))
    test_rows = [manifest[i] for i in test]
    if task == "emotion":
        classes = preprocessing["classes"]
        y_pred = scores.argmax(axis=1)
        values = metrics.classification_metrics(y_true, y_pred)
        actual, predicted = [classes[i] for i in y_true], [classes[i] for i in y_pred]
    else:
        y_pred = scores.reshape(-1)
        values = metrics.regression_metrics(y_true, y_pred)
        actual, predicted = [float(v) for v in y_true], [round(float(v), 5) for v in y_pred]
    headline, headline_fn = metrics.HEADLINE[task]
    low, high = metrics.bootstrap_ci(headline_fn, y_true, y_pred)
    per_speaker = {}
    for row, t, q in zip(test_rows, y_true, y_pred):
        per_speaker.setdefault(row["speaker"], []).append((t, q))
    summary = {
        "task": task, "protocol": split_info["protocol"], "strategy": split_info["strategy"],
        "leaky": split_info["leaky"], "n_test": int(len(test)),
        "headline": {"metric": headline, "value": values[headline], "ci95": [low, high]},
        **values,
    }
    with storage.atomic_outputs(OUT / "eval.json", OUT / "predictions.csv", OUT / "per_speaker.csv") as tmp:
        tmp[0].write_text(json.dumps(summary, indent=2) + "\n")
        corpus.write_manifest(tmp[1], ({"clip_id": r["clip_id"], "speaker": r["speaker"], "copy": r["copy"],
                                        "actual": a, "predicted": q}
                                       for r, a, q in zip(test_rows, actual, predicted)))
        corpus.write_manifest(tmp[2], ({"speaker": s, "n": len(pairs),
                                        "headline": round(float(headline_fn(*map(np.array, zip(*pairs)))), 4)}
                                       for s, pairs in sorted(per_speaker.items())))
    stage.log.info("evaluate: %s %s = %.3f (95%% CI %.3f-%.3f) on %d test clips%s", task, headline,
                   values[headline], low, high, len(test), " [LEAKY protocol]" if split_info["leaky"] else "")


if __name__ == "__main__":
    stage.run(main)
