"""functionals: seed 2's 386 per-clip features of the original clips -> data/functionals/features.h5."""
from __future__ import annotations

from pathlib import Path

from singaffect import compute, corpus, feature_table, functionals, params, stage

RAW = Path("data/raw")
OUT = Path("data/functionals/features.h5")


def main() -> None:
    p = params.load(sections=["functionals", "compute"])
    workers = compute.Workers.from_section(p["compute"])
    clip_ids = [r["clip_id"] for r in corpus.read_manifest(RAW / "manifest.csv")]
    names = functionals.functional_names(p["functionals"])
    bad = feature_table.write_table_file(OUT, functionals.functionals, names, RAW / "audio.h5", clip_ids,
                                       p["functionals"], workers, p["compute"]["chunk_size"],
                                       "functionals",
                                       check_rate=functionals.check_sample_rate)
    stage.log.info("functionals: %d clips x %d features -> %s (%d non-finite values stored as NaN)",
                   len(clip_ids), len(names), OUT, bad)


if __name__ == "__main__":
    stage.run(main)
