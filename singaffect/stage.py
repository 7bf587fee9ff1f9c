"""What every stage script shares: logging and turning known errors into one clear line."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

from singaffect.compute import stop_resource_tracker
from singaffect.errors import SingaffectError

log = logging.getLogger("singaffect")


def run(main: Callable[..., None], argv: Sequence[str] | None = None, in_process: bool = False) -> None:
    """Run a stage's ``main`` (with ``argv`` when given); a known error exits 1 with one message naming the file or key.

    The message is the last line the process prints: worker processes and loky's resource
    tracker are stopped first, so their clean-up warnings come before it. ``in_process``
    (tests running a stage inside their own process) leaves the tracker alone.
    """
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    try:
        main() if argv is None else main(list(argv))
    except SingaffectError as error:
        if not in_process:
            stop_resource_tracker()
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def arguments(doc: str, argv: Sequence[str] | None,
              **defaults: Path | str | int | list[Path] | None) -> argparse.Namespace:
    """Optional ``--name value`` arguments of a stage, typed like their defaults (``Path``, ``str``, ``int``;
    a list of ``Path`` takes one or more values).

    ``dvc.yaml`` passes them where a stage runs on other inputs than the default pipeline's
    (``cv/dvc.yaml`` runs split, train and evaluate once per actor fold, the feature models on all folds).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in defaults.items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(default, list):
            parser.add_argument(flag, dest=name, default=default, nargs="+", type=Path)
        else:
            parser.add_argument(flag, dest=name, default=default, type=str if default is None else type(default))
    return parser.parse_args([] if argv is None else argv)  # None: called from Python, not the command line
