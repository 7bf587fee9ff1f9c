"""The results registry (``results/*.json``) and the README table made from it.

Each experiment row is one committed JSON file: a label (the system), the exact
``dvc exp run -S ...`` command that produced it, the git commit it ran from and a copy
of its metrics file (``metrics/eval.json``, ``classic.json`` or ``baseline.json``). The
README table between ``<!-- results:start -->`` and ``<!-- results:end -->`` is
generated from the registry only, so every number in it can be traced to a command.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from singaffect.errors import SingaffectError

START, END = "<!-- results:start -->", "<!-- results:end -->"
COLUMNS = ("system", "task", "protocol", "leaky", "n_test", "headline (95% CI)", "command")
REQUIRED = ("task", "protocol", "leaky", "n_test", "headline")


class ResultsError(SingaffectError, ValueError):
    """A metrics or registry file is unusable, or the README lacks the table markers; names the file."""


def slug(label: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    if not text:
        raise ResultsError(f"label {label!r} has no letters or digits to name its results file")
    return text


def _check_metrics(metrics: Any, origin: str) -> None:
    if not isinstance(metrics, dict):
        raise ResultsError(f"{origin}: metrics must be a JSON object")
    missing = [key for key in REQUIRED if key not in metrics]
    headline = metrics.get("headline")
    if not missing and not (isinstance(headline, dict) and {"metric", "value", "ci95"} <= set(headline)):
        missing = ["headline.metric/value/ci95"]
    if missing:
        raise ResultsError(f"{origin}: not a singaffect metrics file (missing {', '.join(missing)})")


def _git(cwd: Path, *args: str) -> str | None:
    while not cwd.is_dir() and cwd != cwd.parent:  # the registry folder may not exist yet
        cwd = cwd.parent
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout


def _git_commit(cwd: Path, rev: str = "HEAD") -> str:
    return (_git(cwd, "rev-parse", "--verify", f"{rev}^{{commit}}") or "").strip()


def record(label: str, command: str, metrics_path: Path, results_dir: Path, rev: str | None = None) -> Path:
    """Copy ``metrics_path`` into ``results_dir`` as the row ``label``; re-adding a label replaces its row in place.

    With ``rev`` (a commit, branch or the commit of a DVC experiment, as ``dvc exp show``
    lists it) the metrics are read from that commit, which the row then names.
    """
    if not command.strip():
        raise ResultsError("--command must give the exact command that produced the metrics")
    if rev is None:
        try:
            text = Path(metrics_path).read_text()
        except FileNotFoundError:
            raise ResultsError(f"{metrics_path}: no such metrics file (run the experiment first)") from None
        commit = _git_commit(results_dir)
    else:
        commit = _git_commit(results_dir, rev)
        if not commit:
            raise ResultsError(f"--rev {rev}: no such commit")
        text = _git(results_dir, "show", f"{commit}:{Path(metrics_path).as_posix()}")
        if text is None:
            raise ResultsError(f"{rev}: has no committed {metrics_path}")
    try:
        metrics = json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsError(f"{metrics_path}: not JSON ({error})") from None
    _check_metrics(metrics, str(metrics_path))
    results_dir.mkdir(parents=True, exist_ok=True)
    name = slug(label)
    existing = {path.stem.split("_", 1)[1]: path for path in results_dir.glob("[0-9][0-9][0-9]_*.json")}
    if name in existing:
        path = existing[name]
    else:
        numbers = [int(path.stem[:3]) for path in existing.values()]
        path = results_dir / f"{max(numbers, default=0) + 1:03d}_{name}.json"
    entry = {"label": label, "command": command.strip(), "source": str(metrics_path),
             "commit": commit, "metrics": metrics}
    path.write_text(json.dumps(entry, indent=2) + "\n")
    return path


def load(results_dir: Path) -> list[dict[str, Any]]:
    """Registry entries in file-name order (the order they were first added)."""
    entries = []
    for path in sorted(results_dir.glob("*.json")):
        try:
            entry = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise ResultsError(f"{path}: not JSON ({error})") from None
        if not isinstance(entry, dict) or not {"label", "command", "metrics"} <= set(entry):
            raise ResultsError(f"{path}: a results entry needs label, command and metrics")
        _check_metrics(entry["metrics"], str(path))
        entries.append(entry)
    return entries


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def headline_cell(metrics: dict[str, Any]) -> str:
    """``accuracy 0.612 (0.580-0.640)``, plus ``folds 0.610 ± 0.050 (k=5)`` for cross-validation."""
    head = metrics["headline"]
    low, high = head["ci95"]
    text = f"{head['metric']} {head['value']:.3f} ({low:.3f}–{high:.3f})"
    if "fold_mean" in metrics and head["metric"] in metrics["fold_mean"]:
        text += (f"; folds {metrics['fold_mean'][head['metric']]:.3f} ± "
                 f"{metrics['fold_std'][head['metric']]:.3f} (k={metrics.get('n_folds', len(metrics.get('folds', [])))})")
    return text


def render(entries: list[dict[str, Any]]) -> str:
    """The markdown table of ``entries`` (or a line saying how to add the first one)."""
    if not entries:
        return "_No results recorded yet: `python scripts/results_table.py --add LABEL --command \"dvc exp run ...\"`._"
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for entry in entries:
        m = entry["metrics"]
        protocol = m["protocol"] + (f" (`{m['strategy']}`)" if m.get("strategy") else "")
        cells = [entry["label"], m["task"], protocol, "**yes**" if m["leaky"] else "no", m["n_test"],
                 headline_cell(m), f"`{entry['command']}`"]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    notes = ("Headline: accuracy (emotion) or Pearson r (enthusiasm) on the test clips with a 95 % bootstrap CI; "
             "cross-validation pools every fold's test clips and adds the mean ± std over folds. "
             "Leaky rows train on augmented copies of their test recordings.")
    return "\n".join(lines) + "\n\n" + notes


def update_readme(text: str, table: str) -> str:
    """``text`` with the block between the markers replaced (a Results section appended if absent)."""
    block = f"{START}\n{table}\n{END}"
    if START not in text and END not in text:
        return text.rstrip("\n") + f"\n\n## Results\n\n{block}\n"
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise ResultsError(f"README: markers {START} ... {END} are incomplete or out of order")
    return text[:start] + block + text[end + len(END):]
