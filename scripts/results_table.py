#!/usr/bin/env python3
"""Record experiment metrics in results/, check them against git, re-run one, and regenerate the README table.

  python scripts/results_table.py --add LABEL --rev COMMIT --command "dvc exp run -S ..." [--metrics PATH]
  python scripts/results_table.py --add LABEL --rev COMMIT --command "..." --append   # another run (seed)
  python scripts/results_table.py            # rewrite the table in README.md from results/
  python scripts/results_table.py --check    # exit 1 on a registry problem or an out-of-date README table
  python scripts/results_table.py --rerun LABEL [--run N] [--tolerance T]   # re-run one run, compare
  python scripts/results_table.py --compare LABEL_A LABEL_B [--run-a N] [--run-b N]   # paired CI

--add reads --metrics (default metrics/eval.json; metrics/classic.json or metrics/baseline.json
for the feature baselines; a path from the repository root) as committed in --rev (default
HEAD; a DVC experiment's commit from `dvc exp show --sha`) and records it, with the exact
command and the commit, in results/NNN_<label>.json; re-adding a label replaces the row,
--append adds a run to it. A cited commit must be in main's history: merge an experiment's
commit with `git merge -s ours COMMIT` (the tree is unchanged). Commit results/ and README.md.

--check lists every run whose commit is missing, not an ancestor of HEAD, lacks the metrics
file or holds other metrics than recorded, every stale comparison, and a stale README table.

--rerun makes a temporary git worktree (at the experiment's parent for `dvc exp run`, at the
commit itself with every stage forced for `dvc repro`), shares this repository's DVC cache,
runs the command and prints each recorded value beside the rerun's; exit 0 when all match.

--compare pairs two rows' per-clip predictions (read at their commits), averages each side's
headline metric over its runs (seeds) and stores the difference with its paired
cluster-bootstrap interval in results/comparisons/; the README says "A beats B" only where
that interval excludes 0 and each side averages at least 3 seeds.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from singaffect import results  # noqa: E402


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[1:]))
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--add", metavar="LABEL", help="record the metrics of --rev as the row LABEL")
    action.add_argument("--check", action="store_true",
                        help="verify results/ against git and check that the README table is up to date")
    action.add_argument("--rerun", metavar="LABEL", help="re-run one run of the row LABEL and compare its metrics")
    action.add_argument("--compare", nargs=2, metavar=("LABEL_A", "LABEL_B"),
                        help="paired comparison of two rows on their common test clips")
    parser.add_argument("--command", default="", help="the exact command that produced the metrics (with --add)")
    parser.add_argument("--metrics", default="metrics/eval.json",
                        help="metrics file to record, a path from the repository root (with --add)")
    parser.add_argument("--rev", help="read --metrics from this commit (default HEAD; e.g. a DVC experiment's)")
    parser.add_argument("--append", action="store_true", help="with --add: add a run to LABEL, not replace it")
    parser.add_argument("--run", type=int, default=1, metavar="N", help="with --rerun: which run (1 = first)")
    parser.add_argument("--tolerance", type=float, default=0.0,
                        help="with --rerun: largest absolute difference that still counts as equal (default 0)")
    parser.add_argument("--keep", action="store_true", help="with --rerun: keep the temporary worktree")
    parser.add_argument("--workdir", type=Path, help="with --rerun: make the temporary worktree under this folder")
    parser.add_argument("--run-a", type=int, metavar="N",
                        help="with --compare: only this run of LABEL_A (default: the mean over all its runs)")
    parser.add_argument("--run-b", type=int, metavar="N",
                        help="with --compare: only this run of LABEL_B (default: the mean over all its runs)")
    parser.add_argument("--resamples", type=int, default=1000, help="with --compare: bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="with --compare: bootstrap seed")
    parser.add_argument("--results", type=Path, default=ROOT / "results", help="registry folder")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    parser.add_argument("--repo", type=Path, help="git repository the runs cite (default: the one holding --results)")
    args = parser.parse_args(argv)
    if args.tolerance < 0:
        parser.error("--tolerance must not be negative")
    return args


def check(args: argparse.Namespace, current: str) -> int:
    """Print one line per registry problem or stale README table; 1 if there is any."""
    problems = results.verify(args.results, args.repo)
    try:
        if results.update_readme(current, results.table(args.results)) != current:
            problems.append(f"{args.readme}: the results table is out of date; run python scripts/results_table.py")
    except results.ResultsError as error:
        if str(error) not in problems:
            problems.append(str(error))
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        if args.rerun is not None:
            ok = results.rerun(args.results, args.rerun, args.run, args.repo, args.tolerance, args.keep, args.workdir)
            return 0 if ok else 1
        if args.add is not None:
            path = results.record(args.add, args.command, args.metrics, args.results, args.rev, args.append,
                                  args.repo)
            print(f"recorded {args.metrics} of {args.rev or 'HEAD'} as '{args.add}' in {path}")
        if args.compare is not None:
            path = results.compare(args.results, *args.compare, repo=args.repo, run_a=args.run_a, run_b=args.run_b,
                                   n_resamples=args.resamples, seed=args.seed)
            print(f"compared '{args.compare[0]}' with '{args.compare[1]}': {path}")
        current = args.readme.read_text() if args.readme.is_file() else "# singaffect\n"
        if args.check:
            return check(args, current)
        updated = results.update_readme(current, results.table(args.results))
        if updated != current:
            args.readme.write_text(updated)
            print(f"updated the results table in {args.readme}")
    except results.ResultsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
