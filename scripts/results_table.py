#!/usr/bin/env python3
"""Record experiment metrics in results/ and regenerate the README results table from them.

  python scripts/results_table.py --add "CNN, honest group split" \\
      --command "dvc exp run -S split.strategy=group" [--metrics metrics/eval.json]
  python scripts/results_table.py            # rewrite the table in README.md from results/*.json
  python scripts/results_table.py --check    # exit 1 if README.md is not up to date

  python scripts/results_table.py --add "CNN, speaker split" --rev 1a2b3c4 \
      --command "dvc exp run -S split.strategy=speaker"   # metrics of a DVC experiment's commit

--add copies the metrics file (default metrics/eval.json; metrics/classic.json or
metrics/baseline.json for the feature baselines) with the label, the command and the
git commit into results/NNN_<label>.json, then rewrites the table. Commit both.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from singaffect import results  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--add", metavar="LABEL", help="record the current metrics as the row LABEL")
    parser.add_argument("--command", default="", help="the exact command that produced the metrics (with --add)")
    parser.add_argument("--metrics", type=Path, default=Path("metrics/eval.json"), help="metrics file to record")
    parser.add_argument("--rev", help="read --metrics from this commit (e.g. a DVC experiment's, see dvc exp show)")
    parser.add_argument("--results", type=Path, default=ROOT / "results", help="registry folder")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--check", action="store_true", help="only check that the README table is up to date")
    args = parser.parse_args(argv)
    try:
        if args.add is not None:
            path = results.record(args.add, args.command, args.metrics, args.results, args.rev)
            print(f"recorded {args.metrics} as '{args.add}' in {path}")
        current = args.readme.read_text() if args.readme.is_file() else "# singaffect\n"
        updated = results.update_readme(current, results.render(results.load(args.results)))
        if args.check:
            if updated != current:
                print(f"error: {args.readme} results table is out of date; run python scripts/results_table.py",
                      file=sys.stderr)
                return 1
            return 0
        if updated != current:
            args.readme.write_text(updated)
            print(f"updated the results table in {args.readme}")
    except results.ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
