"""``split.csv`` and ``split.json``: the split stage's assignment of rows to sides, and its summary.

The one owner of those files: the split stage writes them (atomically, together); train
and evaluate read the sides of the augmented rows, evaluate the summary (protocol, cluster
unit, leaky), and the models on per-clip feature tables (``functionals_model``, ``handcrafted_model``) read the sides of the
original recordings (copy 0) through ``read_clip_splits``: every model of a run is trained
and tested on the same assignment, with no second splitter.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from singaffect import corpus, storage
from singaffect.splits import SIDES, Row, Split, SplitError

CSV_NAME, JSON_NAME = "split.csv", "split.json"


def write(out_dir: str | Path, rows: Sequence[Row], split: Split, summary: dict[str, Any]) -> None:
    """``out_dir/split.csv`` (row, clip_id, copy, side per augmented row) and ``out_dir/split.json``."""
    out_dir = Path(out_dir)
    with storage.atomic_outputs(out_dir / CSV_NAME, out_dir / JSON_NAME) as tmp:
        corpus.write_manifest(tmp[0], ({"row": i, "clip_id": r.clip_id, "copy": r.copy, "side": side}
                                       for i, (r, side) in enumerate(zip(rows, split.sides))))
        tmp[1].write_text(json.dumps(summary, indent=2) + "\n")


def read_sides(split_dir: str | Path) -> dict[str, np.ndarray]:
    """Row indices of each side (train, val, test) in a split folder's ``split.csv``, in file order."""
    rows = corpus.read_manifest(Path(split_dir) / CSV_NAME)
    return {side: np.array([int(r["row"]) for r in rows if r["side"] == side], dtype=np.int64) for side in SIDES}


def read_summary(out_dir: str | Path) -> dict[str, Any]:
    """The ``split.json`` beside a ``split.csv``."""
    return json.loads((Path(out_dir) / JSON_NAME).read_text())


def read_clip_split(split_dir: str | Path, clip_ids: Sequence[str]) -> Split:
    """The ``split_dir`` assignment of the original recordings ``clip_ids`` (their copy-0 rows), in that order.

    Refuses a split made for another corpus: every clip must have exactly one copy-0 row,
    and every copy-0 row must be one of ``clip_ids``.
    """
    split_dir = Path(split_dir)
    csv_path = split_dir / CSV_NAME
    side_of: dict[str, str] = {}
    for row in corpus.read_manifest(csv_path):
        if int(row["copy"]) == 0 and side_of.setdefault(row["clip_id"], row["side"]) != row["side"]:
            raise SplitError(f"{csv_path}: clip {row['clip_id']} has two original rows on different sides")
    missing = [clip for clip in clip_ids if clip not in side_of]
    extra = sorted(set(side_of) - set(clip_ids))
    if missing or extra:
        raise SplitError(f"{csv_path} was made for another corpus: "
                         + (f"{len(missing)} clips have no row in it (e.g. {missing[0]})" if missing else
                            f"it has {len(extra)} clips the feature table lacks (e.g. {extra[0]})")
                         + "; rerun the split stage (dvc repro)")
    summary = read_summary(split_dir)
    return Split(sides=np.array([side_of[clip] for clip in clip_ids], dtype=str), strategy=summary["strategy"],
                 leaky=bool(summary["leaky"]), fold=summary["fold"], n_folds=summary["n_folds"])


def read_clip_splits(split_dirs: Sequence[str | Path], clip_ids: Sequence[str]) -> list[Split]:
    """``read_clip_split`` of each folder: one split, or every fold of one cross-validation (in fold order).

    Folds must be folds 0..k-1 of one strategy with ``n_folds`` = k, so that every clip is
    tested at most once and the pooled metrics mean what they say.
    """
    if not split_dirs:
        raise SplitError("no split folder given (--split DIR [DIR ...])")
    found = [read_clip_split(folder, clip_ids) for folder in split_dirs]
    if len(found) > 1:
        folds = [(split.strategy, split.fold, split.n_folds) for split in found]
        wanted = [(found[0].strategy, number, len(found)) for number in range(len(found))]
        if folds != wanted:
            raise SplitError(f"split folders {', '.join(map(str, split_dirs))} are (strategy, fold, n_folds) = "
                             f"{folds}, not folds 0..{len(found) - 1} of one cross-validation in order")
    return found
