"""The one base class of errors a stage reports as a single clear line (no traceback)."""


class SingaffectError(Exception):
    """Bad input, params or environment; the message names the file or params key."""
