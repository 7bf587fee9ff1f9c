"""Measuring one command's process tree, kept apart from what the benchmarks run.

``measure`` runs a command and polls the resident memory and CPU time of the command and of
every process it starts (joblib/loky workers included); ``machine`` describes the machine for
the results header. bench_stages.py decides what to measure; this module only measures.
"""
from __future__ import annotations

import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]  # the project: machine() reports its commit, bench_stages copies it


@dataclass
class Measurement:
    """One measured command: wall time, peak memory of its process tree, what it wrote."""

    name: str
    command: str
    wall_s: float
    cpu_s: float                 # user + system time of the whole tree: max of the next two
    cpu_reaped_s: float          # wait4: the process and the children it reaped
    cpu_sampled_s: float         # sum over every process the poller saw, at its last sample
    peak_rss_bytes: int          # max(sampled sum over the tree, largest single process high-water mark)
    peak_tree_sample_bytes: int  # largest sum of RSS over the tree seen by the poller
    peak_single_bytes: int       # ru_maxrss from wait4: largest single process of the tree (exact)
    max_processes: int
    output_bytes: int | None = None  # bytes of the declared outputs, None where it does not apply
    returncode: int = 0


def sample_tree(root: psutil.Process, cpu: dict[tuple[int, float], float]) -> tuple[int, int]:
    """Sum of RSS over ``root`` and all its descendants, and how many processes that was.

    Also records each process's CPU time so far in ``cpu`` (keyed by pid and start time), so
    workers that exit without being reaped by the stage still count.
    """
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0, 0
    total = count = 0
    for proc in procs:
        try:
            with proc.oneshot():
                total += proc.memory_info().rss
                times = proc.cpu_times()
                cpu[(proc.pid, proc.create_time())] = times.user + times.system
            count += 1
        except psutil.Error:  # exited between listing and reading, or a zombie
            pass
    return total, count


def measure(name: str, cmd: list[str], cwd: Path, env: dict[str, str], log: Path,
            interval: float) -> Measurement:
    """Run ``cmd`` and poll the RSS of its process tree every ``interval`` seconds until it exits."""
    log.parent.mkdir(parents=True, exist_ok=True)
    cpu: dict[tuple[int, float], float] = {}
    with log.open("w") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        root = psutil.Process(proc.pid)
        peak_sum = peak_count = 0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            total, count = sample_tree(root, cpu)
            peak_sum, peak_count = max(peak_sum, total), max(peak_count, count)
            time.sleep(interval)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    single = usage.ru_maxrss * 1024  # KiB on Linux
    # wait4 counts the process and the children it reaped; the samples catch workers it did not reap
    reaped, sampled = usage.ru_utime + usage.ru_stime, sum(cpu.values())
    return Measurement(name=name, command=shlex.join(cmd), wall_s=wall, cpu_s=max(reaped, sampled),
                       cpu_reaped_s=reaped, cpu_sampled_s=sampled,
                       peak_rss_bytes=max(peak_sum, single),
                       peak_tree_sample_bytes=peak_sum, peak_single_bytes=single, max_processes=peak_count,
                       returncode=proc.returncode)


def check(m: Measurement, log: Path) -> None:
    """Stop the benchmark, showing the log tail, when a measured command failed."""
    if m.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        sys.exit(f"benchmark: '{m.command}' exited {m.returncode}; last lines of {log}:\n{tail}")


def path_bytes(path: Path) -> int:
    """Size of a file, or of every file under a folder (0 when missing)."""
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return 0


def machine() -> dict[str, Any]:
    """Cores, CPU model, RAM and software versions, for the results header."""
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "unknown")
    versions = {}
    for package in ("dvc", "numpy", "librosa", "audiomentations", "joblib", "h5py", "psutil"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "?"
    try:
        commit = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"], check=True,
                                capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    return {"cpu_model": model, "logical_cores": os.cpu_count(), "usable_cores": len(os.sched_getaffinity(0)),
            "ram_bytes": psutil.virtual_memory().total, "python": platform.python_version(),
            "kernel": platform.release(), "versions": versions, "commit": commit}
