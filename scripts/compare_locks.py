#!/usr/bin/env python3
"""Compare the output hashes of two dvc.lock files: are two runs' outputs byte-identical?

    python scripts/compare_locks.py OLD NEW [--rename OLD_PATH=NEW_PATH ...]

OLD and NEW are dvc.lock files, or ``REV:dvc.lock`` read from git (e.g. ``951443b:dvc.lock``).
``--rename`` maps an output that moved (``metrics/classic.json=metrics/functionals_model.json``).
Prints the outputs that are identical, differ, or exist on one side only; exit 1 if any differ.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml


def read_lock(where: str) -> dict:
    if not Path(where).is_file() and ":" in where:
        return yaml.safe_load(subprocess.run(["git", "show", where], check=True, capture_output=True, text=True).stdout)
    return yaml.safe_load(Path(where).read_text())


def outputs(lock: dict) -> dict[str, tuple]:
    """``{path: (md5, size, nfiles)}`` of every stage's outs."""
    return {out["path"]: (out.get("md5"), out.get("size"), out.get("nfiles"))
            for stage in lock.get("stages", {}).values() for out in stage.get("outs", [])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rename", action="append", default=[], metavar="OLD_PATH=NEW_PATH")
    args = parser.parse_args(argv)
    renames = dict(item.split("=", 1) for item in args.rename)
    old = {renames.get(path, path): value for path, value in outputs(read_lock(args.old)).items()}
    new = outputs(read_lock(args.new))
    same = sorted(p for p in new if old.get(p) == new[p])
    differ = sorted(p for p in new if p in old and old[p] != new[p])
    print(f"{len(same)} identical outputs; differing: {differ}; only in {args.old}: {sorted(set(old) - set(new))}; "
          f"only in {args.new}: {sorted(set(new) - set(old))}")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
