"""The results registry (``results/*.json``), its integrity checks and the README table made from it.

Each row is one committed JSON file, ``{"label": ..., "runs": [...]}``: the system's label
and one or more runs (training seeds, say). A run is
``{"commit", "command", "source", "metrics"}``: the exact command that produced it
(``dvc repro`` or ``dvc exp run -S ...``), the git commit holding its outputs, the path
of the metrics file in that commit (``metrics/eval.json``, ``functionals_model.json``,
``handcrafted_model.json``, ...) and a copy of that file. ``verify`` checks that every cited commit
is in the history of ``HEAD`` and still holds exactly those metrics; ``rerun`` runs one
run's command again in a temporary git worktree and compares. Paired comparisons of two
rows (``compare``) are stored under ``results/comparisons/``. The README table between
``<!-- results:start -->`` and ``<!-- results:end -->`` is generated from the registry
only, so every number in it can be traced to a command and a commit.

Files of the older single-run layout (``{"label", "command", "source", "commit",
"metrics"}``) are read as one-run rows; ``record`` writes the new layout.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from singaffect.errors import SingaffectError

START, END = "<!-- results:start -->", "<!-- results:end -->"
COLUMNS = ("system", "task", "protocol (strategy)", "leaky", "n_test", "headline (95 % CI)",
           "over seeds: mean ± sd", "floor", "command", "commit")
REQUIRED = ("task", "protocol", "leaky", "n_test", "headline")
RUN_KEYS = ("commit", "command", "source", "metrics")
COMPARISONS = "comparisons"
MIN_RUNS_FOR_CLAIM = 3
"""A README sentence says "A beats B" only when each side of the comparison averages at least this many runs."""
SAME_ACROSS_RUNS = ("task", "strategy", "leaky")
EXPERIMENT_PREFIXES = (("dvc", "exp", "run"), ("dvc", "experiments", "run"))


class ResultsError(SingaffectError, ValueError):
    """A metrics or registry file is unusable, a git or dvc step failed, or the README lacks the markers."""


def slug(label: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    if not text:
        raise ResultsError(f"label {label!r} has no letters or digits to name its results file")
    return text


MAX_FILE_NAME = 255  # bytes, the limit of most file systems


def comparison_file_name(label_a: str, label_b: str) -> str:
    """``<a>__vs__<b>.json``; where two long labels would pass the file-name limit, each slug is cut
    and a hash of both labels keeps the name unique."""
    name = f"{slug(label_a)}__vs__{slug(label_b)}.json"
    if len(name.encode()) <= MAX_FILE_NAME:
        return name
    digest = hashlib.sha256(f"{label_a}\n{label_b}".encode()).hexdigest()[:12]
    return f"{slug(label_a)[:110]}__vs__{slug(label_b)[:110]}-{digest}.json"


def _check_metrics(metrics: Any, origin: str) -> None:
    if not isinstance(metrics, dict):
        raise ResultsError(f"{origin}: metrics must be a JSON object")
    missing = [key for key in REQUIRED if key not in metrics]
    headline = metrics.get("headline")
    if not missing and not (isinstance(headline, dict) and {"metric", "value", "ci95"} <= set(headline)):
        missing = ["headline.metric/value/ci95"]
    if missing:
        raise ResultsError(f"{origin}: not a singaffect metrics file (missing {', '.join(missing)})")


# --- git ----------------------------------------------------------------------------------------

def _clean_env() -> dict[str, str]:
    """The environment for git and dvc: GIT_*/DVC_* of an outer repository (a hook, a CI job)
    would point them elsewhere; this interpreter's folder first on PATH so that stage commands'
    ``python`` and ``dvc`` are the ones running this code."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "DVC_"))}
    bin_dir = str(Path(sys.executable).parent)
    return {**inherited, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "DVC_NO_ANALYTICS": "1"}


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.is_dir() and path != path.parent:  # the registry folder may not exist yet
        path = path.parent
    return path


def _git(cwd: Path, *args: str) -> str | None:
    """stdout of ``git *args`` in ``cwd``, or None when git fails."""
    try:
        done = subprocess.run(["git", *args], cwd=_existing(cwd), capture_output=True, text=True, check=True,
                              env=_clean_env())
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout


def _git_ok(cwd: Path, *args: str) -> bool:
    return _git(cwd, *args) is not None


def _git_commit(cwd: Path, rev: str = "HEAD") -> str:
    """Full sha of ``rev`` (a commit, branch, experiment name's commit...), or "" if it does not resolve."""
    if not rev or rev.startswith("-"):
        return ""
    return (_git(cwd, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}") or "").strip()


def resolve(repo: Path, rev: str) -> str:
    """Full sha of ``rev``: a commit, a branch, or the name of a DVC experiment (``refs/exps/.../NAME``)."""
    commit = _git_commit(repo, rev)
    if commit or not rev or "/" in rev:
        return commit
    refs = (_git(repo, "for-each-ref", "--format=%(objectname) %(refname)", "refs/exps") or "").splitlines()
    named = {sha for sha, ref in (line.split(" ", 1) for line in refs if " " in line)
             if ref.rsplit("/", 1)[-1] == rev and not ref.startswith(("refs/exps/exec/", "refs/exps/celery/"))}
    return named.pop() if len(named) == 1 else ""


def repo_root(path: Path) -> Path:
    """The top folder of the git work tree holding ``path`` (which need not exist yet)."""
    top = _git(path, "rev-parse", "--show-toplevel")
    if not top:
        raise ResultsError(f"{path}: not inside a git repository (results cite commits)")
    return Path(top.strip())


def show(repo: Path, commit: str, source: str) -> str | None:
    """The text of ``source`` (a path from the repository root) in ``commit``, or None if absent."""
    return _git(repo, "show", f"{commit}:{source}")


def _source_path(metrics_path: str | Path, repo: Path) -> str:
    """``metrics_path`` as a posix path from the repository root (absolute paths are made relative)."""
    path = Path(metrics_path)
    if path.is_absolute():
        try:
            path = path.resolve().relative_to(Path(repo).resolve())
        except ValueError:
            raise ResultsError(f"{metrics_path}: not inside the repository {repo}") from None
    return path.as_posix()


# --- JSON comparison ----------------------------------------------------------------------------

def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"headline.ci95[0]": 0.71, ...}``: every scalar of a JSON value under a dotted key."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(_leaves(item, f"{prefix}[{index}]"))
        return out if value else {prefix: []}
    return {prefix: value}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(a: Any, b: Any, tolerance: float = 0.0) -> bool:
    if _is_number(a) and _is_number(b):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b if tolerance == 0 else abs(a - b) <= tolerance
    return type(a) is type(b) and a == b


def compare_values(recorded: Any, produced: Any, tolerance: float = 0.0) -> list[tuple[str, Any, Any, bool]]:
    """``(key, recorded, produced, equal)`` for every scalar of either JSON value, in recorded order.

    Numbers are equal within ``tolerance`` (absolute; 0: exactly; NaN equals NaN); anything
    else must be identical. A key present on one side only is ``None`` on the other, unequal.
    """
    left, right = _leaves(recorded), _leaves(produced)
    keys = list(left) + [key for key in right if key not in left]
    missing = object()
    rows = []
    for key in keys:
        a, b = left.get(key, missing), right.get(key, missing)
        equal = a is not missing and b is not missing and _same(a, b, tolerance)
        rows.append((key, None if a is missing else a, None if b is missing else b, equal))
    return rows


# --- the registry -------------------------------------------------------------------------------

def _normalise(raw: Any, origin: str) -> dict[str, Any]:
    """``{"label", "runs": [...]}`` from either file layout; raises ResultsError on a malformed file."""
    if not isinstance(raw, dict) or "label" not in raw:
        raise ResultsError(f"{origin}: a results entry needs a label and its runs")
    if "runs" in raw:
        runs = raw["runs"]
        if not isinstance(runs, list) or not runs:
            raise ResultsError(f"{origin}: runs must be a non-empty list")
    elif {"command", "metrics"} <= set(raw):  # the single-run layout
        runs = [{"commit": raw.get("commit", ""), "command": raw["command"],
                 "source": raw.get("source", "metrics/eval.json"), "metrics": raw["metrics"]}]
    else:
        raise ResultsError(f"{origin}: a results entry needs label, command and metrics (or runs)")
    for number, run in enumerate(runs, 1):
        if not isinstance(run, dict) or not {"command", "metrics"} <= set(run):
            raise ResultsError(f"{origin}: run {number} needs commit, command, source and metrics")
        _check_metrics(run["metrics"], f"{origin} run {number}")
    return {"label": raw["label"], "runs": [{key: run.get(key, "") for key in RUN_KEYS} for run in runs]}


def _entry_files(results_dir: Path) -> list[Path]:
    return sorted(Path(results_dir).glob("*.json"))


def _read_entry(path: Path) -> dict[str, Any]:
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}: not JSON ({error})") from None
    return {**_normalise(raw, str(path)), "file": path.name}


def load(results_dir: Path) -> list[dict[str, Any]]:
    """Rows ``{"label", "runs", "file"}`` in file-name order (the order they were first added)."""
    return [_read_entry(path) for path in _entry_files(results_dir)]


def find(entries: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """The row called ``label`` (or whose label has the slug ``label``)."""
    for entry in entries:
        if entry["label"] == label:
            return entry
    matches = [entry for entry in entries if slug(entry["label"]) == slug(label)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(repr(entry["label"]) for entry in entries) or "none"
    raise ResultsError(f"no results row labelled {label!r} (rows: {known})")


def pick_run(entry: dict[str, Any], number: int) -> dict[str, Any]:
    """Run ``number`` (1 = the first) of a row."""
    runs = entry["runs"]
    if not 1 <= number <= len(runs):
        raise ResultsError(f"'{entry['label']}' has {len(runs)} run(s); --run {number} is out of range")
    return runs[number - 1]


def _mismatch(first: dict[str, Any], other: dict[str, Any]) -> str | None:
    """Why two runs' metrics cannot be runs of one row (another task, split or headline), or None."""
    for key in SAME_ACROSS_RUNS:
        if first.get(key) != other.get(key):
            return f"{key} {first.get(key)!r} vs {other.get(key)!r}"
    if first["headline"]["metric"] != other["headline"]["metric"]:
        return f"headline metric {first['headline']['metric']!r} vs {other['headline']['metric']!r}"
    return None


def record(label: str, command: str, metrics_path: str | Path, results_dir: Path, rev: str | None = None,
           append: bool = False, repo: Path | None = None) -> Path:
    """Record ``metrics_path`` as committed in ``rev`` (default HEAD) as a run of the row ``label``.

    ``metrics_path`` is a path from the repository root (an absolute path is made relative).
    ``rev`` is a commit, branch, DVC experiment name or the commit of one (``dvc exp show --sha``):
    the metrics are read from that commit, which the run then names. Without ``rev`` the
    metrics of HEAD are recorded, and a working-tree copy that differs from them is an error
    (commit it first). Re-adding a label replaces its row in place; ``append`` adds the run
    to the row instead (another seed), creating the row if needed.
    """
    command = command.strip()
    if not command:
        raise ResultsError("--command must give the exact command that produced the metrics")
    repo = Path(repo) if repo is not None else repo_root(results_dir)
    source = _source_path(metrics_path, repo)
    commit = resolve(repo, rev or "HEAD")
    if not commit:
        raise ResultsError(f"--rev {rev}: no such commit or experiment" if rev
                           else f"{repo}: no commit to read {source} from")
    text = show(repo, commit, source)
    if text is None:
        raise ResultsError(f"{rev or 'HEAD'}: has no committed {source}")
    try:
        metrics = json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsError(f"{source} at {commit[:8]}: not JSON ({error})") from None
    _check_metrics(metrics, f"{source} at {commit[:8]}")
    if rev is None and (repo / source).is_file():
        try:
            current = json.loads((repo / source).read_text())
        except json.JSONDecodeError:
            current = None
        if not all(equal for *_, equal in compare_values(metrics, current)):
            raise ResultsError(f"{source} differs from the copy committed in HEAD: commit it, or pass --rev "
                               "with the commit (or experiment) that holds the metrics")
    run = {"commit": commit, "command": command, "source": source, "metrics": metrics}

    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    name = slug(label)
    existing = {path.stem.split("_", 1)[1]: path for path in results_dir.glob("[0-9][0-9][0-9]_*.json")}
    if name in existing:
        path = existing[name]
        runs = _read_entry(path)["runs"] if append else []
    else:
        numbers = [int(path.stem[:3]) for path in existing.values()]
        path = results_dir / f"{max(numbers, default=0) + 1:03d}_{name}.json"
        runs = []
    for number, other in enumerate(runs, 1):
        if (other["commit"], other["source"]) == (commit, source):
            raise ResultsError(f"'{label}' run {number} already records {source} of {commit[:8]}")
        why = _mismatch(other["metrics"], metrics)
        if why:
            raise ResultsError(f"'{label}': {source} of {commit[:8]} is not another run of this row ({why})")
    path.write_text(json.dumps({"label": label, "runs": [*runs, run]}, indent=2) + "\n")
    return path


# --- integrity ----------------------------------------------------------------------------------

def verify(results_dir: Path, repo: Path | None = None, head: str = "HEAD") -> list[str]:
    """Every problem of the registry, one line each (an empty list: all rows check out).

    For each run: its commit resolves in ``repo``, is an ancestor of ``head`` (experiments
    are made part of main's history with ``git merge -s ours``), holds ``source`` and that
    file's JSON equals the recorded metrics. Rows must not mix tasks or splits, nor record
    one commit's file twice; labels are unique; comparisons must cite the rows' current commits.
    """
    results_dir = Path(results_dir)
    try:
        repo = Path(repo) if repo is not None else repo_root(results_dir)
    except ResultsError as error:
        return [str(error)]
    head_commit = _git_commit(repo, head)
    if not head_commit:
        return [f"{repo}: {head} does not resolve to a commit"]
    shallow = (_git(repo, "rev-parse", "--is-shallow-repository") or "").strip() == "true"
    problems: list[str] = []
    labels: dict[str, str] = {}
    entries = []
    for path in _entry_files(results_dir):
        where = f"{results_dir.name}/{path.name}"
        try:
            entry = _read_entry(path)
        except ResultsError as error:
            problems.append(str(error))
            continue
        entries.append(entry)
        if entry["label"] in labels:
            problems.append(f"{where}: label {entry['label']!r} is also used by {labels[entry['label']]}")
        labels.setdefault(entry["label"], where)
        seen: dict[tuple[str, str], int] = {}
        for number, run in enumerate(entry["runs"], 1):
            problems.extend(_verify_run(repo, head, head_commit, f"{where} run {number}", run, shallow))
            key = (run["commit"], run["source"])
            if key in seen:
                problems.append(f"{where} run {number}: same commit and source as run {seen[key]}")
            seen.setdefault(key, number)
            why = _mismatch(entry["runs"][0]["metrics"], run["metrics"])
            if why:
                problems.append(f"{where} run {number}: not another run of run 1 ({why})")
    problems.extend(_verify_comparisons(results_dir, entries))
    return problems


def _verify_run(repo: Path, head: str, head_commit: str, where: str, run: dict[str, Any],
                shallow: bool) -> list[str]:
    commit, source = str(run.get("commit") or ""), str(run.get("source") or "")
    if not run.get("command", "").strip():
        return [f"{where}: no command recorded"]
    if not commit:
        return [f"{where}: no commit recorded"]
    full = _git_commit(repo, commit)
    if not full:
        hint = " (this is a shallow clone: fetch the full history)" if shallow else ""
        return [f"{where}: commit {commit[:12]} does not resolve in {repo}{hint}"]
    short = full[:8]
    problems = []
    if full != commit:
        problems.append(f"{where}: commit {commit!r} must be recorded as the full sha {full}")
    if full != head_commit and not _git_ok(repo, "merge-base", "--is-ancestor", full, head_commit):
        problems.append(f"{where}: commit {short} is not in the history of {head} "
                        f"(merge it without changing the tree: git merge -s ours {short})")
    text = show(repo, full, source) if source else None
    if text is None:
        problems.append(f"{where}: commit {short} has no {source or '(no source recorded)'}")
        return problems
    try:
        committed = json.loads(text)
    except json.JSONDecodeError:
        problems.append(f"{where}: {source} at {short} is not JSON")
        return problems
    differing = [row for row in compare_values(run["metrics"], committed) if not row[3]]
    if differing:
        key, recorded, actual, _ = differing[0]
        more = f" and {len(differing) - 1} more" if len(differing) > 1 else ""
        problems.append(f"{where}: recorded metrics differ from {source} at {short}: "
                        f"{key} recorded {recorded!r}, committed {actual!r}{more}")
    return problems


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _verify_comparisons(results_dir: Path, entries: list[dict[str, Any]]) -> list[str]:
    problems = []
    by_label = {entry["label"]: entry for entry in entries}
    for path in sorted((results_dir / COMPARISONS).glob("*.json")):
        where = f"{results_dir.name}/{COMPARISONS}/{path.name}"
        try:
            comparison = json.loads(path.read_text())
            sides = [(comparison[side], [int(n) for n in _as_list(comparison["runs"][side])],
                      _as_list(comparison["commits"][side]), bool(comparison.get("all_runs", {}).get(side)))
                     for side in ("a", "b")]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            problems.append(f"{where}: not a comparison file ({error})")
            continue
        for label, numbers, commits, all_runs in sides:
            entry = by_label.get(label)
            if entry is None:
                problems.append(f"{where}: row {label!r} is not in the registry")
                continue
            if all_runs and len(entry["runs"]) != len(numbers):
                problems.append(f"{where}: stale, row {label!r} now has {len(entry['runs'])} runs, the comparison "
                                f"used {len(numbers)}; run --compare again")
            for number, commit in zip(numbers, commits):
                if not 1 <= number <= len(entry["runs"]):
                    problems.append(f"{where}: row {label!r} has no run {number}")
                elif entry["runs"][number - 1]["commit"] != commit:
                    problems.append(f"{where}: stale, row {label!r} run {number} now cites "
                                    f"{entry['runs'][number - 1]['commit'][:8]}, not {str(commit)[:8]}; "
                                    "run --compare again")
    return problems


# --- paired comparisons -------------------------------------------------------------------------

def predictions_paths(source: str, metrics: dict[str, Any]) -> list[list[str]]:
    """Where the per-clip predictions of ``source`` may lie in its commit, most likely first.

    ``metrics/eval.json`` -> ``metrics/predictions.csv``; ``metrics/X.json`` ->
    ``metrics/X_predictions.csv``; a pooled cross-validation file without one of those
    (``metrics/cv/cnn.json``) -> ``metrics/cv/fold0/predictions.csv`` ... for its ``n_folds``.
    """
    path = Path(source)
    beside = path.with_name("predictions.csv" if path.stem == "eval" else f"{path.stem}_predictions.csv")
    candidates = [[beside.as_posix()]]
    n_folds = metrics.get("n_folds")
    if isinstance(n_folds, int) and not isinstance(n_folds, bool) and n_folds > 0:
        candidates.append([(path.parent / f"fold{k}" / "predictions.csv").as_posix() for k in range(n_folds)])
    return candidates


def _read_predictions(repo: Path, run: dict[str, Any], label: str) -> tuple[str, list[dict[str, str]]]:
    commit, source = run["commit"], run["source"]
    candidates = predictions_paths(source, run["metrics"])
    for paths in candidates:
        texts = [show(repo, commit, p) for p in paths]
        if all(text is not None for text in texts):
            rows = [row for text in texts for row in csv.DictReader(io.StringIO(text))]
            return paths[0] if len(paths) == 1 else f"{paths[0]} ... ({len(paths)} files)", rows
    raise ResultsError(f"'{label}': commit {commit[:8]} has no predictions beside {source} "
                       f"(looked for {candidates[0][0]})")


def _keyed(rows: list[dict[str, str]], label: str, use_copy: bool) -> dict[tuple[str, str], dict[str, str]]:
    keyed: dict[tuple[str, str], dict[str, str]] = {}
    for row in rows:
        missing = [column for column in ("clip_id", "actual", "predicted") if column not in row]
        if missing:
            raise ResultsError(f"'{label}': predictions lack column(s) {', '.join(missing)}")
        key = (row["clip_id"], row.get("copy", "") if use_copy else "")
        if key in keyed:
            raise ResultsError(f"'{label}': clip {key[0]}{' copy ' + key[1] if key[1] else ''} "
                               "is predicted twice")
        keyed[key] = row
    return keyed


def cluster_column(metrics: dict[str, Any], columns: set[str]) -> str:
    """``speaker`` or ``group``: the unit the comparison resamples (what the headline CI resampled)."""
    method = str(metrics.get("headline", {}).get("ci_method", ""))
    unit = method.rsplit(" ", 1)[-1] if method.startswith("cluster bootstrap over") else ""
    if not unit:  # metrics written before ci_method existed: the split strategy decides
        from singaffect.splits import SPEAKER_INDEPENDENT

        unit = "speaker" if str(metrics.get("strategy", "")) in SPEAKER_INDEPENDENT else "group"
    if unit not in columns:
        raise ResultsError(f"the predictions have no '{unit}' column to resample (columns: {sorted(columns)})")
    return unit


def _json_number(value: float) -> float | None:
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else float(value)


def _seed_mean(metric: Callable[[Any, Any], float]) -> Callable[[Any, Any], float]:
    """``metric`` of each run's predictions (the columns of a clips x runs array), averaged over runs."""
    def mean_over_runs(y_true: Any, predictions: Any) -> float:
        return float(sum(metric(y_true, predictions[:, j]) for j in range(predictions.shape[1]))
                     / predictions.shape[1])
    return mean_over_runs


def compare(results_dir: Path, label_a: str, label_b: str, repo: Path | None = None, run_a: int | None = None,
            run_b: int | None = None, n_resamples: int = 1000, seed: int = 0, lever: str | None = None) -> Path:
    """Paired comparison of two rows on their common test clips -> ``results/comparisons/<a>__vs__<b>.json``.

    Reads the per-clip predictions of every run of each row (or only run ``run_a`` /
    ``run_b``, 1 = first) at its commit and pairs them by clip (and copy, for leaky splits
    that test augmented copies). The statistic is the difference of the headline metric
    (``metrics.headline_for``: accuracy of class labels for emotion, ROC AUC of the scores for
    a 0/1 enthusiasm target), each side's metric averaged over its runs (seeds); its interval
    is ``metrics.paired_difference_ci``: the same cluster resamples (speakers or recording
    groups, as the rows' headline intervals used) applied to every run of both sides. All
    runs must have been tested on the same clips with the same true values.

    ``lever`` names what row A adds to row B (e.g. "singer enrolment (all other takes)"): such
    comparisons also fill the README's ablation table (``ablation_table``).
    """
    import numpy as np

    from singaffect import metrics as metric_functions

    results_dir = Path(results_dir)
    repo = Path(repo) if repo is not None else repo_root(results_dir)
    if lever is not None and not lever.strip():
        raise ResultsError("--lever needs a name (what row A changes from row B)")
    entries = load(results_dir)
    entry_a, entry_b = find(entries, label_a), find(entries, label_b)
    numbers = {"a": [run_a] if run_a else list(range(1, len(entry_a["runs"]) + 1)),
               "b": [run_b] if run_b else list(range(1, len(entry_b["runs"]) + 1))}
    if entry_a["label"] == entry_b["label"] and numbers["a"] == numbers["b"]:
        raise ResultsError("--compare needs two different rows (or two runs of one row)")
    sides = {"a": entry_a, "b": entry_b}
    runs = {side: [pick_run(sides[side], n) for n in numbers[side]] for side in sides}
    task = runs["a"][0]["metrics"]["task"]
    for side in sides:
        for run in runs[side]:
            if run["metrics"]["task"] != task:
                raise ResultsError(f"'{entry_a['label']}' is {task}, '{sides[side]['label']}' is "
                                   f"{run['metrics']['task']}: nothing to compare")
    read = {side: [_read_predictions(repo, run, sides[side]["label"]) for run in runs[side]] for side in sides}
    everything = [rows for side in sides for _, rows in read[side]]
    if not all(everything):
        raise ResultsError(f"'{entry_a['label']}' or '{entry_b['label']}': no predictions to compare")
    use_copy = all("copy" in rows[0] for rows in everything)
    keyed = {side: [_keyed(rows, sides[side]["label"], use_copy) for _, rows in read[side]] for side in sides}
    reference = keyed["a"][0]
    for side in sides:
        for number, table in zip(numbers[side], keyed[side]):
            if set(table) != set(reference):
                only_ref, only_this = len(set(reference) - set(table)), len(set(table) - set(reference))
                raise ResultsError(
                    f"'{entry_a['label']}' run {numbers['a'][0]} and '{sides[side]['label']}' run {number} were "
                    f"tested on different clips ({only_ref} only in the first, {only_this} only in the second): "
                    "not a paired comparison")
    keys = sorted(reference)
    numeric = task != "emotion"

    def values(table: dict, column: str) -> Any:
        raw = [table[key][column] for key in keys]
        try:
            return np.array([float(v) for v in raw]) if numeric else np.array(raw, dtype=str)
        except ValueError:
            raise ResultsError(f"{task} predictions: {column} must be numbers") from None

    y_true = values(reference, "actual")
    for side in sides:
        for number, table in zip(numbers[side], keyed[side]):
            other = values(table, "actual")
            if not (np.allclose(y_true, other) if numeric else np.array_equal(y_true, other)):
                raise ResultsError(f"'{entry_a['label']}' and '{sides[side]['label']}' run {number} disagree on "
                                   "the true values of the same clips (another target or corpus)")
    predictions = {side: np.stack([values(table, "predicted") for table in keyed[side]], axis=1) for side in sides}
    columns = set.intersection(*(set(rows[0]) for rows in everything))
    clusters_by = cluster_column(runs["a"][0]["metrics"], columns)
    clusters = np.array([reference[key][clusters_by] for key in keys])
    name, function = metric_functions.headline_for(task, y_true)
    if predictions["a"].shape[1] == predictions["b"].shape[1] == 1:
        pred_a, pred_b = predictions["a"][:, 0], predictions["b"][:, 0]
    else:
        pred_a, pred_b, function = predictions["a"], predictions["b"], _seed_mean(function)
    result = metric_functions.paired_difference_ci(function, y_true, pred_a, pred_b, clusters,
                                                   n_resamples=n_resamples, seed=seed)
    low, high = (_json_number(v) for v in result["ci95"])
    comparison = {
        "a": entry_a["label"], "b": entry_b["label"], "metric": name,
        "difference": _json_number(result["difference"]), "ci95": [low, high],
        "excludes_zero": bool(result["excludes_zero"]), "n_clusters": int(result["n_clusters"]),
        "clusters_by": clusters_by, "n_clips": len(keys),
        "runs": numbers, "all_runs": {"a": run_a is None, "b": run_b is None},
        "commits": {side: [run["commit"] for run in runs[side]] for side in sides},
        "predictions": {side: sorted({source for source, _ in read[side]}) for side in sides},
        "n_resamples": n_resamples, "seed": seed,
        **({"lever": lever.strip()} if lever is not None else {}),
    }
    folder = results_dir / COMPARISONS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / comparison_file_name(entry_a["label"], entry_b["label"])
    path.write_text(json.dumps(comparison, indent=2) + "\n")
    return path


def load_comparisons(results_dir: Path) -> list[dict[str, Any]]:
    """The stored comparisons, in file-name order."""
    comparisons = []
    for path in sorted((Path(results_dir) / COMPARISONS).glob("*.json")):
        try:
            comparisons.append(json.loads(path.read_text()))
        except json.JSONDecodeError as error:
            raise ResultsError(f"{path}: not JSON ({error})") from None
    return comparisons


# --- the README table ---------------------------------------------------------------------------

def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _interval(ci: Any) -> str:
    low, high = ci if isinstance(ci, (list, tuple)) and len(ci) == 2 else (None, None)
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return "CI undefined"
    return f"{low:.3f}–{high:.3f}" if low >= 0 else f"{low:.3f} to {high:.3f}"


def headline_cell(metrics: dict[str, Any]) -> str:
    """``accuracy 0.612 (0.580–0.640, cluster bootstrap over speaker, 23 clusters)``, plus
    ``; folds 0.610 ± 0.050 (k=5)`` for cross-validation."""
    head = metrics["headline"]
    extra = [head["ci_method"]] if head.get("ci_method") else []
    if head.get("n_clusters") is not None:
        extra.append(f"{head['n_clusters']} clusters")
    text = f"{head['metric']} {head['value']:.3f} ({', '.join([_interval(head['ci95']), *extra])})"
    if "fold_mean" in metrics and head["metric"] in metrics["fold_mean"]:
        k = metrics.get("n_folds", len(metrics.get("folds", [])))
        text += (f"; folds {metrics['fold_mean'][head['metric']]:.3f} ± "
                 f"{metrics['fold_std'][head['metric']]:.3f} (k={k})")
    return text


def seeds_cell(runs: list[dict[str, Any]]) -> str:
    """Mean ± sample sd of the runs' headline values, ``0.612 ± 0.010 (3 runs)``; one run: ``1 run``."""
    values = [run["metrics"]["headline"]["value"] for run in runs]
    if len(values) < 2:
        return "1 run"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} ({len(values)} runs)"


def floor_cell(metrics: dict[str, Any]) -> str:
    """The emotion-label floor and the paired difference of the system over it, or an em dash."""
    floor = metrics.get("floor")
    if not isinstance(floor, dict) or "value" not in floor:
        return "—"
    text = f"{floor.get('metric', '')} {floor['value']:.3f} ({_interval(floor.get('ci95'))})".strip()
    diff = floor.get("difference")
    if isinstance(diff, dict) and "difference" in diff:
        verdict = "excludes 0" if diff.get("excludes_zero") else "includes 0"
        text += f"; Δ {diff['difference']:+.3f} ({_interval(diff.get('ci95'))}, {verdict})"
    return text


def _distinct(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _runs_a_side(comparison: dict[str, Any]) -> dict[str, int]:
    return {side: len(_as_list(comparison.get("runs", {}).get(side, [1]))) for side in ("a", "b")}


def verdict(comparison: dict[str, Any]) -> str:
    """``helps`` / ``hurts`` (row A against row B) only when the paired interval excludes 0 and each side
    averages ``MIN_RUNS_FOR_CLAIM`` runs; ``not distinguishable``; or ``no claim yet`` (too few runs)."""
    low, high = comparison["ci95"]
    if comparison["difference"] is None or low is None or high is None or not comparison["excludes_zero"]:
        return "not distinguishable"
    if min(_runs_a_side(comparison).values()) < MIN_RUNS_FOR_CLAIM:
        return f"no claim yet (fewer than {MIN_RUNS_FOR_CLAIM} runs a side)"
    return "helps" if comparison["difference"] > 0 else "hurts"


def ablation_table(comparisons: list[dict[str, Any]]) -> str:
    """One row per comparison that names a ``lever``: the lever, the row it changes, the paired change of
    the headline with its interval, the runs behind it and the verdict; empty without any."""
    levered = sorted((c for c in comparisons if c.get("lever")), key=lambda c: (c["lever"].lower(), c["b"]))
    if not levered:
        return ""
    lines = ["| lever | added to | change (95 % CI, paired) | clustered by | runs a side | verdict |",
             "|---|---|---|---|---|---|"]
    for c in levered:
        runs = _runs_a_side(c)
        change = (f"{c['difference']:+.3f} {c['metric']} ({_interval(c['ci95'])})" if c["difference"] is not None
                  else f"{c['metric']} undefined")
        cells = [c["lever"], c["b"], change, f"{c['clusters_by']} ({c['n_clusters']})",
                 f"{runs['a']} / {runs['b']}", verdict(c)]
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return "\n".join(lines)


def comparison_sentence(comparison: dict[str, Any]) -> str:
    """One generated sentence: "A beats B: ..." only when the paired interval excludes 0 and each
    side averages ``MIN_RUNS_FOR_CLAIM`` runs (seeds); otherwise "not distinguishable" or no claim."""
    a, b, difference = comparison["a"], comparison["b"], comparison["difference"]
    low, high = comparison["ci95"]
    runs = _runs_a_side(comparison)
    defined = difference is not None and low is not None and high is not None
    if defined and comparison["excludes_zero"] and difference < 0:  # say it the positive way round
        a, b, difference, low, high = b, a, -difference, -high, -low
        runs = {"a": runs["b"], "b": runs["a"]}
    seeds = f"{runs['a']} vs {runs['b']} runs" if runs["a"] != runs["b"] else (
        "1 run each" if runs["a"] == 1 else f"mean of {runs['a']} runs each")
    detail = (f"{difference:+.3f} {comparison['metric']} " if difference is not None else f"{comparison['metric']} ")
    detail += (f"(95 % CI {_interval([low, high]) if defined else 'undefined'}, paired, "
               f"clustered by {comparison['clusters_by']}, {comparison['n_clusters']} clusters, {seeds})")
    if not (defined and comparison["excludes_zero"]):
        return f"**{a}** and **{b}** are not distinguishable: {detail}."
    if min(runs.values()) < MIN_RUNS_FOR_CLAIM:
        return (f"**{a}** ahead of **{b}**: {detail}; no claim until each side averages "
                f"{MIN_RUNS_FOR_CLAIM} seeds.")
    return f"**{a}** beats **{b}**: {detail}."


NOTES = (
    "Generated from `results/` by `singaffect results`; do not edit by hand. "
    "Headline: accuracy (emotion), ROC AUC (0/1 enthusiasm target) or Pearson r (graded target) on the "
    "test clips of the row's first run, with its 95 % interval and how it was computed (a cluster "
    "bootstrap resamples whole speakers or recording groups; no method named: clips resampled); "
    "cross-validation pools every fold's test clips and adds the mean ± sd over folds. "
    "Over seeds: mean ± sample sd of the headline over the row's runs (one per training seed). "
    "Floor (enthusiasm): the emotion label alone as the score, and the system minus the floor with its "
    "paired interval. Leaky rows train on augmented copies of their test recordings. "
    "Command and commit: each run's exact command and the commit holding its metrics "
    "(`singaffect results --rerun LABEL` runs it again and compares)."
)


def render(entries: list[dict[str, Any]], comparisons: list[dict[str, Any]] | None = None) -> str:
    """The markdown table of ``entries``, its notes and one sentence per paired comparison."""
    if not entries:
        return ("_No results recorded yet: `singaffect results --add LABEL --rev COMMIT "
                "--command \"dvc exp run ...\"`._")
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for entry in entries:
        runs = entry["runs"]
        m = runs[0]["metrics"]
        protocol = m["protocol"] + (f" (`{m['strategy']}`)" if m.get("strategy") else "")
        commands = "<br>".join(f"`{command}`" for command in _distinct([run["command"] for run in runs]))
        commits = ", ".join(_distinct([str(run["commit"])[:8] for run in runs]))
        cells = [entry["label"], m["task"], protocol, "**yes**" if m["leaky"] else "no", m["n_test"],
                 headline_cell(m), seeds_cell(runs), floor_cell(m), commands, commits]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    text = "\n".join(lines) + "\n\n" + NOTES
    if comparisons:
        sentences = [f"- {comparison_sentence(c)}" for c in comparisons]
        text += ("\n\nPaired comparisons (same test clips, `singaffect results --compare A B`; "
                 f"\"beats\" needs the interval to exclude 0 and {MIN_RUNS_FOR_CLAIM} seeds a side):\n\n"
                 + "\n".join(sentences))
        ablation = ablation_table(comparisons)
        if ablation:
            text += ("\n\nAblation (each lever against the row it was added to; `singaffect results --compare A B "
                     "--lever NAME`; \"helps\" needs the interval to exclude 0 and "
                     f"{MIN_RUNS_FOR_CLAIM} seeds a side):\n\n" + ablation)
    return text


def update_readme(text: str, table: str) -> str:
    """``text`` with the block between the markers replaced (a Results section appended if absent)."""
    block = f"{START}\n{table}\n{END}"
    if START not in text and END not in text:
        return text.rstrip("\n") + f"\n\n## Results\n\n{block}\n"
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ResultsError(f"README: markers {START} ... {END} are incomplete or out of order")
    return text[:start] + block + text[end + len(END):]


def table(results_dir: Path) -> str:
    """The generated README block for ``results_dir``."""
    return render(load(results_dir), load_comparisons(results_dir))


# --- re-running one run -------------------------------------------------------------------------

class _Parser:
    """``dvc exp run`` options: which pass to ``dvc repro``, which only concern how an experiment is kept."""
    REPRO_FLAGS = {"-f": "--force", "--force": "--force", "-s": "--single-item", "--single-item": "--single-item",
                   "-p": "--pipeline", "--pipeline": "--pipeline", "-P": "--all-pipelines",
                   "--all-pipelines": "--all-pipelines", "-R": "--recursive", "--recursive": "--recursive",
                   "--downstream": "--downstream", "--force-downstream": "--force-downstream",
                   "--pull": "--pull", "--allow-missing": "--allow-missing", "-k": "--keep-going",
                   "--keep-going": "--keep-going", "--ignore-errors": "--ignore-errors", "-q": "--quiet",
                   "--quiet": "--quiet", "-v": "--verbose", "--verbose": "--verbose"}
    IGNORED_FLAGS = {"--queue", "--temp", "--no-hydra"}
    IGNORED_VALUES = {"-n", "--name", "-m", "--message", "-C", "--copy-paths", "-j", "--jobs"}
    REFUSED = {"--run-all", "--dry", "-i", "--interactive"}


@dataclass
class RerunPlan:
    """How to run a recorded command again: at ``base``, apply ``overrides`` then ``dvc *argv``."""
    experiment: bool
    base: str
    argv: list[str]
    overrides: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def plan_rerun(command: str, commit: str, repo: Path) -> RerunPlan:
    """Turn a run's command into a re-runnable plan.

    ``dvc exp run [-S k=v ...] [targets]`` ran on the experiment's baseline: the commit's
    first parent. The ``-S`` overrides are applied to the params files as DVC does
    (``dvc.utils.hydra.apply_overrides``) and ``dvc repro --no-run-cache [targets]`` runs,
    so no stage is restored from the run cache the original experiment filled. The
    experiment bookkeeping options (--queue, --temp, --name, ...) are dropped.

    ``dvc repro ...`` rows cite the commit that holds the outputs of the command together
    with the code, params and dvc.lock it ran with; running at its parent would use the
    parent's code. So it runs at the commit itself with ``--force`` (every stage of the
    targets executes; none is skipped as up to date, none restored from the run cache).

    Leading ``NAME=value`` words set environment variables (``KERAS_BACKEND=jax dvc ...``).
    """
    try:
        words = shlex.split(command)
    except ValueError as error:
        raise ResultsError(f"command {command!r}: {error}") from None
    env = {}
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        name, value = words.pop(0).split("=", 1)
        env[name] = value
    experiment = any(tuple(words[:3]) == prefix for prefix in EXPERIMENT_PREFIXES)
    if not experiment and tuple(words[:2]) != ("dvc", "repro"):
        raise ResultsError(f"command {command!r}: only 'dvc repro ...' and 'dvc exp run ...' can be re-run")
    if not experiment:
        rest = words[2:]
        force = [] if {"-f", "--force"} & set(rest) else ["--force"]
        return RerunPlan(False, commit, ["repro", *force, *rest], env=env)
    base = _git_commit(repo, f"{commit}^1")
    if not base:
        raise ResultsError(f"experiment commit {commit[:8]} has no parent to run its command on")
    overrides, passthrough, targets = [], [], []
    rest = words[3:]
    while rest:
        word = rest.pop(0)
        name, _, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if name in ("-S", "--set-param") or (word.startswith("-S") and len(word) > 2):
            value = inline or (word[2:] if word.startswith("-S") and len(word) > 2 else None)
            if value is None:
                if not rest:
                    raise ResultsError(f"command {command!r}: -S without a value")
                value = rest.pop(0)
            overrides.append(value)
        elif name in _Parser.REFUSED:
            raise ResultsError(f"command {command!r}: {name} does not produce a run to compare")
        elif name in _Parser.IGNORED_VALUES:
            if not inline and rest:
                rest.pop(0)
        elif name in _Parser.IGNORED_FLAGS:
            continue
        elif word in _Parser.REPRO_FLAGS:
            passthrough.append(_Parser.REPRO_FLAGS[word])
        elif word.startswith("-"):
            raise ResultsError(f"command {command!r}: unknown dvc exp run option {word}")
        else:
            targets.append(word)
    if overrides:
        from dvc.utils.cli_parse import to_path_overrides
        from dvc.utils.hydra import to_hydra_overrides

        try:
            sweeps = [value for values in to_path_overrides(overrides).values()
                      for value, parsed in zip(values, to_hydra_overrides(values)) if parsed.is_sweep_override()]
        except Exception as error:  # hydra's parse errors have several types
            raise ResultsError(f"command {command!r}: {error}") from None
        if sweeps:
            raise ResultsError(f"command {command!r}: -S {sweeps[0]} is a sweep, not one run")
    return RerunPlan(True, base, ["repro", "--no-run-cache", *passthrough, *targets], overrides, env)


def _apply_overrides(worktree: Path, overrides: list[str]) -> None:
    """Apply ``-S`` overrides to the params files of ``worktree`` the way ``dvc exp run`` does."""
    if not overrides:
        return
    from dvc.utils.cli_parse import to_path_overrides
    from dvc.utils.hydra import apply_overrides

    for path, values in to_path_overrides(overrides).items():
        target = worktree / path
        if not target.is_file():
            raise ResultsError(f"-S {values[0]}: {path} does not exist at the base commit")
        try:
            apply_overrides(str(target), values)
        except Exception as error:  # hydra's parse errors have several types
            raise ResultsError(f"-S {' '.join(values)}: {error}") from None


def _dvc() -> str:
    local = Path(sys.executable).parent / "dvc"
    return str(local) if local.exists() else (shutil.which("dvc") or "dvc")


def _run(argv: list[str], cwd: Path, env: dict[str, str], echo: Callable[[str], None]) -> int:
    """Run ``argv`` in ``cwd``, echoing its merged output line by line; its exit status."""
    with subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            echo(f"  | {line.rstrip()}")
        return process.wait()


def _quiet(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)


def rerun(results_dir: Path, label: str, run: int = 1, repo: Path | None = None, tolerance: float = 0.0,
          keep: bool = False, workdir: Path | None = None, echo: Callable[[str], None] = print) -> bool:
    """Run run ``run`` of row ``label`` again in a temporary git worktree and compare its metrics.

    The worktree is made at the plan's base commit (see ``plan_rerun``), its DVC cache is the
    main repository's (``dvc cache dir --local``), ``dvc checkout`` fills it, the command
    runs, and every value of the produced ``source`` is printed beside the recorded one.
    True when all are equal within ``tolerance`` (absolute). The worktree is removed unless
    ``keep``. Raises ResultsError when the run cannot be set up.
    """
    results_dir = Path(results_dir)
    repo = Path(repo) if repo is not None else repo_root(results_dir)
    entry = find(load(results_dir), label)
    chosen = pick_run(entry, run)
    commit = _git_commit(repo, chosen["commit"])
    if not commit:
        raise ResultsError(f"'{entry['label']}' run {run}: commit {chosen['commit'][:12]} does not resolve")
    plan = plan_rerun(chosen["command"], commit, repo)
    env = {**_clean_env(), **plan.env}
    where = (f"{plan.base[:8]}, the parent of experiment commit {commit[:8]}" if plan.experiment
             else f"{commit[:8]}, the commit holding its outputs, every stage forced")
    echo(f"rerun of '{entry['label']}' run {run}/{len(entry['runs'])}: `{chosen['command']}` at {where}")
    cache = _quiet([_dvc(), "cache", "dir"], repo, env)
    if cache.returncode != 0 or not cache.stdout.strip():
        raise ResultsError(f"{repo}: dvc cache dir failed: {cache.stderr.strip() or cache.stdout.strip()}")
    cache_dir = Path(cache.stdout.strip().splitlines()[-1])
    if not cache_dir.is_absolute():
        cache_dir = (repo / cache_dir).resolve()
    parent = Path(tempfile.mkdtemp(prefix="singaffect-rerun-", dir=workdir))
    worktree = parent / "repo"
    added = _git(repo, "worktree", "add", "--detach", str(worktree), plan.base)
    if added is None:
        shutil.rmtree(parent, ignore_errors=True)
        raise ResultsError(f"git worktree add {worktree} {plan.base[:8]} failed")
    try:
        for argv in (["cache", "dir", "--local", str(cache_dir)], ["config", "--local", "core.analytics", "false"]):
            done = _quiet([_dvc(), *argv], worktree, env)
            if done.returncode != 0:
                raise ResultsError(f"dvc {' '.join(argv)} failed in {worktree}: {done.stderr.strip()}")
        checkout = _quiet([_dvc(), "checkout"], worktree, env)
        if checkout.returncode != 0:
            echo("dvc checkout could not restore everything from the cache (the command rebuilds it): "
                 + (checkout.stderr.strip().splitlines() or [""])[-1])
        _apply_overrides(worktree, plan.overrides)
        if plan.overrides:
            echo("params: " + " ".join(f"-S {value}" for value in plan.overrides))
        produced_path = worktree / chosen["source"]
        if not plan.experiment:  # must be produced by the command, not left from the commit
            produced_path.unlink(missing_ok=True)
        echo(f"$ dvc {' '.join(plan.argv)}")
        status = _run([_dvc(), *plan.argv], worktree, env, echo)
        if status != 0:
            echo(f"NOT REPRODUCED: the command exited {status}")
            return False
        if not produced_path.is_file():
            echo(f"NOT REPRODUCED: the command did not produce {chosen['source']}")
            return False
        try:
            produced = json.loads(produced_path.read_text())
        except json.JSONDecodeError as error:
            echo(f"NOT REPRODUCED: {chosen['source']} is not JSON ({error})")
            return False
        rows = compare_values(chosen["metrics"], produced, tolerance)
        width = max(len(key) for key, *_ in rows)
        echo(f"{'value':<{width}}  {'recorded':>20}  {'rerun':>20}")
        for key, recorded, now, equal in rows:
            if equal and not (_is_number(recorded) or key.startswith("headline")):
                continue  # identical labels and lists are not worth a line each
            echo(f"{key:<{width}}  {_show(recorded):>20}  {_show(now):>20}  {'ok' if equal else 'DIFFERS'}")
        differing = sum(not equal for *_, equal in rows)
        if differing:
            echo(f"NOT REPRODUCED: {differing} of {len(rows)} values differ (tolerance {tolerance:g})")
            return False
        echo(f"REPRODUCED: all {len(rows)} values of {chosen['source']} match (tolerance {tolerance:g})")
        return True
    finally:
        if keep:
            echo(f"worktree kept at {worktree} (remove it with: git worktree remove --force {worktree})")
        else:
            _git(repo, "worktree", "remove", "--force", str(worktree))
            shutil.rmtree(parent, ignore_errors=True)
            _git(repo, "worktree", "prune")


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    if isinstance(value, float):
        return repr(value)
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 20 else text[:17] + "..."
