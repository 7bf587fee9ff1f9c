"""split: assign the ``--manifest``'s rows to train/val/test by split.strategy -> ``--out DIR`` (split.csv, split.json).

``--strategy actor_folds --fold N`` writes one fold of the cross-validation pipeline
(cv/dvc.yaml) whatever ``split.strategy`` says.
"""
from __future__ import annotations

import sys
from pathlib import Path

from singaffect import corpus, params, split_files, splits, stage


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, manifest=Path, out=Path, strategy=None, fold=None)
    p = params.load(sections=["split"])
    overrides = {"strategy": args.strategy} if args.strategy else {}
    if args.fold is not None:
        overrides["fold"] = int(args.fold)
    settings = splits.Settings(**{**p["split"], **overrides})
    manifest = corpus.read_manifest(args.manifest)
    rows = splits.rows_from_manifest(manifest)
    split = splits.make_split(rows, settings)
    summary = splits.describe(rows, split, settings)
    split_files.write(args.out, rows, split, summary)
    stage.log.info("split: %s -> %s%s", split.strategy, summary["rows"], " [LEAKY]" if split.leaky else "")


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
