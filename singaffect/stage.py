"""What every stage script shares: logging and turning known errors into one clear line."""
from __future__ import annotations

import logging
import sys
from typing import Callable

from singaffect.errors import SingaffectError

log = logging.getLogger("singaffect")


def run(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a known error exits 1 with one message naming the file or key."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    try:
        main()
    except SingaffectError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
