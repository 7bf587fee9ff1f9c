"""mel: log-mel spectrogram of every ``--padded`` row -> ``--out`` HDF5 (rows x n_mels x frames),
plus PNGs of a normal and a strong take of one line -> ``--examples DIR``."""
from __future__ import annotations

import sys
from pathlib import Path

import h5py
from tqdm import tqdm

from singaffect import corpus, logmel, params, plots, stage, storage
from singaffect import compute
from singaffect.compute import ordered_map


def mel_chunk(path: str, start: int, stop: int, sample_rate: int, n_fft: int, hop_length: int, n_mels: int,
              dtype: str) -> object:
    """Workers read their own rows, so only spectrograms cross process boundaries."""
    with h5py.File(path, "r") as handle:
        batch = handle["audio"][start:stop]
    return logmel.log_mel(batch, sample_rate, n_fft, hop_length, n_mels).astype(dtype)


def main(argv: list[str] | None = None) -> None:
    args = stage.arguments(__doc__, argv, padded=Path, manifest=Path, out=Path, examples=Path)
    p = params.load(sections=["mel", "compute"])
    workers = compute.Workers.from_section(p["compute"])
    mel = p["mel"]
    with h5py.File(args.padded, "r") as padded:
        sample_rate = int(padded.attrs["sample_rate"])
        n_rows, n_samples = padded["audio"].shape
        audio_dtype = str(padded["audio"].dtype)
    frames = logmel.n_frames(n_samples, mel["hop_length"])
    chunks = storage.chunk_ranges(n_rows, p["compute"]["chunk_size"])
    work = ((str(args.padded.absolute()), a, b, sample_rate, mel["n_fft"], mel["hop_length"], mel["n_mels"],
             mel["dtype"]) for a, b in chunks)  # workers may run elsewhere
    with storage.atomic_outputs(args.out, args.examples) as tmp, storage.create_h5(tmp[0]) as handle:
        for key, value in (("sample_rate", sample_rate), ("n_samples", n_samples), ("n_fft", mel["n_fft"]),
                           ("hop_length", mel["hop_length"]), ("n_mels", mel["n_mels"])):
            handle.attrs[key] = int(value)
        handle.attrs["audio_dtype"] = audio_dtype  # predict rounds new audio through it, as pad stored it
        out = storage.create_rows(handle, "mel", n_rows, (mel["n_mels"], frames), mel["dtype"])
        for (a, b), block in tqdm(zip(chunks, ordered_map(mel_chunk, work, workers)),
                                  total=len(chunks), desc="mel", unit="chunk"):
            out[a:b] = block
        rows = corpus.read_manifest(args.manifest)
        if len(rows) != n_rows:
            raise corpus.CorpusError(f"{args.padded}: {n_rows} rows but {args.manifest} lists {len(rows)}; rerun dvc repro")
        examples = plots.mel_examples(tmp[1], rows, out, sample_rate, mel["hop_length"])
    stage.log.info("mel: %d rows of %dx%d (%s) -> %s; examples %s in %s", n_rows, mel["n_mels"], frames,
                   mel["dtype"], args.out, ", ".join(e.name for e in examples), args.examples)


if __name__ == "__main__":
    stage.run(main, sys.argv[1:])
