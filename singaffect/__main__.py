"""Command line: ``python -m singaffect predict take.wav [--model M] [--json] [--hop S] [--plot PNG]``."""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Sequence

from singaffect.errors import SingaffectError


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="python -m singaffect",
                                  description="Score sung recordings with a model trained by the singaffect pipeline.")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    predict = commands.add_parser(
        "predict", help="score one take (any length, rate and channel count)",
        description="Score a take in windows of the model's pad length (pad.seconds). A take longer "
                    "than one window is scored in sliding windows; the table ends with the mean.")
    predict.add_argument("audio", help="audio file soundfile can read (wav, flac, ogg, aiff, ...)")
    predict.add_argument("--model", default="models/model.keras",
                         help="trained model; preprocessing.json must sit beside it (default: %(default)s)")
    predict.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    predict.add_argument("--hop", type=_seconds, default=None, metavar="SECONDS",
                         help="step between windows (default: half a window)")
    predict.add_argument("--plot", default=None, metavar="PNG",
                         help="also write the score curve to this PNG (needs matplotlib)")
    return top


def predict_command(args: argparse.Namespace) -> None:
    from singaffect import predict

    result = predict.predict_file(args.audio, args.model, args.hop)
    if args.plot:
        from singaffect import plots

        plots.score_curve(args.plot, result)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(predict.format_table(result))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; a known error is one ``error:`` line on stderr and exit status 1."""
    args = parser().parse_args(argv)
    try:
        predict_command(args)
    except SingaffectError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter would bury errors
    sys.exit(main())
