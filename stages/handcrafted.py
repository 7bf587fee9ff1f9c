"""handcrafted: loudness, fall-down and vibrato (pYIN) of the original clips -> data/handcrafted/features.h5."""
from __future__ import annotations

from pathlib import Path

from singaffect import baseline_features, corpus, functionals, params, stage

RAW = Path("data/raw")
OUT = Path("data/handcrafted/features.h5")


def main() -> None:
    p = params.load(sections=["handcrafted", "compute"])
    clip_ids = [r["clip_id"] for r in corpus.read_manifest(RAW / "manifest.csv")]
    bad = functionals.write_table_file(
        OUT, baseline_features.handcrafted, baseline_features.HANDCRAFTED_NAMES, RAW / "audio.h5", clip_ids,
        p["handcrafted"], p["compute"], "handcrafted",
        check_rate=lambda rate: baseline_features.check_params(rate, p["handcrafted"]))
    stage.log.info("handcrafted: %d clips x %d features -> %s (%d undefined values stored as NaN)",
                   len(clip_ids), len(baseline_features.HANDCRAFTED_NAMES), OUT, bad)


if __name__ == "__main__":
    stage.run(main)
