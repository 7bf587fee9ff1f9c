"""Stage runner: known errors become one line and exit status 1."""
from __future__ import annotations

import pytest

from singaffect import stage
from singaffect.params import ParamsError


def test_known_error_is_one_line_and_exit_1(capsys: pytest.CaptureFixture) -> None:
    def main() -> None:
        raise ParamsError("params key 'train.epochs' is missing")
    with pytest.raises(SystemExit) as info:
        stage.run(main, in_process=True)
    assert info.value.code == 1
    assert capsys.readouterr().err == "error: params key 'train.epochs' is missing\n"


def test_unknown_error_keeps_its_traceback() -> None:
    def main() -> None:
        raise ZeroDivisionError("a bug, not bad input")
    with pytest.raises(ZeroDivisionError):
        stage.run(main)


def test_success_returns() -> None:
    calls = []
    stage.run(lambda: calls.append(1))
    assert calls == [1]
