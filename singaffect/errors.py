"""The one base class of errors a stage reports as a single clear line (no traceback)."""
from __future__ import annotations

from pathlib import Path


class SingaffectError(Exception):
    """Bad input, params or environment; the message names the file or params key."""


class FileRejected(SingaffectError, ValueError):
    """One input file cannot become a clip (bad name, label, path or audio).

    ``data.on_error: fail`` stops the raw stage with this message; ``skip`` writes
    ``path`` and ``reason`` to data/raw/rejected.csv and goes on.
    """

    def __init__(self, path: str | Path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")
