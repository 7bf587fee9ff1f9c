"""handcrafted_model: ridge regression of enthusiasm on the handcrafted table, on the split stage's sides ->
``--metrics`` JSON and ``--predictions`` CSV.

``--split DIR [DIR ...]``: as for functionals_model (one split, or every fold of cv/dvc.yaml).
"""
from __future__ import annotations

import sys
from pathlib import Path

from singaffect import corpus, evaluation, feature_models, params, split_files, stage

TASK = "enthusiasm"


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, features=Path, manifest=Path, split=[Path], metrics=Path,
                           predictions=Path)
    alpha = params.load(sections=["handcrafted_model"])["handcrafted_model"]["alpha"]
    manifest = corpus.read_manifest(args.manifest)
    folds = split_files.read_clip_splits(args.split, [row["clip_id"] for row in manifest])
    result, predictions, _ = feature_models.evaluate_table(args.features, manifest, TASK, folds, "ridge", alpha)
    feature_models.write_outputs(args.metrics, args.predictions, result, predictions)
    stage.log.info("handcrafted_model: ridge, %s %s = %.3f (95%% CI %s) on %d test clips, %s",
                   TASK, result["headline"]["metric"], result["headline"]["value"],
                   evaluation.ci_text(result["headline"]["ci95"]), result["n_test"], result["strategy"])


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
