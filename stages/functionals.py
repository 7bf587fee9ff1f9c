"""functionals: seed 2's 386 per-clip features of the original (``--raw``) clips -> ``--out`` feature table."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

from singaffect import compute, corpus, feature_table, functionals, params, stage


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, raw=Path, out=Path)
    p = params.load(sections=["functionals", "compute"])
    workers = compute.Workers.from_section(p["compute"])
    settings = functionals.Settings(**p["functionals"])
    clip_ids = [r["clip_id"] for r in corpus.read_manifest(args.raw / "manifest.csv")]
    names = functionals.functional_names(settings)
    bad = feature_table.write_table_file(args.out, functools.partial(functionals.functionals, settings=settings),
                                         names, args.raw / "audio.h5", clip_ids, workers,
                                         p["compute"]["chunk_size"], "functionals",
                                         check_rate=functionals.check_sample_rate)
    stage.log.info("functionals: %d clips x %d features -> %s (%d non-finite values stored as NaN)",
                   len(clip_ids), len(names), args.out, bad)


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
