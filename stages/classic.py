"""classic: seed 2's models on the functionals, on the split stage's sides -> metrics/classic.json (+ predictions).

``--split DIR [DIR ...]`` names the split stage's output folder(s): one split (default
``data/split``, the CNN's), or every fold of the cross-validation (cv/dvc.yaml), pooled.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from singaffect import classic, corpus, enrolment, evaluation, params, split_files, stage, storage

FEATURES = Path("data/functionals/features.h5")
MANIFEST = Path("data/raw/manifest.csv")
SPLIT = Path("data/split")
OUT = Path("metrics")


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, split=[SPLIT], out=OUT)
    p = params.load(sections=["classic", "train"])
    cfg, task = p["classic"], p["train"]["task"]
    manifest = corpus.read_manifest(MANIFEST)
    folds = split_files.read_clip_splits(args.split, [row["clip_id"] for row in manifest])
    singer = enrolment.Enrolment(cfg["enrolment"], cfg["enrolment_takes"], cfg["seed"],
                                 tuple(cfg["enrolment_emotions"]))
    result, predictions = classic.evaluate_table(FEATURES, manifest, task, folds, cfg["model"], cfg, singer)
    with storage.atomic_outputs(args.out / "classic.json", args.out / "classic_predictions.csv") as tmp:
        tmp[0].write_text(json.dumps(result, indent=2) + "\n")
        corpus.write_manifest(tmp[1], predictions,
                              columns=("clip_id", "speaker", "group", "fold", "actual", "predicted"))
    stage.log.info("classic: %s on functionals%s, %s %s = %.3f (95%% CI %s) on %d test clips, %s%s",
                   cfg["model"], "" if singer.mode == "none" else f" (enrolment: {singer.mode})", task, result["headline"]["metric"], result["headline"]["value"],
                   evaluation.ci_text(result["headline"]["ci95"]), result["n_test"], result["strategy"],
                   " [LEAKY protocol]" if result["leaky"] else "")


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
