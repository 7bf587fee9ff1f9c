#!/usr/bin/env python3
"""How evenly do our splitters and scikit-learn's grouped splitters spread the strata?

Issue 14 asks to use ``StratifiedGroupKFold`` / ``GroupShuffleSplit`` unless they balance
strata measurably worse. For the recording-group split (val 0.2, test 0.2) and 5 actor
folds, this prints, per method and seed, the largest deviation of a side's stratum share
from the corpus' share (percentage points), and whether every stratum reaches every side.
Run from the repository root after ``dvc repro`` (reads data/augmented/manifest.csv).
"""
from __future__ import annotations

import sys
from collections import Counter

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

from singaffect import corpus, params, splits


def worst_deviation(strata: list[str], sides: np.ndarray) -> tuple[float, bool]:
    """Largest |share of stratum on a side - share in the corpus| (points), and all strata on all sides."""
    total = Counter(strata)
    worst, complete = 0.0, True
    for side in ("train", "val", "test"):
        on = [s for s, d in zip(strata, sides) if d == side]
        if not on:
            continue
        counts = Counter(on)
        complete &= set(counts) == set(total)
        worst = max(worst, max(abs(counts[k] / len(on) - total[k] / len(strata)) for k in total))
    return 100 * worst, complete


def main() -> None:
    manifest = corpus.read_manifest("data/augmented/manifest.csv")
    rows = [r for r in splits.rows_from_manifest(manifest) if r.copy == 0]
    strata = [r.stratum for r in rows]
    groups = np.array([r.group for r in rows])
    cfg = {**params.load(sections=["split"])["split"], "final_check_speakers": []}
    print("| method | seed | worst stratum share deviation (points) | every stratum on every side |")
    print("| --- | --- | --- | --- |")
    for seed in range(3):
        ours = splits.make_split(rows, splits.Settings(**{**cfg, "strategy": "group", "seed": seed})).sides
        print("| ours: group (stratified groups) | %d | %.2f | %s |" % (seed, *worst_deviation(strata, ours)))
        # scikit-learn: StratifiedGroupKFold(5) -> one fold test, the next val
        folds = list(StratifiedGroupKFold(5, shuffle=True, random_state=seed).split(rows, strata, groups))
        sides = np.array(["train"] * len(rows), dtype=object)
        sides[folds[0][1]], sides[folds[1][1]] = "test", "val"
        print("| StratifiedGroupKFold(5), folds 0/1 | %d | %.2f | %s |" % (seed, *worst_deviation(strata, sides)))
        gss = GroupShuffleSplit(1, test_size=0.4, random_state=seed)
        rest, held = next(gss.split(rows, strata, groups))
        sides = np.array(["train"] * len(rows), dtype=object)
        half = next(GroupShuffleSplit(1, test_size=0.5, random_state=seed).split(held, groups=groups[held]))
        sides[held[half[0]]], sides[held[half[1]]] = "val", "test"
        print("| GroupShuffleSplit 0.4 then 0.5 | %d | %.2f | %s |" % (seed, *worst_deviation(strata, sides)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
