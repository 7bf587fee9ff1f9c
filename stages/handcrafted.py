"""handcrafted: loudness, fall-down and vibrato (pYIN) of the original clips -> data/handcrafted/features.h5."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm  # noqa: E402

from singaffect import baseline_features, corpus, functionals, params, stage, storage  # noqa: E402

RAW = Path("data/raw")
OUT = Path("data/handcrafted/features.h5")


def main() -> None:
    p = params.load(sections=["handcrafted", "compute"])
    clip_ids = [r["clip_id"] for r in corpus.read_manifest(RAW / "manifest.csv")]
    names = list(baseline_features.HANDCRAFTED_NAMES)
    with storage.atomic_outputs(OUT) as tmp, storage.create_h5(tmp[0]) as handle, \
            tqdm(total=len(clip_ids), desc="handcrafted", unit="clip") as bar:
        bad = functionals.compute_table(handle, baseline_features.handcrafted, names, RAW / "audio.h5", clip_ids,
                                        p["handcrafted"], p["compute"]["n_jobs"], p["compute"]["chunk_size"],
                                        bar.update)
    stage.log.info("handcrafted: %d clips x %d features -> %s (%d undefined values stored as NaN)",
                   len(clip_ids), len(names), OUT, bad)


if __name__ == "__main__":
    stage.run(main)
