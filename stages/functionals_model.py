"""functionals_model: seed 2's models on the functionals table, on the split stage's sides -> ``--metrics`` JSON
and ``--predictions`` CSV (and, on one split, ``--model-out``: the model ``singaffect predict`` uses;
with ``--scores``, every fold's val and test scores for the fusion stage).

``--split DIR [DIR ...]`` names the split stage's output folder(s): one split (the CNN's,
in dvc.yaml), or every fold of the cross-validation (cv/dvc.yaml), pooled.
"""
from __future__ import annotations

import sys
from pathlib import Path

from singaffect import corpus, enrolment, evaluation, feature_model_file, feature_models, params, split_files, stage


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, features=Path, manifest=Path, split=[Path], metrics=Path,
                           predictions=Path, model_out=None, scores=None)
    # the saved model also records how a take becomes features: decode rate and functionals params
    p = params.load(sections=["functionals_model", "train", *(["functionals", "data"] if args.model_out else [])])
    cfg, task = p["functionals_model"], p["train"]["task"]
    manifest = corpus.read_manifest(args.manifest)
    folds = split_files.read_clip_splits(args.split, [row["clip_id"] for row in manifest])
    singer = enrolment.Enrolment(cfg["enrolment"], cfg["enrolment_takes"], cfg["seed"],
                                 tuple(cfg["enrolment_emotions"]), cfg["enrolment_scale"],
                                 tuple(str(s) for s in cfg["enrolment_statements"]), cfg["enrolment_match_emotion"])
    keras_fit = feature_models.KerasFit(cfg["epochs"], cfg["batch_size"], cfg["learning_rate"], cfg["patience"],
                                        cfg["seed"])
    result, predictions, scores = feature_models.evaluate_table(args.features, manifest, task, folds, cfg["model"],
                                                        cfg["alpha"], keras_fit, singer, cfg["alpha_grid"])
    if args.model_out is not None:
        if len(folds) != 1:
            raise feature_models.FeatureModelError("--model-out needs one split (the default pipeline's), not a "
                                                   f"cross-validation of {len(folds)} folds")
        alpha = result["alpha_chosen"][0] if "alpha_chosen" in result else cfg["alpha"]
        emotion_alpha = result["emotion_alpha_chosen"][0] if "emotion_alpha_chosen" in result else None
        saved = feature_model_file.build(args.features, manifest, task, folds[0], cfg["model"], alpha, singer,
                                         p["data"]["sample_rate"], p["functionals"], emotion_alpha)
    feature_models.write_outputs(args.metrics, args.predictions, result, predictions, args.scores, scores)
    if args.model_out is not None:
        feature_model_file.save(args.model_out, saved)
    stage.log.info("functionals_model: %s%s, %s %s = %.3f (95%% CI %s) on %d test clips, %s%s",
                   cfg["model"], "" if singer.mode == "none" else f" (enrolment: {singer.mode})", task,
                   result["headline"]["metric"], result["headline"]["value"],
                   evaluation.ci_text(result["headline"]["ci95"]), result["n_test"], result["strategy"],
                   " [LEAKY protocol]" if result["leaky"] else "")


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
