"""dvc.yaml declares exactly the code each stage reads: its script and every singaffect
module the script imports, directly or through other modules (lazy imports included)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """singaffect modules imported anywhere in ``path`` (``from singaffect import x`` or ``.x``).

    Importing any of them runs the package's ``__init__.py`` first, so it counts too.
    """
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "singaffect":
            if node.module == "singaffect":
                found.update(f"singaffect/{alias.name}.py" for alias in node.names)
            else:
                found.add(node.module.replace(".", "/") + ".py")
        elif isinstance(node, ast.Import):
            found.update(a.name.replace(".", "/") + ".py" for a in node.names if a.name.startswith("singaffect."))
    if found:
        found.add("singaffect/__init__.py")
    return {m for m in found if (ROOT / m).is_file()}


def code_read_by(script: str) -> set[str]:
    seen, todo = set(), [script]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        todo.extend(imported_modules(ROOT / path) - seen)
    return seen


@pytest.mark.parametrize("pipeline", ["dvc.yaml", "cv/dvc.yaml"])
def test_every_stage_declares_exactly_the_code_it_imports(pipeline: str) -> None:
    stages = yaml.safe_load((ROOT / pipeline).read_text())["stages"]
    assert stages, f"{pipeline} has no stages"
    for name, stage in stages.items():
        stage = stage.get("do", stage)  # foreach stages declare their deps under do
        script = "stages/{}.py".format(re.search(r"python -m stages\.(\w+)", stage["cmd"]).group(1))
        declared = {d for d in stage["deps"] if isinstance(d, str) and d.endswith(".py")}
        assert declared == code_read_by(script), (
            f"stage {name}: missing {sorted(code_read_by(script) - declared)}, "
            f"extra {sorted(declared - code_read_by(script))}")


def test_the_checker_sees_lazy_and_transitive_imports() -> None:
    read = code_read_by("stages/evaluate.py")
    assert "singaffect/training.py" in read  # imported by the stage
    assert "singaffect/errors.py" in read    # imported by every module
