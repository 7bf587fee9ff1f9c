"""``split.csv`` and ``split.json``: the split stage's assignment of rows to sides, and its summary.

The one owner of those files: the split stage writes them (atomically, together); train
and evaluate read the sides, evaluate the summary (protocol, cluster unit, leaky).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from singaffect import corpus, storage
from singaffect.splits import SIDES, Row, Split

CSV_NAME, JSON_NAME = "split.csv", "split.json"


def write(out_dir: str | Path, rows: Sequence[Row], split: Split, summary: dict[str, Any]) -> None:
    """``out_dir/split.csv`` (row, clip_id, copy, side per augmented row) and ``out_dir/split.json``."""
    out_dir = Path(out_dir)
    with storage.atomic_outputs(out_dir / CSV_NAME, out_dir / JSON_NAME) as tmp:
        corpus.write_manifest(tmp[0], ({"row": i, "clip_id": r.clip_id, "copy": r.copy, "side": side}
                                       for i, (r, side) in enumerate(zip(rows, split.sides))))
        tmp[1].write_text(json.dumps(summary, indent=2) + "\n")


def read_sides(csv_path: str | Path) -> dict[str, np.ndarray]:
    """Row indices of each side (train, val, test) of a ``split.csv``, in file order."""
    rows = corpus.read_manifest(csv_path)
    return {side: np.array([int(r["row"]) for r in rows if r["side"] == side], dtype=np.int64) for side in SIDES}


def read_summary(out_dir: str | Path) -> dict[str, Any]:
    """The ``split.json`` beside a ``split.csv``."""
    return json.loads((Path(out_dir) / JSON_NAME).read_text())
