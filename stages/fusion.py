"""fusion: the CNN and the functionals model fused late on the same actor folds (cv/dvc.yaml) -> ``--metrics`` JSON
and ``--predictions`` CSV.

``--cnn`` lists the evaluate stage's scores CSV of every fold, ``--features`` the
functionals_model stage's. Each fold's weight comes from ``fusion.WEIGHT_GRID``, chosen on
that fold's validation singers (``singaffect.fusion``). The JSON pools the fused test
predictions like ``metrics/cv/cnn.json`` and adds, on the same clips, each system alone and
the paired difference of the fusion against each (95 % CI resampling singers).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from singaffect import corpus, evaluation, fusion, metrics, params, splits, stage, storage

SYSTEMS = {"first_alone": "cnn", "second_alone": "functionals_model"}


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, cnn=[Path], features=Path, metrics=Path, predictions=Path)
    task = params.load(sections=["train"])["train"]["task"]
    weights = fusion.check_weight_grid(fusion.WEIGHT_GRID)
    cnn, features = fusion.read_scores(args.cnn, task), fusion.read_scores([args.features], task)
    per_fold, chosen = fusion.fuse(task, cnn, features, weights)
    pooled = evaluation.pool_folds(task, [[{k: str(v) for k, v in row.items()} for row in rows] for rows in per_fold])
    rows = [row for fold in per_fold for row in fold]
    convert = corpus.EMOTIONS.index if task == "emotion" else float
    y_true = np.array([convert(r["actual"]) for r in rows])
    speakers = np.array([r["speaker"] for r in rows])
    fused = np.array([convert(r["predicted"]) for r in rows])
    name, headline = metrics.headline_for(task, y_true)
    alone = {}
    for column, system in SYSTEMS.items():
        own = np.array([convert(r[column]) for r in rows])
        difference = metrics.paired_difference_ci(headline, y_true, fused, own, speakers)
        difference["ci95"] = [float(v) if np.isfinite(v) else None for v in difference["ci95"]]
        alone[system] = {"metric": name, "value": float(headline(y_true, own)), "fusion_minus_system": difference}
    result = {"task": task, "model": "fusion", "systems": list(SYSTEMS.values()), "strategy": "actor_folds",
              "leaky": False, "protocol": splits.PROTOCOLS["actor_folds"], "n_test": len(rows),
              "weight_grid": weights, "weights_chosen": chosen, "alone": alone,
              "alone_means": "each system's own scores through the fusion (w = 1 or 0) on the same test clips: for "
                             "emotion the argmax of its class probabilities, which for an SVM (Platt-scaled) can "
                             "differ from its one-vs-one vote in functionals_model.json", **pooled}
    with storage.atomic_outputs(args.metrics, args.predictions) as tmp:
        tmp[0].write_text(json.dumps(result, indent=2) + "\n")
        corpus.write_manifest(tmp[1], [{f"{SYSTEMS[k]}_alone" if k in SYSTEMS else k: v for k, v in row.items()}
                                       for row in rows])
    head = result["headline"]
    stage.log.info("fusion: %s %s pooled over %d folds = %.3f (95%% CI %s); CNN alone %.3f, functionals model "
                   "alone %.3f; weights on the CNN %s", task, name, len(per_fold), head["value"],
                   evaluation.ci_text(head["ci95"]), alone["cnn"]["value"], alone["functionals_model"]["value"],
                   chosen)


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
