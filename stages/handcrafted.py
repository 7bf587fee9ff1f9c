"""handcrafted: loudness, fall-down and vibrato (pYIN) of the original (``--raw``) clips -> ``--out`` feature table."""
from __future__ import annotations

import functools
import sys
from pathlib import Path

from singaffect import compute, corpus, feature_table, handcrafted, params, stage


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, raw=Path, out=Path)
    p = params.load(sections=["handcrafted", "compute"])
    workers = compute.Workers.from_section(p["compute"])
    settings = handcrafted.Settings(**p["handcrafted"])
    clip_ids = [r["clip_id"] for r in corpus.read_manifest(args.raw / "manifest.csv")]
    bad = feature_table.write_table_file(
        args.out, functools.partial(handcrafted.handcrafted, settings=settings), handcrafted.HANDCRAFTED_NAMES,
        args.raw / "audio.h5", clip_ids, workers, p["compute"]["chunk_size"], "handcrafted",
        check_rate=functools.partial(handcrafted.check_settings, settings=settings))
    stage.log.info("handcrafted: %d clips x %d features -> %s (%d undefined values stored as NaN)",
                   len(clip_ids), len(handcrafted.HANDCRAFTED_NAMES), args.out, bad)


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
