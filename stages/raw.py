"""raw: decode the corpus to mono at data.sample_rate -> ``--out DIR`` (audio.h5, manifest.csv, rejected.csv) and ``--report``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from tqdm import tqdm

from singaffect import audio_io, corpus, params, stage, storage
from singaffect import compute
from singaffect.compute import ordered_map


def decode_chunk(paths: list[str], sample_rate: int) -> list[tuple]:
    """``(samples, None)`` or ``(None, reason)`` for each path."""
    results = []
    for path in paths:
        try:
            results.append((audio_io.load_mono(path, sample_rate), None))
        except audio_io.AudioError as error:
            results.append((None, error.reason))
    return results


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, out=Path, report=Path)
    p = params.load(sections=["data", "compute"])
    workers = compute.Workers.from_section(p["compute"])
    data = p["data"]
    root = Path(data["root"])
    # data.on_error: fail -> the first bad file raises (one message naming it); skip -> record and go on
    listing_errors: list[corpus.ClipError] | None = [] if data["on_error"] == "skip" else None
    clips = corpus.list_clips(data["corpus"], root, data["manifest"], data["score_max"], rejected=listing_errors)
    rejected = [{"path": error.path, "reason": error.reason} for error in listing_errors or []]
    n_files = len(clips) + len(rejected)
    stage.log.info("raw: %d clips listed under %s (%d rejected)", len(clips), root, len(rejected))
    chunks = storage.chunk_ranges(len(clips), p["compute"]["chunk_size"])
    # absolute paths: a worker's working folder may not be this one (a reused pool, a Dask worker)
    work = (([str(root.absolute() / c.path) for c in clips[a:b]], data["sample_rate"]) for a, b in chunks)
    kept, silent = [], []
    with storage.atomic_outputs(args.out / "audio.h5", args.out / "manifest.csv", args.out / "rejected.csv",
                                args.report) as tmp:
        with storage.create_h5(tmp[0]) as handle:
            writer = storage.ClipAudioWriter(handle, data["sample_rate"])
            with tqdm(total=len(clips), desc="raw", unit="clip") as progress:  # closed (newline) on errors too
                for (a, b), results in zip(chunks, ordered_map(decode_chunk, work, workers)):
                    good = []
                    for clip, (samples, reason) in zip(clips[a:b], results):
                        if reason is not None:
                            if data["on_error"] == "fail":
                                raise audio_io.AudioError(root / clip.path, reason)
                            rejected.append({"path": clip.path, "reason": reason})
                            continue
                        if audio_io.rms(samples) < data["silence_rms"]:
                            silent.append(clip.clip_id)
                        kept.append(corpus.clip_row(clip))
                        good.append(samples)
                    writer.append(good)
                    progress.update(b - a)
            writer.close()
        rejected.sort(key=lambda row: row["path"])
        for row in rejected:
            stage.log.warning("raw: rejected %s: %s", row["path"], row["reason"])
        fraction = len(rejected) / max(n_files, 1)
        if fraction > data["max_rejected_fraction"] or not kept:
            first = f"; first: {rejected[0]['path']}: {rejected[0]['reason']}" if rejected else ""
            raise corpus.CorpusError(
                f"{len(rejected)} of {n_files} files rejected ({fraction:.1%}), more than "
                f"params key data.max_rejected_fraction={data['max_rejected_fraction']} allows{first}")
        corpus.write_manifest(tmp[1], kept)
        corpus.write_manifest(tmp[2], rejected, columns=("path", "reason"))
        tmp[3].write_text(json.dumps({
            "clips": len(kept), "rejected": len(rejected), "silent": len(silent),
            "silent_clips": silent, "sample_rate": data["sample_rate"]}, indent=2) + "\n")
    stage.log.info("raw: wrote %d clips (%d rejected, %d silent) to %s", len(kept), len(rejected), len(silent), args.out)


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
