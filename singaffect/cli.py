"""The ``singaffect`` command: score takes, keep the results registry, expand presets.

  singaffect predict take.wav [--model M] [--enrol FOLDER] [--json] [--hop S] [--plot PNG]
  singaffect predict take.wav --model models/functionals_model.h5 [--enrol FOLDER] [--json]
  singaffect results [--add LABEL --rev COMMIT --command "..." | --check | --rerun LABEL | --compare A B]
  singaffect preset NAME        # -S key=value arguments for dvc exp run
  singaffect params-doc [--check]   # docs/params.md from params.yaml and the schema
  singaffect enrolment-curve        # results/enrolment_curve.{md,svg} from results/

Run from the repository root (like ``dvc``): default paths are relative to it.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from pathlib import Path
from typing import Sequence

from singaffect.errors import SingaffectError

RESULTS_HELP = """Record experiment metrics in results/, check them against git, re-run one, and regenerate the README table.

  singaffect results --add LABEL --rev COMMIT --command "dvc exp run -S ..." [--metrics PATH]
  singaffect results --add LABEL --rev COMMIT --command "..." --append   # another run (seed)
  singaffect results            # rewrite the table in README.md from results/
  singaffect results --check    # exit 1 on a registry problem or an out-of-date README table
  singaffect results --rerun LABEL [--run N] [--tolerance T]   # re-run one run, compare
  singaffect results --compare LABEL_A LABEL_B [--run-a N] [--run-b N] [--lever NAME]   # paired CI

--add reads --metrics (default metrics/eval.json; metrics/functionals_model.json or
metrics/handcrafted_model.json for the feature models; a path from the repository root) as committed in --rev (default
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
that interval excludes 0 and each side averages at least 3 seeds. --lever NAME says what row A
changes from row B; those comparisons also make the README's ablation table.
"""


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="singaffect",
                                  description="Score sung recordings with a model trained by the singaffect pipeline, "
                                              "and keep its results registry.")
    commands = top.add_subparsers(dest="subcommand", required=True, metavar="COMMAND")
    predict = commands.add_parser(
        "predict", help="score one take (any length, rate and channel count)",
        description="Score a take in windows of the model's pad length (pad.seconds). A take longer "
                    "than one window is scored in sliding windows; the table ends with the mean. With the "
                    "feature model (--model models/functionals_model.h5) the whole take gets one score. A "
                    "model trained with singer enrolment needs --enrol.")
    predict.add_argument("audio", help="audio file soundfile can read (wav, flac, ogg, aiff, ...)")
    predict.add_argument("--model", default="models/model.keras",
                         help="trained model: the CNN (preprocessing.json beside it) or the feature model "
                              "models/functionals_model.h5 (default: %(default)s)")
    predict.add_argument("--enrol", default=None, metavar="FOLDER",
                         help="a model trained with singer enrolment (train.enrolment or "
                              "functionals_model.enrolment): a folder of a few takes by the same singer (the "
                              "scored take is left out of it)")
    predict.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    predict.add_argument("--hop", type=_seconds, default=None, metavar="SECONDS",
                         help="step between windows (default: half a window)")
    predict.add_argument("--plot", default=None, metavar="PNG",
                         help="also write the score curve to this PNG (needs matplotlib)")

    results = commands.add_parser("results", help="record, check, rerun or compare results; regenerate the README table",
                                  description=RESULTS_HELP.splitlines()[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="\n".join(RESULTS_HELP.splitlines()[1:]))
    action = results.add_mutually_exclusive_group()
    action.add_argument("--add", metavar="LABEL", help="record the metrics of --rev as the row LABEL")
    action.add_argument("--check", action="store_true",
                        help="verify results/ against git and check that the README table is up to date")
    action.add_argument("--rerun", metavar="LABEL", help="re-run one run of the row LABEL and compare its metrics")
    action.add_argument("--compare", nargs=2, metavar=("LABEL_A", "LABEL_B"),
                        help="paired comparison of two rows on their common test clips")
    results.add_argument("--command", default="", help="the exact command that produced the metrics (with --add)")
    results.add_argument("--metrics", default="metrics/eval.json",
                        help="metrics file to record, a path from the repository root (with --add)")
    results.add_argument("--rev", help="read --metrics from this commit (default HEAD; e.g. a DVC experiment's)")
    results.add_argument("--append", action="store_true", help="with --add: add a run to LABEL, not replace it")
    results.add_argument("--run", type=int, default=1, metavar="N", help="with --rerun: which run (1 = first)")
    results.add_argument("--tolerance", type=float, default=0.0,
                        help="with --rerun: largest absolute difference that still counts as equal (default 0)")
    results.add_argument("--keep", action="store_true", help="with --rerun: keep the temporary worktree")
    results.add_argument("--workdir", type=Path, help="with --rerun: make the temporary worktree under this folder")
    results.add_argument("--run-a", type=int, metavar="N",
                        help="with --compare: only this run of LABEL_A (default: the mean over all its runs)")
    results.add_argument("--run-b", type=int, metavar="N",
                        help="with --compare: only this run of LABEL_B (default: the mean over all its runs)")
    results.add_argument("--resamples", type=int, default=1000, help="with --compare: bootstrap resamples")
    results.add_argument("--seed", type=int, default=0, help="with --compare: bootstrap seed")
    results.add_argument("--lever", help="with --compare: what LABEL_A changes from LABEL_B (fills the ablation table)")
    results.add_argument("--results", type=Path, default=Path("results"), help="registry folder")
    results.add_argument("--readme", type=Path, default=Path("README.md"))
    results.add_argument("--repo", type=Path, help="git repository the runs cite (default: the one holding --results)")

    doc = commands.add_parser("params-doc", help="write docs/params.md from params.yaml and the schema",
                              description="Regenerate the params reference (docs/params.md) from params.yaml's "
                                          "comments and the params schema; --check only compares.")
    doc.add_argument("--check", action="store_true", help="exit 1 if docs/params.md is out of date")
    doc.add_argument("--params", type=Path, default=Path("params.yaml"))
    doc.add_argument("--out", type=Path, default=Path("docs/params.md"))
    curve = commands.add_parser("enrolment-curve", help="write results/enrolment_curve.{md,svg} from results/",
                                description="The headline against the number of enrolment takes, from the recorded "
                                            "rows (singer enrolment of drawn takes), as a table and an SVG plot.")
    curve.add_argument("--results", type=Path, default=Path("results"))
    preset = commands.add_parser("preset", help="print presets/NAME.yaml as -S arguments for dvc exp run",
                                 description="Usage: dvc exp run $(singaffect preset NAME) [more -S overrides]")
    preset.add_argument("name")
    return top


def predict_command(args: argparse.Namespace) -> None:
    from singaffect import feature_model_file, predict

    if feature_model_file.is_feature_model(args.model):
        if args.hop is not None or args.plot:
            raise predict.PredictError("--hop and --plot apply to the CNN's windows; the feature model scores "
                                       "the whole take")
        scored = predict.score_with_features(args.audio, args.model, args.enrol)
        print(json.dumps(scored, indent=2) if args.json else predict.format_feature_result(scored))
        return
    result = predict.predict_file(args.audio, args.model, args.hop, args.enrol)
    if args.plot:
        from singaffect import plots

        plots.score_curve(args.plot, result)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(predict.format_table(result))


def results_command(args: argparse.Namespace) -> int:
    """Record, check, rerun or compare results; then regenerate (or check) the README table."""
    from singaffect import results

    if args.tolerance < 0:
        raise results.ResultsError("--tolerance must not be negative")
    if args.rerun is not None:
        ok = results.rerun(args.results, args.rerun, args.run, args.repo, args.tolerance, args.keep, args.workdir)
        return 0 if ok else 1
    if args.add is not None:
        path = results.record(args.add, args.command, args.metrics, args.results, args.rev, args.append, args.repo)
        print(f"recorded {args.metrics} of {args.rev or 'HEAD'} as '{args.add}' in {path}")
    if args.compare is not None:
        path = results.compare(args.results, *args.compare, repo=args.repo, run_a=args.run_a, run_b=args.run_b,
                               n_resamples=args.resamples, seed=args.seed, lever=args.lever)
        print(f"compared '{args.compare[0]}' with '{args.compare[1]}': {path}")
    current = args.readme.read_text() if args.readme.is_file() else "# singaffect\n"
    if args.check:
        problems = results.verify(args.results, args.repo)
        try:
            if results.update_readme(current, results.table(args.results)) != current:
                problems.append(f"{args.readme}: the results table is out of date; run singaffect results")
        except results.ResultsError as error:
            if str(error) not in problems:
                problems.append(str(error))
        for problem in problems:
            print(f"problem: {problem}", file=sys.stderr)
        return 1 if problems else 0
    updated = results.update_readme(current, results.table(args.results))
    if updated != current:
        args.readme.write_text(updated)
        print(f"updated the results table in {args.readme}")
    return 0


def params_doc_command(args: argparse.Namespace) -> int:
    from singaffect import params_doc

    text = params_doc.reference_markdown(args.params)
    current = args.out.read_text() if args.out.is_file() else ""
    if args.check:
        if current != text:
            print(f"problem: {args.out} is out of date; run singaffect params-doc", file=sys.stderr)
            return 1
        return 0
    if current != text:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
        print(f"wrote {args.out}")
    return 0


def preset_command(args: argparse.Namespace) -> int:
    from singaffect import presets

    print(shlex.join(presets.preset_args(args.name)))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a known error is one ``error:`` line on stderr and exit status 1."""
    args = parser().parse_args(argv)
    try:
        if args.subcommand == "predict":
            predict_command(args)
            return 0
        if args.subcommand == "results":
            return results_command(args)
        if args.subcommand == "params-doc":
            return params_doc_command(args)
        if args.subcommand == "enrolment-curve":
            from singaffect import enrolment_curve

            for path in enrolment_curve.write(args.results):
                print(f"wrote {path}")
            return 0
        return preset_command(args)
    except SingaffectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
