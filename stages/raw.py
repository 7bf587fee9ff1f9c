"""raw: decode the corpus to mono at data.sample_rate -> data/raw/{audio.h5,manifest.csv,rejected.csv}."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm  # noqa: E402

from singaffect import audio_io, corpus, params, stage, storage  # noqa: E402
from singaffect.compute import ordered_map  # noqa: E402

OUT = Path("data/raw")
REPORT = Path("metrics/raw.json")


def decode_chunk(paths: list[str], sample_rate: int) -> list[tuple]:
    """``(samples, None)`` or ``(None, reason)`` for each path."""
    results = []
    for path in paths:
        try:
            results.append((audio_io.load_mono(path, sample_rate), None))
        except audio_io.AudioError as error:
            results.append((None, error.reason))
    return results


def main() -> None:
    p = params.load(sections=["data", "compute"])
    data = p["data"]
    root = Path(data["root"])
    clips = corpus.list_clips(data["corpus"], root, data["manifest"], data["score_max"])
    stage.log.info("raw: %d clips listed under %s", len(clips), root)
    chunks = storage.chunk_ranges(len(clips), p["compute"]["chunk_size"])
    work = (([str(root / c.path) for c in clips[a:b]], data["sample_rate"]) for a, b in chunks)
    kept, rejected, silent = [], [], []
    with storage.atomic_outputs(OUT / "audio.h5", OUT / "manifest.csv", OUT / "rejected.csv", REPORT) as tmp:
        with storage.create_h5(tmp[0]) as handle:
            writer = storage.ClipAudioWriter(handle, data["sample_rate"])
            progress = tqdm(total=len(clips), desc="raw", unit="clip")
            for (a, b), results in zip(chunks, ordered_map(decode_chunk, work, p["compute"]["n_jobs"])):
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
            progress.close()
            writer.close()
        fraction = len(rejected) / max(len(clips), 1)
        if fraction > data["max_rejected_fraction"] or not kept:
            raise corpus.CorpusError(
                f"{len(rejected)} of {len(clips)} files rejected ({fraction:.1%}), more than "
                f"data.max_rejected_fraction={data['max_rejected_fraction']}; first: "
                f"{rejected[0]['path']}: {rejected[0]['reason']}")
        corpus.write_manifest(tmp[1], kept)
        corpus.write_manifest(tmp[2], rejected, columns=("path", "reason"))
        tmp[3].write_text(json.dumps({
            "clips": len(kept), "rejected": len(rejected), "silent": len(silent),
            "silent_clips": silent, "sample_rate": data["sample_rate"]}, indent=2) + "\n")
    stage.log.info("raw: wrote %d clips (%d rejected, %d silent) to %s", len(kept), len(rejected), len(silent), OUT)


if __name__ == "__main__":
    stage.run(main)
