"""handcrafted: loudness, fall-down and vibrato (pYIN) of the original clips -> data/handcrafted/features.h5."""
from __future__ import annotations

from pathlib import Path

from singaffect import compute, corpus, feature_table, handcrafted, params, stage

RAW = Path("data/raw")
OUT = Path("data/handcrafted/features.h5")


def main() -> None:
    p = params.load(sections=["handcrafted", "compute"])
    workers = compute.Workers.from_section(p["compute"])
    clip_ids = [r["clip_id"] for r in corpus.read_manifest(RAW / "manifest.csv")]
    bad = feature_table.write_table_file(
        OUT, handcrafted.handcrafted, handcrafted.HANDCRAFTED_NAMES, RAW / "audio.h5", clip_ids,
        p["handcrafted"], workers, p["compute"]["chunk_size"], "handcrafted",
        check_rate=lambda rate: handcrafted.check_params(rate, p["handcrafted"]))
    stage.log.info("handcrafted: %d clips x %d features -> %s (%d undefined values stored as NaN)",
                   len(clip_ids), len(handcrafted.HANDCRAFTED_NAMES), OUT, bad)


if __name__ == "__main__":
    stage.run(main)
