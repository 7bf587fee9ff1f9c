#!/usr/bin/env python
"""Benchmark the data stages against the seed's in-memory preprocessing (project issue 6).

On a fixed subset of the RAVDESS song corpus (``--actors``), this

1. builds a throwaway copy of the pipeline (dvc.yaml, params.yaml, stages/, singaffect/)
   in ``benchmarks/work/<run>/`` with its own copy of the chosen clips, ``git init`` and
   ``dvc init``;
2. runs each stage script directly (its ``cmd`` from dvc.yaml, so DVC's hashing is not in the
   stage numbers): wall time, clips/s, peak RSS of the whole process tree (joblib/loky
   workers included), output size; then one full ``dvc repro`` and one no-op ``dvc repro``;
3. runs ``seed_baseline.py`` (the seed's one-process, lists-in-memory approach) on the same
   clips, measured the same way;
4. writes a Markdown section (one per actors/copies/n_jobs combination) to
   ``benchmarks/RESULTS.md`` and the raw numbers to ``benchmarks/work/<run>.json``.

See benchmarks/README.md for the columns and the commands of the reference runs.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import yaml

from singaffect import corpus

from harness import REPO, Measurement, check, machine, measure, path_bytes
from report import mib, render, write_section

DATA_STAGES = ("raw", "augment", "pad", "mel", "split")
PIPELINE_FILES = ("dvc.yaml", "params.yaml", ".dvcignore")
PIPELINE_DIRS = ("stages", "singaffect")


def stage_outputs(dvc_yaml: Path) -> dict[str, list[str]]:
    """Every path each stage writes (outs, metrics, plots), as dvc.yaml declares them."""
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
    outputs = {}
    for name, spec in stages.items():
        paths = []
        for field in ("outs", "metrics", "plots"):
            for entry in spec.get(field, []):
                paths.extend(entry if isinstance(entry, dict) else [entry])
        outputs[name] = paths
    return outputs


def stage_command(dvc_yaml: Path, name: str) -> list[str]:
    """Stage ``name``'s cmd from dvc.yaml (its paths come from there), run by this interpreter."""
    words = yaml.safe_load(dvc_yaml.read_text())["stages"][name]["cmd"].split()
    return [sys.executable, *words[1:]] if words[0] == "python" else words


def select_clips(root: Path, actors: str) -> list[corpus.Clip]:
    """The RAVDESS clips of ``actors`` ('all' or a comma list of actor numbers)."""
    clips = corpus.list_ravdess(root)
    if actors == "all":
        return clips
    wanted = {int(a) for a in actors.split(",") if a.strip()}
    chosen = [c for c in clips if int(c.speaker) in wanted]
    missing = wanted - {int(c.speaker) for c in chosen}
    if missing:
        sys.exit(f"benchmark: no clips of actor(s) {sorted(missing)} under {root} (actor 18 sang nothing)")
    return chosen


def build_repo(run_dir: Path, corpus_root: Path, clips: list[corpus.Clip], overrides: dict[str, dict],
               link: str, env: dict[str, str]) -> list[Path]:
    """A fresh git+DVC repo holding the pipeline and the chosen clips; returns the clip paths."""
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    for name in PIPELINE_FILES:
        if (REPO / name).exists():
            shutil.copy2(REPO / name, run_dir / name)
    for name in PIPELINE_DIRS:
        shutil.copytree(REPO / name, run_dir / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    params = yaml.safe_load((run_dir / "params.yaml").read_text())
    for section, values in overrides.items():
        params[section].update(values)
    (run_dir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    clip_root = run_dir / params["data"]["root"]
    paths = []
    for clip in clips:
        target = clip_root / clip.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if link == "symlink":
            target.symlink_to((corpus_root / clip.path).resolve())
        else:
            shutil.copy2(corpus_root / clip.path, target)
        paths.append(target)
    (run_dir / ".gitignore").write_text(f"/{params['data']['root']}/\n/logs/\n/seed_*\n")
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@singaffect.invalid"]
    for cmd in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"],
                [sys.executable, "-m", "dvc", "config", "core.analytics", "false"],
                ["git", "add", "-A"], [*git, "commit", "-q", "-m", "benchmark copy of the pipeline"]):
        # dvclive (train) needs a commit to exist
        subprocess.run(cmd, cwd=run_dir, env=env, check=True, stdout=subprocess.DEVNULL)
    return paths


def remove_outputs(run_dir: Path, outputs: dict[str, list[str]]) -> None:
    """Delete what the direct stage runs wrote, so the full ``dvc repro`` really runs every stage."""
    for paths in outputs.values():
        for rel in paths:
            path = run_dir / rel
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=REPO / "data" / "corpus",
                        help="RAVDESS song folder (default: data/corpus; here ../shared/data/ravdess-song)")
    parser.add_argument("--actors", default="1,2,3,4", help="comma list of actor numbers, or 'all' (default 1,2,3,4)")
    parser.add_argument("--copies", type=int, help="override augment.copies (also used by the seed baseline)")
    parser.add_argument("--n-jobs", type=int, help="override compute.n_jobs")
    parser.add_argument("--all-stages", action="store_true",
                        help="run every stage of dvc.yaml (CNN and feature branch), not only the data stages")
    parser.add_argument("--no-dvc", action="store_true", help="skip the full and no-op dvc repro")
    parser.add_argument("--no-seed", action="store_true", help="skip the seed baseline")
    parser.add_argument("--link", choices=("copy", "symlink"), default="copy",
                        help="how the chosen clips enter the work repo (default copy)")
    parser.add_argument("--work", type=Path, default=REPO / "benchmarks" / "work", help="work folder (git-ignored)")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "RESULTS.md")
    parser.add_argument("--tag", default="", help="added to the section's key, so runs of one combination "
                        "(e.g. before and after a change) keep separate sections")
    parser.add_argument("--note", default="", help="a line shown in bold at the top of the section")
    parser.add_argument("--interval", type=float, default=0.1, help="RSS polling interval in seconds")
    parser.add_argument("--keep-work", action="store_true", help="keep the work repo (outputs, DVC cache) afterwards")
    parser.add_argument("--repeats", type=int, default=1,
                        help="run each stage script this many times in a row and report the run of median wall time "
                             "(every run's wall time is kept); the dvc and seed runs stay single")
    parser.add_argument("--runs", type=Path, default=REPO / "benchmarks" / "runs",
                        help="where each run's raw numbers go as JSON (committed: RESULTS.md is generated from them)")
    parser.add_argument("--render", type=Path, metavar="JSON",
                        help="measure nothing: rewrite the RESULTS.md section of this run JSON (after a format change)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    return args


def median_run(runs: list[Measurement]) -> tuple[Measurement, list[float], list[float]]:
    """The measurement of median wall time among ``runs`` (the lower middle one of an even count),
    with every run's wall and CPU seconds attached, so the table's figures come from one real run."""
    ordered = sorted(runs, key=lambda m: m.wall_s)
    chosen = ordered[(len(ordered) - 1) // 2]
    return chosen, [m.wall_s for m in runs], [m.cpu_s for m in runs]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.render is not None:
        report = json.loads(args.render.read_text())
        write_section(args.results, report["key"], render(report))
        print(f"benchmark: section '{report['key']}' rewritten in {args.results} from {args.render}")
        return
    corpus_root = args.corpus.resolve()
    args.work, args.results = args.work.resolve(), args.results.resolve()
    if not corpus_root.is_dir():
        sys.exit(f"benchmark: corpus folder {corpus_root} does not exist; pass --corpus "
                 "(e.g. ../shared/data/ravdess-song) or fill data/corpus with scripts/get_corpus.sh")
    clips = select_clips(corpus_root, args.actors)
    base = yaml.safe_load((REPO / "params.yaml").read_text())
    copies = base["augment"]["copies"] if args.copies is None else args.copies
    n_jobs = base["compute"]["n_jobs"] if args.n_jobs is None else args.n_jobs
    actors = "all actors" if args.actors == "all" else f"actors {args.actors}"
    key = (f"actors={args.actors} copies={copies} n_jobs={n_jobs}" + (" all-stages" if args.all_stages else "")
           + (f" tag={args.tag}" if args.tag else ""))
    slug = key.replace("=", "").replace(",", "-").replace(" ", "_")
    run_dir = args.work / slug
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
           "DVC_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"}
    overrides = {"data": {"corpus": "ravdess", "root": "data/corpus"},
                 "augment": {"copies": copies}, "compute": {"n_jobs": n_jobs}}
    load_start = os.getloadavg()
    print(f"benchmark: {len(clips)} clips ({actors}), copies={copies}, n_jobs={n_jobs} -> {run_dir}", flush=True)
    paths = build_repo(run_dir, corpus_root, clips, overrides, args.link, env)
    outputs = stage_outputs(run_dir / "dvc.yaml")
    logs = run_dir / "logs"

    stages = []
    for name in (list(outputs) if args.all_stages else DATA_STAGES):  # dvc.yaml lists stages in run order
        runs = []
        for _ in range(args.repeats):  # a rerun rewrites the same outputs (every stage writes atomically)
            m = measure(name, stage_command(run_dir / "dvc.yaml", name), run_dir, env, logs / f"{name}.log",
                        args.interval)
            check(m, logs / f"{name}.log")
            m.output_bytes = sum(path_bytes(run_dir / p) for p in outputs[name])
            print(f"  {name:9s} {m.wall_s:8.2f} s  peak {mib(m.peak_rss_bytes):>8s} MiB", flush=True)
            runs.append(m)
        chosen, walls, cpus = median_run(runs)
        stages.append({**asdict(chosen), "wall_runs_s": walls, "cpu_runs_s": cpus})

    dvc_runs, dvc_cache_bytes = [], 0
    targets = [] if args.all_stages else ["mel", "split"]
    dvc_cmd = [sys.executable, "-m", "dvc", "repro", *targets]
    if not args.no_dvc:
        remove_outputs(run_dir, outputs)
        for name in ("dvc repro (full)", "dvc repro (no-op)"):
            log = logs / (name.replace(" ", "_").replace("(", "").replace(")", "") + ".log")
            m = measure(name, dvc_cmd, run_dir, env, log, args.interval)
            check(m, log)
            if name.endswith("(full)"):
                m.output_bytes = sum(path_bytes(run_dir / p) for s in outputs for p in outputs[s]
                                     if s in DATA_STAGES or args.all_stages)
                dvc_cache_bytes = path_bytes(run_dir / ".dvc" / "cache")
            print(f"  {name:9s} {m.wall_s:8.2f} s  peak {mib(m.peak_rss_bytes):>8s} MiB", flush=True)
            dvc_runs.append(m)

    seed = None
    if not args.no_seed:
        file_list, seed_json = run_dir / "seed_files.txt", run_dir / "seed_report.json"
        file_list.write_text("".join(f"{p}\n" for p in paths))
        cmd = [sys.executable, str(REPO / "benchmarks" / "seed_baseline.py"), str(file_list), str(seed_json),
               "--copies", str(copies)]
        m = measure("seed", cmd, run_dir, env, logs / "seed.log", args.interval)
        check(m, logs / "seed.log")
        seed = {**json.loads(seed_json.read_text()), "measurement": asdict(m)}
        print(f"  {'seed':9s} {m.wall_s:8.2f} s  peak {mib(m.peak_rss_bytes):>8s} MiB", flush=True)

    report = {
        "key": key, "title": f"{actors} ({len(clips)} clips), augment.copies={copies}, n_jobs={n_jobs}"
                             + (", every stage of dvc.yaml" if args.all_stages else ""),
        "note": args.note,
        "command": shlex.join(["python", "benchmarks/bench_stages.py", *(sys.argv[1:] if argv is None else argv)]),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
        "machine": machine(), "loadavg": {"start": load_start, "end": os.getloadavg()},
        "actors": actors, "clips": len(clips), "rows": len(clips) * (copies + 1), "copies": copies,
        "n_jobs": n_jobs, "chunk_size": base["compute"]["chunk_size"],
        "link": {"copy": "copied", "symlink": "symlinked"}[args.link],
        "repeats": args.repeats, "stages": stages, "dvc": [asdict(m) for m in dvc_runs],
        "dvc_command": shlex.join(["dvc", "repro", *targets]), "dvc_cache_bytes": dvc_cache_bytes, "seed": seed,
    }
    args.runs.mkdir(parents=True, exist_ok=True)
    (args.runs / f"{slug}.json").write_text(json.dumps(report, indent=2) + "\n")
    write_section(args.results, key, render(report))
    if not args.keep_work:
        shutil.rmtree(run_dir)
    print(f"benchmark: section '{key}' written to {args.results}; raw numbers in {args.runs / (slug + '.json')}")


if __name__ == "__main__":
    main()
