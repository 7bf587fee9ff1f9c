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


def test_paths_are_required_and_typed() -> None:
    """Stage paths have no defaults: dvc.yaml's cmd names them, and a missing one says so in one error."""
    from pathlib import Path

    args = stage.arguments("doc", ["--out", "data/x", "--split", "a", "b", "--fold", "2"],
                           out=Path, split=[Path], fold=None, seed=7)
    assert args.out == Path("data/x") and args.split == [Path("a"), Path("b")]
    assert args.fold == "2" and args.seed == 7  # optional values keep their defaults' types
    with pytest.raises(stage.SingaffectError, match="paths come from the stage's cmd in dvc.yaml"):
        stage.arguments("doc", ["--split", "a"], out=Path, split=[Path])
    with pytest.raises(stage.SingaffectError, match="do not fit"):
        stage.arguments("doc", [], out=Path)
