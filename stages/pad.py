"""pad: pad or trim every ``--augmented`` row to pad.seconds -> ``--out`` HDF5 (rows x samples) and ``--report``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from singaffect import audio_io, corpus, pad, params, stage, storage

CHUNK_ROWS = 64


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, augmented=Path, out=Path, report=Path)
    p = params.load(sections=["pad", "data"])
    rows = corpus.read_manifest(args.augmented / "manifest.csv")
    trimmed, silent = [], []
    with storage.ClipAudioReader(args.augmented / "audio.h5") as reader, \
            storage.atomic_outputs(args.out, args.report) as tmp:
        length = int(round(p["pad"]["seconds"] * reader.sample_rate))
        with storage.create_h5(tmp[0]) as handle:
            handle.attrs["sample_rate"] = reader.sample_rate
            handle.attrs["n_samples"] = length
            out = storage.create_rows(handle, "audio", len(reader), (length,), reader.dtype, rows_per_chunk=8)
            for a, b in tqdm(storage.chunk_ranges(len(reader), CHUNK_ROWS), desc="pad", unit="chunk"):
                block = np.empty((b - a, length), dtype=reader.dtype)  # the stored dtype: no float16 round trip
                for i, clip in enumerate(reader.clips(a, b)):
                    block[i], cut = pad.pad_or_trim(clip, length, reader.dtype)
                    if cut > p["pad"]["max_trim_fraction"] * len(clip):
                        trimmed.append(a + i)
                    if audio_io.rms(block[i]) < p["data"]["silence_rms"]:
                        silent.append(a + i)
                out[a:b] = block
        tmp[1].write_text(json.dumps({
            "rows": len(rows), "length_samples": length,
            "trimmed_over_limit": len(trimmed),
            "trimmed_clips": sorted({rows[i]["clip_id"] for i in trimmed}),
            "silent_rows": len(silent),
        }, indent=2) + "\n")
    stage.log.info("pad: %d rows of %d samples; %d trimmed by more than %.0f%%, %d silent",
                   len(rows), length, len(trimmed), 100 * p["pad"]["max_trim_fraction"], len(silent))


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
