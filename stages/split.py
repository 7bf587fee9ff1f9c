"""split: assign augmented rows to train/val/test by split.strategy -> data/split/{split.csv,split.json}."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from singaffect import corpus, params, splits, stage, storage  # noqa: E402

MANIFEST = Path("data/augmented/manifest.csv")
OUT = Path("data/split")


def main() -> None:
    p = params.load(sections=["split"])
    manifest = corpus.read_manifest(MANIFEST)
    rows = splits.rows_from_manifest(manifest)
    split = splits.make_split(rows, p["split"])
    counts = {side: int((split.sides == side).sum()) for side in splits.SIDES}
    with storage.atomic_outputs(OUT / "split.csv", OUT / "split.json") as tmp:
        corpus.write_manifest(tmp[0], ({"row": i, "clip_id": r.clip_id, "copy": r.copy, "side": side}
                                       for i, (r, side) in enumerate(zip(rows, split.sides))))
        tmp[1].write_text(json.dumps({"strategy": split.strategy, "protocol": split.protocol,
                                      "leaky": split.leaky, "rows": counts}, indent=2) + "\n")
    stage.log.info("split: %s -> %s", split.strategy, counts)


if __name__ == "__main__":
    stage.run(main)
