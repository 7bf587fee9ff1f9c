"""benchmarks/report.py: RESULTS.md sections are generated from a run's JSON (here a made-up run)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import report  # noqa: E402


def measurement(name: str, wall: float) -> dict:
    return {"name": name, "wall_s": wall, "cpu_s": 2 * wall, "peak_rss_bytes": 100 * report.MIB,
            "output_bytes": report.MIB, "max_processes": 3, "wall_runs_s": [wall, wall + 1.0, wall - 0.5]}


def made_up_run() -> dict:
    stages = [measurement(name, wall) for name, wall in
              (("raw", 2.0), ("augment", 40.0), ("pad", 4.0), ("mel", 8.0), ("split", 0.5))]
    seed = {"timers_s": {"load": 1.0, "augment": 80.0, "pad": 0.5, "mel": 16.0, "stack": 0.2},
            "held_bytes": {"raw": 1, "augmented": 2, "padded": 3, "mel": 4, "stacked": 4},
            "measurement": {**measurement("seed", 100.0), "cpu_s": 150.0}}
    return {"key": "actors=1 copies=1 n_jobs=2 tag=t", "title": "made up", "note": "", "command": "python x",
            "date": "2026-01-01 00:00", "loadavg": {"start": [0, 0, 0], "end": [0, 0, 0]},
            "machine": {"commit": "abc", "cpu_model": "CPU", "logical_cores": 2, "usable_cores": 2,
                        "ram_bytes": 2 ** 30, "kernel": "k", "python": "3", "versions": {"numpy": "2"}},
            "actors": "actor 1", "clips": 100, "rows": 800, "copies": 7, "n_jobs": 2, "chunk_size": 32,
            "link": "copied", "repeats": 3, "stages": stages, "dvc": [], "dvc_command": "dvc repro",
            "dvc_cache_bytes": 0, "seed": seed}


def test_stage_by_phase_table_divides_our_stage_by_the_seeds_phase() -> None:
    text = report.render(made_up_run())
    assert "| mel (mel) | 8.00 | 16.00 | 0.50 | 10.00 | 20.00 |" in text  # 8 s / 800 rows = 10 ms per row
    assert "| raw (load) | 2.00 | 1.00 | 2.00 | 20.00 | 10.00 |" in text  # raw: per clip
    assert "| mel | 8.00 | 16.00 |" in text and "8.0, 9.0, 7.5" in text  # median run, every run's seconds


def test_write_section_replaces_its_own_section_only(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    report.write_section(results, "a", "first\n")
    report.write_section(results, "b", "other\n")
    report.write_section(results, "a", "second\n")
    text = results.read_text()
    assert "second" in text and "first" not in text and "other" in text
    assert text.index("<!-- bench:a -->") < text.index("<!-- bench:b -->")
    assert "<!-- /bench:a -->\n\n<!-- bench:b -->" in text  # replacing keeps the blank line between sections
