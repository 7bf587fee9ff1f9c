"""What every stage script shares: logging and turning known errors into one clear line."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

from singaffect.compute import keep_freed_memory, stop_resource_tracker
from singaffect.errors import SingaffectError

log = logging.getLogger("singaffect")


def run(main: Callable[..., None], argv: Sequence[str] | None = None, in_process: bool = False) -> None:
    """Run a stage's ``main`` (with ``argv`` when given); a known error exits 1 with one message naming the file or key.

    The message is the last line the process prints: worker processes and loky's resource
    tracker are stopped first, so their clean-up warnings come before it. ``in_process``
    (tests running a stage inside their own process) leaves the tracker and malloc alone.
    """
    if not in_process:
        keep_freed_memory()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    try:
        main() if argv is None else main(list(argv))
    except SingaffectError as error:
        if not in_process:
            stop_resource_tracker()
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def arguments(doc: str, argv: Sequence[str] | None, **spec: type | list | str | int | None) -> argparse.Namespace:
    """The stage's ``--name value`` arguments; ``dvc.yaml`` names every path in the stage's ``cmd``.

    ``spec`` maps each name to ``Path`` (a required path), ``[Path]`` (one or more required
    paths) or a default value (an optional ``str``/``int``; ``None``: an optional string).
    Paths have no defaults: ``dvc.yaml`` (and ``cv/dvc.yaml``) is the one place that declares
    them, beside the deps and outs that DVC hashes.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, kind in spec.items():
        flag = f"--{name.replace('_', '-')}"
        if kind is Path:
            parser.add_argument(flag, dest=name, required=True, type=Path)
        elif kind == [Path]:
            parser.add_argument(flag, dest=name, required=True, nargs="+", type=Path)
        else:
            parser.add_argument(flag, dest=name, default=kind, type=str if kind is None else type(kind))
    try:
        return parser.parse_args(list(argv or []))
    except SystemExit as exit_:  # argparse printed what is missing (or --help); say where the paths come from
        if not exit_.code:
            raise
        raise SingaffectError(f"stage arguments {list(argv or [])} do not fit: paths come from the stage's "
                              "cmd in dvc.yaml (python -m stages.NAME --help lists them)") from None
