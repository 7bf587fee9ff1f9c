"""The installed package: a ``singaffect`` console command, and stages that run their own checkout's code."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


def test_the_console_command_is_installed_with_its_three_commands() -> None:
    command = Path(sys.executable).parent / "singaffect"
    if not command.exists():
        pytest.fail(f"no {command}: install the package with pip install -e '.[test,dask]'")
    done = subprocess.run([str(command), "--help"], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    for name in ("predict", "results", "preset"):
        assert name in done.stdout
    preset = subprocess.run([str(command), "preset", "no_such"], capture_output=True, text=True, cwd=ROOT)
    assert preset.returncode == 1 and preset.stderr.startswith("error: unknown preset 'no_such'")


def test_a_stage_module_imports_the_library_of_its_own_checkout(tmp_path: Path) -> None:
    # dvc exp run --temp copies the workspace to .dvc/tmp/exps: the copy must run its own code,
    # not the clone the package was installed (editable) from.
    for name in ("singaffect", "stages"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    probe = "import stages.split, singaffect.splits as s; print(s.__file__)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert Path(done.stdout.strip()).resolve() == (tmp_path / "singaffect" / "splits.py").resolve()
