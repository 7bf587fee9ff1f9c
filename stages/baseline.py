"""baseline: ridge regression of enthusiasm on the handcrafted features under split.* -> metrics/baseline.json."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from singaffect import classic, corpus, evaluation, params, stage, storage

FEATURES = Path("data/handcrafted/features.h5")
MANIFEST = Path("data/raw/manifest.csv")
OUT = Path("metrics")
TASK = "enthusiasm"


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, out=OUT, strategy="")
    p = params.load(sections=["baseline", "split"])
    split_params = {**p["split"], **({"strategy": args.strategy} if args.strategy else {})}
    result, predictions = classic.evaluate_table(FEATURES, corpus.read_manifest(MANIFEST), TASK, split_params,
                                                 "ridge", p["baseline"])
    with storage.atomic_outputs(args.out / "baseline.json", args.out / "baseline_predictions.csv") as tmp:
        tmp[0].write_text(json.dumps(result, indent=2) + "\n")
        corpus.write_manifest(tmp[1], predictions,
                              columns=("clip_id", "speaker", "group", "fold", "actual", "predicted"))
    stage.log.info("baseline: ridge on handcrafted features, %s %s = %.3f (95%% CI %s) on %d test clips, %s",
                   TASK, result["headline"]["metric"], result["headline"]["value"],
                   evaluation.ci_text(result["headline"]["ci95"]), result["n_test"], result["strategy"])


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
