"""Rendering one benchmark run as a Markdown section and writing it into benchmarks/RESULTS.md.

Kept apart from the measuring (harness.py) and the running (bench_stages.py) so the format of
RESULTS.md, its tables and its per-combination sections, lives in one place.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

SEED_PHASES = ("load", "augment", "pad", "mel", "stack")
SEED_PHASE_OF = {"raw": "load", "augment": "augment", "pad": "pad", "mel": "mel"}  # our data stages -> the seed's phases
FEATURE_BRANCH = ("functionals", "handcrafted", "functionals_model", "handcrafted_model")  # from raw, beside the CNN
MIB = 1024 * 1024


def mib(n: float | None) -> str:
    return "-" if n is None else f"{n / MIB:.1f}"


def rate(clips: int, seconds: float) -> str:
    return f"{clips / seconds:.2f}" if seconds > 0 else "-"


def row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def total_row(label: str, measures: list[dict[str, Any]], clips: int) -> str:
    """One bold row summing ``measures`` run one after another: wall, CPU and output add up, peak RSS is the max."""
    wall = sum(m["wall_s"] for m in measures)
    return row(f"**{label}**", f"**{wall:.2f}**", f"{sum(m['cpu_s'] for m in measures):.2f}", rate(clips, wall),
               f"**{mib(max(m['peak_rss_bytes'] for m in measures))}**",
               mib(sum(m["output_bytes"] for m in measures)), "")


def render(report: dict[str, Any]) -> str:
    """The Markdown body of one results section."""
    n = report["clips"]
    mach = report["machine"]
    lines = [f"## {report['title']}", ""]
    if report["note"]:
        lines += [f"> **{report['note']}**", ""]
    load = report["loadavg"]
    lines += [
        f"- command: `{report['command']}`",
        f"- date (UTC): {report['date']}; repo commit {mach['commit']}",
        f"- machine: {mach['cpu_model']}, {mach['logical_cores']} logical cores ({mach['usable_cores']} usable), "
        f"{mach['ram_bytes'] / 1024 ** 3:.1f} GiB RAM; Linux {mach['kernel']}; Python {mach['python']}",
        "- load average (1/5/15 min) at start " + "/".join(f"{x:.2f}" for x in load["start"]) +
        ", at end " + "/".join(f"{x:.2f}" for x in load["end"]),
        "- versions: " + ", ".join(f"{k} {v}" for k, v in mach["versions"].items()),
        f"- clips: {n} source clips ({report['actors']}), {report['rows']} rows after augmentation "
        f"(augment.copies={report['copies']}), compute.n_jobs={report['n_jobs']}, "
        f"compute.chunk_size={report['chunk_size']}, corpus files {report['link']}",
        "",
        "### Our pipeline, stage scripts run directly (`python -m stages.X`)",
        "",
    ]
    repeats = report.get("repeats", 1)
    if repeats > 1:
        lines += [f"Each stage ran {repeats} times in a row; a row shows its run of median wall time (totals "
                  "add those medians) and the last column every run's wall seconds.", ""]
    extra = ("wall s of each run",) if repeats > 1 else ()
    lines += [row("stage", "wall s" + (" (median)" if repeats > 1 else ""), "CPU s", "clips/s", "peak RSS MiB",
                  "output MiB", "processes", *extra),
              row("---", "---:", "---:", "---:", "---:", "---:", "---:", *("---",) * len(extra))]
    stages = {m["name"]: m for m in report["stages"]}
    for m in report["stages"]:
        runs = (", ".join(f"{w:.1f}" for w in m["wall_runs_s"]),) if repeats > 1 else ()
        lines.append(row(m["name"], f"{m['wall_s']:.2f}", f"{m['cpu_s']:.2f}", rate(n, m["wall_s"]),
                         mib(m["peak_rss_bytes"]), mib(m["output_bytes"]), m["max_processes"], *runs))
    data = [stages[s] for s in SEED_PHASE_OF]
    ours_wall = sum(m["wall_s"] for m in data)
    ours_peak = max(m["peak_rss_bytes"] for m in data)
    ours_cpu = sum(m["cpu_s"] for m in data)
    lines.append(total_row("raw → mel", data, n))
    if set(stages) - {*SEED_PHASE_OF, "split"}:  # --all-stages: the whole pipeline, one after another
        lines.append(total_row("every stage", report["stages"], n))
        branch = [stages[s] for s in FEATURE_BRANCH if s in stages]
        if branch:
            lines.append(total_row("feature branch (" + ", ".join(m["name"] for m in branch) + ")", branch, n))
    if report["dvc"]:
        lines += ["", "### Through DVC (`" + report["dvc_command"] + "`, end to end)", "",
                  row("run", "wall s", "CPU s", "clips/s", "peak RSS MiB", "output MiB", "processes"),
                  row("---", "---:", "---:", "---:", "---:", "---:", "---:")]
        for m in report["dvc"]:
            lines.append(row(m["name"], f"{m['wall_s']:.2f}", f"{m['cpu_s']:.2f}", rate(n, m["wall_s"]),
                             mib(m["peak_rss_bytes"]), mib(m["output_bytes"]), m["max_processes"]))
        direct = sum(m["wall_s"] for m in report["stages"])
        lines += ["", f"DVC's own share of the full run (hashing, caching, lock file): "
                      f"{report['dvc'][0]['wall_s'] - direct:.2f} s over the {direct:.2f} s of the stage scripts; "
                      f"the DVC cache then holds {mib(report['dvc_cache_bytes'])} MiB."]
    seed = report["seed"]
    if seed:
        held = seed["held_bytes"]
        lines += ["", "### Seed's approach (`benchmarks/seed_baseline.py`: one process, lists in memory)", "",
                  row("phase", "wall s", "CPU s", "clips/s", "peak RSS MiB", "held in memory MiB", "processes"),
                  row("---", "---:", "---:", "---:", "---:", "---:", "---:")]
        phase_held = {"load": held["raw"], "augment": held["augmented"], "pad": held["padded"],
                      "mel": held["mel"], "stack": held["stacked"]}
        for phase in SEED_PHASES:
            seconds = seed["timers_s"][phase]
            lines.append(row(phase, f"{seconds:.2f}", "", rate(n, seconds), "", mib(phase_held[phase]), ""))
        m = seed["measurement"]
        startup = m["wall_s"] - sum(seed["timers_s"].values())
        lines.append(row("interpreter start + imports", f"{startup:.2f}", "", "", "", "", ""))
        lines.append(row("**total** (process)", f"**{m['wall_s']:.2f}**", f"{m['cpu_s']:.2f}", rate(n, m["wall_s"]),
                         f"**{mib(m['peak_rss_bytes'])}**", mib(sum(held.values())), m["max_processes"]))
        lines += ["", "### Ours / seed's, data stages (raw → mel)", "",
                  row("", "ours", "seed's", "ours / seed's"), row("---", "---:", "---:", "---:"),
                  row("wall s", f"{ours_wall:.2f}", f"{m['wall_s']:.2f}", f"{ours_wall / m['wall_s']:.2f}"),
                  row("CPU s", f"{ours_cpu:.2f}", f"{m['cpu_s']:.2f}", f"{ours_cpu / m['cpu_s']:.2f}"),
                  row("peak RSS MiB", mib(ours_peak), mib(m["peak_rss_bytes"]),
                      f"{ours_peak / m['peak_rss_bytes']:.2f}")]
        rows_done = report["rows"]
        lines += ["", "### Ours / seed's, stage by phase (wall)", "",
                  "Each of our stage scripts (its own process: imports, workers, HDF5 in and out) beside the "
                  "seed's phase doing the same work in its one process. Per row: wall seconds over the "
                  f"{rows_done} rows (raw: over the {n} clips).", "",
                  row("stage (seed's phase)", "ours wall s", "seed's wall s", "ours / seed's", "ours ms per row",
                      "seed's ms per row"),
                  row("---", "---:", "---:", "---:", "---:", "---:")]
        for stage, phase in SEED_PHASE_OF.items():
            ours, theirs = stages[stage]["wall_s"], seed["timers_s"][phase]
            per = n if stage == "raw" else rows_done
            lines.append(row(f"{stage} ({phase})", f"{ours:.2f}", f"{theirs:.2f}",
                             f"{ours / theirs:.2f}" if theirs > 0 else "-",
                             f"{ours * 1000 / per:.2f}", f"{theirs * 1000 / per:.2f}"))
    return "\n".join(lines) + "\n"


RESULTS_HEADER = """# Benchmark results

Written by `benchmarks/bench_stages.py`, one section per (actors, augment.copies, compute.n_jobs)
combination; rerunning a combination replaces its section. Columns: see `benchmarks/README.md`.
"""


def write_section(results: Path, key: str, body: str) -> None:
    """Replace the section of ``key`` in ``results`` (or append it)."""
    start, end = f"<!-- bench:{key} -->", f"<!-- /bench:{key} -->"
    text = results.read_text() if results.exists() else RESULTS_HEADER
    block = f"{start}\n{body}{end}\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")  # one blank line before the next section
    else:
        text = text.rstrip("\n") + "\n\n" + block
    results.write_text(text)
