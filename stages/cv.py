"""cv: pool the CNN's actor folds (cv/dvc.yaml) -> ``--out`` JSON.

Reads every fold's ``eval.json`` and ``predictions.csv`` under ``--folds DIR`` (``fold0``,
``fold1``, ...: the evaluate stage's outputs in cv/dvc.yaml), checks that the folds are those of ``split.n_folds`` and that each clip
is tested once, and writes the pooled headline (CI resampling speakers), the per-fold
metrics and their mean ± sd, in the layout of ``metrics/cv/functionals_model.json``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from singaffect import corpus, evaluation, params, splits, stage, storage
from singaffect.errors import SingaffectError


class CrossValidationError(SingaffectError, ValueError):
    """The fold outputs do not make one cross-validation; names the folder or key."""


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, folds=Path, out=Path)
    n_folds = params.load(sections=["split"])["split"]["n_folds"]
    folders = [args.folds / f"fold{number}" for number in range(n_folds)]
    missing = [str(folder) for folder in folders if not (folder / "eval.json").is_file()]
    if missing:
        raise CrossValidationError(f"params key split.n_folds is {n_folds} but {', '.join(missing)} has no "
                                   "eval.json: cv/dvc.yaml must list folds 0..n_folds-1")
    summaries = [json.loads((folder / "eval.json").read_text()) for folder in folders]
    for number, (folder, summary) in enumerate(zip(folders, summaries)):
        found = (summary.get("strategy"), summary.get("fold"), summary.get("n_folds"))
        if found != ("actor_folds", number, n_folds):
            raise CrossValidationError(f"{folder}/eval.json is (strategy, fold, n_folds) = {found}, expected "
                                       f"('actor_folds', {number}, {n_folds}) from params key split.n_folds")
    tasks = {summary["task"] for summary in summaries}
    if len(tasks) > 1:
        raise CrossValidationError(f"{args.folds}: the folds were trained for different tasks {sorted(tasks)}")
    task, first = summaries[0]["task"], summaries[0]
    try:
        pooled = evaluation.pool_folds(task, [corpus.read_manifest(folder / "predictions.csv") for folder in folders])
    except ValueError as error:
        raise CrossValidationError(f"{args.folds}: {error}") from None
    result = {"task": task, "model": "cnn", "strategy": "actor_folds", "leaky": False,
              "protocol": splits.PROTOCOLS["actor_folds"], "n_test": sum(s["n_test"] for s in summaries),
              **({"thresholds": [s["threshold"] for s in summaries]} if "threshold" in first else {}), **pooled}
    with storage.atomic_outputs(args.out) as tmp:
        tmp[0].write_text(json.dumps(result, indent=2) + "\n")
    head = result["headline"]
    stage.log.info("cv: CNN %s %s pooled over %d folds = %.3f (95%% CI %s); folds %s ± %s", task,
                   head["metric"], n_folds, head["value"], evaluation.ci_text(head["ci95"]),
                   result["fold_mean"][head["metric"]], result["fold_std"][head["metric"]])


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
