"""What every stage script shares: logging and turning known errors into one clear line."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Callable, Sequence

from singaffect.errors import SingaffectError

log = logging.getLogger("singaffect")


def run(main: Callable[..., None], argv: Sequence[str] | None = None) -> None:
    """Run a stage's ``main`` (with ``argv`` when given); a known error exits 1 with one message naming the file or key."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    try:
        main() if argv is None else main(list(argv))
    except SingaffectError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def arguments(doc: str, argv: Sequence[str] | None, **defaults: Path | str | int | None) -> argparse.Namespace:
    """Optional ``--name value`` arguments of a stage, typed like their defaults (``Path``, ``str``, ``int``).

    ``dvc.yaml`` passes them where a stage runs on other inputs than the default pipeline's
    (``cv/dvc.yaml`` runs split, train and evaluate once per actor fold).
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in defaults.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, default=default,
                            type=str if default is None else type(default))
    return parser.parse_args([] if argv is None else argv)  # None: called from Python, not the command line
