"""augment: original + augment.copies audiomentations copies of each ``--raw`` clip -> ``--out DIR`` (audio.h5, manifest.csv)."""
from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from singaffect import augmentation, corpus, params, stage, storage
from singaffect import compute
from singaffect.compute import ordered_map


def augment_chunk(clips: list, clip_ids: list[str], sample_rate: int,
                  settings: augmentation.Settings) -> list[list]:
    augmenter = augmentation.build_augmenter(settings)
    return [augmentation.clip_copies(augmenter, samples, sample_rate, settings.seed, clip_id, settings.copies)
            for samples, clip_id in zip(clips, clip_ids)]


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, raw=Path, out=Path)
    p = params.load(sections=["augment", "compute"])
    workers = compute.Workers.from_section(p["compute"])
    augment = augmentation.Settings(**p["augment"])
    rows = corpus.read_manifest(args.raw / "manifest.csv")
    # A work item holds about chunk_size output rows (a clip and its copies), so memory per
    # worker stays the same whatever augment.copies is.
    clips_per_item = max(1, p["compute"]["chunk_size"] // (augment.copies + 1))
    chunks = storage.chunk_ranges(len(rows), clips_per_item)
    out_rows = []
    with storage.ClipAudioReader(args.raw / "audio.h5") as reader, \
            storage.atomic_outputs(args.out / "audio.h5", args.out / "manifest.csv") as tmp:
        if len(reader) != len(rows):
            raise corpus.CorpusError(f"{args.raw}: audio.h5 holds {len(reader)} clips, manifest.csv {len(rows)}")
        work = ((reader.clips(a, b), [r["clip_id"] for r in rows[a:b]], reader.sample_rate, augment)
                for a, b in chunks)
        with storage.create_h5(tmp[0]) as handle:
            writer = storage.ClipAudioWriter(handle, reader.sample_rate, augment.dtype)
            progress = tqdm(total=len(rows), desc="augment", unit="clip")
            for (a, b), copies_per_clip in zip(chunks, ordered_map(augment_chunk, work, workers)):
                for row, copies in zip(rows[a:b], copies_per_clip):
                    writer.append(copies)
                    out_rows.extend({**row, "copy": copy} for copy in range(len(copies)))
                progress.update(b - a)
            progress.close()
            writer.close()
        corpus.write_manifest(tmp[1], out_rows)
    stage.log.info("augment: %d clips -> %d rows (%d copies each) in %s",
                   len(rows), len(out_rows), augment.copies, args.out)


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
