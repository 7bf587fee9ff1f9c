#!/usr/bin/env python
"""Cheaper pitch trackers than pYIN for the handcrafted stage: speed and agreement on sung clips.

pYIN (``singaffect.handcrafted.pitch_track``) is the slowest step of the pipeline (~0.8 s a clip).
This script times alternatives on a fixed, seeded subset of RAVDESS song clips and measures how
far each one moves from pYIN: pitch on frames both call voiced, voicing decisions, and the
vibrato rate / extent and fall-down features computed from each track with handcrafted.py's own
functions. Results go to pitch_trackers.json; pitch_trackers.md is rendered from that JSON.

Usage: python benchmarks/pitch_trackers.py --corpus /path/to/ravdess-song [--clips 24] [--repeats 3]
       python benchmarks/pitch_trackers.py --render   (rewrite the markdown from the JSON only)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

import librosa
import numpy as np

from singaffect import audio_io, handcrafted as hc, params as params_mod

try:
    import parselmouth  # GPL-3.0: an optional extra at most
except ImportError:
    parselmouth = None

HERE = Path(__file__).resolve().parent
OUT_JSON, OUT_MD = HERE / "pitch_trackers.json", HERE / "pitch_trackers.md"
FEATURES = ("vibrato_rate", "vibrato_extent", "fall_down")
COMBOS = ["01-01"] + [f"{e:02d}-{i:02d}" for e in range(2, 7) for i in (1, 2)]  # emotion-intensity
YIN_RMS_DB, YIN_MAX_ZCR = 30.0, 0.15  # yin voicing: RMS within 30 dB of the loudest frame and ZCR < 0.15
MIN_WITHIN_50, MIN_VOICING, MIN_R = 0.95, 0.90, 0.9  # recommendation thresholds
Tracker = Callable[[np.ndarray], tuple[np.ndarray, float, int]]  # -> semitones, frame rate, stride on pYIN grid


def pick_clips(corpus: Path, n: int, seed: int = 0) -> list[Path]:
    """Clip i: actor i mod 23 (shuffled), emotion-intensity i mod 11, statement/repetition drawn; seeded."""
    rng = np.random.default_rng(seed)
    actors = sorted(p for p in corpus.glob("Actor_*") if p.is_dir())
    actors = [actors[k] for k in rng.permutation(len(actors))]
    groups = (sorted(actors[i % len(actors)].glob(f"03-02-{COMBOS[i % len(COMBOS)]}-*")) for i in range(n))
    return [files[rng.integers(len(files))] for files in groups]


def trackers(sr: int, p: dict) -> tuple[dict[str, Tracker], dict[str, str]]:
    """The methods (reference first) and a one-line description of each."""
    frame = dict(frame_length=p["frame_length"], hop_length=p["hop_length"])

    def pyin(**over: float) -> Tracker:
        def run(y: np.ndarray) -> tuple[np.ndarray, float, int]:
            q = {**p, **over}
            semitones, rate = hc.pitch_track(y, sr, q["fmin"], q["fmax"], q["frame_length"], q["hop_length"],
                                             q["resolution"])  # the module's own pYIN call
            return semitones, rate, int(over.get("hop_length", p["hop_length"])) // p["hop_length"]
        return run

    def yin(y: np.ndarray) -> tuple[np.ndarray, float, int]:
        f0 = librosa.yin(y, fmin=p["fmin"], fmax=p["fmax"], sr=sr, **frame)
        level = librosa.amplitude_to_db(librosa.feature.rms(y=y, **frame)[0], ref=np.max, top_db=None)
        voiced = (level >= -YIN_RMS_DB) & (librosa.feature.zero_crossing_rate(y, **frame)[0] < YIN_MAX_ZCR)
        return np.where(voiced, librosa.hz_to_midi(f0), np.nan), sr / p["hop_length"], 1

    def praat(y: np.ndarray) -> tuple[np.ndarray, float, int]:
        dt = p["hop_length"] / sr
        pitch = parselmouth.Sound(y.astype(np.float64), sr).to_pitch_ac(
            time_step=dt, pitch_floor=p["fmin"], pitch_ceiling=p["fmax"])
        hz = pitch.selected_array["frequency"]
        semis = np.where(hz > 0, librosa.hz_to_midi(np.maximum(hz, 1.0)), np.nan)
        pos = (np.arange(1 + y.size // p["hop_length"]) * dt - pitch.xs()[0]) / dt  # pYIN frame centres
        near_idx = np.rint(pos).astype(int)
        near = np.where((near_idx >= 0) & (near_idx < semis.size), semis[np.clip(near_idx, 0, semis.size - 1)], np.nan)
        linear = np.interp(pos, np.arange(semis.size), semis)  # NaN next to an unvoiced frame
        track = np.where(np.isfinite(near), np.where(np.isfinite(linear), linear, near), np.nan)
        return track, sr / p["hop_length"], 1

    methods = {"pyin (reference)": pyin(), "pyin res 0.2": pyin(resolution=0.2),
               "pyin res 0.2, hop x2": pyin(resolution=0.2, hop_length=2 * p["hop_length"]),
               "librosa yin": yin}
    about = {"pyin (reference)": f"handcrafted.pitch_track itself: librosa.pyin, {p['fmin']:g}-{p['fmax']:g} Hz, "
                                 f"frame {p['frame_length']}, hop {p['hop_length']}, resolution {p['resolution']}",
             "pyin res 0.2": "handcrafted.pitch_track with resolution 0.2 semitones",
             "pyin res 0.2, hop x2": f"the same with hop {2 * p['hop_length']} (compared on every 2nd reference frame)",
             "librosa yin": f"librosa.yin, same range/frame/hop, trough_threshold 0.1; voiced = frame RMS within "
                            f"{YIN_RMS_DB:g} dB of the clip's loudest frame and zero-crossing rate < {YIN_MAX_ZCR:g}",
             "praat ac": f"parselmouth Sound.to_pitch_ac(time_step=hop/sr, pitch_floor={p['fmin']:g}, pitch_ceiling="
                         f"{p['fmax']:g}), Praat defaults otherwise (window 3/floor = {3000 / p['fmin']:.1f} ms); "
                         "linearly interpolated onto the reference frame centres, voicing from the nearest frame"}
    if parselmouth is not None:
        methods["praat ac"] = praat
    return methods, about


def clip_features(semitones: np.ndarray, frame_rate: float, p: dict) -> dict[str, float]:
    """Vibrato rate/extent and fall-down exactly as handcrafted.handcrafted derives them from a track."""
    min_frames = max(hc.MIN_SEGMENT_FRAMES, int(round(p["min_segment_seconds"] * frame_rate)))
    segments = hc.voiced_segments(semitones, min_frames)
    extent, rate = hc.vibrato(semitones, segments, frame_rate, p["vibrato_min_hz"], p["vibrato_max_hz"])
    fall = float("nan")
    if segments:
        fall = float(np.maximum(0.0, -hc.end_slopes(semitones, segments, frame_rate, p["tail_seconds"], rate)).mean())
    return {"vibrato_rate": rate, "vibrato_extent": extent, "fall_down": fall}


def agreement(refs: list[np.ndarray], tracks: list[np.ndarray], strides: list[int]) -> dict[str, float]:
    """Frame statistics pooled over clips, on the reference frames the method also has."""
    r = np.concatenate([ref[::s][:t.size] for ref, t, s in zip(refs, tracks, strides)])
    m = np.concatenate([t[:ref[::s].size] for ref, t, s in zip(refs, tracks, strides)])
    both = np.isfinite(r) & np.isfinite(m)
    cents = 100.0 * (m[both] - r[both])
    octaves = np.rint(cents / 1200.0)
    return {"frames": int(r.size), "both_voiced": int(both.sum()), "median_abs_cents": float(np.median(np.abs(cents))),
            "within_50c": float(np.mean(np.abs(cents) <= 50)), "gross_gt_1st": float(np.mean(np.abs(cents) > 100)),
            "octave_errors": float(np.mean((octaves != 0) & (np.abs(cents - 1200 * octaves) <= 100))),
            "voicing_agreement": float(np.mean(np.isfinite(r) == np.isfinite(m))),
            "voiced_fraction": float(np.mean(np.isfinite(m))), "ref_voiced_fraction": float(np.mean(np.isfinite(r)))}


def feature_agreement(ref: list[dict], other: list[dict]) -> dict[str, dict[str, float]]:
    """Pearson r across clips and median |difference| of each feature (clips where both are defined)."""
    out = {}
    for name in FEATURES:
        a, b = np.array([f[name] for f in ref]), np.array([f[name] for f in other])
        ok = np.isfinite(a) & np.isfinite(b)
        r = float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() >= 3 and a[ok].std() > 0 and b[ok].std() > 0 else None
        out[name] = {"r": r, "median_abs_diff": float(np.median(np.abs(a[ok] - b[ok]))) if ok.any() else None,
                     "clips": int(ok.sum()), "nan_mismatch": int(np.sum(np.isfinite(a) != np.isfinite(b)))}
    return out


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    installed = {d.metadata["Name"].lower() for d in metadata.distributions()}
    versions = {d: metadata.version(d) for d in ("numpy", "scipy", "librosa", "numba", "soundfile", "soxr",
                                                 "praat-parselmouth") if d in installed}
    if parselmouth is not None:
        versions["praat"] = parselmouth.PRAAT_VERSION
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": list(os.getloadavg()),
            "python": platform.python_version(), "versions": versions}


def measure(corpus: Path, n_clips: int, repeats: int) -> dict:
    params = params_mod.load(HERE.parent / "params.yaml", sections=["data", "handcrafted"])
    sr, p = params["data"]["sample_rate"], params["handcrafted"]
    hc.check_settings(sr, hc.Settings(**p))
    paths = pick_clips(corpus, n_clips)
    audio = [audio_io.load_mono(path, sr).astype(np.float32) for path in paths]  # as handcrafted() casts
    methods, about = trackers(sr, p)
    for run in methods.values():  # warm-up: numba compiles pYIN's Viterbi on the first call
        run(audio[0])
    times = {name: [[] for _ in audio] for name in methods}
    tracks: dict[str, list] = {name: [None] * len(audio) for name in methods}
    for _ in range(repeats):  # methods interleaved so load swings on the busy machine hit all of them
        for i, y in enumerate(audio):
            for name, run in methods.items():
                start = time.perf_counter()
                tracks[name][i] = run(y)
                times[name][i].append(time.perf_counter() - start)
    feats = {name: [clip_features(t, rate, p) for t, rate, _ in tracks[name]] for name in methods}
    ref_name = next(iter(methods))
    glue_ok = all(np.allclose(hc.handcrafted(y, sr, hc.Settings(**p))[[hc.HANDCRAFTED_NAMES.index(f) for f in FEATURES]],
                              [feats[ref_name][i][f] for f in FEATURES], rtol=1e-4, atol=1e-5, equal_nan=True)
                  for i, y in enumerate(audio[:3]))  # clip_features is handcrafted()'s own path
    ref_sec = float(np.median([np.median(t) for t in times[ref_name]]))
    results = {}
    for name in methods:
        sec = float(np.median([np.median(t) for t in times[name]]))
        rate = tracks[name][0][1]
        results[name] = {"about": about[name], "seconds_per_clip": sec, "speedup": ref_sec / sec,
                         "hop_length": int(round(sr / rate)), "tail_frames": max(3, round(p["tail_seconds"] * rate)),
                         "feature_medians": {k: float(np.nanmedian([f[k] for f in feats[name]])) for k in FEATURES},
                         "frames": agreement([t for t, _, _ in tracks[ref_name]], [t for t, _, _ in tracks[name]],
                                             [s for _, _, s in tracks[name]]),
                         "features": feature_agreement(feats[ref_name], feats[name]),
                         "per_clip": {"seconds": times[name], "features": feats[name]}}
    if parselmouth is None:
        results["praat ac"] = {"about": about["praat ac"], "not_measured": "not installable here"}
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": shlex.join([os.path.relpath(sys.executable), *sys.argv]), "machine": machine(),
            "sample_rate": sr, "handcrafted_params": p, "repeats": repeats, "corpus": str(corpus),
            "clips": [path.stem for path in paths], "clip_seconds": [y.size / sr for y in audio],
            "feature_glue_matches_handcrafted": glue_ok, "reference": ref_name, "methods": results}


def finite(obj: object) -> object:
    """``obj`` with NaN/inf floats as None, so the JSON stays standard."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [finite(v) for v in obj]
    return None if isinstance(obj, float) and not np.isfinite(obj) else obj


def fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, spec)


def render(res: dict) -> str:
    m, ref = res["machine"], res["reference"]
    measured = {k: v for k, v in res["methods"].items() if "not_measured" not in v}
    lines = ["# Pitch trackers vs pYIN on sung clips", "",
             "Generated by `benchmarks/pitch_trackers.py` from `pitch_trackers.json`; do not edit by hand.", "",
             f"- date {res['date']}; command `{res['command']}`",
             f"- {m['cpu']}, {m['cores']} cores (load average {m['load_average'][0]:.1f} at start: timings are on a "
             "busy machine, so ratios mean more than absolute seconds); "
             + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
             f"- {len(res['clips'])} RAVDESS song clips (clip i: actor i mod 23, shuffled, emotion-intensity i mod 11, "
             f"statement/repetition drawn, seed 0), {np.mean(res['clip_seconds']):.1f} s on average, decoded by "
             f"`audio_io.load_mono` at {res['sample_rate']} Hz; {res['repeats']} repeats; timed: the track call only "
             "(with yin's voicing gate and Praat's regridding)", "",
             "| method | what | s/clip | speed-up | frames compared |", "|---|---|---:|---:|---:|"]
    for name, r in res["methods"].items():
        if "not_measured" in r:
            lines.append(f"| {name} | {r['about']} | not measured: {r['not_measured']} | | |")
        else:
            lines.append(f"| {name} | {r['about']} | {r['seconds_per_clip']:.3f} | {r['speedup']:.1f}x | "
                         f"{r['frames']['frames']} |")
    lines += ["", "Agreement with the reference. Pitch columns: frames both call voiced, pooled over clips "
              "(octave = within 1 semitone of a whole number of octaves off). Features: as handcrafted.py computes "
              "them from each track; Pearson r across clips / median |difference|.", "",
              "| method | median abs. cents | within 50 c | > 1 st | octave | voicing agree | voiced (ref) "
              "| vibrato rate r / Hz | vibrato extent r / st | fall-down r / st/s |", "|---|" + "---:|" * 9]
    for name, r in measured.items():
        f, fe = r["frames"], r["features"]
        cells = [f"{fmt(fe[k]['r'], '.3f')} / {fmt(fe[k]['median_abs_diff'], '.3f')}" for k in FEATURES]
        lines.append(f"| {name} | {f['median_abs_cents']:.1f} | {f['within_50c']:.1%} | {f['gross_gt_1st']:.1%} | "
                     f"{f['octave_errors']:.1%} | {f['voicing_agreement']:.1%} | {f['voiced_fraction']:.1%} "
                     f"({f['ref_voiced_fraction']:.1%}) | " + " | ".join(cells) + " |")
    misses = {n: [f"{label} {value:{spec}}" for label, value, low, spec in (
        ("within 50 c", r["frames"]["within_50c"], MIN_WITHIN_50, ".1%"),
        ("voicing agreement", r["frames"]["voicing_agreement"], MIN_VOICING, ".1%"),
        ("vibrato-rate r", r["features"]["vibrato_rate"]["r"] or 0.0, MIN_R, ".2f")) if value < low]
        for n, r in measured.items() if n != ref}
    ok = [n for n, miss in misses.items() if not miss]
    rule = (f"at least {MIN_WITHIN_50:.0%} of both-voiced frames within 50 cents, voicing agreement at least "
            f"{MIN_VOICING:.0%} and vibrato-rate r at least {MIN_R}")
    lines += ["", "## Recommendation", ""]
    if ok:
        best = max(ok, key=lambda n: measured[n]["speedup"])
        weak = [k.replace("_", " ") for k in FEATURES if (measured[best]["features"][k]["r"] or 0) < MIN_R]
        lines.append(f"Of the methods with {rule}, **{best}** is the fastest: {measured[best]['seconds_per_clip']:.3f} "
                     f"s per clip, {measured[best]['speedup']:.1f}x the reference. "
                     + (f"Its r for {' and '.join(weak)} is below {MIN_R}: check those features before switching."
                        if weak else f"Its vibrato extent and fall-down r are also at least {MIN_R}."))
        free = [n for n in ok if n != "praat ac"]
        if best == "praat ac" and free:
            alt = max(free, key=lambda n: measured[n]["speedup"])
            lines.append(f"Praat is GPL-3.0 (optional extra only); the fastest passing method without it is **{alt}** "
                         f"({measured[alt]['seconds_per_clip']:.3f} s per clip, {measured[alt]['speedup']:.1f}x).")
    else:
        lines.append(f"No alternative meets {rule}; keep the reference pYIN.")
    if len(ok) < len(misses):
        lines.append("Not meeting it: " + "; ".join(f"{n} ({', '.join(m)})" for n, m in misses.items() if m) + ".")
    med = {k: fmt(v, ".2f") for k, v in res["methods"][ref]["feature_medians"].items()}
    rates, hp = res["methods"][ref]["per_clip"]["features"], res["handcrafted_params"]
    lo, hi = hp["vibrato_min_hz"], hp["vibrato_max_hz"]
    tails = sorted({(r["tail_frames"], r["hop_length"]) for r in measured.values()}, reverse=True)
    lines += ["", f"With {len(res['clips'])} clips the r values are rough; read them with the median differences. "
              f"Reference medians across clips: vibrato rate {med['vibrato_rate']} Hz, extent "
              f"{med['vibrato_extent']} st, fall-down {med['fall_down']} st/s. Fall-down fits a line plus a "
              "sinusoid at the vibrato rate (4 parameters) to the last frames of each voiced segment: "
              + ", ".join(f"{k} frames at hop {h}" for k, h in tails) + ".",
              f"{sum(not lo <= (x['vibrato_rate'] or lo) <= hi for x in rates)} of {len(rates)} reference clips have a "
              f"vibrato rate outside the {lo:g}-{hi:g} Hz band it is searched in (a spectrum peak on the band edge, "
              "extrapolated by handcrafted.vibrato's parabolic interpolation); such rates move a lot between trackers.",
              f"The feature code path was checked against `handcrafted.handcrafted` on 3 clips: "
              f"{'identical' if res['feature_glue_matches_handcrafted'] else 'MISMATCH'}.", "",
              "Licence: praat-parselmouth (and Praat inside it) is GPL-3.0; the project could use it only as an "
              "optional extra, never a core dependency.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"), help="RAVDESS song folder (Actor_XX/)")
    parser.add_argument("--clips", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--render", action="store_true", help="only rewrite the markdown from the JSON")
    args = parser.parse_args()
    if not args.render:
        result = finite(measure(args.corpus, args.clips, args.repeats))
        OUT_JSON.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    OUT_MD.write_text(render(json.loads(OUT_JSON.read_text())))
    print(OUT_MD.read_text())


if __name__ == "__main__":
    main()
