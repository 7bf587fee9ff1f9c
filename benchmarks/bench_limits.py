#!/usr/bin/env python
"""How close each per-clip stage is to the library call it wraps: the limit of its speed.

A stage's CPU time per item (from a ``bench_stages.py`` JSON, e.g. ``--all-stages``) is set
beside the CPU time of its core call alone, in one warm process on one thread, on a seeded
subset of the corpus: decoding for ``raw``, audiomentations for ``augment``, the log-mel
for ``mel`` (ours, and seed 2's plain ``librosa.feature.melspectrogram`` call), the
feature functions for ``functionals`` and ``handcrafted`` (and pYIN alone inside them).
The gap is what the stage adds: processes, imports, HDF5 reads and writes, dtype casts.
Results go to limits.json (the stage figures copied in, so the table needs no ignored
file); limits.md is rendered from that JSON.

Usage: python benchmarks/bench_limits.py --corpus /path/to/ravdess-song \\
           --stages benchmarks/work/actorsall_copies7_n_jobs2_all-stages_tagharmonic.json [--clips 24]
       python benchmarks/bench_limits.py --render   (rewrite the markdown from the JSON only)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import Callable

import librosa
import numpy as np
from threadpoolctl import threadpool_limits

from pitch_trackers import machine, pick_clips
from singaffect import audio_io, augmentation, functionals as fn, handcrafted as hc, logmel, pad
from singaffect import params as params_mod

HERE = Path(__file__).resolve().parent
OUT_JSON, OUT_MD = HERE / "limits.json", HERE / "limits.md"


def cpu_ms_per_item(call: Callable[[object], object], items: list, repeats: int) -> float:
    """Median over ``repeats`` of the CPU milliseconds per item of ``call`` over ``items`` (after one warm-up call)."""
    call(items[0])
    runs = []
    for _ in range(repeats):
        start = time.process_time()
        for item in items:
            call(item)
        runs.append((time.process_time() - start) * 1000 / len(items))
    return float(np.median(runs))


def limits(corpus: Path, n_clips: int, repeats: int) -> list[dict]:
    """The core call of each stage, timed per clip or row: ``[{"stage", "call", "unit", "ms"}, ...]``."""
    p = params_mod.load(HERE.parent / "params.yaml",
                        sections=["data", "augment", "pad", "mel", "functionals", "handcrafted"])
    sr, m = p["data"]["sample_rate"], p["mel"]
    paths = pick_clips(corpus, n_clips)
    clips = [audio_io.load_mono(path, sr) for path in paths]
    aug = augmentation.Settings(**p["augment"])
    augmenter = augmentation.build_augmenter(aug)
    length = int(round(p["pad"]["seconds"] * sr))
    rows = [pad.pad_or_trim(clip, length)[0] for clip in clips]
    batch = np.stack(rows)  # the mel stage hands log_mel compute.chunk_size rows at a time
    f_settings, h_settings = fn.Settings(**p["functionals"]), hc.Settings(**p["handcrafted"])

    def seed_mel(row: np.ndarray) -> np.ndarray:
        power = librosa.feature.melspectrogram(y=row, sr=sr, n_fft=m["n_fft"], hop_length=m["hop_length"],
                                               n_mels=m["n_mels"])
        return librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=None)

    def pyin(clip: np.ndarray) -> object:
        return hc.pitch_track(clip, sr, h_settings.fmin, h_settings.fmax, h_settings.frame_length,
                              h_settings.hop_length, h_settings.resolution)

    timed = [  # (stage, call, unit, items, call of one item, units per item)
        ("raw", "audio_io.load_mono (decode, soxr resample to data.sample_rate)", "clip", paths,
         lambda path: audio_io.load_mono(path, sr), 1),
        ("augment", f"augmentation.clip_copies: {aug.copies} audiomentations copies", "clip", clips,
         lambda clip: augmentation.clip_copies(augmenter, clip, sr, aug.seed, "clip", aug.copies), 1),
        ("pad", "pad.pad_or_trim", "row", clips, lambda clip: pad.pad_or_trim(clip, length), 1),
        ("mel", f"logmel.log_mel of {len(rows)} rows at once (ours: one BLAS thread)", "row", [batch],
         lambda rows: logmel.log_mel(rows, sr, m["n_fft"], m["hop_length"], m["n_mels"]), len(rows)),
        ("mel", "librosa.feature.melspectrogram + power_to_db of one row (seed 2's call)", "row", rows,
         seed_mel, 1),
        ("functionals", "functionals.functionals", "clip", clips,
         lambda clip: fn.functionals(clip, sr, f_settings), 1),
        ("handcrafted", "handcrafted.handcrafted", "clip", clips,
         lambda clip: hc.handcrafted(clip, sr, h_settings), 1),
        ("handcrafted", "librosa.pyin alone (handcrafted.pitch_track)", "clip", clips, pyin, 1),
    ]
    out = []
    with threadpool_limits(limits=1):
        for stage, call, unit, items, fn_call, per in timed:
            ms = cpu_ms_per_item(fn_call, items, repeats) / per
            out.append({"stage": stage, "call": call, "unit": unit, "ms": ms})
            print(f"{stage:12s} {out[-1]['ms']:8.2f} ms/{unit}  {call}", flush=True)
    return out


def stage_costs(stages_json: Path) -> dict:
    """CPU and wall seconds of each stage in a bench_stages.py result, with its clip and row counts and source."""
    bench = json.loads(stages_json.read_text())
    per = {s["name"]: {"cpu_s": s["cpu_s"], "wall_s": s["wall_s"]} for s in bench["stages"]}
    return {"source": stages_json.name, "key": bench["key"], "date": bench["date"],
            "commit": bench["machine"].get("commit", "?"), "clips": bench["clips"], "rows": bench["rows"],
            "n_jobs": bench["n_jobs"], "stages": per}


def render(res: dict) -> str:
    st = res["stage_run"]
    lines = [
        "# Per-clip stages against the library calls they wrap",
        "",
        "Generated by `benchmarks/bench_limits.py` from `limits.json`; do not edit by hand.",
        "",
        f"- date {res['date']}; command `{res['command']}`",
        f"- {res['machine']['cpu']}, {res['machine']['cores']} cores (load average "
        f"{res['machine']['load_average'][0]:.1f} at start); "
        + ", ".join(f"{k} {v}" for k, v in res["machine"]["versions"].items()),
        f"- limit: CPU time of the call alone, one warm process, one thread, median of {res['repeats']} passes "
        f"over {res['clips']} corpus clips (`pitch_trackers.pick_clips`, seed 0); rows are those clips padded "
        "to `pad.seconds`",
        f"- stage: CPU seconds of every process of the stage (`{st['source']}`, section `{st['key']}`, "
        f"{st['date']}, commit {st['commit']}: {st['clips']} clips, {st['rows']} rows, compute.n_jobs="
        f"{st['n_jobs']}) divided by its clips or rows",
        "",
        "| stage | library call (the limit) | limit CPU ms | stage CPU ms | stage / limit |",
        "|---|---|---:|---:|---:|",
    ]
    for item in res["limits"]:
        stage = st["stages"].get(item["stage"])
        n = st["clips"] if item["unit"] == "clip" else st["rows"]
        cost = stage["cpu_s"] * 1000 / n if stage else None
        ratio = f"{cost / item['ms']:.2f}x" if cost and item["ms"] > 0 else "—"
        lines.append(f"| {item['stage']} | {item['call']} | {item['ms']:.2f} per {item['unit']} | "
                     + (f"{cost:.2f} per {item['unit']}" if cost else "—") + f" | {ratio} |")
    lines += ["", "A ratio near 1 leaves nothing to gain outside the library call; above 1 is the stage's own "
              "cost (worker processes and their imports, HDF5 reads and writes, dtype casts). "
              "`augment` pays decoding-free work only: its clips come from `raw`'s HDF5. "
              "CPU time, not wall time: the stages run on `compute.n_jobs` workers.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"), help="RAVDESS song folder (Actor_XX/)")
    parser.add_argument("--stages", type=Path, help="a bench_stages.py JSON (e.g. benchmarks/work/*_all-stages_*.json)")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--render", action="store_true", help="only rewrite the markdown from the JSON")
    args = parser.parse_args()
    if not args.render:
        if args.stages is None:
            parser.error("--stages is needed to measure (or --render)")
        result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "command": shlex.join([os.path.relpath(sys.executable), *sys.argv]), "machine": machine(),
                  "clips": args.clips, "repeats": args.repeats, "stage_run": stage_costs(args.stages),
                  "limits": limits(args.corpus, args.clips, args.repeats)}
        OUT_JSON.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    OUT_MD.write_text(render(json.loads(OUT_JSON.read_text())))
    print(OUT_MD.read_text())


if __name__ == "__main__":
    main()
