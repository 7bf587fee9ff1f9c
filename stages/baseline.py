"""baseline: ridge regression of enthusiasm on the handcrafted features, on the split stage's sides -> metrics/baseline.json.

``--split DIR [DIR ...]``: as for the classic stage (one split, or every fold of cv/dvc.yaml).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from singaffect import classic, corpus, evaluation, params, split_files, stage, storage

FEATURES = Path("data/handcrafted/features.h5")
MANIFEST = Path("data/raw/manifest.csv")
SPLIT = Path("data/split")
OUT = Path("metrics")
TASK = "enthusiasm"


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, split=[SPLIT], out=OUT)
    p = params.load(sections=["baseline"])
    manifest = corpus.read_manifest(MANIFEST)
    folds = split_files.read_clip_splits(args.split, [row["clip_id"] for row in manifest])
    result, predictions = classic.evaluate_table(FEATURES, manifest, TASK, folds, "ridge", p["baseline"])
    with storage.atomic_outputs(args.out / "baseline.json", args.out / "baseline_predictions.csv") as tmp:
        tmp[0].write_text(json.dumps(result, indent=2) + "\n")
        corpus.write_manifest(tmp[1], predictions,
                              columns=("clip_id", "speaker", "group", "fold", "actual", "predicted"))
    stage.log.info("baseline: ridge on handcrafted features, %s %s = %.3f (95%% CI %s) on %d test clips, %s",
                   TASK, result["headline"]["metric"], result["headline"]["value"],
                   evaluation.ci_text(result["headline"]["ci95"]), result["n_test"], result["strategy"])


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
