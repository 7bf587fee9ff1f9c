"""classic: seed 2's models on the functionals under split.* -> metrics/classic.json (+ per-clip predictions)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from singaffect import classic, corpus, evaluation, params, stage, storage

FEATURES = Path("data/functionals/features.h5")
MANIFEST = Path("data/raw/manifest.csv")
OUT = Path("metrics")


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, out=OUT, strategy="")
    p = params.load(sections=["classic", "split", "train"])
    cfg, task = p["classic"], p["train"]["task"]
    split_params = {**p["split"], **({"strategy": args.strategy} if args.strategy else {})}
    result, predictions = classic.evaluate_table(FEATURES, corpus.read_manifest(MANIFEST), task, split_params,
                                                 cfg["model"], cfg)
    with storage.atomic_outputs(args.out / "classic.json", args.out / "classic_predictions.csv") as tmp:
        tmp[0].write_text(json.dumps(result, indent=2) + "\n")
        corpus.write_manifest(tmp[1], predictions,
                              columns=("clip_id", "speaker", "group", "fold", "actual", "predicted"))
    stage.log.info("classic: %s on functionals, %s %s = %.3f (95%% CI %s) on %d test clips, %s%s",
                   cfg["model"], task, result["headline"]["metric"], result["headline"]["value"],
                   evaluation.ci_text(result["headline"]["ci95"]), result["n_test"], result["strategy"],
                   " [LEAKY protocol]" if result["leaky"] else "")


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
